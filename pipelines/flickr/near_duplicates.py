"""Near-duplicate detection with a 64-bit perceptual hash (pHash of a 32 x 32 DCT).

Two photos of one scene re-uploaded, resized or re-compressed differ in their bytes (so the content
hash misses them) but their pHashes differ in only a few of 64 bits; unrelated photos differ in ~32.
"""

from __future__ import annotations

import io

import imagehash
import numpy as np
from PIL import Image

#: Hamming distance (of 64 bits) at or below which two images count as near duplicates.
DEFAULT_MAX_DISTANCE = 6


def phash_hex(data: bytes) -> str:
    """The pHash of an encoded image's bytes, as 16 hex digits."""
    with Image.open(io.BytesIO(data)) as img:
        return str(imagehash.phash(img.convert("RGB")))


class PhashIndex:
    """The pHashes of one group's images; ``nearest`` finds the closest one by Hamming distance."""

    def __init__(self) -> None:
        self._ids: list[int] = []
        self._hashes = np.zeros(0, dtype=np.uint64)

    def __len__(self) -> int:
        return len(self._ids)

    def add(self, image_id: int, phash: str) -> None:
        self._ids.append(image_id)
        self._hashes = np.append(self._hashes, np.uint64(int(phash, 16)))

    def nearest(self, phash: str) -> tuple[int, int] | None:
        """``(image_id, distance)`` of the closest indexed image, or None when the index is empty."""
        if not self._ids:
            return None
        distances = np.bitwise_count(self._hashes ^ np.uint64(int(phash, 16)))
        best = int(np.argmin(distances))
        return self._ids[best], int(distances[best])

    def near_duplicate_of(self, phash: str, max_distance: int) -> tuple[int, int] | None:
        """The closest image if it is within ``max_distance`` bits, else None (negative: never)."""
        found = self.nearest(phash)
        if found is None or max_distance < 0 or found[1] > max_distance:
            return None
        return found

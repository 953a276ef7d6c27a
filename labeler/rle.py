"""Binary masks and their COCO run-length encoding (RLE), through pycocotools.

Contract (the pycocotools one): a mask is an ``H x W`` array, ``bool`` or ``uint8`` (non-zero = object);
an RLE is ``{"size": [H, W], "counts": str}`` with ``counts`` the compressed COCO string, so it is
JSON-safe as it stands. RLE keeps holes and multi-part objects exact; polygons would not.

    encode(mask) -> rle          decode(rle) -> bool mask       area(rle) -> int
    bbox(rle) -> [x, y, w, h]    union(rles, size) -> rle      (IoU: labeler.mask_ops.iou)
    validate_rle(rle, height, width) -> CheckedRLE (raises InvalidMask; a write does not check it twice)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from pycocotools import mask as cocomask

from labeler.domain import RLE
from labeler.errors import InvalidMask


def encode(mask: np.ndarray) -> RLE:
    """Encode an ``H x W`` mask (bool / integer, non-zero = object) as a JSON-safe COCO RLE."""
    mask = np.asarray(mask)
    if mask.ndim != 2:
        raise InvalidMask(f"a mask must be 2-D (H x W), got shape {mask.shape}")
    rle = cocomask.encode(np.asfortranarray(mask != 0, dtype=np.uint8))
    return {
        "size": [int(rle["size"][0]), int(rle["size"][1])],
        "counts": rle["counts"].decode("ascii"),
    }


def _coco(rle: RLE) -> dict:
    counts = rle["counts"]
    if isinstance(counts, list):  # uncompressed RLE, as some exporters write it
        h, w = rle["size"]
        return cocomask.frPyObjects({"size": [h, w], "counts": counts}, h, w)
    if isinstance(counts, str):
        counts = counts.encode("ascii")
    return {"size": list(rle["size"]), "counts": counts}


def decode(rle: RLE) -> np.ndarray:
    """Decode a COCO RLE (compressed string or uncompressed list counts) to an ``H x W`` bool mask."""
    return cocomask.decode(_coco(rle)).astype(bool)


def area(rle: RLE) -> int:
    """Pixel count of the mask, without decoding it."""
    return int(cocomask.area(_coco(rle)))


def bbox(rle: RLE) -> list[float]:
    """Tight box ``[x, y, w, h]`` in image pixels (COCO convention); ``[0, 0, 0, 0]`` when empty."""
    return [float(v) for v in cocomask.toBbox(_coco(rle))]


def union(rles: Sequence[RLE], height: int, width: int) -> RLE:
    """All instances of one image merged into one mask (empty mask when there are none)."""
    if not rles:
        return encode(np.zeros((height, width), dtype=bool))
    return normalize(cocomask.merge([_coco(r) for r in rles], intersect=False))


def normalize(rle: RLE) -> RLE:
    """Any pycocotools RLE (bytes or list counts) as the JSON-safe string form."""
    coco = _coco(rle)
    counts = coco["counts"]
    return {
        "size": [int(coco["size"][0]), int(coco["size"][1])],
        "counts": counts.decode("ascii") if isinstance(counts, bytes) else counts,
    }


def run_lengths(counts: str) -> list[int]:
    """The run lengths a compressed COCO counts string stands for (pure Python, no decoding).

    Each run is a little-endian group of 5-bit chunks (char - 48), 0x20 marking "more chunks", 0x10
    in the last chunk a negative sign; from the third run on, the value is a difference to the run
    two places earlier. ``pycocotools.decode`` does not check that the runs cover the image, so a
    corrupt string would come back as uninitialised memory; ``validate_rle`` checks with this.
    """
    runs: list[int] = []
    value = shift = 0
    for char in counts:
        chunk = ord(char) - 48
        if not 0 <= chunk < 64:
            raise ValueError(f"character {char!r} is not part of a COCO counts string")
        value |= (chunk & 0x1F) << shift
        shift += 5
        if chunk & 0x20:
            continue
        if chunk & 0x10:
            value -= 1 << shift
        if len(runs) > 2:
            value += runs[-2]
        runs.append(value)
        value = shift = 0
    if shift:
        raise ValueError("the counts string ends in the middle of a run")
    return runs


class CheckedRLE(dict):
    """An RLE that :func:`validate_rle` returned (normalised, well-formed, non-empty, of the size
    in its ``size``). A plain dict to everything else (JSON, equality, pickles); it cannot be
    changed in place, so the check still holds where it arrives: a write that gets one for an
    image of its size need not check it again (an import checks 250k masks when reading them)."""

    def _frozen(self, *args, **kwargs):
        raise TypeError("a CheckedRLE cannot be changed; copy it with dict(rle)")

    __setitem__ = __delitem__ = update = pop = popitem = clear = setdefault = _frozen
    __ior__ = _frozen

    def __reduce__(self):
        return (CheckedRLE, (dict(self),))


def is_checked(rle: Any, height: int, width: int) -> bool:
    """Whether ``rle`` already passed :func:`validate_rle` for an image of ``height x width``."""
    return isinstance(rle, CheckedRLE) and rle["size"] == [height, width]


def validate_rle(rle: Any, height: int, width: int) -> CheckedRLE:
    """Check that ``rle`` is a well-formed, non-empty COCO RLE for an image of ``height x width``.

    Returns the normalised RLE. Raises ``InvalidMask`` naming what is wrong: not a dict, missing keys,
    a size that does not match the image (out of bounds), counts that do not decode, an empty mask.
    """
    if not isinstance(rle, dict) or "size" not in rle or "counts" not in rle:
        raise InvalidMask("a mask must be a COCO RLE: a dict with 'size' and 'counts'")
    size = rle["size"]
    if (
        not isinstance(size, (list, tuple))
        or len(size) != 2
        or not all(isinstance(v, int) and v > 0 for v in size)
    ):
        raise InvalidMask(
            f"RLE 'size' must be [height, width] with positive integers, got {size!r}"
        )
    if [int(size[0]), int(size[1])] != [height, width]:
        raise InvalidMask(
            f"mask size {list(size)} does not match the image ({height} x {width}): out of bounds"
        )
    try:
        if isinstance(rle["counts"], list):
            if not all(isinstance(c, int) and not isinstance(c, bool) for c in rle["counts"]):
                raise ValueError("run lengths must be integers (no NaN, Infinity or fractions)")
            if sum(int(c) for c in rle["counts"]) != height * width or any(
                int(c) < 0 for c in rle["counts"]
            ):
                raise ValueError("run lengths do not add up to height x width")
        norm = normalize(rle)
        runs = run_lengths(norm["counts"])
        n = area(norm)
    except (ValueError, TypeError, UnicodeError, OverflowError) as exc:
        raise InvalidMask(f"RLE counts do not decode: {exc}") from exc
    # Checked on the runs themselves: pycocotools would decode short runs into uninitialised memory.
    if sum(runs) != height * width or min(runs, default=0) < 0:
        raise InvalidMask("RLE counts do not decode: the runs do not cover the image exactly")
    if n == 0:
        raise InvalidMask("the mask is empty: an instance needs at least one pixel")
    return CheckedRLE(norm)

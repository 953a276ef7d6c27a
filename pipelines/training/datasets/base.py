"""The one format every GRES dataset reader yields: an expression against a group of images.

A ``GresGroup`` is one expression with the images it is judged on; each ``GresItem`` is an image
with the instance masks the expression refers to in it (none = a certified negative). Images and
masks are loaded lazily, so a reader over COCO-sized data costs only its index in memory.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from labeler import rle
from labeler.domain import RLE


@dataclass(frozen=True)
class GresItem:
    """One (expression, image) sample.

    ``load_image()`` returns ``H x W x 3 uint8`` RGB; ``instances`` are COCO RLEs of size ``H x W``
    (empty tuple: the image is a negative for the expression).
    """

    key: str
    load_image: Callable[[], np.ndarray] = field(repr=False, compare=False)
    height: int
    width: int
    instances: tuple[RLE, ...] = ()

    @property
    def positive(self) -> bool:
        return bool(self.instances)

    def mask(self) -> np.ndarray:
        """Union of the referred instances, ``H x W`` bool (all False for a negative)."""
        if not self.instances:
            return np.zeros((self.height, self.width), dtype=bool)
        return rle.decode(rle.union(list(self.instances), self.height, self.width))

    def as_negative(self) -> GresItem:
        """The same image used as a negative for another expression (random negatives)."""
        return GresItem(self.key, self.load_image, self.height, self.width, ())


@dataclass(frozen=True)
class GresGroup:
    """One expression and the images of its group, each labelled positive or negative."""

    name: str  # the image group it came from (also the split unit)
    expression: str
    items: tuple[GresItem, ...]

    @property
    def positives(self) -> list[GresItem]:
        return [i for i in self.items if i.positive]

    @property
    def negatives(self) -> list[GresItem]:
        return [i for i in self.items if not i.positive]


def array_loader(image: np.ndarray) -> Callable[[], np.ndarray]:
    """A loader for an image already in memory."""
    return lambda: image


def file_loader(path) -> Callable[[], np.ndarray]:
    """A loader that decodes an RGB file on each call (callers cache what they need)."""

    def load() -> np.ndarray:
        from labeler.images import load_rgb

        return load_rgb(path)

    return load


def summarize(groups: Sequence[GresGroup]) -> dict[str, int]:
    """Counts for logs: groups, samples, positives, negatives."""
    pos = sum(len(g.positives) for g in groups)
    neg = sum(len(g.negatives) for g in groups)
    return {"groups": len(groups), "samples": pos + neg, "positives": pos, "negatives": neg}

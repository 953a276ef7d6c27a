"""GresItems -> model tensors: resize to the model's square input, stack groups into batches.

The model takes ``[B, N, 3, S, S]`` float RGB in [0, 1] and normalises it itself; targets are
``[B, N, S, S]`` float {0, 1} (all zero for negatives). Resized images are cached as uint8 (a
quarter of float32) in a cache bounded in bytes, so an epoch over a small dataset decodes each file
once and a large one cannot exhaust memory.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence

import cv2
import numpy as np
import torch

from model.predictor import resize_image, to_pixels
from pipelines.training.datasets.base import GresItem
from pipelines.training.sampler import TrainingGroup

__all__ = ["ItemCache", "collate", "resize_image", "resize_mask", "load_resized"]


def resize_mask(mask: np.ndarray, size: int) -> np.ndarray:
    """``H x W`` bool -> ``size x size`` bool: a pixel is in when at least half covered."""
    resized = cv2.resize(mask.astype(np.float32), (size, size), interpolation=cv2.INTER_AREA)
    return resized >= 0.5


def load_resized(item: GresItem, size: int) -> tuple[np.ndarray, np.ndarray]:
    """``(image [S, S, 3] uint8, mask [S, S] bool)`` of one item at the model's input size."""
    return resize_image(item.load_image(), size), resize_mask(item.mask(), size)


def item_key(item: GresItem) -> str:
    return f"{item.key}|{hash(tuple(r['counts'] for r in item.instances))}"


class ItemCache:
    """Resized uint8 images and bool masks per item, least recently used evicted first, bounded
    in bytes (``max_bytes``; 0 disables caching)."""

    def __init__(self, size: int, max_bytes: int = 512 * 2**20):
        self.size = size
        self.max_bytes = max_bytes
        self.bytes = 0
        self._data: OrderedDict[str, tuple[np.ndarray, np.ndarray]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._data)

    def arrays(self, item: GresItem) -> tuple[np.ndarray, np.ndarray]:
        """``(image [S, S, 3] uint8, mask [S, S] bool)``, from the cache when there."""
        key = item_key(item)
        if key in self._data:
            self._data.move_to_end(key)
            return self._data[key]
        image, mask = load_resized(item, self.size)
        cost = image.nbytes + mask.nbytes
        if cost <= self.max_bytes:
            self._data[key] = (image, mask)
            self.bytes += cost
            while self.bytes > self.max_bytes:
                _, (old_image, old_mask) = self._data.popitem(last=False)
                self.bytes -= old_image.nbytes + old_mask.nbytes
        return image, mask

    def get(self, item: GresItem) -> tuple[torch.Tensor, torch.Tensor]:
        """``(image [3, S, S] float in [0, 1], mask [S, S] float)`` of one item."""
        image, mask = self.arrays(item)
        return to_pixels([image])[0], torch.from_numpy(mask.astype(np.float32))


def collate_arrays(
    groups: Sequence[TrainingGroup], fetch
) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]:
    """uint8 images ``[B, N, S, S, 3]``, bool masks ``[B, N, S, S]``, positive ``[B, N]``,
    expressions; ``fetch(item) -> (image, mask)`` arrays."""
    images, masks = [], []
    for group in groups:
        pairs = [fetch(item) for item in group.items]
        images.append(np.stack([p for p, _ in pairs]))
        masks.append(np.stack([m for _, m in pairs]))
    positive = np.array([group.positive for group in groups], dtype=bool)
    return np.stack(images), np.stack(masks), positive, [g.expression for g in groups]


def to_tensors(images: np.ndarray, masks: np.ndarray, positive: np.ndarray):
    """uint8 / bool arrays -> ``(images [B,N,3,S,S] float, targets [B,N,S,S] float, positive)``."""
    pixels = torch.from_numpy(images).permute(0, 1, 4, 2, 3).float().div_(255.0)
    return pixels, torch.from_numpy(masks).float(), torch.from_numpy(positive)


def collate(groups: Sequence[TrainingGroup], cache: ItemCache):
    """Batch of training groups -> ``(images [B,N,3,S,S], targets [B,N,S,S], positive [B,N] bool,
    expressions list[str])``. All groups of a batch must have the same N."""
    images, masks, positive, expressions = collate_arrays(groups, cache.arrays)
    return (*to_tensors(images, masks, positive), expressions)

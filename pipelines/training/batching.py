"""GresItems -> model tensors: resize to the model's square input, stack groups into batches.

The model takes ``[B, N, 3, S, S]`` float RGB in [0, 1] and normalises it itself; targets are
``[B, N, S, S]`` float {0, 1} (all zero for negatives). Resized images are cached by item key, so
an epoch over a small dataset decodes each file once.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence

import cv2
import numpy as np
import torch

from pipelines.training.datasets.base import GresItem
from pipelines.training.sampler import TrainingGroup


def resize_image(image: np.ndarray, size: int) -> np.ndarray:
    """``H x W x 3 uint8`` -> ``size x size x 3 uint8`` (area filter when shrinking)."""
    h, w = image.shape[:2]
    interp = cv2.INTER_AREA if (h > size or w > size) else cv2.INTER_LINEAR
    return cv2.resize(image, (size, size), interpolation=interp)


def resize_mask(mask: np.ndarray, size: int) -> np.ndarray:
    """``H x W`` bool -> ``size x size`` bool: a pixel is in when at least half covered."""
    resized = cv2.resize(mask.astype(np.float32), (size, size), interpolation=cv2.INTER_AREA)
    return resized >= 0.5


class ItemCache:
    """Resized image and mask tensors per item key, least recently used evicted first."""

    def __init__(self, size: int, max_items: int = 20000):
        self.size = size
        self.max_items = max_items
        self._data: OrderedDict[str, tuple[torch.Tensor, torch.Tensor]] = OrderedDict()

    def get(self, item: GresItem) -> tuple[torch.Tensor, torch.Tensor]:
        """``(image [3, S, S] float in [0, 1], mask [S, S] float)`` of one item."""
        key = f"{item.key}|{hash(tuple(r['counts'] for r in item.instances))}"
        if key in self._data:
            self._data.move_to_end(key)
            return self._data[key]
        image = resize_image(item.load_image(), self.size)
        pixels = torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1).float() / 255.0
        mask = torch.from_numpy(resize_mask(item.mask(), self.size).astype(np.float32))
        self._data[key] = (pixels, mask)
        if len(self._data) > self.max_items:
            self._data.popitem(last=False)
        return pixels, mask


def collate(groups: Sequence[TrainingGroup], cache: ItemCache):
    """Batch of training groups -> ``(images [B,N,3,S,S], targets [B,N,S,S], positive [B,N] bool,
    expressions list[str])``. All groups of a batch must have the same N."""
    images, targets = [], []
    for group in groups:
        pairs = [cache.get(item) for item in group.items]
        images.append(torch.stack([p for p, _ in pairs]))
        targets.append(torch.stack([m for _, m in pairs]))
    positive = torch.tensor([group.positive for group in groups], dtype=torch.bool)
    return torch.stack(images), torch.stack(targets), positive, [g.expression for g in groups]

"""A weight-free test click segmenter (:class:`FloodFillSegmenter`)."""

from __future__ import annotations

import cv2
import numpy as np

from labeler.segmenter import Embedding, Prompts, SegmentResult


class FloodFillSegmenter:
    """A colour flood fill as a click segmenter: simple and deterministic, for tests and as the
    baseline of ``bench/bench_feedback.py --segmenter floodfill`` (the app never uses it).

    A positive click adds the region of similar colour connected to it, a negative one removes it.
    """

    model_id = "floodfill-v1"

    def __init__(self, tolerance: int = 12):
        self.tolerance = tolerance

    def embed(self, image: np.ndarray) -> Embedding:
        return {"image": np.ascontiguousarray(image, dtype=np.uint8)}

    def _region(self, image: np.ndarray, x: float, y: float) -> np.ndarray:
        h, w = image.shape[:2]
        flood = np.zeros((h + 2, w + 2), np.uint8)
        tol = (self.tolerance,) * 3
        seed = (min(int(x), w - 1), min(int(y), h - 1))
        cv2.floodFill(
            image.copy(), flood, seed, (0, 0, 0), tol, tol, 4 | cv2.FLOODFILL_MASK_ONLY | (255 << 8)
        )
        return flood[1:-1, 1:-1] > 0

    def predict(self, embedding: Embedding, prompts: Prompts) -> SegmentResult:
        image = embedding["image"]
        mask = np.zeros(image.shape[:2], bool)
        for (x, y), label in zip(prompts.points, prompts.labels):
            region = self._region(image, x, y)
            mask = mask | region if label else mask & ~region
        return SegmentResult(mask, None, 1.0)

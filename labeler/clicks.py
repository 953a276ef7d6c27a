"""Simulated clicks: the standard interactive-segmentation protocol, over numpy masks.

Used by the simulated annotator and by ``bench/`` to measure a segmenter. The protocol is the
usual one (as in the RITM / "NoC" literature): the first click is a positive click at the object
pixel farthest from its boundary; every later click goes at the pixel farthest from the boundary
of the worst error (missed object -> positive, spill onto background -> negative). Distances are
measured with the image border counted as boundary too, so clicks never land on the edge.

    next_click(gt, pred) -> Click | None
    simulate(segmenter, embedding, gt, n_clicks) -> list of IoU after each click
    clicks_to_reach(ious, threshold) -> int (n_clicks + 1 when never reached)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from labeler.mask_ops import inner_distance, iou
from labeler.segmenter import Embedding, Prompts, Segmenter


@dataclass(frozen=True)
class Click:
    """One click at original-image (x, y) (a pixel centre); ``positive`` adds, else removes."""

    x: float
    y: float
    positive: bool


def next_click(gt: np.ndarray, pred: np.ndarray | None) -> Click | None:
    """Where a careful annotator clicks next; None when the prediction is already exact."""
    gt = np.asarray(gt, dtype=bool)
    pred = np.zeros_like(gt) if pred is None else np.asarray(pred, dtype=bool)
    fn_dist = inner_distance(gt & ~pred)
    fp_dist = inner_distance(pred & ~gt)
    fn_max, fp_max = float(fn_dist.max()), float(fp_dist.max())
    if fn_max == 0 and fp_max == 0:
        return None
    positive = fn_max >= fp_max
    dist = fn_dist if positive else fp_dist
    y, x = np.unravel_index(int(np.argmax(dist)), dist.shape)
    return Click(float(x) + 0.5, float(y) + 0.5, positive)


def simulate(
    segmenter: Segmenter, embedding: Embedding, gt: np.ndarray, n_clicks: int = 5
) -> list[float]:
    """IoU after each of ``n_clicks`` simulated clicks, refining with the previous logits."""
    points: list[tuple[float, float]] = []
    labels: list[int] = []
    pred: np.ndarray | None = None
    logits = None
    ious: list[float] = []
    for _ in range(n_clicks):
        click = next_click(gt, pred)
        if click is None:  # already perfect: it stays perfect
            ious.append(1.0)
            continue
        points.append((click.x, click.y))
        labels.append(1 if click.positive else 0)
        result = segmenter.predict(
            embedding, Prompts(points=tuple(points), labels=tuple(labels), previous_logits=logits)
        )
        pred, logits = result.mask, result.low_res_logits
        ious.append(iou(pred, gt))
    return ious


def clicks_to_reach(ious: list[float], threshold: float) -> int:
    """Number of clicks until IoU >= threshold (1-based); ``len(ious) + 1`` if never."""
    for k, value in enumerate(ious, 1):
        if value >= threshold:
            return k
    return len(ious) + 1

"""Pure operations on instance masks: ``H x W`` bool arrays (or COCO RLEs) in, bool arrays out.

Every function accepts a mask either as an array (non-zero = object) or as a COCO RLE dict and
returns a fresh ``H x W`` bool array; encode with :func:`labeler.rle.encode` at the edge. Nothing
here fills holes or drops islands unless asked (``clean`` is off by default), so a meticulous
annotator's holes survive every edit.

Coordinates (brush strokes, boxes) are in original-image pixels with the convention of
:mod:`labeler.geometry`: pixel ``(i, j)`` covers ``[j, j+1) x [i, i+1)``. Strokes and pasted
patches may reach past the image border; they are clipped, never wrapped or rejected.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from labeler import rle
from labeler.errors import InvalidMask


def as_mask(mask, size: tuple[int, int] | None = None) -> np.ndarray:
    """An array or RLE as an ``H x W`` bool array (a copy); checks the size when given."""
    if isinstance(mask, dict):
        out = rle.decode(mask)
    else:
        out = np.asarray(mask)
        if out.ndim != 2:
            raise InvalidMask(f"a mask must be 2-D (H x W), got shape {out.shape}")
        out = out != 0
    if size is not None and out.shape != tuple(size):
        raise InvalidMask(f"mask of shape {out.shape} does not fit the image {tuple(size)}")
    return out


def _pair(a, b) -> tuple[np.ndarray, np.ndarray]:
    a = as_mask(a)
    return a, as_mask(b, a.shape)


def iou(a, b) -> float:
    """Intersection over union of two masks of one size; two empty masks count as IoU 1."""
    a, b = _pair(a, b)
    union = np.logical_or(a, b).sum()
    return 1.0 if union == 0 else float(np.logical_and(a, b).sum() / union)


# ---- set operations --------------------------------------------------------------------------------
def add_region(instance, region) -> np.ndarray:
    """Instance grown by ``region`` (union)."""
    a, b = _pair(instance, region)
    return a | b


def subtract_region(instance, region) -> np.ndarray:
    """Instance with ``region`` cut out: how holes are made."""
    a, b = _pair(instance, region)
    return a & ~b


def intersect_region(instance, region) -> np.ndarray:
    a, b = _pair(instance, region)
    return a & b


def merge(instances: Sequence) -> np.ndarray:
    """Union of several instances of one image (at least one)."""
    if not instances:
        raise InvalidMask("merge needs at least one mask")
    out = as_mask(instances[0])
    for m in instances[1:]:
        out |= as_mask(m, out.shape)
    return out


# ---- brush ---------------------------------------------------------------------------------------
def stroke_mask(points, radius: float, size: tuple[int, int]) -> np.ndarray:
    """Pixels painted by a round brush of ``radius`` dragged along ``points`` (N x 2, x/y).

    A pixel is painted when its centre lies within ``radius`` of the polyline through the points
    (one point paints a disc). Points may lie outside the image; only in-image pixels are painted.
    """
    h, w = size
    if radius <= 0:
        raise ValueError(f"brush radius must be positive, got {radius}")
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    out = np.zeros((h, w), dtype=bool)
    segments = zip(pts[:-1], pts[1:]) if len(pts) > 1 else ((p, p) for p in pts)
    for a, b in segments:
        _paint_segment(out, a, b, float(radius))
    return out


def _paint_segment(out: np.ndarray, a: np.ndarray, b: np.ndarray, r: float) -> None:
    """Set pixels whose centre is within ``r`` of segment a-b, working in the segment's window."""
    h, w = out.shape
    x0 = max(int(np.floor(min(a[0], b[0]) - r)), 0)
    x1 = min(int(np.ceil(max(a[0], b[0]) + r)) + 1, w)
    y0 = max(int(np.floor(min(a[1], b[1]) - r)), 0)
    y1 = min(int(np.ceil(max(a[1], b[1]) + r)) + 1, h)
    if x1 <= x0 or y1 <= y0:
        return
    cx = np.arange(x0, x1, dtype=np.float64)[None, :] + 0.5 - a[0]
    cy = np.arange(y0, y1, dtype=np.float64)[:, None] + 0.5 - a[1]
    d = b - a
    dd = float(d @ d)
    t = np.clip((cx * d[0] + cy * d[1]) / dd, 0.0, 1.0) if dd > 0 else 0.0
    inside = (cx - t * d[0]) ** 2 + (cy - t * d[1]) ** 2 <= r * r
    out[y0:y1, x0:x1] |= inside


def brush(instance, points, radius: float, erase: bool = False) -> np.ndarray:
    """Paint (or, with ``erase``, rub out) a brush stroke on an instance."""
    m = as_mask(instance)
    stroke = stroke_mask(points, radius, m.shape)
    return m & ~stroke if erase else m | stroke


# ---- clean-up (off by default in the editor) -------------------------------------------------------
def _components(mask: np.ndarray, connectivity: int) -> tuple[int, np.ndarray, np.ndarray]:
    n, labels, stats, _ = cv2.connectedComponentsWithStats(
        mask.astype(np.uint8), connectivity=connectivity
    )
    return n, labels, stats


def remove_small_islands(mask, min_area: int, connectivity: int = 8) -> np.ndarray:
    """Drop foreground parts smaller than ``min_area`` pixels (0 keeps everything)."""
    m = as_mask(mask)
    if min_area <= 0 or not m.any():
        return m
    n, labels, stats = _components(m, connectivity)
    keep = np.zeros(n, dtype=bool)
    keep[1:] = stats[1:, cv2.CC_STAT_AREA] >= min_area
    return keep[labels]


def fill_small_holes(mask, max_area: int) -> np.ndarray:
    """Fill holes (background enclosed by the mask) of at most ``max_area`` pixels (0: none).

    Background touching the image border is never a hole. Background is taken 4-connected,
    the dual of 8-connected foreground, so a diagonal gap does not open a hole to the outside.
    """
    m = as_mask(mask)
    if max_area <= 0 or m.all():
        return m
    n, labels, stats = _components(~m, 4)
    border = np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))
    fill = np.zeros(n, dtype=bool)
    fill[1:] = stats[1:, cv2.CC_STAT_AREA] <= max_area
    fill[border] = False
    fill[0] = False  # label 0 is the mask itself
    return m | fill[labels]


def clean(mask, min_island: int = 0, max_hole: int = 0) -> np.ndarray:
    """Optional tidy-up after a model prediction; with the defaults it changes nothing."""
    return fill_small_holes(remove_small_islands(mask, min_island), max_hole)


# ---- instances -----------------------------------------------------------------------------------
def split_components(mask, min_area: int = 1, connectivity: int = 8) -> list[np.ndarray]:
    """Connected parts of an instance, largest first; parts under ``min_area`` pixels are dropped.

    Holes stay holes in each part (a part is the pixels of one component, nothing filled).
    """
    m = as_mask(mask)
    n, labels, stats = _components(m, connectivity)
    order = sorted(range(1, n), key=lambda k: (-stats[k, cv2.CC_STAT_AREA], k))
    return [labels == k for k in order if stats[k, cv2.CC_STAT_AREA] >= max(min_area, 1)]


def inner_distance(mask) -> np.ndarray:
    """Distance from each mask pixel to the nearest non-mask pixel or the image border (0 outside)."""
    padded = np.pad(as_mask(mask).astype(np.uint8), 1)
    return cv2.distanceTransform(padded, cv2.DIST_L2, 5)[1:-1, 1:-1]


def innermost_pixel(mask) -> tuple[int, int] | None:
    """``(x, y)`` of the mask pixel farthest from its outline (where a careful annotator clicks),
    None when the mask is empty."""
    dist = inner_distance(mask)
    if not dist.any():
        return None
    y, x = np.unravel_index(int(np.argmax(dist)), dist.shape)
    return int(x), int(y)


def bbox_xyxy(mask) -> tuple[int, int, int, int] | None:
    """Tight XYXY box of the mask in pixel edges (``x1``/``y1`` exclusive), None when empty."""
    m = as_mask(mask)
    rows, cols = np.flatnonzero(m.any(axis=1)), np.flatnonzero(m.any(axis=0))
    if len(rows) == 0:
        return None
    return int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1


def crop_window(box, size: tuple[int, int], margin: float = 0.0) -> tuple[int, int, int, int]:
    """Integer XYXY window around ``box`` grown by ``margin`` (fraction of its size), inside the image.

    Always at least one pixel wide and high, even for a box that lies wholly outside the image.
    """
    h, w = size
    x0, y0, x1, y1 = (float(v) for v in box)
    mx, my = (x1 - x0) * margin, (y1 - y0) * margin
    ix0 = int(np.clip(np.floor(x0 - mx), 0, w - 1))
    iy0 = int(np.clip(np.floor(y0 - my), 0, h - 1))
    ix1 = int(np.clip(np.ceil(x1 + mx), ix0 + 1, w))
    iy1 = int(np.clip(np.ceil(y1 + my), iy0 + 1, h))
    return ix0, iy0, ix1, iy1


def paste(patch, offset: tuple[int, int], size: tuple[int, int]) -> np.ndarray:
    """A patch mask placed with its top-left at ``offset`` (x, y) on an empty ``size`` canvas.

    Parts of the patch beyond the image border (including negative offsets) are clipped.
    """
    p = as_mask(patch)
    h, w = size
    out = np.zeros((h, w), dtype=bool)
    ox, oy = int(offset[0]), int(offset[1])
    x0, y0 = max(ox, 0), max(oy, 0)
    x1, y1 = min(ox + p.shape[1], w), min(oy + p.shape[0], h)
    if x1 > x0 and y1 > y0:
        out[y0:y1, x0:x1] = p[y0 - oy : y1 - oy, x0 - ox : x1 - ox]
    return out

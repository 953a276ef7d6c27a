"""Pictures of one image for the sweep: scaled to fill a tile, and a large preview with outlines.

Small images (a 96-pixel Flickr thumbnail) are scaled *up* to the tile, with nearest-neighbour so
each pixel stays a crisp square (nothing is invented between pixels); larger ones are scaled down
by pixel averaging. Masks are scaled the same way, so their pixels match the image's.

    rgb = fit_rgb(rgb, (240, 320))                 # aspect kept, as large as fits
    rgb = outlined(rgb, masks)                      # each mask's rim drawn on the picture
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from labeler.render import rim

Size = tuple[int, int]
#: The outline colour of a proposal or decision in the preview (orange, as the proposed badge).
OUTLINE = (255, 140, 0)


def fit_size(original: Size, box: Size) -> Size:
    """The ``(H, W)`` of ``original`` scaled (up or down) to the largest size inside ``box``."""
    (oh, ow), (bh, bw) = original, box
    if min(oh, ow, bh, bw) <= 0:
        raise ValueError(f"sizes must be positive, got {original} in {box}")
    scale = min(bh / oh, bw / ow)
    return max(1, min(bh, round(oh * scale))), max(1, min(bw, round(ow * scale)))


def _resize(values: np.ndarray, size: Size) -> np.ndarray:
    h, w = values.shape[:2]
    if (h, w) == tuple(size):
        return values
    up = size[0] > h or size[1] > w
    return cv2.resize(
        values,
        (size[1], size[0]),
        interpolation=cv2.INTER_NEAREST if up else cv2.INTER_AREA,
    )


def fit_rgb(rgb: np.ndarray, box: Size) -> np.ndarray:
    """``H x W x 3`` uint8 scaled to fill ``box`` (see ``fit_size``): nearest-neighbour up, area
    averaging down."""
    return _resize(rgb, fit_size(rgb.shape[:2], box))


def fit_mask(mask: np.ndarray, size: Size) -> np.ndarray:
    """A boolean mask of the original image brought to a picture of ``size`` (nearest-neighbour)."""
    m = np.asarray(mask, dtype=np.uint8)
    return cv2.resize(m, (size[1], size[0]), interpolation=cv2.INTER_NEAREST).astype(bool)


def outlined(
    rgb: np.ndarray, masks: Sequence[np.ndarray], color: tuple[int, int, int] = OUTLINE
) -> np.ndarray:
    """A copy of ``rgb`` with the rim of each mask (already at ``rgb``'s size) painted in
    ``color``, a couple of pixels wide so it shows on a large picture."""
    out = np.array(rgb, copy=True)
    width = max(1, round(max(rgb.shape[:2]) / 300))
    for mask in masks:
        out[rim(mask, width)] = color
    return out

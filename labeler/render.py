"""Pictures for people: thumbnails with mask overlays and compact overlay layers (pure, no UI).

    thumbnail(rgb, max_side) -> rgb                       (area-averaged, via labeler.geometry)
    letterbox(rgb, size) -> rgb                           centred on a fixed-size tile
    overlay(rgb, masks, alpha=0.45) -> rgb                masks drawn as colour fills with outlines
    label_layer(masks, active) -> uint8 index map         0 = clear, k = instance k, OUTLINE = active rim
    layer_png(index_map, alpha) -> PNG bytes              palette PNG with transparency (a few kB)
    jpeg(rgb, quality) / data_url(data, mime)

All arrays are ``H x W (x 3) uint8`` RGB or ``H x W`` bool masks, already in the frame they are
drawn in: resample masks with :mod:`labeler.geometry` first (never scale by hand).
"""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence

import cv2
import numpy as np
from PIL import Image

from labeler.geometry import Transform, display_size

#: Instance colours (RGB), chosen to stay distinct on photos and for common colour blindness.
PALETTE: tuple[tuple[int, int, int], ...] = (
    (0, 114, 178),
    (230, 159, 0),
    (0, 158, 115),
    (204, 121, 167),
    (86, 180, 233),
    (213, 94, 0),
    (240, 228, 66),
    (120, 94, 240),
    (0, 0, 0),
    (255, 255, 255),
)
#: Index of the active instance's rim in :func:`label_layer` maps.
OUTLINE = 255
OUTLINE_RGB = (255, 255, 0)


def instance_color(k: int) -> tuple[int, int, int]:
    return PALETTE[k % len(PALETTE)]


def thumbnail(rgb: np.ndarray, max_side: int) -> np.ndarray:
    """The image shrunk so its longest side is at most ``max_side`` (never enlarged)."""
    h, w = rgb.shape[:2]
    size = display_size((h, w), max_side, max_side)
    if size == (h, w):
        return np.ascontiguousarray(rgb)
    return Transform.resize((h, w), size).raster(rgb)


def letterbox(
    rgb: np.ndarray, size: tuple[int, int], color: tuple[int, int, int] = (240, 242, 246)
) -> np.ndarray:
    """``rgb`` centred on a ``size`` ``(H, W)`` background (grid tiles of one shape); it must fit."""
    h, w = rgb.shape[:2]
    if h > size[0] or w > size[1]:
        raise ValueError(f"a {h} x {w} image does not fit in {size}")
    out = np.empty((*size, 3), dtype=np.uint8)
    out[:] = color
    y, x = (size[0] - h) // 2, (size[1] - w) // 2
    out[y : y + h, x : x + w] = rgb
    return out


def rim(mask: np.ndarray, width: int = 1) -> np.ndarray:
    """The mask's boundary pixels (inside the mask, next to background or a hole)."""
    m = np.asarray(mask, dtype=np.uint8)
    if not m.any():
        return np.zeros(m.shape, dtype=bool)
    kernel = np.ones((2 * width + 1, 2 * width + 1), np.uint8)
    eroded = cv2.erode(m, kernel, borderType=cv2.BORDER_CONSTANT, borderValue=0)
    return (m > 0) & (eroded == 0)


def overlay(rgb: np.ndarray, masks: Sequence[np.ndarray], alpha: float = 0.45) -> np.ndarray:
    """``rgb`` with each mask blended in its palette colour and outlined (holes stay visible)."""
    out = np.asarray(rgb, dtype=np.float32).copy()
    for k, mask in enumerate(masks):
        m = np.asarray(mask, dtype=bool)
        if m.shape != out.shape[:2]:
            raise ValueError(f"mask {m.shape} is not in the image frame {out.shape[:2]}")
        color = np.array(instance_color(k), dtype=np.float32)
        out[m] = out[m] * (1 - alpha) + color * alpha
        out[rim(m)] = color
    return out.clip(0, 255).astype(np.uint8)


def label_layer(
    masks: Sequence[np.ndarray], size: tuple[int, int], active: int | None = None
) -> np.ndarray:
    """An ``H x W`` uint8 index map: instance ``k`` is ``k + 1`` (later ones on top), 0 is clear,
    and the active instance's rim is :data:`OUTLINE` so it stands out while being edited."""
    layer = np.zeros(size, dtype=np.uint8)
    for k, mask in enumerate(masks):
        layer[np.asarray(mask, dtype=bool)] = k % 254 + 1
    if active is not None and 0 <= active < len(masks):
        layer[rim(masks[active], width=1)] = OUTLINE
    return layer


def layer_png(layer: np.ndarray, alpha: int = 110) -> bytes:
    """A palette PNG of a :func:`label_layer` map: clear background, translucent fills, solid rim."""
    img = Image.fromarray(np.asarray(layer, dtype=np.uint8), mode="P")
    palette = [0, 0, 0]
    for k in range(1, 255):
        palette += instance_color(k - 1)
    palette += OUTLINE_RGB
    img.putpalette(palette)
    transparency = bytes([0] + [alpha] * 254 + [255])
    buffer = io.BytesIO()
    img.save(buffer, format="PNG", transparency=transparency, compress_level=1)
    return buffer.getvalue()


def jpeg(rgb: np.ndarray, quality: int = 85) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.asarray(rgb, dtype=np.uint8), mode="RGB").save(
        buffer, format="JPEG", quality=quality
    )
    return buffer.getvalue()


def png(rgb: np.ndarray) -> bytes:
    """Lossless RGB PNG (small images the editor enlarges: every pixel as it is)."""
    buffer = io.BytesIO()
    Image.fromarray(np.asarray(rgb, dtype=np.uint8), mode="RGB").save(
        buffer, format="PNG", compress_level=1
    )
    return buffer.getvalue()


def data_url(data: bytes, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def canvas_overlay(
    masks: Sequence[np.ndarray], to_canvas: Transform, active: int | None = None, alpha: int = 110
) -> bytes | None:
    """The editor's overlay: original-frame masks taken to the canvas (``to_canvas``, from
    ``labeler.geometry.Frames``) as a palette PNG; None when there is nothing to draw."""
    if not any(np.asarray(m).any() for m in masks):
        return None
    on_canvas = [to_canvas.mask(m) for m in masks]
    return layer_png(label_layer(on_canvas, to_canvas.dst_size, active), alpha)

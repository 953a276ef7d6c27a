"""Procedural scenes for the synthetic GRES benchmark: objects and clutter rendered with OpenCV.

Pure functions of their arguments (randomness comes in as a ``numpy.random.Generator``). Each
object is drawn in order, so later objects occlude earlier ones; an object's *visible* mask is its
full mask minus everything drawn over it, and rings carry a real hole. Those visible masks are the
ground truth, exact to the pixel.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

SHAPES = ("circle", "square", "triangle", "ring", "cross", "star")
COLOURS = {  # RGB anchors; each object jitters around its anchor
    "red": (220, 30, 30),
    "green": (30, 170, 50),
    "blue": (40, 70, 230),
    "yellow": (235, 215, 30),
    "purple": (150, 40, 190),
    "orange": (245, 130, 20),
}
SIZES = {"small": (0.07, 0.10), "large": (0.15, 0.19)}  # radius as a fraction of the image side
TEXTURES = ("plain", "striped", "dotted")


@dataclass(frozen=True)
class SynthObject:
    """One object of a scene; ``cx, cy, radius`` in pixels of the rendered image."""

    shape: str
    colour: str
    size: str
    texture: str
    cx: float
    cy: float
    radius: float
    angle: float  # degrees


def _polygon(obj: SynthObject, points: np.ndarray) -> np.ndarray:
    """Unit-circle polygon ``K x 2`` -> pixel polygon rotated by the object's angle."""
    a = np.deg2rad(obj.angle)
    rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    pts = points @ rot.T * obj.radius + np.array([obj.cx, obj.cy])
    return np.round(pts).astype(np.int32)


def _unit_star(points: int = 5, inner: float = 0.45) -> np.ndarray:
    angles = np.linspace(-np.pi / 2, 3 * np.pi / 2, 2 * points, endpoint=False)
    radii = np.where(np.arange(2 * points) % 2 == 0, 1.0, inner)
    return np.stack([radii * np.cos(angles), radii * np.sin(angles)], axis=1)


_UNIT = {
    "square": np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]], dtype=float) * 0.8,
    "triangle": np.array([[0, -1], [0.87, 0.5], [-0.87, 0.5]], dtype=float),
    "cross": np.array(
        [
            [-0.3, -1],
            [0.3, -1],
            [0.3, -0.3],
            [1, -0.3],
            [1, 0.3],
            [0.3, 0.3],
            [0.3, 1],
            [-0.3, 1],
            [-0.3, 0.3],
            [-1, 0.3],
            [-1, -0.3],
            [-0.3, -0.3],
        ],
        dtype=float,
    ),
    "star": _unit_star(),
}


def shape_mask(obj: SynthObject, height: int, width: int) -> np.ndarray:
    """Full (unoccluded) ``H x W`` bool mask of an object; a ring has its hole cut out."""
    canvas = np.zeros((height, width), dtype=np.uint8)
    centre = (int(round(obj.cx)), int(round(obj.cy)))
    if obj.shape == "circle":
        cv2.circle(canvas, centre, int(round(obj.radius)), 1, thickness=-1)
    elif obj.shape == "ring":
        cv2.circle(canvas, centre, int(round(obj.radius)), 1, thickness=-1)
        cv2.circle(canvas, centre, max(1, int(round(obj.radius * 0.5))), 0, thickness=-1)
    else:
        cv2.fillPoly(canvas, [_polygon(obj, _UNIT[obj.shape])], 1)
    return canvas.astype(bool)


def _texture_pattern(texture: str, height: int, width: int, rng: np.random.Generator) -> np.ndarray:
    """``H x W`` float in {0, 1}: where the texture's second tone goes."""
    yy, xx = np.mgrid[0:height, 0:width]
    if texture == "striped":
        period = max(4, width // 16)
        angle = rng.uniform(0, np.pi)
        proj = xx * np.cos(angle) + yy * np.sin(angle)
        return ((proj // (period / 2)) % 2).astype(float)
    if texture == "dotted":
        period = max(5, width // 14)
        return (((yy % period) < period / 2.5) & ((xx % period) < period / 2.5)).astype(float)
    return np.zeros((height, width))


def object_colour(name: str, rng: np.random.Generator) -> np.ndarray:
    """Jittered RGB of a named colour, float in [0, 255]."""
    return np.clip(np.array(COLOURS[name], dtype=float) + rng.normal(0, 10, 3), 0, 255)


def background(height: int, width: int, rng: np.random.Generator) -> np.ndarray:
    """Cluttered, desaturated background ``H x W x 3`` float: gradient, noise, lines and blobs.

    The clutter is grey-ish on purpose: it makes segmentation non-trivial without creating
    colours that an expression could refer to.
    """
    base = rng.uniform(70, 190)
    tint = rng.normal(0, 8, 3)
    gy = np.linspace(-1, 1, height)[:, None] * rng.uniform(-25, 25)
    gx = np.linspace(-1, 1, width)[None, :] * rng.uniform(-25, 25)
    img = (base + gy + gx)[..., None] + tint
    img = np.repeat(img, 3, axis=2) if img.shape[2] == 1 else img
    img = img + rng.normal(0, 9, (height, width, 3))
    canvas = np.ascontiguousarray(np.clip(img, 0, 255).astype(np.uint8))
    for _ in range(rng.integers(4, 10)):  # clutter: lines
        grey = int(rng.uniform(40, 220))
        p1 = (int(rng.integers(0, width)), int(rng.integers(0, height)))
        p2 = (int(rng.integers(0, width)), int(rng.integers(0, height)))
        cv2.line(canvas, p1, p2, (grey, grey, grey), int(rng.integers(1, 3)))
    for _ in range(rng.integers(3, 8)):  # clutter: soft blobs
        grey = int(rng.uniform(40, 220))
        centre = (int(rng.integers(0, width)), int(rng.integers(0, height)))
        axes = (
            int(rng.integers(2, max(3, width // 10))),
            int(rng.integers(2, max(3, height // 10))),
        )
        cv2.ellipse(canvas, centre, axes, float(rng.uniform(0, 180)), 0, 360, (grey,) * 3, -1)
    return canvas.astype(float)


def render(
    objects: list[SynthObject], height: int, width: int, rng: np.random.Generator
) -> tuple[np.ndarray, list[np.ndarray]]:
    """Draw objects in order on a cluttered background.

    Returns:
        ``(image H x W x 3 uint8, visible masks)``: one ``H x W`` bool mask per object, each the
        object's full mask minus the objects drawn after it.
    """
    img = background(height, width, rng)
    full = [shape_mask(o, height, width) for o in objects]
    for obj, mask in zip(objects, full):
        colour = object_colour(obj.colour, rng)
        shade = colour * (0.55 if obj.texture == "striped" else 1.0)
        if obj.texture == "dotted":
            shade = np.clip(colour + 70, 0, 255)
        pattern = _texture_pattern(obj.texture, height, width, rng)[..., None]
        fill = colour * (1 - pattern) + shade * pattern
        img = np.where(mask[..., None], fill, img)
    visible = []
    for i, mask in enumerate(full):
        covered = np.zeros_like(mask)
        for later in full[i + 1 :]:
            covered |= later
        visible.append(mask & ~covered)
    image = np.clip(img + rng.normal(0, 3, img.shape), 0, 255).astype(np.uint8)
    return image, visible

"""Input from an image canvas, as plain data, and what it does to an :class:`ImageEditor`.

The browser reports clicks, boxes and brush strokes in *viewport* pixels (the canvas element as
shown, zoomed and panned) with the view they were made under; :func:`apply_event` takes them to
original-image pixels through :class:`labeler.geometry.Frames` (the one owner of that conversion)
and calls the editor. Pure: the UI only parses the payload and calls this.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from labeler.geometry import Frames, clip_box
from labeler.image_editor import ImageEditor
from labeler.segmenter import Embedding, Segmenter

KINDS = ("click", "box", "stroke")


@dataclass(frozen=True)
class CanvasEvent:
    """One user input in viewport pixels (x right, y down, continuous); ``id`` is the browser's.

    ``zoom`` / ``pan``: the view it was made under (``viewport = zoom * canvas + pan``); a brush
    ``radius`` is in viewport pixels too (the brush keeps its size on screen).
    """

    kind: str  # one of KINDS
    id: str
    x: float = 0.0
    y: float = 0.0
    positive: bool = True
    box: tuple[float, float, float, float] | None = None
    points: tuple[tuple[float, float], ...] = ()
    radius: float = 0.0
    erase: bool = False
    zoom: float = 1.0
    pan: tuple[float, float] = (0.0, 0.0)


def parse_event(raw: Any) -> CanvasEvent | None:
    """A browser payload as a :class:`CanvasEvent`; None for anything malformed (never raises)."""
    if not isinstance(raw, dict) or raw.get("kind") not in KINDS:
        return None
    try:
        event_id = str(raw["id"])
        zoom, pan_x, pan_y = (float(v) for v in raw.get("view") or (1.0, 0.0, 0.0))
        if not (zoom > 0 and all(map(math.isfinite, (zoom, pan_x, pan_y)))):
            return None
        view = {"zoom": zoom, "pan": (pan_x, pan_y)}
        if raw["kind"] == "click":
            x, y, positive = float(raw["x"]), float(raw["y"]), bool(raw.get("positive", True))
            return CanvasEvent("click", event_id, x, y, positive, **view)
        if raw["kind"] == "box":
            x0, y0, x1, y1 = (float(v) for v in raw["box"])
            return CanvasEvent("box", event_id, box=(x0, y0, x1, y1), **view)
        points = tuple((float(x), float(y)) for x, y in raw["points"])
        radius = float(raw["radius"])
        if not points or radius <= 0:
            return None
        erase = bool(raw.get("erase", False))
        return CanvasEvent("stroke", event_id, points=points, radius=radius, erase=erase, **view)
    except (KeyError, TypeError, ValueError):
        return None


def apply_event(
    editor: ImageEditor,
    frames: Frames,
    event: CanvasEvent,
    segmenter: Segmenter,
    embedding: Embedding,
) -> None:
    """Apply one canvas event to the editor, in original-image pixels."""
    if event.kind == "click":
        x, y = frames.canvas_click(event.x, event.y, event.zoom, event.pan)
        editor.click(segmenter, embedding, x, y, positive=event.positive)
        return
    to_original = frames.viewport_to_original(event.zoom, event.pan)
    if event.kind == "box":
        box = clip_box(to_original.box(event.box), frames.original_size)
        if box[2] - box[0] >= 1 and box[3] - box[1] >= 1:
            editor.box(segmenter, embedding, box)
    elif event.kind == "stroke":
        points = to_original.points(event.points)
        radius = event.radius * (abs(to_original.sx) + abs(to_original.sy)) / 2
        editor.stroke(points, max(radius, 0.5), erase=event.erase)

"""The mask-editor canvas: the one place that knows how image input reaches Python.

A small ``st.components.v2`` component with inline JavaScript (``mask_canvas.js``): it draws the
image, the instance overlay (a palette PNG) and the prompts, and reports clicks, boxes and brush
strokes as ``labeler.canvas_input.CanvasEvent`` objects in *canvas* pixels.
Chosen over streamlit-image-coordinates, streamlit-drawable-canvas (a fixed 200 ms per event) and
plotly selections after measuring them: an event comes back with its new overlay in ~50 ms plus the
segmenter's time (``bench/bench_ui.py``). To replace it, keep :func:`mask_canvas` and
:func:`read_event` and change what is behind them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import streamlit as st

from labeler.canvas_input import CanvasEvent, parse_event
from ui.components import trigger_value

__all__ = ["TOOLS", "CanvasEvent", "mask_canvas", "read_event"]

_JS = (Path(__file__).with_name("mask_canvas.js")).read_text()
_CSS = """
.grd-canvas-root { position: relative; width: 100%; user-select: none; touch-action: none; }
.grd-canvas-root canvas { position: absolute; inset: 0; width: 100%; height: 100%; }
.grd-canvas-root canvas.grd-base { position: relative; display: block; }
"""
_COMPONENT = st.components.v2.component("grd.mask_canvas", js=_JS, css=_CSS, isolate_styles=False)

TOOLS = ("point", "box", "brush", "erase")


def read_event(key: str) -> CanvasEvent | None:
    """The event that triggered the current callback of the canvas called ``key``."""
    return parse_event(trigger_value(key))


def mask_canvas(
    *,
    key: str,
    image_url: str,
    image_key: str,
    size: tuple[int, int],
    overlay_url: str | None,
    points: Sequence[tuple[float, float, int]] = (),
    box: tuple[float, float, float, float] | None = None,
    tool: str = "point",
    negative: bool = False,
    brush_radius: float = 8.0,
    seq: str = "",
    on_event: Callable[[], None] | None = None,
) -> None:
    """Draw the canvas. ``size`` is the canvas ``(H, W)``; ``points`` / ``box`` are in canvas
    pixels; ``seq`` echoes the id of the last event handled (the browser marks it as on screen).
    ``on_event`` runs before the rerun; read the event there with :func:`read_event`."""
    if tool not in TOOLS:
        raise ValueError(f"unknown tool {tool!r}; use one of {TOOLS}")
    data = {
        "image": image_url,
        "image_key": image_key,
        "overlay": overlay_url,
        "width": int(size[1]),
        "height": int(size[0]),
        "points": [[float(x), float(y), int(label)] for x, y, label in points],
        "box": list(box) if box else None,
        "tool": tool,
        "negative": bool(negative),
        "brush_radius": float(brush_radius),
        "seq": seq,
    }
    _COMPONENT(key=key, data=data, on_event_change=on_event or (lambda: None))

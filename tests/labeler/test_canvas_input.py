"""Canvas input: browser payloads parsed defensively and mapped to image pixels through Frames."""

from __future__ import annotations

import numpy as np

from labeler.canvas_input import CanvasEvent, apply_event, parse_event
from labeler.domain import ExpressionDecision
from labeler.geometry import Frames
from labeler.image_editor import ImageEditor
from tests.labeler.test_image_editor import DiscSegmenter

H, W = 40, 60


def test_parse_event_accepts_the_three_kinds_and_rejects_garbage():
    click = parse_event({"kind": "click", "id": "a", "x": 3, "y": 4.5, "positive": False})
    assert click == CanvasEvent("click", "a", 3.0, 4.5, False)
    box = parse_event({"kind": "box", "id": "b", "box": [1, 2, 3, 4]})
    assert box.box == (1.0, 2.0, 3.0, 4.0)
    stroke = parse_event(
        {"kind": "stroke", "id": "c", "points": [[1, 2], [3, 4]], "radius": 5, "erase": True}
    )
    assert stroke.points == ((1.0, 2.0), (3.0, 4.0)) and stroke.erase and stroke.radius == 5.0
    for bad in (
        None,
        "x",
        {},
        {"kind": "drag"},
        {"kind": "click", "id": "d"},
        {"kind": "box", "id": "e", "box": [1, 2]},
        {"kind": "stroke", "id": "f", "points": [], "radius": 3},
        {"kind": "stroke", "id": "g", "points": [[1, 2]], "radius": 0},
        {"kind": "click", "id": "h", "x": "left", "y": 1},
    ):
        assert parse_event(bad) is None


def _setup(canvas=(80, 120)):
    seg = DiscSegmenter()
    emb = seg.embed(np.zeros((H, W, 3), np.uint8))
    ed = ImageEditor(ExpressionDecision(1, 1), H, W)
    return ed, Frames.for_image((H, W), canvas=canvas), seg, emb


def test_a_click_on_a_2x_canvas_lands_on_the_matching_image_pixel():
    ed, frames, seg, emb = _setup()
    apply_event(ed, frames, CanvasEvent("click", "1", x=61.0, y=41.0), seg, emb)
    assert seg.calls[-1].points == ((30.75, 20.75),)  # centre of canvas pixel (61, 41), halved
    assert ed.instances[0][20, 30]
    apply_event(ed, frames, CanvasEvent("click", "2", x=61.0, y=41.0, positive=False), seg, emb)
    assert seg.calls[-1].labels == (1, 0) and not ed.instances[0][20, 30]


def test_box_and_stroke_are_scaled_to_the_image_and_clipped():
    ed, frames, seg, emb = _setup()
    apply_event(ed, frames, CanvasEvent("box", "1", box=(-10.0, 20.0, 40.0, 60.0)), seg, emb)
    assert seg.calls[-1].box == (0.0, 10.0, 20.0, 30.0)
    assert ed.instances[0].sum() == 20 * 20
    apply_event(
        ed,
        frames,
        CanvasEvent("stroke", "2", points=((20.0, 40.0),), radius=8.0, erase=True),
        seg,
        emb,
    )
    # radius 8 canvas px = 4 image px around (10, 20): a hole
    assert not ed.instances[0][20, 10] and ed.instances[0][12, 2]
    hole = ~ed.instances[0][10:30, 0:20]
    assert 30 < hole.sum() < 70


def test_a_degenerate_box_does_nothing():
    ed, frames, seg, emb = _setup()
    apply_event(ed, frames, CanvasEvent("box", "1", box=(200.0, 200.0, 300.0, 300.0)), seg, emb)
    assert seg.calls == [] and len(ed.instances) == 0


def test_zoomed_input_maps_through_the_view_it_was_made_under():
    """Zoom 4 on the 2x canvas (8 viewport px per image px), panned: the browser payload's view
    takes the click, the box and the brush (radius in screen pixels) to the right image pixels."""
    ed, frames, seg, emb = _setup()
    # viewport = 4 * canvas + pan; image pixel (col 30, row 20) centre = canvas (61, 41)
    pan = (-100.0, -60.0)
    raw = {"kind": "click", "id": "z", "x": 144, "y": 104, "view": [4, *pan]}
    event = parse_event(raw)
    assert (event.zoom, event.pan) == (4.0, pan)
    apply_event(ed, frames, event, seg, emb)
    x, y = seg.calls[-1].points[0]
    assert (int(x), int(y)) == (30, 20) and abs(x - 30.5625) < 1e-9
    box = parse_event({"kind": "box", "id": "b", "box": [60, 100, 140, 180], "view": [4, *pan]})
    apply_event(ed, frames, box, seg, emb)
    assert seg.calls[-1].box == (20.0, 20.0, 30.0, 30.0)
    stroke = parse_event(
        {"kind": "stroke", "id": "s", "points": [[140, 100]], "radius": 16, "view": [4, *pan]}
    )
    ed.new_object()
    apply_event(ed, frames, stroke, seg, emb)
    painted = ed.instances[ed.active]
    assert painted[20, 30] and 10 <= painted.sum() <= 16  # radius 16 screen px = 2 image px


def test_a_view_that_is_not_a_view_is_rejected():
    for view in ([0, 0, 0], [-2, 0, 0], [1, float("nan"), 0], [1, 2]):
        assert parse_event({"kind": "click", "id": "v", "x": 1, "y": 1, "view": view}) is None

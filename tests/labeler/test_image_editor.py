"""The image editor: clicks, boxes, brush and holes, undo/redo of prompts, confirm and conflicts."""

from __future__ import annotations

import numpy as np
import pytest

from labeler import mask_ops, masks
from labeler.domain import DecisionStatus
from labeler.image_editor import ImageEditor
from labeler.segmenter import Prompts, SegmentResult
from labeler.store import Store

H, W = 40, 60


class DiscSegmenter:
    """A transparent test segmenter: the box, plus discs (r=6) at positive points, minus discs at
    negative points; logits count the predictions so refinement is visible."""

    model_id = "disc-test"

    def __init__(self):
        self.calls: list[Prompts] = []

    def embed(self, image):
        return {"shape": np.array(image.shape[:2])}

    def predict(self, embedding, prompts: Prompts) -> SegmentResult:
        self.calls.append(prompts)
        size = tuple(int(v) for v in embedding["shape"])
        mask = np.zeros(size, dtype=bool)
        if prompts.box is not None:
            x0, y0, x1, y1 = (round(v) for v in prompts.box)
            mask[y0:y1, x0:x1] = True
        for (x, y), label in zip(prompts.points, prompts.labels):
            disc = mask_ops.stroke_mask([(x, y)], 6, size)
            mask = mask | disc if label else mask & ~disc
        count = 0 if prompts.previous_logits is None else int(prompts.previous_logits[0])
        return SegmentResult(mask, np.array([count + 1], dtype=np.float32), 0.9)


@pytest.fixture
def world(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'p.db'}")
    group = store.create_group("g")
    image = store.add_image(group.id, "images/a.png", W, H, "h")[0]
    expr = store.add_expression(group.id, "the thing")
    seg = DiscSegmenter()
    yield store, expr, image, seg, seg.embed(np.zeros((H, W, 3), np.uint8))
    store.close()


def editor_for(store, expr, image):
    return ImageEditor(store.get_decision(expr.id, image.id), image.height, image.width)


def test_first_click_adds_an_instance_and_further_clicks_refine_it(world):
    store, expr, image, seg, emb = world
    ed = editor_for(store, expr, image)
    ed.click(seg, emb, 20.5, 20.5, positive=True)
    assert len(ed.instances) == 1 and ed.active == 0
    assert ed.instances[0][20, 20] and ed.instances[0].sum() > 50
    ed.click(seg, emb, 30.5, 20.5, positive=True)
    assert len(ed.instances) == 1 and ed.instances[0][20, 30]
    ed.click(seg, emb, 25.5, 20.5, positive=False)
    assert not ed.instances[0][20, 25] and ed.instances[0][20, 15] and ed.instances[0][20, 35]
    # each prediction was fed the previous one's logits, with all the clicks so far
    assert [c.previous_logits is None for c in seg.calls] == [True, False, False]
    assert seg.calls[-1].labels == (1, 1, 0)


def test_box_then_new_object_gives_two_instances_saved_as_one_positive(world):
    store, expr, image, seg, emb = world
    ed = editor_for(store, expr, image)
    ed.box(seg, emb, (2, 3, 12, 13))
    ed.new_object()
    ed.click(seg, emb, 40.5, 20.5, positive=True)
    assert len(ed.instances) == 2 and ed.active == 1
    saved = ed.confirm(store, author="ann")
    assert saved.status is DecisionStatus.POSITIVE and saved.revision == 1
    stored = store.get_decision(expr.id, image.id)
    assert len(stored.instances) == 2 and stored.author == "ann"
    assert masks.area(stored.instances[0].rle) == 100
    assert not ed.dirty and ed.base_revision == 1


def test_eraser_hole_survives_the_next_click_and_undo_restores_prompts(world):
    store, expr, image, seg, emb = world
    ed = editor_for(store, expr, image)
    ed.box(seg, emb, (5, 5, 45, 35))
    ed.stroke([(25.5, 20.5)], radius=3, erase=True)  # a hole in the middle
    assert not ed.instances[0][20, 25]
    ed.click(seg, emb, 10.5, 10.5, positive=True)  # refine: box and point, hole kept
    assert not ed.instances[0][20, 25] and ed.instances[0][10, 10]
    stored = ed.confirm(store, author="ann")
    hole = masks.decode(stored.instances[0].rle)
    assert hole[10, 10] and not hole[20, 25] and hole[20, 10]
    assert ed.undo() == "click"
    assert ed.prompts.points == () and ed.prompts.box is not None and len(ed.prompts.strokes) == 1
    assert ed.undo() == "erase"
    assert ed.instances[0][20, 25] and ed.prompts.strokes == ()
    assert ed.redo() == "erase"
    assert not ed.instances[0][20, 25] and len(ed.prompts.strokes) == 1
    assert ed.dirty


def test_brush_without_active_instance_paints_a_new_one_and_delete_removes_it(world):
    store, expr, image, _seg, _emb = world
    ed = editor_for(store, expr, image)
    ed.stroke([(5, 5), (20, 5)], radius=2, erase=True)  # nothing to erase: no-op
    assert len(ed.instances) == 0 and not ed.can_undo
    ed.stroke([(5, 5), (20, 5)], radius=2)
    assert len(ed.instances) == 1 and ed.instances[0][5, 10]
    ed.delete(0)
    assert len(ed.instances) == 0 and ed.active is None
    ed.undo()
    assert len(ed.instances) == 1 and ed.active == 0


def test_confirm_with_no_instances_is_a_negative_and_mark_negative_drops_instances(world):
    store, expr, image, seg, emb = world
    ed = editor_for(store, expr, image)
    ed.click(seg, emb, 10.5, 10.5, positive=True)
    ed.confirm(store, author="ann")
    saved = ed.mark_negative(store, author="ann")
    assert saved.status is DecisionStatus.NEGATIVE and saved.revision == 2
    assert store.get_decision(expr.id, image.id).status is DecisionStatus.NEGATIVE
    assert len(ed.instances) == 0 and not ed.dirty


def test_concurrent_save_shows_both_versions_and_either_can_win(world):
    store, expr, image, seg, emb = world
    ed = editor_for(store, expr, image)
    other = editor_for(store, expr, image)
    other.box(seg, emb, (0, 0, 10, 10))
    other.confirm(store, author="bob")
    ed.click(seg, emb, 40.5, 20.5, positive=True)
    assert ed.confirm(store, author="ann") is None
    c = ed.conflict
    assert c.theirs.author == "bob" and masks.area(c.theirs.instances[0].rle) == 100
    assert len(c.mine) == 1 and masks.decode(c.mine[0])[20, 40]
    assert store.get_decision(expr.id, image.id).author == "bob"  # not overwritten
    saved = ed.keep_mine(store, author="ann")
    assert saved.revision == 2 and ed.conflict is None
    assert masks.decode(store.get_decision(expr.id, image.id).instances[0].rle)[20, 40]
    # the other way round: bob now conflicts and takes ann's version
    other.stroke([(3, 3)], radius=2)
    assert other.confirm(store, author="bob") is None
    other.take_theirs()
    assert other.base_revision == 2 and not other.dirty
    assert masks.decode(other.session.rles()[0])[20, 40]


def test_reload_if_stale_follows_newer_saves_only_when_clean(world):
    store, expr, image, seg, emb = world
    ed = editor_for(store, expr, image)
    other = editor_for(store, expr, image)
    other.box(seg, emb, (0, 0, 10, 10))
    other.confirm(store, author="bob")
    assert ed.reload_if_stale(store.get_decision(expr.id, image.id))
    assert len(ed.instances) == 1 and ed.base_revision == 1
    ed.stroke([(30, 30)], radius=2)
    other.stroke([(20, 20)], radius=2)
    other.confirm(store, author="bob")
    assert not ed.reload_if_stale(store.get_decision(expr.id, image.id))

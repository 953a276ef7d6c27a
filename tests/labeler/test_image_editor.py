"""The image editor: clicks, boxes, brush and holes, undo/redo of prompts, confirm and conflicts."""

from __future__ import annotations

import numpy as np
import pytest

from labeler import mask_ops, rle
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
    assert rle.area(stored.instances[0].rle) == 100
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
    hole = rle.decode(stored.instances[0].rle)
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
    assert c.theirs.author == "bob" and rle.area(c.theirs.instances[0].rle) == 100
    assert len(c.mine) == 1 and rle.decode(c.mine[0])[20, 40]
    assert store.get_decision(expr.id, image.id).author == "bob"  # not overwritten
    saved = ed.keep_mine(store, author="ann")
    assert saved.revision == 2 and ed.conflict is None
    assert rle.decode(store.get_decision(expr.id, image.id).instances[0].rle)[20, 40]
    # the other way round: bob now conflicts and takes ann's version
    other.stroke([(3, 3)], radius=2)
    assert other.confirm(store, author="bob") is None
    other.take_theirs()
    assert other.base_revision == 2 and not other.dirty
    assert rle.decode(other.session.rles()[0])[20, 40]


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


def propose_box(store, expr, image, box=(5, 5, 30, 25)):
    m = np.zeros((H, W), bool)
    x0, y0, x1, y1 = box
    m[y0:y1, x0:x1] = True
    store.propose(expr.id, image.id, [rle.encode(m)], score=0.8, model_version="m1")
    return m


def test_clicks_on_a_proposal_correct_it_instead_of_replacing_it(world):
    """A proposal that misses a part and spills a little: one click adds the part, one cuts the
    spill; the rest of the proposal stays (re-predicting from the clicks would lose it)."""
    store, expr, image, seg, emb = world
    proposal = propose_box(store, expr, image)
    ed = editor_for(store, expr, image)
    assert ed.active == 0 and ed.prompts == ed.prompts.__class__()
    ed.click(seg, emb, 40.5, 15.5, positive=True)  # a missed part right of the box
    got = ed.instances[0]
    assert got[15, 40] and (got & proposal).sum() == proposal.sum()  # added, nothing lost
    ed.click(seg, emb, 8.5, 8.5, positive=False)  # the box's top-left corner is a spill
    got = ed.instances[0]
    assert not got[8, 8] and got[20, 20] and got[15, 40]
    # each click asked the segmenter for the region under it alone (no chain of logits)
    assert [(c.points, c.labels, c.previous_logits) for c in seg.calls] == [
        (((40.5, 15.5),), (1,), None),
        (((8.5, 8.5),), (1,), None),
    ]
    assert ed.prompts.points == ((40.5, 15.5), (8.5, 8.5)) and ed.prompts.labels == (1, 0)
    saved = ed.confirm(store, author="ann")
    assert saved.status is DecisionStatus.POSITIVE and len(saved.instances) == 1
    assert rle.area(saved.instances[0].rle) == int(got.sum())
    assert ed.undo() == "subtract region" and ed.instances[0][8, 8]
    assert ed.prompts.points == ((40.5, 15.5),)
    assert ed.undo() == "add region"
    np.testing.assert_array_equal(ed.instances[0], proposal)
    assert ed.prompts.points == ()


class BoxDiscSegmenter(DiscSegmenter):
    """The disc segmenter declaring, like SAM, that it finds objects from their box."""

    segments_from_box = True


def test_a_box_segmenter_corrects_a_proposal_from_its_box_and_the_click(world):
    """SAM-like: the first click on a proposal prompts the proposal's box with the click; later
    clicks refine that prediction; undo brings the proposal (and the box rule) back."""
    store, expr, image, _, emb = world
    seg = BoxDiscSegmenter()
    proposal = propose_box(store, expr, image, box=(10, 10, 30, 25))
    ed = editor_for(store, expr, image)
    ed.click(seg, emb, 35.5, 15.5, positive=True)
    first = seg.calls[-1]
    assert first.box == (10.0, 10.0, 30.0, 25.0) and first.points == ((35.5, 15.5),)
    assert first.previous_logits is None
    assert ed.instances[0][15, 35] and (ed.instances[0] & proposal).sum() == proposal.sum()
    ed.click(seg, emb, 12.5, 12.5, positive=False)
    second = seg.calls[-1]
    assert second.box == first.box and second.labels == (1, 0)
    assert second.previous_logits is not None  # refining the box's prediction
    ed.undo()
    ed.undo()
    np.testing.assert_array_equal(ed.instances[0], proposal)
    ed.click(seg, emb, 35.5, 15.5, positive=True)
    assert seg.calls[-1].box == (10.0, 10.0, 30.0, 25.0)


def test_a_box_segmenter_still_adds_regions_to_what_a_person_made(world):
    """A confirmed decision or a painted object is not a proposal: its clicks add the region under
    them, keeping the person's mask (no box prompt)."""
    store, expr, image, _, emb = world
    seg = BoxDiscSegmenter()
    mask = np.zeros((H, W), bool)
    mask[10:25, 10:30] = True
    store.save_decision(
        expr.id, image.id, "positive", [rle.encode(mask)], author="ann", expected_revision=0
    )
    ed = editor_for(store, expr, image)
    ed.click(seg, emb, 35.5, 15.5, positive=True)
    assert seg.calls[-1].box is None and (ed.instances[0] & mask).sum() == mask.sum()
    ed.new_object()
    ed.stroke([(45, 30), (55, 30)], radius=3)
    ed.click(seg, emb, 50.5, 36.5, positive=True)
    assert seg.calls[-1].box is None


def test_a_box_on_a_corrected_proposal_segments_afresh(world):
    store, expr, image, seg, emb = world
    propose_box(store, expr, image)
    ed = editor_for(store, expr, image)
    ed.click(seg, emb, 40.5, 15.5, positive=True)
    ed.box(seg, emb, (2, 3, 12, 13))
    assert ed.instances[0].sum() == 100 and not ed.prompts.corrects
    assert ed.prompts.points == () and ed.prompts.box == (2.0, 3.0, 12.0, 13.0)
    ed.click(seg, emb, 20.5, 20.5, positive=True)  # now clicks refine the box's chain
    assert seg.calls[-1].box == (2.0, 3.0, 12.0, 13.0) and seg.calls[-1].previous_logits is not None


def test_reopened_object_is_corrected_not_replaced(world):
    """Two objects made by clicks; going back to the first with "edit" and clicking adds to it."""
    store, expr, image, seg, emb = world
    ed = editor_for(store, expr, image)
    ed.click(seg, emb, 10.5, 10.5, positive=True)
    first = ed.instances[0].copy()
    ed.new_object()
    ed.click(seg, emb, 45.5, 25.5, positive=True)
    ed.select(0)
    ed.click(seg, emb, 10.5, 25.5, positive=True)
    assert ed.instances[0][25, 10] and (ed.instances[0] & first).sum() == first.sum()
    assert not ed.instances[1][10, 10] and ed.instances[1][25, 45]


def test_painted_object_is_extended_by_a_click(world):
    store, expr, image, seg, emb = world
    ed = editor_for(store, expr, image)
    ed.stroke([(5, 5), (20, 5)], radius=2)
    painted = ed.instances[0].copy()
    ed.click(seg, emb, 40.5, 30.5, positive=True)
    assert ed.instances[0][30, 40] and (ed.instances[0] & painted).sum() == painted.sum()


def _disc_scene():
    """96 px noisy grey image with a red disc (r = 14 at (40, 44)) and its exact mask."""
    import cv2

    rng = np.random.default_rng(1)
    image = np.clip(rng.normal(128, 6, (96, 96, 3)), 0, 255).astype(np.uint8)
    disc = np.zeros((96, 96), np.uint8)
    cv2.circle(disc, (40, 44), 14, 1, -1)
    image[disc > 0] = (210, 40, 40)
    return image, disc > 0


def test_a_segmenter_that_takes_a_mask_as_prior_refines_the_proposal_with_the_clicks(tmp_path):
    """With the classic segmenter a click on a proposal refines the proposal itself: a negative
    click on a spill beside the object removes the spill and keeps the object (cutting "the region
    under the click" would cut the object: it is what a click on its rim segments)."""
    from labeler.classic_segmenter import ClassicSegmenter
    from labeler.clicks import next_click
    from labeler.mask_ops import iou

    image, disc = _disc_scene()
    spill = disc | np.roll(disc, 7, axis=1)  # the proposal runs 7 px past the disc's right side
    store = Store(f"sqlite:///{tmp_path / 'p.db'}")
    group = store.create_group("g")
    record = store.add_image(group.id, "images/a.png", 96, 96, "h")[0]
    expr = store.add_expression(group.id, "the red disc")
    store.propose(expr.id, record.id, [rle.encode(spill)], score=0.5, model_version="m1")
    segmenter = ClassicSegmenter()
    embedding = segmenter.embed(image)
    ed = editor_for(store, expr, record)
    click = next_click(disc, ed.instances[0])
    assert not click.positive and not disc[int(click.y), int(click.x)]
    ed.click(segmenter, embedding, click.x, click.y, click.positive)
    assert ed.prompts.corrects and ed.prompts.labels == (0,)
    assert iou(ed.instances[0], disc) >= 0.9 > iou(spill, disc)
    ed.undo()
    np.testing.assert_array_equal(ed.instances[0], spill)  # undo goes back to the proposal
    assert ed.prompts.points == () and not ed.prompts.corrects
    logits = segmenter.prior_logits(embedding, spill)
    assert logits.shape == embedding["image"].shape[:2] and set(np.unique(logits)) == {-1.0, 1.0}
    with pytest.raises(ValueError, match="does not fit"):
        segmenter.prior_logits(embedding, np.zeros((10, 10), bool))
    store.close()


class PriorDiscSegmenter(DiscSegmenter):
    """DiscSegmenter that also takes any mask as its start (``prior_logits``), as the classic one."""

    def prior_logits(self, embedding, mask):
        return np.array([100.0 + mask.sum()], dtype=np.float32)


def test_clicks_on_a_proposal_chain_from_the_proposal_when_the_segmenter_takes_a_prior(world):
    store, expr, image, _, emb = world
    seg = PriorDiscSegmenter()
    proposal = propose_box(store, expr, image)
    ed = editor_for(store, expr, image)
    ed.click(seg, emb, 40.5, 15.5, positive=True)
    ed.click(seg, emb, 8.5, 8.5, positive=False)
    first, second = seg.calls
    assert first.points == ((40.5, 15.5),) and first.previous_logits[0] == 100 + proposal.sum()
    assert second.points == ((40.5, 15.5), (8.5, 8.5)) and second.labels == (1, 0)
    assert second.previous_logits[0] == 1 + first.previous_logits[0]  # the last prediction's
    assert ed.prompts.corrects
    ed.box(seg, emb, (2, 3, 12, 13))  # a box segments afresh, as on any corrected mask
    assert seg.calls[-1].points == () and seg.calls[-1].previous_logits is None
    assert ed.instances[0].sum() == 100 and not ed.prompts.corrects
    ed.undo()
    ed.undo()
    ed.undo()
    np.testing.assert_array_equal(ed.instances[0], proposal)


def test_delete_all_is_one_edit_and_undo_restores_every_instance(world):
    store, expr, image, seg, emb = world
    ed = editor_for(store, expr, image)
    ed.click(seg, emb, 10.5, 10.5, positive=True)
    ed.new_object()
    ed.click(seg, emb, 45.5, 25.5, positive=True)
    kept = [m.copy() for m in ed.instances]
    ed.delete_all()
    assert ed.instances == () and ed.active is None and ed.dirty
    assert ed.undo() == "delete instances"
    assert len(ed.instances) == 2
    for got, want in zip(ed.instances, kept):
        np.testing.assert_array_equal(got, want)
    ed.redo()
    saved = ed.confirm(store, author="ann")
    assert saved.status is DecisionStatus.NEGATIVE  # nothing left: a certified negative


def test_redo_is_disabled_after_confirm(world):
    """Undo a click, confirm: the undone click must not come back over the saved version."""
    store, expr, image, seg, emb = world
    ed = editor_for(store, expr, image)
    ed.click(seg, emb, 20.5, 20.5, positive=True)
    ed.click(seg, emb, 40.5, 20.5, positive=True)
    ed.undo()
    assert ed.can_redo
    saved_mask = ed.instances[0].copy()
    assert ed.confirm(store, author="ann") is not None
    assert not ed.can_redo and ed.redo() is None
    assert np.array_equal(ed.instances[0], saved_mask) and not ed.dirty
    assert ed.can_undo  # undo still works: it makes the editor dirty again


def test_paint_sets_the_active_mask_by_hand_in_one_undoable_edit(world):
    store, expr, image, seg, emb = world
    ed = editor_for(store, expr, image)
    ed.click(seg, emb, 20, 20, True)
    painted = np.zeros((H, W), bool)
    painted[5:15, 30:50] = True
    ed.paint(painted)  # replaces the clicked instance
    assert len(ed.instances) == 1 and np.array_equal(ed.instances[0], painted)
    assert not ed.prompts.points  # the clicks did not make this mask
    ed.new_object()
    ed.paint(painted[::-1])  # none active: a new instance
    assert len(ed.instances) == 2 and ed.active == 1
    ed.undo()
    assert len(ed.instances) == 1
    ed.undo()
    assert not np.array_equal(ed.instances[0], painted) and ed.instances[0][20, 20]
    ed.redo()
    # a click on the painted mask corrects it instead of re-predicting from old clicks
    ed.click(seg, emb, 10, 10, True)
    assert ed.instances[0][5:15, 30:50].all() and ed.instances[0][10, 10]
    assert ed.confirm(store, author="ann").status is DecisionStatus.POSITIVE

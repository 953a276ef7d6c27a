"""Assignments, review, gold and agreement on SQLite and PostgreSQL (hand-computed kappa and IoU)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from labeler import rle
from labeler.accounts import PermissionDenied
from labeler.agreement import annotator_agreement, cohen_kappa, gold_accuracy
from labeler.errors import LabelerError

PASSWORD = "correct horse"


@pytest.fixture
def team(store):
    group = store.create_group("dogs", "dog", "beach")
    images = [store.add_image(group.id, f"{i}.png", 8, 8, f"h{i}")[0].id for i in range(4)]
    expr = store.add_expression(group.id, "the dog").id
    return store, group.id, expr, images


def _mask(rows: int) -> dict:
    m = np.zeros((8, 8), dtype=bool)
    m[:rows] = True
    return rle.encode(m)


def test_kappa_by_hand():
    # a: + + - -, b: + - - -: p_o = 3/4, p_e = .5*.25 + .5*.75 = .5, kappa = .25/.5 = .5
    assert cohen_kappa([1, 1, 0, 0], [1, 0, 0, 0]) == pytest.approx(0.5)
    assert cohen_kappa([1, 0], [0, 1]) == pytest.approx(-1.0)
    assert cohen_kappa([0, 0], [0, 0]) == 1.0
    assert math.isnan(cohen_kappa([], []))


def test_agreement_and_gold_from_the_store(team):
    store, _, expr, images = team
    a = [("positive", [_mask(4)]), ("positive", [_mask(4)]), ("negative", []), ("negative", [])]
    b = [("positive", [_mask(2)]), ("negative", []), ("negative", []), ("negative", [])]
    for author, plan in (("ann", a), ("bea", b)):
        for image, (status, masks) in zip(images, plan, strict=True):
            current = store.get_decision(expr, image).revision
            store.save_decision(
                expr, image, status, masks, author=author, expected_revision=current
            )
    store.mark_gold(expr, images[1], actor="admin")  # gold: bea's "negative"
    [pair] = annotator_agreement(store.judgements())
    assert (pair.annotator_a, pair.annotator_b, pair.shared) == ("ann", "bea", 4)
    assert pair.kappa == pytest.approx(0.5)
    # both positive on image 0 only: 16 px (2 rows) inside 32 px (4 rows) -> IoU 0.5
    assert pair.both_positive == 1 and pair.mean_iou == pytest.approx(0.5)
    scores = {
        g.annotator: (g.correct, g.judged) for g in gold_accuracy(store.judgements(), store.gold())
    }
    assert scores == {"ann": (0, 1), "bea": (1, 1)}


def test_assignment_is_admin_only(team):
    store, group, expr, _ = team
    store.add_user("root", "admin", PASSWORD)
    store.add_user("ann", "annotator", PASSWORD)
    with pytest.raises(PermissionDenied):
        store.assign(group, "ann", actor="ann")  # refused by the store, not by a hidden button
    store.assign(group, "ann", actor="root", expression_id=expr)
    store.assign(group, "ann", actor="root", expression_id=expr)  # idempotent
    assert store.assigned_expressions("ann") == [expr]
    assert store.assigned_expressions("root") == []


def test_rejection_returns_to_the_annotator_with_its_reason(team):
    store, _, expr, images = team
    store.add_user("root", "admin", PASSWORD)
    store.add_user("ann", "annotator", PASSWORD)
    store.add_user("rev", "reviewer", PASSWORD)
    store.save_decision(expr, images[0], "negative", author="ann", expected_revision=0)
    store.save_decision(expr, images[1], "negative", author="ann", expected_revision=0)
    with pytest.raises(PermissionDenied):
        store.review(expr, images[0], "accepted", reviewer="ann")  # annotators cannot review
    with pytest.raises(LabelerError, match="reason is empty"):
        store.review(expr, images[0], "rejected", reviewer="rev")
    store.review(expr, images[0], "rejected", reviewer="rev", reason="the dog is in the corner")
    store.review(expr, images[1], "accepted", reviewer="rev")
    [back] = store.rejections_for("ann")
    assert (back.image_id, back.reason) == (images[0], "the dog is in the corner")
    assert store.reviewed_pairs() == {(expr, images[1])}
    assert [e.action for e in store.audit(expr, images[0])][-1] == "review_rejected"
    # The annotator fixes it: it leaves their queue.
    store.save_decision(expr, images[0], "positive", [_mask(1)], author="ann", expected_revision=1)
    assert store.rejections_for("ann") == []


def test_next_task_offers_assigned_work_first():
    from labeler.annotate import next_task
    from labeler.domain import ExpressionProgress

    rows = [
        ExpressionProgress(1, 1, "started", total=4, positive=1, negative=1, proposed=0),
        ExpressionProgress(2, 1, "fresh", total=4, positive=0, negative=0, proposed=0),
    ]
    assert next_task(rows).expression_id == 1  # started work first
    assert next_task(rows, assigned=[2]).expression_id == 2  # assigned work before that

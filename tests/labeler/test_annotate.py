"""Annotation use-cases against a real SQLite store: what each action leaves in the store."""

from __future__ import annotations

import numpy as np
import pytest

from labeler import annotate, mask_ops, rle
from labeler.domain import DecisionStatus, ExpressionDecision, ExpressionProgress
from labeler.errors import StaleRevision
from labeler.store import Store

H, W = 12, 16


def rle_box(x0, y0, x1, y1):
    m = np.zeros((H, W), dtype=bool)
    m[y0:y1, x0:x1] = True
    return rle.encode(m)


@pytest.fixture
def world(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'p.db'}")
    group = store.create_group("dog x beach", "dog", "beach")
    images = [store.add_image(group.id, f"images/{i}.png", W, H, f"hash{i}")[0] for i in range(5)]
    expr = store.add_expression(group.id, "the dog", created_by="t")
    yield store, expr, [im.id for im in images]
    store.close()


def propose(store, expr, image_id, score, present=True):
    store.propose(
        expr.id, image_id, [rle_box(2, 2, 6, 6)] if present else [], score=score, model_version="m1"
    )


def statuses(store, expr):
    return {i: d.status.value for i, d in store.decisions_for_expression(expr.id).items()}


def test_badges_name_every_state():
    d = ExpressionDecision(1, 1)
    assert annotate.decision_badge(d).kind == "unseen"
    proposed = ExpressionDecision(1, 1, DecisionStatus.PROPOSED, (object(),), 1, score=0.876)
    assert annotate.decision_badge(proposed).kind == "proposed-present"
    assert "0.88" in annotate.decision_badge(proposed).label
    absent = ExpressionDecision(1, 1, DecisionStatus.PROPOSED, (), 1, score=0.1)
    assert annotate.decision_badge(absent).kind == "proposed-absent"
    pos = ExpressionDecision(1, 1, DecisionStatus.POSITIVE, (object(), object()), 2)
    assert annotate.decision_badge(pos).label == "positive · 2 objects"
    assert (
        annotate.decision_badge(ExpressionDecision(1, 1, DecisionStatus.NEGATIVE)).kind
        == "negative"
    )


def test_grid_order_by_score_puts_likely_positives_first_and_unscored_last():
    def d(i, score=None, status=DecisionStatus.PROPOSED):
        return ExpressionDecision(1, i, status, (), 1, score=score)

    decisions = {
        1: d(1, None, DecisionStatus.UNSEEN),
        2: d(2, 0.2),
        3: d(3, 0.9),
        4: d(4, 0.9, DecisionStatus.POSITIVE),
        5: d(5, 0.5),
    }
    assert annotate.grid_order(decisions, "score") == [3, 4, 5, 2, 1]
    assert annotate.grid_order(decisions, "undecided") == [3, 5, 2, 1, 4]
    assert annotate.grid_order(decisions, "image") == [1, 2, 3, 4, 5]
    with pytest.raises(ValueError):
        annotate.grid_order(decisions, "nonsense")
    assert [i for i, x in decisions.items() if annotate.matches(x, "undecided")] == [1, 2, 3, 5]


def test_save_edit_saves_positive_with_masks_and_negative_without(world):
    store, expr, ids = world
    saved = annotate.save_edit(
        store,
        expr.id,
        ids[0],
        [rle_box(1, 1, 4, 4), rle_box(8, 2, 12, 9)],
        author="ann",
        expected_revision=0,
    )
    assert saved.status is DecisionStatus.POSITIVE and saved.revision == 1
    stored = store.get_decision(expr.id, ids[0])
    assert stored.status is DecisionStatus.POSITIVE and len(stored.instances) == 2
    assert rle.area(stored.instances[1].rle) == 4 * 7
    annotate.save_edit(store, expr.id, ids[1], [], author="ann", expected_revision=0)
    assert store.get_decision(expr.id, ids[1]).status is DecisionStatus.NEGATIVE


def test_concurrent_edit_becomes_a_conflict_with_both_versions_and_keep_mine_wins(world):
    store, expr, ids = world
    annotate.save_edit(
        store, expr.id, ids[0], [rle_box(1, 1, 4, 4)], author="bob", expected_revision=0
    )
    mine = [rle_box(5, 5, 9, 9)]
    with pytest.raises(StaleRevision) as info:
        annotate.save_edit(store, expr.id, ids[0], mine, author="ann", expected_revision=0)
    conflict = annotate.conflict_from(info.value, expr.id, ids[0], mine, based_on=0)
    assert conflict.theirs.author == "bob" and conflict.theirs.revision == 1
    assert mask_ops.iou(conflict.theirs.instances[0].rle, rle_box(1, 1, 4, 4)) == 1.0
    # nothing of bob's was overwritten by the failed save
    assert store.get_decision(expr.id, ids[0]).author == "bob"
    resolved = annotate.keep_mine(store, conflict, author="ann")
    stored = store.get_decision(expr.id, ids[0])
    assert resolved.revision == 2 and stored.author == "ann"
    assert mask_ops.iou(stored.instances[0].rle, mine[0]) == 1.0
    actions = [e.action for e in store.audit(expression_id=expr.id, image_id=ids[0])]
    assert actions == ["edit", "rejected_stale", "resolve_conflict"]


def test_accept_selected_turns_proposals_into_decisions_and_undo_restores_them(world):
    store, expr, ids = world
    propose(store, expr, ids[0], 0.9, present=True)
    propose(store, expr, ids[1], 0.1, present=False)
    outcome = annotate.accept_selected(store, expr.id, ids[:3], author="ann")
    assert outcome.count == 2 and outcome.batch_id and not outcome.conflicts
    st = statuses(store, expr)
    assert st[ids[0]] == "positive" and st[ids[1]] == "negative" and st[ids[2]] == "unseen"
    undone = annotate.undo_action(store, expr.id, outcome.batch_id, author="ann")
    assert undone.count == 2
    st = statuses(store, expr)
    assert st[ids[0]] == "proposed" and st[ids[1]] == "proposed"


def test_confirm_remaining_negative_never_touches_human_decisions_and_is_one_batch(world):
    store, expr, ids = world
    annotate.save_edit(
        store, expr.id, ids[0], [rle_box(1, 1, 4, 4)], author="bob", expected_revision=0
    )
    propose(store, expr, ids[1], 0.8, present=True)
    outcome = annotate.confirm_remaining_negative(store, expr.id, author="ann")
    assert outcome.count == 4
    st = statuses(store, expr)
    assert st[ids[0]] == "positive" and all(st[i] == "negative" for i in ids[1:])
    batch = store.audit(batch_id=outcome.batch_id)
    assert len(batch) == 4 and {e.action for e in batch} == {"confirm_negative"}
    progress = store.expression_progress()[0]
    assert progress.complete
    annotate.undo_action(store, expr.id, outcome.batch_id, author="ann")
    st = statuses(store, expr)
    assert st[ids[1]] == "proposed" and st[ids[2]] == "unseen" and st[ids[0]] == "positive"


def test_negative_selected_reports_a_pair_changed_since_the_grid_was_read(world):
    store, expr, ids = world
    seen = {i: d.revision for i, d in store.decisions_for_expression(expr.id, ids[:3]).items()}
    annotate.save_edit(
        store, expr.id, ids[1], [rle_box(1, 1, 4, 4)], author="bob", expected_revision=0
    )
    outcome = annotate.negative_selected(store, expr.id, seen, author="ann")
    assert [c.image_id for c in outcome.conflicts] == [ids[1]]
    assert outcome.conflicts[0].author == "bob"
    # every other pair was saved, in one batch that undo takes back whole
    assert [d.image_id for d in outcome.saved] == [ids[0], ids[2]] and outcome.batch_id
    st = statuses(store, expr)
    assert st[ids[0]] == "negative" and st[ids[1]] == "positive" and st[ids[2]] == "negative"
    undone = annotate.undo_action(store, expr.id, outcome.batch_id, author="ann")
    assert undone.count == 2 and not undone.conflicts
    st = statuses(store, expr)
    assert st[ids[0]] == "unseen" and st[ids[1]] == "positive" and st[ids[2]] == "unseen"


def test_next_task_prefers_started_then_proposed_then_group_order():
    def p(eid, gid, total, pos=0, neg=0, proposed=0):
        return ExpressionProgress(eid, gid, f"e{eid}", total, pos, neg, proposed)

    assert annotate.next_task([p(1, 1, 5, 5)]) is None
    assert (
        annotate.next_task([p(1, 1, 5), p(2, 1, 5, proposed=2), p(3, 2, 5, neg=1)]).expression_id
        == 3
    )
    assert annotate.next_task([p(1, 1, 5), p(2, 2, 5, proposed=2)]).expression_id == 2
    assert annotate.next_task([p(1, 2, 5), p(2, 1, 5)]).expression_id == 2
    assert annotate.next_task([p(1, 1, 0)]) is None

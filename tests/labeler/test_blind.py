"""Blind double assignment: the pure rules (overlap, who sees what) with hand-worked cases, and the
store on SQLite and PostgreSQL (the second annotator writes and reads only their own judgement)."""

from __future__ import annotations

import hashlib
import math

import numpy as np
import pytest

from labeler import rle
from labeler.accounts import PermissionDenied
from labeler.agreement import annotator_agreement
from labeler.blind import (
    BlindPair,
    SecondOpinion,
    choose_overlap,
    judgements_of,
    overlap_count,
    todo_count,
    view_for,
)
from labeler.domain import DecisionStatus, ExpressionDecision, Instance
from labeler.errors import LabelerError, StaleRevision

PASSWORD = "correct horse"
POS, NEG, UNSEEN, PROPOSED = (
    DecisionStatus.POSITIVE,
    DecisionStatus.NEGATIVE,
    DecisionStatus.UNSEEN,
    DecisionStatus.PROPOSED,
)


def _mask(rows: int) -> dict:
    m = np.zeros((8, 8), dtype=bool)
    m[:rows] = True
    return rle.encode(m)


# -- choosing the overlap ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("total", "share", "expected"),
    [(10, 0.2, 2), (10, 0.25, 3), (10, 0.05, 1), (10, 0.04, 0), (3, 0.5, 2), (0, 0.5, 0)]
    + [(7, 0, 0), (7, 1, 7), (7, 1.0, 7)],
)
def test_overlap_count_rounds_half_up(total, share, expected):
    assert overlap_count(total, share) == expected


@pytest.mark.parametrize("share", [-0.1, 1.5, math.nan, "0.2"])
def test_a_share_outside_zero_one_is_refused(share):
    with pytest.raises(LabelerError, match="between 0 and 1"):
        choose_overlap([(1, 1)], share)


def test_choose_overlap_takes_the_smallest_hashes_reproducibly():
    pairs = [(e, i) for e in (1, 2) for i in range(1, 11)]  # 20 pairs
    chosen = choose_overlap(pairs, 0.2, seed=7)

    def digest(p):  # the rule, written out: sha256 of "seed:expression:image"
        return hashlib.sha256(f"7:{p[0]}:{p[1]}".encode()).hexdigest()

    assert chosen == sorted(sorted(pairs, key=digest)[:4])
    assert choose_overlap(list(reversed(pairs)) + pairs[:3], 0.2, seed=7) == chosen  # order, dups
    assert set(chosen) <= set(choose_overlap(pairs, 0.5, seed=7))  # nested
    assert choose_overlap(pairs, 0.2, seed=8) != chosen  # the seed changes the draw
    assert choose_overlap(pairs, 0, seed=7) == []
    assert choose_overlap(pairs, 1, seed=7) == sorted(pairs)


# -- who sees what -------------------------------------------------------------------------------
BLIND = BlindPair(1, 2, "ann", "bea")
MAIN = ExpressionDecision(1, 2, POS, (Instance(_mask(4)),), 3, "ann")
PROPOSAL = ExpressionDecision(1, 2, PROPOSED, (Instance(_mask(2)),), 1, "model:m", None, 2.5, "m")


@pytest.mark.parametrize("viewer", [None, "ann", "rev", "root"])
def test_everyone_but_the_second_annotator_sees_the_decision(viewer):
    opinion = SecondOpinion(1, 2, "bea", NEG, (), 1)
    assert view_for(viewer, BLIND, MAIN, opinion) is MAIN
    assert view_for("bea", None, MAIN) is MAIN  # not a blind pair: bea sees it as anyone


def test_the_second_annotator_sees_the_pair_undecided_until_they_save():
    shown = view_for("bea", BLIND, MAIN)
    assert (shown.status, shown.instances, shown.revision, shown.author) == (UNSEEN, (), 0, "")
    mine = view_for("bea", BLIND, MAIN, SecondOpinion(1, 2, "bea", NEG, (), 2))
    assert (mine.status, mine.revision, mine.author) == (NEG, 2, "bea")


def test_the_second_annotator_sees_the_models_proposal_not_the_decision():
    # The decision replaced the proposal: the proposal (from the log) shows, at opinion revision 0.
    shown = view_for("bea", BLIND, MAIN, None, PROPOSAL)
    assert (shown.status, shown.revision, shown.score) == (PROPOSED, 0, 2.5)
    assert [i.rle for i in shown.instances] == [_mask(2)]
    # Still a proposal in the store: that one, at the opinion's revision (2: an undone opinion).
    undone = SecondOpinion(1, 2, "bea", UNSEEN, (), 2)
    shown = view_for("bea", BLIND, PROPOSAL, undone)
    assert (shown.status, shown.revision) == (PROPOSED, 2)


def test_judgements_of_both_sides():
    opinion = SecondOpinion(1, 2, "bea", NEG, (), 1)
    assert judgements_of(BLIND, MAIN, opinion) == {
        "ann": ("positive", [_mask(4)]),
        "bea": ("negative", []),
    }
    assert judgements_of(BLIND, PROPOSAL, opinion) == {"bea": ("negative", [])}
    assert judgements_of(BLIND, MAIN, SecondOpinion(1, 2, "bea", UNSEEN, (), 2)) == {
        "ann": ("positive", [_mask(4)])
    }
    by_bea = ExpressionDecision(1, 2, NEG, (), 1, "bea")  # saved before the pair was blind
    assert judgements_of(BLIND, by_bea, None) == {}


def test_todo_counts_pairs_without_a_judgement_of_their_second_annotator():
    pairs = [BlindPair(1, i, "ann", "bea") for i in (1, 2, 3)]
    opinions = [
        SecondOpinion(1, 1, "bea", NEG),
        SecondOpinion(1, 2, "bea", UNSEEN, (), 2),  # undone: still to do
        SecondOpinion(1, 3, "cai", NEG),  # someone else's
    ]
    assert todo_count(pairs, opinions) == 2


# -- the store, on SQLite and PostgreSQL ---------------------------------------------------------
@pytest.fixture
def team(store):
    """root (admin), rev (reviewer), ann and bea (annotators); images 0-3 of "the dog" are blind
    pairs, ann first and bea second; images 4-5 are not."""
    group = store.create_group("dogs", "dog", "beach")
    images = [store.add_image(group.id, f"{i}.png", 8, 8, f"h{i}")[0].id for i in range(6)]
    expr = store.add_expression(group.id, "the dog").id
    for name, role in (("root", "admin"), ("rev", "reviewer"), ("ann", "annotator")):
        store.add_user(name, role, PASSWORD)
    store.add_user("bea", "annotator", PASSWORD)
    with pytest.raises(PermissionDenied):
        store.assign_blind([(expr, images[0])], "ann", "bea", actor="ann")
    assert store.assign_blind([(expr, i) for i in images[:4]], "ann", "bea", actor="root") == (4, 0)
    return store, expr, images


def test_assign_blind_checks_its_input_and_is_idempotent(team):
    store, expr, images = team
    assert store.assign_blind([(expr, images[0])], "ann", "rev", actor="root") == (0, 1)
    assert store.blind_pairs(expr)[0] == BlindPair(expr, images[0], "ann", "bea")
    with pytest.raises(LabelerError, match="two different annotators"):
        store.assign_blind([(expr, images[4])], "ann", "ann", actor="root")
    with pytest.raises(LabelerError, match="no user named"):
        store.assign_blind([(expr, images[4])], "ann", "nobody", actor="root")
    with pytest.raises(LabelerError, match="not in the group"):
        store.assign_blind([(expr, 999)], "ann", "bea", actor="root")
    assert [e.action for e in store.audit(expr, images[0])] == ["blind_assign"]


def test_the_second_annotator_never_sees_the_first_ones_decision(team):
    store, expr, images = team
    blind, other = images[0], images[4]
    store.save_decision(expr, blind, "positive", [_mask(4)], author="ann", expected_revision=0)
    store.save_decision(expr, other, "negative", author="ann", expected_revision=0)
    for viewer in (None, "ann", "rev", "root"):
        assert store.get_decision(expr, blind, viewer=viewer).status is POS
    hidden = store.get_decision(expr, blind, viewer="bea")
    assert (hidden.status, hidden.instances, hidden.revision) == (UNSEEN, (), 0)
    grid = store.decisions_for_expression(expr, viewer="bea")
    assert grid[blind].status is UNSEEN and grid[other].status is NEG  # not blind: shown
    assert store.decisions_for_expression(expr, viewer="ann")[blind].status is POS

    mine = store.save_decision(expr, blind, "negative", author="bea", expected_revision=0)
    assert (mine.status, mine.revision, mine.author) == (NEG, 1, "bea")
    main = store.get_decision(expr, blind)
    assert (main.status, main.revision, main.author) == (POS, 1, "ann")  # untouched
    assert store.get_decision(expr, blind, viewer="ann").status is POS  # ann is blind to bea
    with pytest.raises(StaleRevision) as stale:  # a second window of bea's, on revision 0
        store.save_decision(expr, blind, "positive", [_mask(1)], author="bea", expected_revision=0)
    assert (stale.value.current.status, stale.value.current.author) == (NEG, "bea")
    assert [e.action for e in store.audit(expr, blind)][-2:] == [
        "blind_save",
        "blind_rejected_stale",
    ]
    assert store.blind_todo("bea") == {expr: 3}
    assert store.blind_todo("ann") == {}


def test_a_second_negative_through_confirm_negatives_is_recorded(team):
    store, expr, images = team
    store.confirm_negatives(expr, images[:2], author="ann")  # the decisions: negative
    done = store.confirm_negatives(expr, author="bea")  # "all remaining negative", as bea
    # bea's own judgement of the two negative pairs is recorded (not skipped as "already
    # negative"); the other blind pairs and the two undecided open pairs too.
    assert sorted(d.image_id for d in done.saved) == images
    assert store.blind_todo("bea") == {}
    judged = store.blind_judgements()
    assert judged[(expr, images[0])] == {"ann": ("negative", []), "bea": ("negative", [])}
    assert judged[(expr, images[2])] == {"bea": ("negative", [])}
    assert store.get_decision(expr, images[0]).author == "ann"  # the decision is ann's still
    assert store.get_decision(expr, images[2]).status is UNSEEN  # bea's negative is hers alone
    assert store.get_decision(expr, images[4]).author == "bea"  # open pairs: the decision
    again = store.confirm_negatives(expr, images[:1], author="bea")  # already her negative
    assert again.saved == () and again.batch_id is None


def test_accepting_a_proposal_as_the_second_annotator(team):
    store, expr, images = team
    pair = images[0]
    store.propose(expr, pair, [_mask(2)], score=3.0, model_version="m1")
    store.accept_proposals(expr, [pair], author="ann")  # the decision: positive, 2 rows
    shown = store.get_decision(expr, pair, viewer="bea")  # the model's proposal, not ann's save
    assert (shown.status, shown.revision, shown.model_version) == (PROPOSED, 0, "m1")
    done = store.accept_proposals(expr, [pair], author="bea")
    assert [d.status for d in done.saved] == [POS]
    assert store.get_decision(expr, pair).revision == 2  # proposal + ann's accept, nothing more
    assert store.blind_judgements()[(expr, pair)]["bea"] == ("positive", [_mask(2)])


def test_undo_restores_second_opinions_and_refuses_no_batch(team):
    store, expr, images = team
    store.save_decision(expr, images[0], "negative", author="ann", expected_revision=0)
    batch = store.confirm_negatives(expr, images[:2], author="bea").batch_id
    with pytest.raises(PermissionDenied, match="only bea"):
        store.undo_batch(batch, author="ann")
    undone = store.undo_batch(batch, author="bea")
    assert [(d.status, d.revision) for d in undone.saved] == [(UNSEEN, 2), (UNSEEN, 2)]
    assert store.get_decision(expr, images[0]).author == "ann"  # the decision stays ann's
    assert store.blind_todo("bea") == {expr: 4}
    assert [e.action for e in store.audit(batch_id=undone.batch_id)] == ["blind_undo"] * 2
    with pytest.raises(LabelerError, match="undo needs the id of a batch"):
        store.undo_batch(None, author="bea")
    assert store.get_decision(expr, images[0]).status is NEG  # nothing was undone


def test_blind_agreement_by_hand(team):
    """ann (decisions): + + - -, bea (blind): + - - - on the four blind pairs; on the one pair
    both call positive ann's mask has 4 rows, bea's 2: p_o = 3/4, p_e = .5*.25 + .5*.75 = .5,
    kappa = (.75 - .5) / (1 - .5) = .5; IoU = 16 px / 32 px = .5."""
    store, expr, images = team
    plans = {"ann": "++--", "bea": "+---"}
    for author, plan in plans.items():
        for image, sign in zip(images, plan, strict=False):
            masks = [_mask(4 if author == "ann" else 2)] if sign == "+" else []
            status = "positive" if sign == "+" else "negative"
            store.save_decision(expr, image, status, masks, author=author, expected_revision=0)
    [pair] = annotator_agreement(store.blind_judgements())
    assert (pair.annotator_a, pair.annotator_b, pair.shared) == ("ann", "bea", 4)
    assert pair.kappa == pytest.approx(0.5)
    assert (pair.both_positive, pair.mean_iou) == (1, pytest.approx(0.5))
    assert all("bea" not in by for by in store.judgements().values())  # blind saves: not decisions


def test_per_annotator_summary_by_hand():
    from labeler.agreement import merge_judgements, per_annotator

    judged = {
        (1, 1): {"ann": ("positive", []), "bea": ("positive", [])},  # agree
        (1, 2): {"ann": ("negative", []), "bea": ("positive", [])},  # disagree
        (1, 3): {"ann": ("negative", []), "bea": ("negative", []), "cai": ("positive", [])},
        (1, 4): {"ann": ("negative", [])},  # judged alone: no comparison
    }
    gold = {(1, 3): ("negative", [])}
    rows = {a.annotator: a for a in per_annotator(judged, gold)}
    # ann: 4 judged; compared 1 + 1 + 2 = 4, agreed 1 + 0 + 1 (bea) = 2; gold 1/1
    assert (rows["ann"].judged, rows["ann"].compared, rows["ann"].agreed) == (4, 4, 2)
    assert rows["ann"].agreement == 0.5 and rows["ann"].gold_accuracy == 1.0
    # cai: 1 judged, compared with ann and bea (both negative): 0 of 2; gold 0/1
    assert (rows["cai"].compared, rows["cai"].agreed, rows["cai"].gold_correct) == (2, 0, 0)
    merged = merge_judgements({(1, 1): {"ann": ("negative", [])}}, {(1, 1): {"bea": ("x", [])}})
    assert merged == {(1, 1): {"ann": ("negative", []), "bea": ("x", [])}}
    scored_elsewhere = per_annotator({}, gold, judged)  # gold from another source
    assert [(a.annotator, a.judged, a.gold_judged) for a in scored_elsewhere] == [
        ("ann", 0, 1),
        ("bea", 0, 1),
        ("cai", 0, 1),
    ]

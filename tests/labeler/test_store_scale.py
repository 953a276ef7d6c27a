"""Reads that must hold at ten times GRD: the whole-project read behind exports equals the
per-expression reads; group progress in one statement equals the sum of its expressions."""

from __future__ import annotations

import numpy as np

from labeler import rle
from labeler.domain import DecisionStatus


def test_all_decisions_is_every_non_unseen_pair_with_its_masks_in_order(populated, ring_rle):
    store, _group, images, (dog, ball) = populated
    box = np.zeros((40, 60), dtype=bool)
    box[2:8, 3:9] = True
    box_rle = rle.encode(box)  # a second, different instance: identical ones would be merged
    store.save_decision(
        dog.id, images[2].id, "positive", [ring_rle, box_rle], author="a", expected_revision=0
    )
    store.save_decision(dog.id, images[0].id, "negative", author="b", expected_revision=0)
    store.propose(ball.id, images[1].id, [ring_rle], score=0.7, model_version="m1")
    store.save_decision(
        ball.id, images[0].id, "positive", [ring_rle], author="a", expected_revision=0
    )
    store.save_decision(ball.id, images[0].id, "unseen", author="a", expected_revision=1)
    everything = store.all_decisions()
    expected = {
        e.id: {
            iid: d
            for iid, d in store.decisions_for_expression(e.id).items()
            if d.status is not DecisionStatus.UNSEEN
        }
        for e in (dog, ball)
    }
    assert everything == expected
    assert list(everything[dog.id]) == [images[0].id, images[2].id]  # image order
    assert [i.rle["counts"] for i in everything[dog.id][images[2].id].instances] == [
        ring_rle["counts"],
        box_rle["counts"],
    ]
    assert everything[ball.id][images[1].id].model_version == "m1"


def test_group_progress_in_sql_is_the_sum_of_its_expressions(populated, ring_rle):
    store, group, images, (dog, ball) = populated
    empty = store.create_group("cat x sofa")  # no images, no expressions
    lonely = store.create_group("owl x tree")
    store.add_expression(lonely.id, "the owl")  # an expression, no images
    for image in images:  # "the dog" complete, "a red ball" one decided, one proposed
        store.save_decision(dog.id, image.id, "negative", author="a", expected_revision=0)
    store.save_decision(
        ball.id, images[0].id, "positive", [ring_rle], author="a", expected_revision=0
    )
    store.propose(ball.id, images[1].id, [], score=0.1, model_version="m")
    by_group = {p.group_id: p for p in store.group_progress()}
    assert [p.group_id for p in store.group_progress()] == [group.id, empty.id, lonely.id]
    mine = by_group[group.id]
    assert (mine.images, mine.expressions, mine.pairs) == (3, 2, 6)
    assert (mine.decided, mine.proposed, mine.complete_expressions) == (4, 1, 1)
    assert (by_group[empty.id].expressions, by_group[empty.id].pairs) == (0, 0)
    owl = by_group[lonely.id]
    assert (owl.images, owl.expressions, owl.complete_expressions) == (0, 1, 0)
    (ball_progress,) = [
        p for p in store.expression_progress(group.id) if p.expression_id == ball.id
    ]
    assert (ball_progress.total, ball_progress.positive, ball_progress.proposed) == (3, 1, 1)
    assert [p.expression_id for p in store.expression_progress(lonely.id)] == [
        e.id for e in store.list_expressions(lonely.id)
    ]

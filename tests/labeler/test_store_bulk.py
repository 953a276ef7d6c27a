"""The whole-project read behind exports equals the per-expression reads (SQLite and PostgreSQL)."""

from __future__ import annotations

from labeler.domain import DecisionStatus


def test_all_decisions_is_every_non_unseen_pair_with_its_masks_in_order(populated, ring_rle):
    store, _group, images, (dog, ball) = populated
    store.save_decision(
        dog.id, images[2].id, "positive", [ring_rle, ring_rle], author="a", expected_revision=0
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
        ring_rle["counts"]
    ] * 2
    assert everything[ball.id][images[1].id].model_version == "m1"

"""Deleting and renaming expressions: delete refuses while people's decisions exist, keeps every
decision in the audit log when forced; the length limit holds for add and rename (both backends)."""

import pytest

from labeler import rle
from labeler.errors import NotFound
from labeler.limits import TEXT_LIMITS, InvalidText
from labeler.store import ExpressionHasDecisions
from tests.conftest import ring_mask


def test_delete_refuses_while_people_decided_then_keeps_them_in_the_log(populated):
    store, group, images, (dog, ball) = populated
    store.save_decision(
        dog.id,
        images[0].id,
        "positive",
        [rle.encode(ring_mask())],
        author="ann",
        expected_revision=0,
    )
    store.save_decision(dog.id, images[1].id, "negative", author="bob", expected_revision=0)
    store.propose(dog.id, images[2].id, [rle.encode(ring_mask())], score=0.6, model_version="m")
    with pytest.raises(
        ExpressionHasDecisions, match=r"has 2 human decisions; delete it with force"
    ):
        store.delete_expression(dog.id, author="cy")
    assert store.get_expression(dog.id).text == "the dog"
    assert store.decisions_for_expression(dog.id)[images[0].id].status.value == "positive"

    assert store.delete_expression(dog.id, author="cy", force=True) == 2
    with pytest.raises(NotFound):
        store.get_expression(dog.id)
    assert [e.id for e in store.list_expressions(group.id)] == [ball.id]
    log = [e for e in store.audit(expression_id=dog.id) if e.action == "delete_expression"]
    by_image = {e.image_id: e for e in log}
    assert set(by_image) == {0, images[0].id, images[1].id, images[2].id}
    assert by_image[0].before["text"] == "the dog" and by_image[0].after is None
    kept = by_image[images[0].id].before
    assert kept["status"] == "positive" and kept["author"] == "ann"
    assert rle.decode(kept["instances"][0]).sum() == ring_mask().sum()
    assert by_image[images[1].id].before["status"] == "negative"
    assert all(e.author == "cy" for e in log)
    assert store.counts()["decisions"] == 0


def test_delete_without_human_decisions_needs_no_force(populated):
    store, group, images, (dog, ball) = populated
    assert store.delete_expression(ball.id, author="cy") == 0
    assert [e.text for e in store.list_expressions(group.id)] == ["the dog"]


def test_the_length_limit_holds_for_add_and_rename(populated):
    store, group, _, (dog, _) = populated
    limit = TEXT_LIMITS["expression"]
    with pytest.raises(InvalidText, match=rf"expression is {10_000:,} characters long; the limit"):
        store.add_expression(group.id, "x" * 10_000)
    with pytest.raises(InvalidText, match="the limit is"):
        store.edit_expression(dog.id, "y" * (limit + 1), "ann")
    assert store.edit_expression(dog.id, "y" * limit, "ann").text == "y" * limit
    assert len(store.list_expressions(group.id)) == 2

"""The editor's image order: fixed when a group is opened; decisions never move an image."""

from __future__ import annotations

import pytest

from labeler import annotate
from labeler.domain import DecisionStatus, ExpressionDecision
from labeler.navigation import ImageOrder


def proposal(image_id: int, score: float | None) -> ExpressionDecision:
    return ExpressionDecision(1, image_id, DecisionStatus.PROPOSED, score=score)


def test_confirming_an_image_does_not_move_it_or_change_next():
    """The reported bug: confirming 2 of 8 then Next went to 7 of 8 (the score sort moved it)."""
    decisions = {i: proposal(i, 1 - i / 10) for i in range(1, 9)}
    order = ImageOrder.held(None, decisions)
    assert order.ids == tuple(range(1, 9))  # opened: best proposals first
    decisions[2] = ExpressionDecision(1, 2, DecisionStatus.POSITIVE, revision=1)  # confirmed
    assert annotate.grid_order(decisions, "score").index(2) == 7  # a re-sort would move it ...
    order = ImageOrder.held(order, decisions)
    assert order.position(2) == 2 and order.next(2) == 3  # ... the held order does not


def test_marking_the_first_image_negative_keeps_the_editor_on_it():
    """The reported bug: X on 1 of 5 showed the same image as 5 of 5 with Next disabled."""
    order = ImageOrder.open([10, 11, 12, 13, 14])
    assert order.position(10) == 1 and order.previous(10) is None and order.next(10) == 11
    assert order.next(14) is None and order.previous(14) == 13


def test_next_undecided_skips_decided_images_and_wraps():
    order = ImageOrder.open([5, 3, 8, 1, 9])
    assert order.next_undecided(3, {8, 9}) == 8
    assert order.next_undecided(8, {3, 5}) == 5  # wraps to the start
    assert order.next_undecided(8, {8}) is None  # only itself left: nowhere to go
    assert order.next_undecided(1, set()) is None


def test_held_keeps_places_drops_gone_images_and_appends_new_ones():
    order = ImageOrder.open([5, 3, 8, 3])
    assert order.ids == (5, 3, 8)
    now = {i: proposal(i, s) for i, s in ((8, 0.1), (5, 0.2), (7, 0.3), (2, 0.9))}
    assert ImageOrder.held(order, now).ids == (5, 8, 2, 7)  # new ones in score order
    with pytest.raises(KeyError, match="not in this group"):
        order.position(42)

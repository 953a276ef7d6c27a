"""The sweep's pure parts: a held order that a decision never changes, tiles scaled to fill with
crisp pixels, outlines on the preview, scores in plain words with the model's line."""

import numpy as np
import pytest

from labeler import annotate
from labeler.domain import DecisionStatus, ExpressionDecision
from labeler.sweep_order import fresh_order, held_order
from labeler.tiles import fit_mask, fit_rgb, fit_size, outlined


def _proposed(iid, score, present=True):
    return ExpressionDecision(
        1, iid, DecisionStatus.PROPOSED, (object(),) if present else (), 1, score=score
    )


def _decisions():
    return {
        1: _proposed(1, 0.2, present=False),
        2: _proposed(2, 1.4),
        3: _proposed(3, 0.9, present=False),
        4: _proposed(4, 1.1),
        5: ExpressionDecision(1, 5),
    }


@pytest.mark.parametrize("by", annotate.SORT_ORDERS)
@pytest.mark.parametrize("show", ["all", "undecided", "proposed"])
def test_a_decision_never_moves_a_tile(by, show):
    decisions = _decisions()
    shown = held_order(None, decisions, by, show)
    assert shown == fresh_order(decisions, by, show)
    # the annotator decides tile 2 (negative: its score goes) and tile 4 (positive)
    decisions[2] = ExpressionDecision(1, 2, DecisionStatus.NEGATIVE, (), 2)
    decisions[4] = ExpressionDecision(1, 4, DecisionStatus.POSITIVE, (object(),), 2, score=1.1)
    assert held_order(shown, decisions, by, show) == shown
    if by != "image":
        assert fresh_order(decisions, by, show) != shown  # what "re-sort" would show


def test_new_images_join_at_the_end_and_gone_ones_drop_out():
    decisions = _decisions()
    shown = held_order(None, decisions, "score", "all")
    assert shown == [2, 4, 3, 1, 5]
    del decisions[4]
    decisions[9] = _proposed(9, 3.0)
    assert held_order(shown, decisions, "score", "all") == [2, 3, 1, 5, 9]


def test_small_images_fill_the_tile_with_crisp_pixels():
    small = np.zeros((4, 6, 3), np.uint8)
    small[:, :3] = 255
    tile = fit_rgb(small, (240, 320))
    assert tile.shape == (213, 320, 3) and fit_size((4, 6), (240, 320)) == (213, 320)
    assert set(np.unique(tile)) == {0, 255}  # nearest-neighbour: no blended grey
    assert tile[:, :150].min() == 255 and tile[:, 170:].max() == 0
    big = np.full((960, 1280, 3), 7, np.uint8)
    assert fit_rgb(big, (240, 320)).shape == (240, 320, 3)
    tall = fit_size((1000, 100), (240, 320))
    assert tall == (240, 24)


def test_preview_outlines_the_mask():
    mask = np.zeros((8, 8), bool)
    mask[2:6, 2:6] = True
    big = fit_mask(mask, (80, 80))
    assert big.sum() == 40 * 40
    picture = outlined(np.zeros((80, 80, 3), np.uint8), [big])
    orange = (picture == (255, 140, 0)).all(axis=2)
    assert orange[20, 30] and orange[59, 30]  # the rim, top and bottom rows
    assert not orange[40, 40] and not orange[5, 5]  # not the inside, not the background


def test_scores_in_plain_words_with_the_line():
    badge = annotate.decision_badge(_proposed(1, 0.93, present=False))
    assert badge.label == "model: absent · score 0.93 (present above 1.00)"
    assert "above 1.00" in badge.help and "Presence score 0.93" in badge.help
    assert annotate.presence_margin({"model": {"margin": 0.25}, "train": {}}) == 0.25
    margin = annotate.presence_margin({"margin": 0.5})
    assert "present above 0.50" in annotate.decision_badge(_proposed(1, 1.1), margin).label
    assert annotate.presence_margin(None) == annotate.DEFAULT_PRESENCE_MARGIN
    assert annotate.decision_badge(ExpressionDecision(1, 1)).help == ""

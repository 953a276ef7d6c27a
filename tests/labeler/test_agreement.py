"""Agreement per expression: each expression's pairs scored on their own (hand-computed)."""

from __future__ import annotations

import pytest

from labeler.agreement import agreement_by_expression


def test_agreement_within_each_expression():
    pos, neg = ("positive", []), ("negative", [])
    judgements = {
        # expression 1: ann + + - -, bea + - - - -> kappa .5 (p_o .75, p_e .5)
        (1, 10): {"ann": pos, "bea": pos},
        (1, 11): {"ann": pos, "bea": neg},
        (1, 12): {"ann": neg, "bea": neg},
        (1, 13): {"ann": neg, "bea": neg},
        # expression 2: they disagree on both of 2 images -> p_o 0, p_e .5, kappa -1
        (2, 10): {"ann": pos, "bea": neg},
        (2, 11): {"ann": neg, "bea": pos},
        # expression 3: one annotator only -> left out
        (3, 10): {"ann": pos},
    }
    by = agreement_by_expression(judgements)
    assert list(by) == [1, 2]
    [one], [two] = by[1], by[2]
    assert (one.shared, one.kappa) == (4, pytest.approx(0.5))
    assert (two.shared, two.kappa, two.both_positive) == (2, pytest.approx(-1.0), 0)

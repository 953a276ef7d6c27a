"""The sweep's tile order, held still while an expression is open.

Sorting by presence score (or "undecided first") moves a tile the moment a person decides it: its
score goes or it stops being undecided, so a range selection or the next key lands on another
image. The sweep therefore freezes the order it first showed for an expression (with its order
and filter) and keeps it until the annotator asks to re-sort; decided tiles stay where they are,
even under the "undecided" filter. Images added meanwhile join at the end, removed ones drop out.

    shown = held_order(frozen, decisions, by="score", show="all")
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from labeler.annotate import grid_order, matches
from labeler.domain import ExpressionDecision


def fresh_order(decisions: Mapping[int, ExpressionDecision], by: str, show: str) -> list[int]:
    """The order and filter applied now (what "re-sort" shows)."""
    return [i for i in grid_order(decisions, by) if matches(decisions[i], show)]


def held_order(
    frozen: Sequence[int] | None,
    decisions: Mapping[int, ExpressionDecision],
    by: str,
    show: str,
) -> list[int]:
    """``frozen`` (the order shown before) kept as it is, less images that are gone, plus images
    that are new and pass the filter, at the end in the fresh order; ``fresh_order`` if None."""
    fresh = fresh_order(decisions, by, show)
    if frozen is None:
        return fresh
    kept = [i for i in frozen if i in decisions]
    known = set(frozen)
    return kept + [i for i in fresh if i not in known]

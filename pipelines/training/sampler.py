"""Group sampler (paper Sec. 3.4): each training group is one expression with N images, 1:1.

``sample_epoch`` is a pure function of ``(groups, group_size, seed, epoch)``: resuming a run at
epoch ``e`` replays exactly the groups the interrupted run would have seen. Every expression with
at least one positive appears once per epoch. Positives come from its own group; negatives come
from its group's certified negatives first and, when those run out, from images of *other* groups
(the paper's random negatives, which assumes another group's images do not show the object).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from pipelines.training.datasets.base import GresGroup, GresItem


@dataclass(frozen=True)
class TrainingGroup:
    """One model input: an expression and ``N`` labelled images (order shuffled)."""

    expression: str
    items: tuple[GresItem, ...]

    @property
    def positive(self) -> list[bool]:
        return [i.positive for i in self.items]


def _take(pool: Sequence[GresItem], k: int, rng: np.random.Generator) -> list[GresItem]:
    """``k`` items from ``pool``: without replacement while it lasts, then with replacement."""
    if k <= 0 or not pool:
        return []
    order = list(rng.permutation(len(pool)))
    while len(order) < k:
        order += list(rng.permutation(len(pool)))
    return [pool[i] for i in order[:k]]


def positive_count(group_size: int, rng: np.random.Generator) -> int:
    """How many of ``group_size`` images are positives: half, the odd one decided by a coin."""
    half, odd = divmod(group_size, 2)
    return half + int(odd and rng.random() < 0.5)


def _foreign_item(group: GresGroup, pool: Sequence[GresGroup], rng) -> GresItem | None:
    """A random image of another group than ``group``, as a negative; None if there is none."""
    for _ in range(32):
        donor = pool[int(rng.integers(len(pool)))]
        if donor.name != group.name and donor.items:
            return donor.items[int(rng.integers(len(donor.items)))].as_negative()
    foreign = [g for g in pool if g.name != group.name and g.items]
    if not foreign:
        return None
    donor = foreign[int(rng.integers(len(foreign)))]
    return donor.items[int(rng.integers(len(donor.items)))].as_negative()


def sample_group(
    group: GresGroup,
    pool: Sequence[GresGroup],
    group_size: int,
    rng: np.random.Generator,
    cross_group_negatives: bool = True,
) -> TrainingGroup:
    """One training group for ``group``'s expression; ``pool`` donates random negatives."""
    n_pos = positive_count(group_size, rng)
    negatives = group.negatives
    can_borrow = cross_group_negatives and any(g.name != group.name for g in pool)
    if not negatives and not can_borrow:
        n_pos = group_size  # nothing to contrast with: an all-positive group (RES setting)
    chosen = _take(group.positives, n_pos, rng)
    n_neg = group_size - len(chosen)
    own = _take(negatives, min(n_neg, len(negatives)), rng)
    chosen += own
    missing = n_neg - len(own)
    if missing and can_borrow:
        chosen += [_foreign_item(group, pool, rng) for _ in range(missing)]
    elif missing:
        chosen += _take(negatives, missing, rng)  # repeat own negatives rather than shrink N
    order = rng.permutation(len(chosen))
    return TrainingGroup(group.expression, tuple(chosen[i] for i in order))


def sample_epoch(
    groups: Sequence[GresGroup],
    group_size: int,
    seed: int,
    epoch: int,
    cross_group_negatives: bool = True,
) -> list[TrainingGroup]:
    """The shuffled training groups of one epoch; deterministic in ``(seed, epoch)``."""
    if group_size < 1:
        raise ValueError(f"group_size must be at least 1, got {group_size}")
    rng = np.random.default_rng([seed, epoch])
    usable = [g for g in groups if g.positives]
    out = []
    for index in rng.permutation(len(usable)):
        group = usable[index]
        out.append(sample_group(group, groups, group_size, rng, cross_group_negatives))
    return out


def batches(training_groups: Sequence[TrainingGroup], batch_size: int) -> list[list[TrainingGroup]]:
    """Consecutive batches; the last one may be smaller."""
    return [
        list(training_groups[i : i + batch_size])
        for i in range(0, len(training_groups), batch_size)
    ]

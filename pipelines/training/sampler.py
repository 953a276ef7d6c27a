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
    weights: Sequence[float] | None = None,
) -> list[TrainingGroup]:
    """The shuffled training groups of one epoch; deterministic in ``(seed, epoch)``.

    Without ``weights`` every expression with a positive appears once. With ``weights`` (one per
    group, e.g. its source's sampling weight) the epoch draws as many expressions, with
    replacement, each with probability proportional to its weight.
    """
    if group_size < 1:
        raise ValueError(f"group_size must be at least 1, got {group_size}")
    if weights is not None and len(weights) != len(groups):
        raise ValueError(f"{len(weights)} sampling weights for {len(groups)} groups")
    rng = np.random.default_rng([seed, epoch])
    usable = [i for i, g in enumerate(groups) if g.positives]
    if weights is None:
        order = [usable[i] for i in rng.permutation(len(usable))]
    else:
        p = np.array([float(weights[i]) for i in usable], dtype=np.float64)
        if not usable or p.sum() <= 0 or (p < 0).any():
            raise ValueError("sampling weights must be >= 0 with a positive total")
        order = [usable[i] for i in rng.choice(len(usable), size=len(usable), p=p / p.sum())]
    return [sample_group(groups[i], groups, group_size, rng, cross_group_negatives) for i in order]


def batches(training_groups: Sequence[TrainingGroup], batch_size: int) -> list[list[TrainingGroup]]:
    """Consecutive batches; the last one may be smaller."""
    return [
        list(training_groups[i : i + batch_size])
        for i in range(0, len(training_groups), batch_size)
    ]


@dataclass(frozen=True)
class StepPlan:
    """How one epoch's training groups become optimizer steps, the same on every rank.

    ``batch_size`` is GLOBAL: the groups of one optimizer step over all ranks together, split
    evenly across ``world`` ranks and ``accum`` gradient-accumulation micro-steps.
    """

    steps_per_epoch: int
    batch_size: int  # global groups per optimizer step
    world: int
    accum: int

    @property
    def per_rank(self) -> int:
        return self.batch_size // self.world

    @property
    def micro(self) -> int:
        """Groups per forward pass on one rank."""
        return self.batch_size // (self.world * self.accum)

    @property
    def groups_per_epoch(self) -> int:
        """Groups an epoch covers after padding: ``steps_per_epoch * batch_size``."""
        return self.steps_per_epoch * self.batch_size


def step_plan(n_groups: int, batch_size: int, world: int = 1, accum: int = 1) -> StepPlan:
    """Every rank runs ``ceil(n_groups / batch_size)`` steps; raises when the global batch cannot
    be split evenly into ``world`` ranks x ``accum`` micro-steps."""
    if n_groups < 1:
        raise ValueError("no training group: need at least one expression with a positive image")
    if world < 1 or accum < 1:
        raise ValueError(f"ranks and accumulation steps must be >= 1, got {world} and {accum}")
    if batch_size < 1 or batch_size % (world * accum):
        raise ValueError(
            f"batch_size {batch_size} is global and must be a multiple of ranks x "
            f"grad_accum_steps = {world} x {accum} = {world * accum}"
        )
    return StepPlan(-(-n_groups // batch_size), batch_size, world, accum)


def shard_epoch(
    training_groups: Sequence[TrainingGroup], plan: StepPlan, rank: int
) -> list[list[list[TrainingGroup]]]:
    """This rank's share of one epoch: ``[step][micro-step] -> groups``.

    The epoch is padded to ``plan.groups_per_epoch`` by repeating its first groups (cycling when
    needed), so every rank runs exactly ``plan.steps_per_epoch`` steps of ``plan.accum`` forward
    passes of ``plan.micro`` groups: no rank can wait on a collective another never reaches.
    """
    if not training_groups:
        raise ValueError("an epoch without training groups cannot be sharded")
    padded = [training_groups[i % len(training_groups)] for i in range(plan.groups_per_epoch)]
    steps = []
    for s in range(plan.steps_per_epoch):
        start = s * plan.batch_size + rank * plan.per_rank
        mine = padded[start : start + plan.per_rank]
        steps.append([mine[k : k + plan.micro] for k in range(0, plan.per_rank, plan.micro)])
    return steps

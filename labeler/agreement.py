"""Inter-annotator agreement and gold accuracy, computed from plain judgements (no I/O).

A *judgement* is ``(status, instance RLEs)`` with status ``positive`` or ``negative``. For each pair
of annotators who both judged the same (expression, image) pairs:

- presence agreement is Cohen's kappa on positive/negative,
  kappa = (p_o - p_e) / (1 - p_e), p_e = p_a(+) p_b(+) + p_a(-) p_b(-);
- mask IoU is the mean IoU of the union masks over pairs both called positive;
- gold accuracy is the share of an annotator's judgements of gold pairs with the gold presence.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

Judgement = tuple[str, Sequence[dict]]
PairKey = tuple[int, int]


def cohen_kappa(a: Sequence[bool], b: Sequence[bool]) -> float:
    """Cohen's kappa of two equal-length binary label lists; NaN when empty; 1.0 when both raters
    give one constant label and agree (p_e = 1, where the formula is 0/0)."""
    if len(a) != len(b):
        raise ValueError("kappa needs two label lists of the same length")
    n = len(a)
    if n == 0:
        return math.nan
    observed = sum(x == y for x, y in zip(a, b, strict=True)) / n
    pa, pb = sum(a) / n, sum(b) / n
    expected = pa * pb + (1 - pa) * (1 - pb)
    if expected >= 1.0:
        return 1.0 if observed == 1.0 else 0.0
    return (observed - expected) / (1 - expected)


def union_iou(a: Sequence[dict], b: Sequence[dict]) -> float:
    """IoU of the union of each side's instance masks (RLEs of one image size)."""
    if not a or not b:
        return math.nan
    from labeler import mask_ops  # OpenCV: 0.15 s to import, needed only here (not for the store)
    from labeler import rle as rle_ops  # numpy and pycocotools, likewise

    height, width = a[0]["size"]
    return mask_ops.iou(
        rle_ops.union(list(a), height, width), rle_ops.union(list(b), height, width)
    )


@dataclass(frozen=True)
class PairAgreement:
    annotator_a: str
    annotator_b: str
    shared: int  # pairs both judged
    kappa: float
    both_positive: int
    mean_iou: float


@dataclass(frozen=True)
class GoldScore:
    annotator: str
    judged: int
    correct: int

    @property
    def accuracy(self) -> float:
        return self.correct / self.judged if self.judged else math.nan


def annotator_agreement(
    judgements: Mapping[PairKey, Mapping[str, Judgement]],
) -> list[PairAgreement]:
    """Agreement of every two annotators over the pairs they both judged (sorted by names)."""
    names = sorted({name for by in judgements.values() for name in by})
    out = []
    for x, y in itertools.combinations(names, 2):
        shared = [(by[x], by[y]) for by in judgements.values() if x in by and y in by]
        if not shared:
            continue
        a = [ja[0] == "positive" for ja, _ in shared]
        b = [jb[0] == "positive" for _, jb in shared]
        ious = [
            union_iou(ja[1], jb[1])
            for ja, jb in shared
            if ja[0] == "positive" and jb[0] == "positive"
        ]
        ious = [v for v in ious if not math.isnan(v)]
        out.append(
            PairAgreement(
                x,
                y,
                len(shared),
                cohen_kappa(a, b),
                len(ious),
                sum(ious) / len(ious) if ious else math.nan,
            )
        )
    return out


def gold_accuracy(
    judgements: Mapping[PairKey, Mapping[str, Judgement]], gold: Mapping[PairKey, Judgement]
) -> list[GoldScore]:
    """Per annotator: how many gold pairs they judged, and how many with the gold presence."""
    tally: dict[str, list[int]] = {}
    for key, (gold_status, _) in gold.items():
        for name, (status, _) in judgements.get(key, {}).items():
            counts = tally.setdefault(name, [0, 0])
            counts[0] += 1
            counts[1] += status == gold_status
    return [GoldScore(name, n, ok) for name, (n, ok) in sorted(tally.items())]


def agreement_by_expression(
    judgements: Mapping[PairKey, Mapping[str, Judgement]],
) -> dict[int, list[PairAgreement]]:
    """:func:`annotator_agreement` within each expression (keyed by expression id, ascending);
    expressions no two annotators both judged are left out."""
    by_expression: dict[int, dict[PairKey, Mapping[str, Judgement]]] = {}
    for key, by in judgements.items():
        by_expression.setdefault(key[0], {})[key] = by
    out = {}
    for expression_id in sorted(by_expression):
        pairs = annotator_agreement(by_expression[expression_id])
        if pairs:
            out[expression_id] = pairs
    return out


@dataclass(frozen=True)
class AnnotatorSummary:
    """One annotator across the pairs they judged: how often their presence call matched another
    annotator's on the same pair (``agreed`` of ``compared`` comparisons, one per other annotator
    of a pair), and their accuracy on gold pairs."""

    annotator: str
    judged: int
    compared: int
    agreed: int
    gold_judged: int
    gold_correct: int

    @property
    def agreement(self) -> float:
        return self.agreed / self.compared if self.compared else math.nan

    @property
    def gold_accuracy(self) -> float:
        return self.gold_correct / self.gold_judged if self.gold_judged else math.nan


def per_annotator(
    judgements: Mapping[PairKey, Mapping[str, Judgement]],
    gold: Mapping[PairKey, Judgement],
    gold_judgements: Mapping[PairKey, Mapping[str, Judgement]] | None = None,
) -> list[AnnotatorSummary]:
    """:class:`AnnotatorSummary` of everyone in ``judgements`` or in the gold scores (sorted by
    name). Gold accuracy is scored on ``gold_judgements`` (default: ``judgements``), so a report
    can compare blind pairs only and still score every judgement a person made against gold."""
    tally: dict[str, list[int]] = {}
    for by in judgements.values():
        for name, (status, _) in by.items():
            counts = tally.setdefault(name, [0, 0, 0])
            counts[0] += 1
            for other, (other_status, _) in by.items():
                if other != name:
                    counts[1] += 1
                    counts[2] += (status == "positive") == (other_status == "positive")
    scores = {
        g.annotator: g
        for g in gold_accuracy(judgements if gold_judgements is None else gold_judgements, gold)
    }
    return [
        AnnotatorSummary(
            name,
            *tally.get(name, (0, 0, 0)),
            scores[name].judged if name in scores else 0,
            scores[name].correct if name in scores else 0,
        )
        for name in sorted(tally.keys() | scores.keys())
    ]


def merge_judgements(
    *sources: Mapping[PairKey, Mapping[str, Judgement]],
) -> dict[PairKey, dict[str, Judgement]]:
    """Every source's judgements in one mapping; for a (pair, annotator) in several, the last
    source's wins."""
    out: dict[PairKey, dict[str, Judgement]] = {}
    for source in sources:
        for key, by in source.items():
            out.setdefault(key, {}).update(by)
    return out

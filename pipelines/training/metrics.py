"""GRES metrics (paper Sec. 5.1 and gRefCOCO), pure numpy; Co-SOD metrics through ``pysodmetrics``.

Vocabulary. A *sample* is one (expression, image) pair. It is ground-truth positive when its mask is
non-empty. It is predicted positive when the model's presence decision says so; without an explicit
decision, when the predicted mask is non-empty. A predicted negative counts as an all-zero mask.

Paper metrics (confusion matrix in the paper's sense: positive = "the object is there"):
    mIoU      mean IoU over ground-truth positives only (the RES setting; a sample predicted negative
              scores IoU 0 because its mask is empty).
    bar-mIoU  mean over all samples of: TP -> IoU, TN -> 1, FP or FN -> 0.
    R_neg     recall of negatives: TN / (TN + FP) over ground-truth negatives.

gRefCOCO metrics (Liu et al., CVPR 2023; its "no-target" is our negative):
    gIoU      mean per-sample IoU where a no-target sample scores 1 when predicted empty, else 0.
              With the definitions above it equals bar-mIoU; both are reported under their names.
    cIoU      cumulative intersection / cumulative union over all samples (a false alarm on a
              no-target sample adds its predicted area to the union).
    N-acc     no-target accuracy = R_neg.
    T-acc     target accuracy: fraction of ground-truth positives not predicted negative.

An all-negative predictor therefore scores bar-mIoU = (#negatives / #samples), i.e. 0.5 with the
1:1 positive:negative groups of the paper, R_neg = 1 and mIoU = 0.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class SampleOutcome:
    """The facts about one (expression, image) prediction that every metric needs."""

    gt_positive: bool
    pred_positive: bool
    intersection: int  # pixels, of the gated prediction with the ground truth
    union: int  # pixels, of the gated prediction with the ground truth

    @property
    def iou(self) -> float:
        """IoU of the gated prediction; 0 when the union is empty (no object and no prediction)."""
        return self.intersection / self.union if self.union else 0.0

    @property
    def kind(self) -> str:
        """'TP', 'TN', 'FP' or 'FN' in the paper's sense (positive = the object is there)."""
        if self.gt_positive:
            return "TP" if self.pred_positive else "FN"
        return "FP" if self.pred_positive else "TN"


def sample_outcome(
    pred_mask: np.ndarray, gt_mask: np.ndarray, pred_positive: bool | None = None
) -> SampleOutcome:
    """Compare one predicted mask with its ground truth.

    Args:
        pred_mask: ``H x W`` bool/0-1 array, the predicted mask.
        gt_mask: ``H x W`` bool/0-1 array, the ground truth (all zero for a negative).
        pred_positive: the model's presence decision; ``None`` means "non-empty mask". When it is
            ``False`` the prediction is treated as an all-zero mask, as the predictor would output.
    """
    pred = np.asarray(pred_mask) != 0
    gt = np.asarray(gt_mask) != 0
    if pred.shape != gt.shape:
        raise ValueError(f"prediction shape {pred.shape} differs from ground truth {gt.shape}")
    if pred_positive is None:
        pred_positive = bool(pred.any())
    if not pred_positive:
        pred = np.zeros_like(pred)
    return SampleOutcome(
        gt_positive=bool(gt.any()),
        pred_positive=bool(pred_positive),
        intersection=int(np.logical_and(pred, gt).sum()),
        union=int(np.logical_or(pred, gt).sum()),
    )


def bar_iou(outcome: SampleOutcome) -> float:
    """Per-sample bar-IoU: TP -> IoU, TN -> 1, FP / FN -> 0 (paper Sec. 5.1)."""
    kind = outcome.kind
    if kind == "TP":
        return outcome.iou
    return 1.0 if kind == "TN" else 0.0


def _ratio(num: float, den: float) -> float:
    return float(num) / float(den) if den else float("nan")


def confusion(outcomes: Sequence[SampleOutcome]) -> dict[str, int]:
    """Counts of TP / TN / FP / FN (paper sense)."""
    counts = {"TP": 0, "TN": 0, "FP": 0, "FN": 0}
    for o in outcomes:
        counts[o.kind] += 1
    return counts


def gres_metrics(outcomes: Sequence[SampleOutcome]) -> dict[str, float]:
    """Every GRES figure over a list of outcomes; NaN where a metric has no sample to average.

    Returns keys: ``miou``, ``bar_miou``, ``r_neg``, ``giou``, ``ciou``, ``n_acc``, ``t_acc``,
    ``n_samples``, ``n_positives``, ``n_negatives`` and the four confusion counts.
    """
    outcomes = list(outcomes)
    c = confusion(outcomes)
    positives = [o for o in outcomes if o.gt_positive]
    n_neg = c["TN"] + c["FP"]
    bar = [bar_iou(o) for o in outcomes]
    return {
        "miou": float(np.mean([o.iou for o in positives])) if positives else float("nan"),
        "bar_miou": float(np.mean(bar)) if bar else float("nan"),
        "r_neg": _ratio(c["TN"], n_neg),
        "giou": float(np.mean(bar)) if bar else float("nan"),
        "ciou": _ratio(sum(o.intersection for o in outcomes), sum(o.union for o in outcomes)),
        "n_acc": _ratio(c["TN"], n_neg),
        "t_acc": _ratio(c["TP"], c["TP"] + c["FN"]),
        "n_samples": len(outcomes),
        "n_positives": len(positives),
        "n_negatives": n_neg,
        **{k: int(v) for k, v in c.items()},
    }


def _to_uint8_map(probability: np.ndarray) -> np.ndarray:
    p = np.asarray(probability, dtype=np.float64)
    return np.clip(np.round(p * 255.0), 0, 255).astype(np.uint8)


class CosodAccumulator:
    """MAE, max F-measure, S-measure and mean E-measure through ``pysodmetrics``.

    ``step`` takes an ``H x W`` float probability map in [0, 1] and an ``H x W`` bool ground truth.
    The library min-max normalises each map, as the Co-SOD benchmarks do.
    """

    def __init__(self):
        import warnings

        import py_sod_metrics as sod  # imported here: only evaluation needs it

        with (
            warnings.catch_warnings()
        ):  # Fmeasure warns about a future rename; the curve is the same
            warnings.simplefilter("ignore", UserWarning)
            self._metrics = (sod.MAE(), sod.Fmeasure(), sod.Smeasure(), sod.Emeasure())
        self.count = 0

    def step(self, probability: np.ndarray, gt_mask: np.ndarray) -> None:
        pred8 = _to_uint8_map(probability)
        gt8 = (np.asarray(gt_mask) != 0).astype(np.uint8) * 255
        for metric in self._metrics:
            metric.step(pred=pred8, gt=gt8)
        self.count += 1

    def partial(self) -> dict:
        """This accumulator's means (count, MAE, S, mean E curve, mean F curve): every Co-SOD
        figure is a mean over images, so partials of disjoint shards ``combine`` exactly."""
        if self.count == 0:
            return {"count": 0}
        mae, fm, sm, em = self._metrics
        return {
            "count": self.count,
            "mae": float(mae.get_results()["mae"]),
            "s_measure": float(sm.get_results()["sm"]),
            "em_curve": np.asarray(em.get_results()["em"]["curve"], dtype=np.float64),
            "fm_curve": np.asarray(fm.get_results()["fm"]["curve"], dtype=np.float64),
        }

    @staticmethod
    def combine(partials: Sequence[dict]) -> dict[str, float]:
        """The figures over the union of the shards behind ``partials``."""
        parts = [p for p in partials if p.get("count")]
        if not parts:
            return dict.fromkeys(("mae", "max_f", "s_measure", "mean_e"), float("nan"))
        weights = np.array([p["count"] for p in parts], dtype=np.float64)
        weights /= weights.sum()

        def mean(key):
            return sum(w * p[key] for w, p in zip(weights, parts))

        return {
            "mae": float(mean("mae")),
            "max_f": float(np.max(mean("fm_curve"))),
            "s_measure": float(mean("s_measure")),
            "mean_e": float(np.mean(mean("em_curve"))),
        }

    def results(self) -> dict[str, float]:
        if self.count == 0:
            return dict.fromkeys(("mae", "max_f", "s_measure", "mean_e"), float("nan"))
        mae, fm, sm, em = self._metrics
        return {
            "mae": float(mae.get_results()["mae"]),
            "max_f": float(np.max(fm.get_results()["fm"]["curve"])),
            "s_measure": float(sm.get_results()["sm"]),
            "mean_e": float(np.mean(em.get_results()["em"]["curve"])),
        }


def cosod_metrics(pairs: Iterable[tuple[np.ndarray, np.ndarray]]) -> dict[str, float]:
    """Co-SOD figures over ``(probability H x W in [0, 1], gt_mask H x W)`` pairs."""
    acc = CosodAccumulator()
    for probability, gt in pairs:
        acc.step(probability, gt)
    return acc.results()


class GresEvaluator:
    """Streaming accumulator (detectron2's reset / process / evaluate) over a test split."""

    def __init__(self, with_cosod: bool = True):
        self.with_cosod = with_cosod
        self.reset()

    def reset(self) -> None:
        self.outcomes: list[SampleOutcome] = []
        self._cosod = CosodAccumulator() if self.with_cosod else None

    def process(
        self,
        pred_mask: np.ndarray,
        gt_mask: np.ndarray,
        pred_positive: bool | None = None,
        probability: np.ndarray | None = None,
    ) -> SampleOutcome:
        """Add one sample; ``probability`` (H x W in [0, 1]) feeds the Co-SOD metrics.

        A sample predicted negative contributes an all-zero probability map, as the predictor
        outputs for it.
        """
        outcome = sample_outcome(pred_mask, gt_mask, pred_positive)
        self.outcomes.append(outcome)
        if self._cosod is not None:
            prob = probability if probability is not None else np.asarray(pred_mask, dtype=float)
            if not outcome.pred_positive:
                prob = np.zeros(np.shape(prob), dtype=float)
            self._cosod.step(prob, gt_mask)
        return outcome

    def evaluate(self) -> dict[str, float]:
        report = gres_metrics(self.outcomes)
        if self._cosod is not None:
            report.update(self._cosod.results())
        return report

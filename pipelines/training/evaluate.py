"""Evaluate a GRSer on GRES groups (paper Sec. 5.1), with the figures a reviewer needs.

Every (expression, image) sample of the split is predicted exactly once, inside a group of N images
of its expression (``model.predictor.plan_groups``; a short group is topped up with already-scored
images of the same expression, as context). How images are put together is the ``grouping``:

    blind  (default) label-blind random chunks, as pre-labelling sees unlabelled images;
    paper  positives and negatives interleaved 1:1 using the ground truth (the paper's test
           groups; optimistic for real use, since it needs the labels it predicts).

The forward passes go through the one inference path, ``GroupPredictor.predict_groups``. Each
sample is kept as raw facts (``SampleRecord``), so metrics at any presence threshold come without
re-running the model (``sweep_thresholds``). Every report carries the threshold used, the
all-negative baseline, a 95 % bootstrap interval of bar-mIoU resampling expressions and the ROC AUC
of the presence score. ``mode="res"`` scores positives only without the presence rule (RES).
Under DDP each rank predicts its share of the groups and the records are gathered: every rank
returns the same report and none waits idle on another.
"""

from __future__ import annotations

import json
import math
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from model.predictor import GroupInput, GroupPredictor, ImagePrediction, plan_groups, to_pixels
from pipelines.training.batching import ItemCache
from pipelines.training.datasets.base import GresGroup, GresItem
from pipelines.training.metrics import CosodAccumulator, SampleOutcome, gres_metrics
from pipelines.training.stats import all_negative_bar_miou, cluster_bootstrap_ci, roc_auc

GROUPINGS = ("blind", "paper")
MODES = ("gres", "res")


@dataclass(frozen=True)
class EvalChunk:
    expression: str
    group: str
    items: tuple[GresItem, ...]
    keep: int  # the first ``keep`` items are scored; the rest are context already scored


@dataclass(frozen=True)
class SampleRecord:
    """What one prediction is, independent of the presence threshold.

    ``intersection`` / ``union`` are of the thresholded mask *before* the presence decision;
    ``gt_area`` is the ground truth's pixel count (the union when the sample is called negative).
    """

    expression: str  # "group|expression": the bootstrap's resampling unit
    gt_positive: bool
    score: float  # presence score d_neg - d_pos
    mask_nonempty: bool
    intersection: int
    union: int
    gt_area: int

    def outcome(self, threshold: float | None) -> SampleOutcome:
        """The sample at presence threshold ``threshold`` (None: presence rule off)."""
        present = self.mask_nonempty and (threshold is None or self.score > threshold)
        if present:
            return SampleOutcome(self.gt_positive, True, self.intersection, self.union)
        return SampleOutcome(self.gt_positive, False, 0, self.gt_area)


def _rng(group: GresGroup, seed: int) -> np.random.Generator:
    return np.random.default_rng([seed, zlib.crc32(f"{group.name}|{group.expression}".encode())])


def balanced(group: GresGroup, seed: int = 0) -> GresGroup:
    """All positives of the expression and as many of its negatives (the paper's 1:1 test sets).

    The kept negatives are a deterministic random subset, so every model sees the same split.
    """
    rng = _rng(group, seed)
    negatives = group.negatives
    keep = {int(i) for i in rng.permutation(len(negatives))[: len(group.positives)]}
    chosen = [negatives[i] for i in sorted(keep)]
    return GresGroup(group.name, group.expression, tuple(group.positives) + tuple(chosen))


def eval_order(group: GresGroup, seed: int = 0, grouping: str = "blind") -> list[GresItem]:
    """The expression's images in the order they are chunked.

    ``blind``: a random permutation that never looks at the labels. ``paper``: positives and
    negatives interleaved so each chunk is as close to 1:1 as the data allow (uses the labels).
    """
    if grouping not in GROUPINGS:
        raise ValueError(f"grouping must be one of {GROUPINGS}, got {grouping!r}")
    rng = _rng(group, seed)
    if grouping == "blind":
        return [group.items[i] for i in rng.permutation(len(group.items))]
    pos = [group.positives[i] for i in rng.permutation(len(group.positives))]
    neg = [group.negatives[i] for i in rng.permutation(len(group.negatives))]
    mixed = []
    while pos or neg:
        if pos:
            mixed.append(pos.pop())
        if neg:
            mixed.append(neg.pop())
    return mixed


def eval_chunks(
    group: GresGroup, group_size: int, seed: int = 0, grouping: str = "blind"
) -> list[EvalChunk]:
    """Split one expression's images into model-sized groups covering every image once."""
    order = eval_order(group, seed, grouping)
    return [
        EvalChunk(group.expression, group.name, tuple(order[i] for i in indices), keep)
        for indices, keep in plan_groups(range(len(order)), group_size)
    ]


def predict_chunks(
    predictor: GroupPredictor, chunks: Sequence[EvalChunk], cache: ItemCache, batch_size: int = 4
):
    """Yield ``(chunk, item, ImagePrediction)`` for every scored item, ``batch_size`` groups per
    forward pass through the one inference path."""
    for start in range(0, len(chunks), batch_size * 8):
        window = chunks[start : start + batch_size * 8]
        inputs = [
            GroupInput(
                chunk.expression,
                to_pixels([cache.arrays(item)[0] for item in chunk.items]),
                tuple((item.height, item.width) for item in chunk.items),
                chunk.keep,
            )
            for chunk in window
        ]
        for chunk, predictions in zip(window, predictor.predict_groups(inputs, batch_size)):
            yield from ((chunk, item, p) for item, p in zip(chunk.items, predictions))


def record_of(
    chunk: EvalChunk, gt: np.ndarray, prediction: ImagePrediction, pixel_threshold: float
) -> SampleRecord:
    """The facts of one prediction against its ground truth ``gt`` ([H, W] bool)."""
    raw = prediction.probability > pixel_threshold
    return SampleRecord(
        expression=f"{chunk.group}|{chunk.expression}",
        gt_positive=bool(gt.any()),
        score=prediction.presence_score,
        mask_nonempty=bool(raw.any()),
        intersection=int(np.logical_and(raw, gt).sum()),
        union=int(np.logical_or(raw, gt).sum()),
        gt_area=int(gt.sum()),
    )


def summarize(records: Sequence[SampleRecord], threshold: float | None, seed: int = 0) -> dict:
    """GRES metrics at presence threshold ``threshold`` (None: rule off), with the all-negative
    baseline, the 95 % bootstrap interval of bar-mIoU (resampling expressions) and the AUC."""
    outcomes = [r.outcome(threshold) for r in records]
    report = gres_metrics(outcomes)
    bars = [
        (o.iou if o.pred_positive else 0.0) if o.gt_positive else float(not o.pred_positive)
        for o in outcomes
    ]
    low, high = cluster_bootstrap_ci(bars, [r.expression for r in records], seed=seed)
    report.update(
        threshold=threshold,
        baseline_all_negative=all_negative_bar_miou([r.gt_positive for r in records]),
        bar_miou_ci_low=low,
        bar_miou_ci_high=high,
        auc=roc_auc([r.score for r in records], [r.gt_positive for r in records]),
        n_expressions=len({r.expression for r in records}),
    )
    return report


def sweep_thresholds(
    records: Sequence[SampleRecord], thresholds: Sequence[float] | None = None
) -> list[dict]:
    """bar-mIoU, R_neg, T-acc, mIoU per presence threshold (default: 21 quantiles of the scores)."""
    if thresholds is None:
        scores = np.array([r.score for r in records]) if records else np.zeros(1)
        thresholds = sorted({float(q) for q in np.quantile(scores, np.linspace(0, 1, 21))})
    rows = []
    for t in thresholds:
        m = gres_metrics([r.outcome(t) for r in records])
        rows.append(
            {"threshold": float(t), **{k: m[k] for k in ("bar_miou", "r_neg", "t_acc", "miou")}}
        )
    return rows


def best_threshold(records: Sequence[SampleRecord], thresholds: Sequence[float] | None = None):
    """The presence threshold with the highest bar-mIoU (tune on validation, report on test)."""
    rows = sweep_thresholds(records, thresholds)
    return max(rows, key=lambda row: (row["bar_miou"], -abs(row["threshold"])))["threshold"]


def _overlay(image: np.ndarray, mask: np.ndarray, colour) -> np.ndarray:
    out = image.astype(np.float32).copy()
    out[mask] = 0.45 * out[mask] + 0.55 * np.array(colour, np.float32)
    return out.astype(np.uint8)


def save_visual(
    path: Path,
    item: GresItem,
    pred: np.ndarray,
    outcome: SampleOutcome,
    expression: str,
    score: float,
) -> None:
    """Side by side: ground truth (green) | prediction (yellow); border colour = outcome."""
    image = item.load_image()
    left = _overlay(image, item.mask(), (0, 200, 0))
    right = _overlay(image, pred, (255, 220, 0))
    border = {"TP": (0, 180, 0), "TN": (60, 120, 255), "FP": (230, 0, 0), "FN": (255, 140, 0)}
    panel = np.concatenate([left, np.full((image.shape[0], 4, 3), 255, np.uint8), right], axis=1)
    panel = cv2.copyMakeBorder(panel, 4, 24, 4, 4, cv2.BORDER_CONSTANT, value=border[outcome.kind])
    text = f"{outcome.kind} iou={outcome.iou:.2f} s={score:+.2f} | {expression}"
    scale = max(0.3, min(0.6, panel.shape[1] / 900))
    cv2.putText(
        panel,
        text[:80],
        (6, panel.shape[0] - 8),
        cv2.FONT_HERSHEY_SIMPLEX,
        scale,
        (255, 255, 255),
        1,
        cv2.LINE_AA,
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), cv2.cvtColor(panel, cv2.COLOR_RGB2BGR))


def _world() -> tuple[int, int]:
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def _gather(obj, world: int) -> list:
    if world == 1:
        return [obj]
    import torch.distributed as dist

    out: list = [None] * world
    dist.all_gather_object(out, obj)
    return out


def evaluate_groups(
    model,
    groups: Sequence[GresGroup],
    group_size: int | None = None,
    device="cpu",
    amp_dtype=None,
    visuals_dir: str | Path | None = None,
    max_visuals: int = 200,
    progress: bool = False,
    seed: int = 0,
    balance: bool = True,
    grouping: str = "blind",
    threshold: float | None = None,
    mode: str = "gres",
    batch_size: int = 4,
    with_records: bool = False,
) -> dict:
    """Every metric over the samples of ``groups``; returns the report dict.

    Args:
        balance: score each expression on its positives and as many of its negatives (1:1, as
            the paper's test sets; expressions without positives are skipped); False: every sample.
        grouping: ``blind`` (label-blind random chunks) or ``paper`` (1:1 interleaved with labels).
        threshold: presence threshold on ``d_neg - d_pos``; None = the model's margin m (or the
            rule off when the model's config switches it off).
        mode: ``gres`` or ``res`` (positives only, presence rule off: the RES setting).
        with_records: also return the per-sample records under ``"records"`` (for sweeps).
    Under an initialised process group each rank predicts ``chunks[rank::world]`` and all ranks
    return the same report (records gathered with ``all_gather_object``).
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    rank, world = _world()
    presence = model.config.apply_presence and mode == "gres"
    if mode == "res":
        groups = [
            GresGroup(g.name, g.expression, tuple(g.positives)) for g in groups if g.positives
        ]
    elif balance:
        groups = [balanced(g, seed) for g in groups if g.positives]
    applied = (
        (float(model.config.margin) if threshold is None else float(threshold))
        if presence
        else None
    )
    was_training = model.training
    n = group_size or model.config.group_size
    predictor = GroupPredictor(
        model,
        device,
        autocast=amp_dtype is not None,
        apply_presence=presence,
        presence_threshold=applied,
    )
    cache = ItemCache(model.config.image_size, max_bytes=256 * 2**20)
    chunks = [c for g in groups for c in eval_chunks(g, n, seed, grouping)]
    mine = chunks[rank::world]
    stream = predict_chunks(predictor, mine, cache, batch_size)
    if progress and rank == 0:
        from tqdm import tqdm

        total = sum(c.keep for c in mine)
        stream = tqdm(stream, total=total, desc="evaluate", unit="image", dynamic_ncols=True)
    cosod = CosodAccumulator()
    records, saved = [], 0
    for chunk, item, prediction in stream:
        gt = item.mask()
        record = record_of(chunk, gt, prediction, predictor.threshold)
        records.append(record)
        outcome = record.outcome(applied)
        # a sample called negative contributes the all-zero map the predictor outputs for it
        probability = prediction.probability if outcome.pred_positive else np.zeros(gt.shape)
        cosod.step(probability, gt)
        if visuals_dir is not None and rank == 0 and saved < max_visuals:
            pred = (prediction.probability > predictor.threshold) & outcome.pred_positive
            name = f"{saved:05d}_{outcome.kind}.png"
            save_visual(
                Path(visuals_dir) / name,
                item,
                pred,
                outcome,
                chunk.expression,
                prediction.presence_score,
            )
            saved += 1
    model.train(was_training)
    gathered = _gather((records, cosod.partial()), world)
    records = [r for part, _ in gathered for r in part]
    samples_per_rank = [len(part) for part, _ in gathered]
    report = summarize(records, applied, seed)
    report.update(CosodAccumulator.combine([p for _, p in gathered]))
    report.update(
        groups=len(groups),
        eval_chunks=len(chunks),
        group_size=n,
        grouping=grouping,
        mode=mode,
        presence_rule=presence,
        samples_per_rank=samples_per_rank,
    )
    if with_records:
        report["records"] = records
    return report


TABLE_ROWS = (
    ("mIoU", "miou"),
    ("bar-mIoU", "bar_miou"),
    ("R_neg", "r_neg"),
    ("gIoU", "giou"),
    ("cIoU", "ciou"),
    ("N-acc", "n_acc"),
    ("T-acc", "t_acc"),
    ("AUC", "auc"),
    ("MAE", "mae"),
    ("F_max", "max_f"),
    ("S_alpha", "s_measure"),
    ("E_xi", "mean_e"),
)


def _fmt(value) -> str:
    return (
        "n/a"
        if value is None or (isinstance(value, float) and math.isnan(value))
        else f"{value:.4f}"
    )


def format_table(report: dict) -> str:
    """The headline figures, each with what it must be read against."""
    lines = [f"{'metric':<9} {'value':>8}", "-" * 18]
    for label, key in TABLE_ROWS:
        lines.append(f"{label:<9} {_fmt(report.get(key)):>8}")
    lines.append(
        f"bar-mIoU 95% CI [{_fmt(report.get('bar_miou_ci_low'))}, "
        f"{_fmt(report.get('bar_miou_ci_high'))}] (bootstrap over "
        f"{report.get('n_expressions', 0)} expressions); all-negative baseline "
        f"{_fmt(report.get('baseline_all_negative'))}"
    )
    threshold = report.get("threshold")
    lines.append(
        f"presence threshold {'off' if threshold is None else f'{threshold:+.3f}'}; grouping "
        f"{report.get('grouping', '?')}; mode {report.get('mode', 'gres')}"
    )
    lines.append(
        f"samples {report.get('n_samples', 0)} (pos {report.get('n_positives', 0)}, "
        f"neg {report.get('n_negatives', 0)})"
    )
    return "\n".join(lines)


def format_sweep(rows: Sequence[dict]) -> str:
    lines = [f"{'threshold':>10} {'bar-mIoU':>9} {'R_neg':>7} {'T-acc':>7} {'mIoU':>7}"]
    for row in rows:
        lines.append(
            f"{row['threshold']:>+10.3f} {_fmt(row['bar_miou']):>9} {_fmt(row['r_neg']):>7} "
            f"{_fmt(row['t_acc']):>7} {_fmt(row['miou']):>7}"
        )
    return "\n".join(lines)


def write_report(report: dict, path: str | Path) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    clean = {
        k: (None if isinstance(v, float) and math.isnan(v) else v)
        for k, v in report.items()
        if k != "records"
    }
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(clean, indent=2, sort_keys=True))
    tmp.replace(path)

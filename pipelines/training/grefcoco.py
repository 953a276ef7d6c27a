"""The official gRefCOCO protocol: every (sentence, image) sample of a split, scored as ReLA does.

    grd evaluate model.pt "grefcoco:grefs(unc).json::instances.json::train2014/" --split val

Unlike the G-RefC path (``datasets.refcoco``), nothing is regrouped, dropped or added: each
sentence of each ref is one sample, with the union of its referred annotations as ground truth
(none for a no-target ref). GRSer needs groups, so the samples that share a sentence text are run
together (label-blind; most sentences occur once, a group of one).

Metrics (Liu et al., CVPR 2023, ReLA's ``ReferEvaluator``), with I and U of the predicted mask
(thresholded, before the no-target decision) against the ground truth:
    no-target sample, predicted no-target:  IoU 1, adds nothing to cumulative I and U;
    no-target sample, predicted a target:   IoU 0, adds U (the predicted area);
    target sample, predicted no-target:     IoU 0, I counts 0, U as computed;
    target sample, predicted a target:      IoU I / U.
    gIoU = mean IoU; cIoU = sum I / sum U; N-acc = no-targets called no-target / no-targets;
    T-acc = targets not called no-target / targets; Pr@X = targets with IoU >= X / targets.
GRSer's no-target decision is the presence rule (or, with it off, an empty mask).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from labeler.errors import ImportFormatError
from pipelines.training.datasets.base import GresGroup, GresItem, file_loader
from pipelines.training.datasets.refcoco import read_refs, segmentation_rle

PR_THRESHOLDS = (0.7, 0.8, 0.9)


@dataclass(frozen=True)
class GrefOutcome:
    """One scored sample: intersection and union of the raw predicted mask with the truth."""

    gt_no_target: bool
    pred_no_target: bool
    intersection: int
    union: int


def read_grefcoco(spec: str, split: str = "") -> list[GresGroup]:
    """``GREFS::INSTANCES::IMG_DIR`` -> one group per sentence text, one item per sample.

    Item keys are ``coco/<image id>#<sample index>``, so a sentence said twice of one image
    stays two samples.
    """
    parts = spec.split("::")
    if len(parts) != 3:
        raise ImportFormatError(f"gRefCOCO spec must be GREFS::INSTANCES::IMG_DIR, got {spec!r}")
    grefs, instances, image_dir = (Path(p) for p in parts)
    for path in (grefs, instances):
        if not path.exists():
            raise ImportFormatError(f"{path} does not exist")
    records = read_refs(grefs, split or None)
    coco = json.loads(instances.read_text())
    images = {int(i["id"]): i for i in coco["images"]}
    anns = {int(a["id"]): a for a in coco["annotations"]}
    by_sentence: dict[str, list[GresItem]] = defaultdict(list)
    for index, record in enumerate(records):
        info = images.get(record.image_id)
        if info is None:
            raise ImportFormatError(f"{grefs}: image {record.image_id} is not in {instances}")
        h, w = int(info["height"]), int(info["width"])
        try:
            instances_rle = tuple(
                segmentation_rle(anns[a]["segmentation"], h, w) for a in record.ann_ids
            )
        except KeyError as exc:
            raise ImportFormatError(f"{grefs}: annotation {exc} is not in {instances}") from None
        by_sentence[record.sentence].append(
            GresItem(
                f"coco/{record.image_id}#{index}",
                file_loader(image_dir / info["file_name"]),
                h,
                w,
                instances_rle,
            )
        )
    return [
        GresGroup(f"grefcoco-{k:06d}", sentence, tuple(items))
        for k, (sentence, items) in enumerate(sorted(by_sentence.items()))
    ]


def grefcoco_metrics(outcomes: Sequence[GrefOutcome]) -> dict[str, float]:
    """gIoU, cIoU, N-acc, T-acc, Pr@0.7/0.8/0.9 (fractions, not %) as ReLA computes them."""
    total_iou, cum_i, cum_u = 0.0, 0, 0
    nt = {"TP": 0, "FN": 0, "FP": 0, "TN": 0}  # ReLA's naming: positive = "no target"
    target_ious = []
    for o in outcomes:
        if o.gt_no_target:
            if o.pred_no_target:
                nt["TP"] += 1
                total_iou += 1.0
            else:
                nt["FN"] += 1
                cum_u += o.union
        else:
            intersection = 0 if o.pred_no_target else o.intersection
            nt["FP" if o.pred_no_target else "TN"] += 1
            iou = intersection / o.union if o.union else 0.0
            total_iou += iou
            cum_i += intersection
            cum_u += o.union
            target_ious.append(iou)
    n = len(outcomes)
    n_nt, n_t = nt["TP"] + nt["FN"], nt["TN"] + nt["FP"]
    report = {
        "giou": total_iou / n if n else float("nan"),
        "ciou": cum_i / cum_u if cum_u else float("nan"),
        "n_acc": nt["TP"] / n_nt if n_nt else float("nan"),
        "t_acc": nt["TN"] / n_t if n_t else float("nan"),
        "n_samples": n,
        "n_no_target": n_nt,
        "n_target": n_t,
    }
    for threshold in PR_THRESHOLDS:
        hits = sum(1 for iou in target_ious if iou >= threshold)
        report[f"pr@{threshold:.1f}"] = hits / n_t if n_t else float("nan")
    return report


def evaluate_grefcoco(
    model,
    groups: Sequence[GresGroup],
    device="cpu",
    presence_threshold: float | None = None,
    batch_size: int = 4,
    seed: int = 0,
) -> dict:
    """Predict every sample through the one inference path and score it with ReLA's rules."""
    from model.predictor import GroupPredictor
    from pipelines.training.batching import ItemCache
    from pipelines.training.evaluate import eval_chunks, predict_chunks

    presence = bool(model.config.apply_presence)
    predictor = GroupPredictor(
        model, device, apply_presence=presence, presence_threshold=presence_threshold
    )
    was_training = model.training
    cache = ItemCache(model.config.image_size, max_bytes=256 * 2**20)
    chunks = [c for g in groups for c in eval_chunks(g, model.config.group_size, seed, "blind")]
    outcomes = []
    for _chunk, item, prediction in predict_chunks(predictor, chunks, cache, batch_size):
        raw = prediction.probability > predictor.threshold
        gt = item.mask()
        pred_no_target = not prediction.is_present if presence else not raw.any()
        outcomes.append(
            GrefOutcome(
                gt_no_target=not gt.any(),
                pred_no_target=pred_no_target,
                intersection=int(np.logical_and(raw, gt).sum()),
                union=int(np.logical_or(raw, gt).sum()),
            )
        )
    model.train(was_training)
    report = grefcoco_metrics(outcomes)
    report.update(
        protocol="grefcoco (ReLA, per sample)",
        presence_threshold=predictor.presence_threshold if presence else None,
    )
    return report


def format_grefcoco(report: dict) -> str:
    def fmt(key):
        value = report.get(key)
        return "n/a" if value is None or value != value else f"{100 * value:6.2f}"

    lines = [
        f"gRefCOCO (ReLA protocol), {report['n_samples']} samples "
        f"({report['n_target']} target, {report['n_no_target']} no-target)"
    ]
    for label, key in (("gIoU", "giou"), ("cIoU", "ciou"), ("N-acc", "n_acc"), ("T-acc", "t_acc")):
        lines.append(f"{label:<6} {fmt(key)}")
    lines.append("  ".join(f"Pr@{t:.1f} {fmt(f'pr@{t:.1f}')}" for t in PR_THRESHOLDS))
    return "\n".join(lines)

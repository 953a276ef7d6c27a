"""Evaluate a GRSer on GRES groups the way the paper does (Sec. 5.1), plus gRefCOCO and Co-SOD.

Every (expression, image) sample of the split is predicted exactly once, inside a group of N images
of its expression: positives and negatives are interleaved 1:1 as far as the group allows, and a
short chunk is filled up with already-scored images of the same group (context, not scored again).
Predictions are taken at the model's input size and scaled back to each image's own size, where
they are compared with the ground truth.
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
import torch
import torch.nn.functional as F

from pipelines.training.batching import ItemCache
from pipelines.training.datasets.base import GresGroup, GresItem
from pipelines.training.metrics import GresEvaluator, SampleOutcome


@dataclass(frozen=True)
class EvalChunk:
    expression: str
    group: str
    items: tuple[GresItem, ...]
    scored: tuple[bool, ...]  # False for filler images already scored in another chunk


def balanced(group: GresGroup, seed: int = 0) -> GresGroup:
    """All positives of the expression and as many of its negatives (the paper's 1:1 test sets).

    The kept negatives are a deterministic random subset, so every model sees the same split.
    """
    rng = np.random.default_rng([seed, zlib.crc32(f"{group.name}|{group.expression}".encode())])
    negatives = group.negatives
    keep = {int(i) for i in rng.permutation(len(negatives))[: len(group.positives)]}
    chosen = [negatives[i] for i in sorted(keep)]
    return GresGroup(group.name, group.expression, tuple(group.positives) + tuple(chosen))


def eval_chunks(group: GresGroup, group_size: int, seed: int = 0) -> list[EvalChunk]:
    """Split one expression's images into model-sized groups covering every image once."""
    rng = np.random.default_rng([seed, zlib.crc32(f"{group.name}|{group.expression}".encode())])
    pos = [group.positives[i] for i in rng.permutation(len(group.positives))]
    neg = [group.negatives[i] for i in rng.permutation(len(group.negatives))]
    mixed = []
    while pos or neg:  # interleave so each chunk is as close to 1:1 as the data allows
        if pos:
            mixed.append(pos.pop())
        if neg:
            mixed.append(neg.pop())
    chunks = []
    for start in range(0, len(mixed), group_size):
        items = mixed[start : start + group_size]
        scored = [True] * len(items)
        filler = [m for m in mixed if m not in items]
        while len(items) < group_size and filler:
            items.append(filler.pop(int(rng.integers(len(filler)))))
            scored.append(False)
        chunks.append(EvalChunk(group.expression, group.name, tuple(items), tuple(scored)))
    return chunks


@torch.no_grad()
def predict_chunk(model, chunk: EvalChunk, cache: ItemCache, device, amp_dtype=None):
    """Run the model on one chunk; returns per item ``(probability H x W, is_present, score)``
    at the item's original size."""
    pixels = torch.stack([cache.get(item)[0] for item in chunk.items])[None].to(device)
    with torch.autocast(
        device_type=torch.device(device).type, dtype=amp_dtype, enabled=amp_dtype is not None
    ):
        out = model(pixels, [chunk.expression])
    probs = torch.sigmoid(out["mask_logits"][0].float())
    results = []
    for k, item in enumerate(chunk.items):
        prob = F.interpolate(
            probs[k][None, None],
            size=(item.height, item.width),
            mode="bilinear",
            align_corners=False,
        )[0, 0]
        # Without the presence rule (e.g. the w/o-triplet ablation, whose distances are never
        # trained) an image is predicted positive exactly when its mask is non-empty.
        present = bool(out["is_present"][0, k]) if model.config.apply_presence else True
        results.append((prob.cpu().numpy(), present, float(out["presence_score"][0, k])))
    return results


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
) -> dict:
    """Every metric over the samples of ``groups``; returns the report dict.

    With ``balance`` (default) each expression is scored on its positives and as many of its
    negatives (1:1, as the paper's test sets; expressions without positives are skipped), so an
    all-negative predictor scores bar-mIoU 0.5. ``balance=False`` scores every sample.
    """
    if balance:
        groups = [balanced(g, seed) for g in groups if g.positives]
    was_training = model.training
    model.eval()
    n = group_size or model.config.group_size
    cache = ItemCache(model.config.image_size, max_items=4096)
    evaluator = GresEvaluator(with_cosod=True)
    chunks = [c for g in groups for c in eval_chunks(g, n, seed)]
    iterator = chunks
    if progress:
        from tqdm import tqdm

        iterator = tqdm(chunks, desc="evaluate", unit="group", dynamic_ncols=True)
    saved = 0
    for chunk in iterator:
        for item, scored, (prob, present, score) in zip(
            chunk.items, chunk.scored, predict_chunk(model, chunk, cache, device, amp_dtype)
        ):
            if not scored:
                continue
            pred = prob > 0.5
            outcome = evaluator.process(
                pred, item.mask(), pred_positive=present and bool(pred.any()), probability=prob
            )
            if visuals_dir is not None and saved < max_visuals:
                name = f"{saved:05d}_{outcome.kind}.png"
                save_visual(
                    Path(visuals_dir) / name, item, pred & present, outcome, chunk.expression, score
                )
                saved += 1
    model.train(was_training)
    report = evaluator.evaluate()
    report["groups"] = len(groups)
    report["eval_chunks"] = len(chunks)
    report["group_size"] = n
    return report


TABLE_ROWS = (
    ("mIoU", "miou"),
    ("bar-mIoU", "bar_miou"),
    ("R_neg", "r_neg"),
    ("gIoU", "giou"),
    ("cIoU", "ciou"),
    ("N-acc", "n_acc"),
    ("T-acc", "t_acc"),
    ("MAE", "mae"),
    ("F_max", "max_f"),
    ("S_alpha", "s_measure"),
    ("E_xi", "mean_e"),
)


def format_table(report: dict) -> str:
    """A short two-column text table of the headline figures."""
    lines = [f"{'metric':<9} {'value':>8}", "-" * 18]
    for label, key in TABLE_ROWS:
        value = report.get(key, float("nan"))
        lines.append(
            f"{label:<9} {value:>8.4f}" if not math.isnan(value) else f"{label:<9} {'n/a':>8}"
        )
    lines.append(
        f"samples {report.get('n_samples', 0)} (pos {report.get('n_positives', 0)}, "
        f"neg {report.get('n_negatives', 0)})"
    )
    return "\n".join(lines)


def write_report(report: dict, path: str | Path) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    clean = {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in report.items()}
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(clean, indent=2, sort_keys=True))
    tmp.replace(path)

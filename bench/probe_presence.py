"""Where a GRSer checkpoint's presence decision stands on a split: text side and image side.

    .venv/bin/python bench/probe_presence.py CHECKPOINT SPLIT_DIR [--grouping blind|paper]

Use it on a validation split (never to choose anything on the split you report). Prints:

- the text side: ||L' - L'_anti|| per expression of the split against the margin m (the rule can
  only fire where it exceeds m, since d_neg - d_pos <= ||L' - L'_anti||), the distance between
  expressions, and how much the (L' - L'_anti) directions of two expressions agree (cosine);
- the image side, over the evaluation's samples (1:1, label-blind chunks by default): the ROC AUC
  of the presence score d_neg - d_pos, and of the predicted mask's area used as a presence score
  (how much presence the mask decoder carries that the presence head may not).

The last line is one JSON object with these figures.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from model.checkpoint import load_checkpoint  # noqa: E402
from pipelines.training.datasets.load import load_groups  # noqa: E402
from pipelines.training.evaluate import evaluate_groups  # noqa: E402
from pipelines.training.stats import roc_auc  # noqa: E402


def text_geometry(model, expressions: list[str]) -> dict:
    """||L' - L'_anti|| per expression, distances between expressions, and direction agreement."""
    encoder = model.text_encoder
    with torch.no_grad():
        texts = encoder(expressions + [encoder.anti(e) for e in expressions])
        text = model.tqm.project_text(texts.sentence[: len(expressions)]).float()
        anti = model.tqm.project_text(texts.sentence[len(expressions) :]).float()
    gap = (text - anti).norm(dim=-1).numpy()
    others = ~np.eye(len(expressions), dtype=bool)
    between = torch.cdist(text, text).numpy()[others]
    direction = torch.nn.functional.normalize(text - anti, dim=-1)
    cosine = (direction @ direction.T).numpy()[others]
    margin = float(model.config.margin)
    return {
        "expressions": len(expressions),
        "margin": margin,
        "anti_gap_median": round(float(np.median(gap)), 3),
        "anti_gap_min": round(float(gap.min()), 3),
        "anti_gap_max": round(float(gap.max()), 3),
        "share_of_gaps_over_margin": round(float((gap > margin).mean()), 3),
        "between_expressions_median": round(float(np.median(between)), 3) if between.size else None,
        "anti_direction_cosine_median": round(float(np.median(cosine)), 3) if cosine.size else None,
    }


def image_side(records) -> dict:
    """AUC of the presence score and of the predicted mask's area, over the same samples."""
    labels = [r.gt_positive for r in records]
    # predicted area: the union minus what only the ground truth covers
    area = [r.union - r.gt_area + r.intersection for r in records]
    return {
        "samples": len(records),
        "positives": sum(labels),
        "auc_presence_score": round(roc_auc([r.score for r in records], labels), 3),
        "auc_mask_area": round(roc_auc(area, labels), 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint")
    parser.add_argument("split", help="a split directory or dataset spec, as grd evaluate takes")
    parser.add_argument("--grouping", default="blind", choices=("blind", "paper"))
    args = parser.parse_args()
    model, _ = load_checkpoint(args.checkpoint)
    groups = load_groups(args.split)
    text = text_geometry(model, sorted({g.expression for g in groups}))
    report = evaluate_groups(model, groups, grouping=args.grouping, with_records=True)
    image = image_side(report["records"])
    print(
        f"text: ||L' - L'_anti|| median {text['anti_gap_median']} "
        f"[{text['anti_gap_min']}-{text['anti_gap_max']}] against m = {text['margin']} "
        f"({text['share_of_gaps_over_margin']:.0%} over it); between expressions "
        f"{text['between_expressions_median']}; direction cosine {text['anti_direction_cosine_median']}"
    )
    print(
        f"images: AUC of d_neg - d_pos {image['auc_presence_score']}, of the mask's area "
        f"{image['auc_mask_area']} ({image['samples']} samples, {image['positives']} positive)"
    )
    print(json.dumps({"checkpoint": args.checkpoint, "split": args.split, **text, **image}))


if __name__ == "__main__":
    main()

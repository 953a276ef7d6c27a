"""Does snapping proposals to edges (``grd prelabel --refine``) help, with a given click model?

    .venv/bin/python bench/bench_refine.py --data ../shared/data/coco_tiny --segmenter auto
    .venv/bin/python bench/bench_refine.py --data ../shared/data/voc_tiny --segmenter classic

Protocol: every non-crowd object of >= 1,500 px of a COCO-format folder stands in for a proposal
that found the right object with a coarse outline, as GRSer's stride-4 logits of a small input
give on a photo: the true mask averaged over ``--stride`` x ``--stride`` cells (16 by default),
upsampled bilinearly and cut at 0.5. :func:`labeler.refine.refine_instances` (what pre-labeling
runs) then snaps it with the click model; both are scored against the truth. The question is only
whether the segmenter makes a found object's mask better or worse, so missed and false objects
(GRSer's other errors, which refining does not touch) are left out.

Last line: one JSON object ``{"segmenter", "stride", "objects", "iou_coarse", "iou_refined",
"share90_coarse", "share90_refined", "replaced", "refine_s_per_object"}``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.bench_editing import DEFAULT_DATA, MIN_AREA, load_objects  # noqa: E402
from labeler.clicks import iou  # noqa: E402
from labeler.images import load_rgb  # noqa: E402
from labeler.refine import refine_instances  # noqa: E402
from pipelines.click_models.segmenters import build_segmenter, resolve_click_model  # noqa: E402


def coarse(mask: np.ndarray, stride: int) -> np.ndarray:
    """The mask as a stride-``stride`` prediction sees it: cell averages, bilinear back, >= 0.5."""
    h, w = mask.shape
    small = cv2.resize(
        mask.astype(np.float32),
        (max(1, round(w / stride)), max(1, round(h / stride))),
        interpolation=cv2.INTER_AREA,
    )
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR) >= 0.5


def run(data: Path, setting: str, stride: int, min_area: int, threads: int) -> dict:
    import importlib.util

    if importlib.util.find_spec("torch") is not None:
        import torch

        torch.set_num_threads(threads)
    model = resolve_click_model(setting)
    segmenter = build_segmenter(model, device="cpu")
    paths, objects = load_objects(data, min_area)
    embeddings = {k: segmenter.embed(load_rgb(p)) for k, p in paths.items()}
    before, after, replaced, seconds = [], [], 0, 0.0
    for image_id, gt in objects:
        proposal = coarse(gt, stride)
        started = time.perf_counter()
        outcome = refine_instances(segmenter, embeddings[image_id], [proposal])
        seconds += time.perf_counter() - started
        replaced += outcome.replaced
        before.append(iou(proposal, gt))
        after.append(iou(outcome.masks[0], gt))
    print(f"{model.label} on {data}, stride {stride}: {len(objects)} objects")
    return {
        "segmenter": setting,
        "model": segmenter.model_id,
        "data": str(data),
        "stride": stride,
        "objects": len(objects),
        "iou_coarse": round(float(np.mean(before)), 3),
        "iou_refined": round(float(np.mean(after)), 3),
        "share90_coarse": round(float(np.mean(np.array(before) >= 0.9)), 3),
        "share90_refined": round(float(np.mean(np.array(after) >= 0.9)), 3),
        "replaced": replaced,
        "refine_s_per_object": round(seconds / max(len(objects), 1), 3),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help="a COCO-format folder")
    ap.add_argument("--segmenter", default="auto", help="click model (as `grd ui --segmenter`)")
    ap.add_argument("--stride", type=int, default=16, help="coarseness of the stand-in proposals")
    ap.add_argument("--min-area", type=int, default=MIN_AREA)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    if not (args.data / "annotations.json").is_file():
        sys.exit(f"{args.data} has no annotations.json: pass --data DIR (a COCO-format folder)")
    print(json.dumps(run(args.data, args.segmenter, args.stride, args.min_area, args.threads)))


if __name__ == "__main__":
    main()

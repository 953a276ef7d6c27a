"""Click quality and speed of a click model, through the app's own editing engine.

    .venv/bin/python bench/bench_editing.py --data ../shared/data/coco_tiny --segmenter auto
    .venv/bin/python bench/bench_editing.py --data ../shared/data/voc_tiny --segmenter classic
    .venv/bin/python bench/bench_editing.py --data DIR --segmenter sam_vit_b --max-clicks 20

``--data``: any COCO-format folder (``annotations.json`` plus the images it names, in ``images/``
or beside it). ``--segmenter``: what ``grd ui --segmenter`` takes (``auto`` = MobileSAM when
installed, ``mobile_sam``, ``sam_vit_b``/``_l``/``_h``, ``classic``, a checkpoint path), resolved
and built by the app's own ``pipelines.click_models.segmenters``.

Protocol (RITM-style, as the interactive-segmentation literature): every non-crowd object of at
least ``--min-area`` px (1,500) is segmented from scratch in a fresh
:class:`~labeler.image_editor.ImageEditor`, as the editor page does: each click goes at the centre of
the largest error region (the pixel farthest from its boundary; positive on a miss, negative on a
spill: :func:`labeler.clicks.next_click`); the editor passes the previous prediction's low-res
logits as the mask input, and SAM answers a lone first click with the best-scored of three masks.
IoU@k is the mean IoU after k clicks; NoC@t the mean clicks to reach IoU t (``max-clicks + 1``
when never reached). An object already exact stays exact.

Speed: ``embed_s_median`` is the image encoder per photo (median over the photos after one untimed
warm-up pass, through the app's embedding cache, which stores float16: the clicks then run on that embedding, as in the app);
``click_ms_*`` is :meth:`ImageEditor.click` with the embedding cached (segmenter + mask update),
torch on ``--threads`` threads (2: the target machine), SAM's decoder in ONNX Runtime on the CPU,
MobileSAM's encoder too (``--encoder torch`` keeps it in PyTorch, for comparison).

Last line: one JSON object ``{"segmenter", "objects", "iou@1", "iou@3", "iou@5", "noc@85",
"noc@90", "embed_s_median", "click_ms_median", "click_ms_p95"}`` (plus ``model``, ``data`` and
``load_avg_1min``, the machine's load when it finished, and the same calls' CPU seconds:
``embed_cpu_s_median``, ``click_cpu_ms_median``, ``click_cpu_ms_p95``, which a busy machine
barely changes; on an idle machine a call's wall time is at most its CPU time).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from labeler.clicks import clicks_to_reach, iou, next_click  # noqa: E402
from labeler.domain import ExpressionDecision  # noqa: E402
from labeler.image_editor import ImageEditor  # noqa: E402
from labeler.images import load_rgb  # noqa: E402
from pipelines.click_models.embedding_cache import EmbeddingCache, image_hash  # noqa: E402
from pipelines.click_models.segmenters import build_segmenter, resolve_click_model  # noqa: E402

DEFAULT_DATA = ROOT.parent / "shared" / "data" / "coco_tiny"
MIN_AREA = 1500


def load_objects(folder: Path, min_area: int = MIN_AREA):
    """``(paths by image id, [(image id, H x W bool mask), ...])`` of a COCO-format folder."""
    from pycocotools import mask as cocomask

    data = json.loads((folder / "annotations.json").read_text())
    images_dir = folder / "images" if (folder / "images").is_dir() else folder
    images = {im["id"]: im for im in data["images"]}
    paths, objects = {}, []
    for ann in data["annotations"]:
        if ann.get("iscrowd") or ann["area"] < min_area:
            continue
        im = images[ann["image_id"]]
        h, w, seg = im["height"], im["width"], ann["segmentation"]
        if isinstance(seg, list):
            rle = cocomask.merge(cocomask.frPyObjects(seg, h, w))
        elif isinstance(seg.get("counts"), list):
            rle = cocomask.frPyObjects(seg, h, w)
        else:
            rle = seg
        paths[im["id"]] = images_dir / im["file_name"]
        objects.append((im["id"], cocomask.decode(rle).astype(bool)))
    return paths, objects


def click_object(segmenter, embedding, gt: np.ndarray, max_clicks: int):
    """IoU after each click, and the wall and CPU seconds each :meth:`ImageEditor.click` took."""
    editor = ImageEditor(ExpressionDecision(0, 0), *gt.shape)
    pred, ious, seconds, cpu = None, [], [], []
    for _ in range(max_clicks):
        click = next_click(gt, pred)
        if click is None:  # exact: it stays exact
            ious.append(1.0)
            continue
        started, cpu_started = time.perf_counter(), time.process_time()
        editor.click(segmenter, embedding, click.x, click.y, positive=click.positive)
        seconds.append(time.perf_counter() - started)
        cpu.append(time.process_time() - cpu_started)
        pred = editor.instances[editor.active]
        ious.append(iou(pred, gt))
    return ious, seconds, cpu


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in [0, 100])."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, int(np.ceil(q / 100 * len(ordered))) - 1))]


def run(
    data: Path, setting: str, max_clicks: int, min_area: int, threads: int, encoder: str = "auto"
) -> dict:
    import importlib.util

    if importlib.util.find_spec("torch") is not None:
        import torch

        torch.set_num_threads(threads)
    model = resolve_click_model(setting)
    segmenter = build_segmenter(model, device="cpu", encoder=encoder)
    paths, objects = load_objects(data, min_area)
    print(
        f"{model.label} ({segmenter.model_id}) on {data}: {len(objects)} objects >= {min_area} px"
    )
    embed_s, embed_cpu, click_s, click_cpu, runs = [], [], [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        cache = EmbeddingCache(tmp)
        embeddings = {}
        segmenter.embed(load_rgb(next(iter(paths.values()))))  # warm-up: the app's process is warm
        for image_id, path in paths.items():
            rgb = load_rgb(path)
            started, cpu_started = time.perf_counter(), time.process_time()
            embeddings[image_id] = cache.get_or_compute(segmenter, rgb, image_hash(rgb))
            embed_s.append(time.perf_counter() - started)
            embed_cpu.append(time.process_time() - cpu_started)
        for k, (image_id, gt) in enumerate(objects, 1):
            ious, seconds, cpu = click_object(segmenter, embeddings[image_id], gt, max_clicks)
            runs.append(ious)
            click_s.extend(seconds)
            click_cpu.extend(cpu)
            print(f"  object {k:3d}: IoU@1 {ious[0]:.3f}  NoC@90 {clicks_to_reach(ious, 0.9)}")
    runs_arr = np.array(runs)
    ms = [1000 * s for s in click_s]
    return {
        "segmenter": setting,
        "model": segmenter.model_id,
        "encoder": (  # SAM's image encoder runtime; None for the fallback
            None
            if not hasattr(segmenter, "onnx_encoder")
            else ("onnx" if segmenter.onnx_encoder is not None else "torch")
        ),
        "data": str(data),
        "objects": len(objects),
        **{f"iou@{k}": round(float(runs_arr[:, k - 1].mean()), 3) for k in (1, 3, 5)},
        **{
            f"noc@{int(t * 100)}": round(
                float(np.mean([clicks_to_reach(list(r), t) for r in runs])), 2
            )
            for t in (0.85, 0.90)
        },
        "embed_s_median": round(statistics.median(embed_s), 3),
        "click_ms_median": round(statistics.median(ms), 1),
        "click_ms_p95": round(percentile(ms, 95), 1),
        # CPU seconds of this process (all its threads) for the same calls: on a shared machine
        # the wall times above grow with the load, these barely do; on an idle 2-core machine the
        # wall time is at most this (and at least half of it, with both cores busy)
        "embed_cpu_s_median": round(statistics.median(embed_cpu), 3),
        "click_cpu_ms_median": round(1000 * statistics.median(click_cpu), 1),
        "click_cpu_ms_p95": round(1000 * percentile(click_cpu, 95), 1),
        "load_avg_1min": round(os.getloadavg()[0], 2),  # a shared machine: how busy it was
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help="a COCO-format folder")
    ap.add_argument("--segmenter", default="auto", help="click model (as `grd ui --segmenter`)")
    ap.add_argument("--max-clicks", type=int, default=20)
    ap.add_argument("--min-area", type=int, default=MIN_AREA, help="smallest object, in pixels")
    ap.add_argument("--threads", type=int, default=2, help="torch threads (the target: 2 cores)")
    ap.add_argument(
        "--encoder", choices=("auto", "torch", "onnx"), default="auto", help="SAM image encoder"
    )
    args = ap.parse_args()
    if not (args.data / "annotations.json").is_file():
        sys.exit(f"{args.data} has no annotations.json: pass --data DIR (a COCO-format folder)")
    if args.max_clicks < 5:
        sys.exit("--max-clicks must be at least 5 (IoU@5 is reported)")
    figures = run(
        args.data, args.segmenter, args.max_clicks, args.min_area, args.threads, args.encoder
    )
    print(json.dumps(figures))


if __name__ == "__main__":
    main()

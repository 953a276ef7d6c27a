"""Mask-editing engine figures: embedding time and click -> mask latency per backend, and the
simulated-click quality of the weight-free fallback on real photos.

    .venv/bin/python bench/bench_editing.py                 # everything (SAM ViT-B random weights: ~20 s+)
    .venv/bin/python bench/bench_editing.py --skip-sam      # fallback only
    .venv/bin/python bench/bench_editing.py --quality-only --max-clicks 20

Latency: a 1024-px photo (a COCO photo from ../shared/data/coco_tiny upscaled, else a synthetic
scene), >= 20 simulated clicks, median and p95, on CPU with ``--threads`` torch threads (2 by
default, the target machine) and on CUDA when there is one. SAM runs with random weights: weights
do not change its speed. "click -> mask" for SAM is timed with the embedding already cached (from
the float16 disk cache, as the app serves it).

Quality: the standard click protocol (labeler.clicks) on every instance of >= 1500 px of
``coco_tiny`` (and ``voc_tiny``, which the fallback was not tuned on): mean IoU after 1, 3 and 5
clicks and mean clicks to reach 85 % / 90 % IoU (``max-clicks + 1`` when never reached), for the
fallback and for plain GrabCut (a fixed window around the first click, every click a hard seed).
Skipped with a message when ../shared/data is absent.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from labeler.classic_segmenter import ClassicSegmenter  # noqa: E402
from labeler.clicks import clicks_to_reach, next_click, simulate  # noqa: E402
from labeler.geometry import Transform, longest_side_shape  # noqa: E402
from labeler.segmenter import Prompts, SegmentResult  # noqa: E402
from pipelines.click_models.embedding_cache import EmbeddingCache, image_hash  # noqa: E402

DATA = ROOT / ".." / "shared" / "data"
MIN_AREA = 1500


# ---- data -----------------------------------------------------------------------------------------
def load_instances(name: str) -> tuple[dict[int, np.ndarray], list[tuple[int, np.ndarray]]] | None:
    """Photos (RGB) and instance masks of >= MIN_AREA px of a COCO-format folder, or None."""
    from pycocotools import mask as cocomask

    root = DATA / name
    ann_file = root / "annotations.json"
    if not ann_file.exists():
        return None
    data = json.loads(ann_file.read_text())
    folder = root / "images" if (root / "images").is_dir() else root
    images = {im["id"]: im for im in data["images"]}
    photos: dict[int, np.ndarray] = {}
    objects = []
    for ann in data["annotations"]:
        if ann.get("iscrowd") or ann["area"] < MIN_AREA:
            continue
        im = images[ann["image_id"]]
        if im["id"] not in photos:
            photos[im["id"]] = cv2.cvtColor(
                cv2.imread(str(folder / im["file_name"])), cv2.COLOR_BGR2RGB
            )
        h, w = im["height"], im["width"]
        seg = ann["segmentation"]
        rle = cocomask.merge(cocomask.frPyObjects(seg, h, w)) if isinstance(seg, list) else seg
        objects.append((im["id"], cocomask.decode(rle).astype(bool)))
    return photos, objects


def photo_1024() -> tuple[np.ndarray, list[np.ndarray]]:
    """A real photo at 1024 px long side with its instance masks (synthetic scene without data)."""
    loaded = load_instances("coco_tiny")
    if loaded is None:
        rng = np.random.default_rng(0)
        img = rng.integers(60, 120, (683, 1024, 3), dtype=np.uint8)
        masks = []
        for k in range(6):
            m = np.zeros((683, 1024), np.uint8)
            cv2.circle(m, (120 + 150 * k, 340), 60, 1, -1)
            img[m.astype(bool)] = (40 * k, 200, 255 - 40 * k)
            masks.append(m.astype(bool))
        return img, masks
    photos, objects = loaded
    image_id = max(photos, key=lambda k: sum(1 for i, _ in objects if i == k))
    photo = photos[image_id]
    t = Transform.resize(photo.shape[:2], longest_side_shape(photo.shape[:2], 1024))
    return t.raster(photo), [t.mask(m) for i, m in objects if i == image_id]


def click_prompts(masks: list[np.ndarray], n: int) -> list[Prompts]:
    """n prompts cycling over the objects: one click; a click plus a negative click just outside
    the object; two clicks (the second in the half the first click's mask would miss)."""
    out: list[Prompts] = []
    k = 0
    while len(out) < n:
        gt = masks[k % len(masks)]
        first = next_click(gt, None)
        kind = k % 3
        if kind == 0:
            out.append(Prompts(points=((first.x, first.y),), labels=(1,)))
        elif kind == 1:
            ring = cv2.dilate(gt.astype(np.uint8), np.ones((41, 41), np.uint8)).astype(bool)
            neg = next_click(gt, ring)  # the centre of the spill: a negative click
            out.append(
                Prompts(points=((first.x, first.y), (neg.x, neg.y)), labels=(1, int(neg.positive)))
            )
        else:
            half = gt.copy()
            half[:, int(first.x) :] = False
            second = next_click(gt, half)
            out.append(
                Prompts(
                    points=((first.x, first.y), (second.x, second.y)),
                    labels=(1, int(second.positive)),
                )
            )
        k += 1
    return out


# ---- plain GrabCut baseline -------------------------------------------------------------------------
class PlainGrabCut:
    """GrabCut seeded from the clicks only: a window of ``half`` x long side around the first click
    (grown to hold every positive click), clicks as 3-px hard seeds, 5 iterations."""

    model_id = "grabcut-plain"

    def __init__(self, half: float = 0.15):
        self.half = half

    def embed(self, image):
        return {"image": image}

    def predict(self, embedding, prompts: Prompts) -> SegmentResult:
        img = embedding["image"]
        h, w = img.shape[:2]
        pos, neg = prompts.positive_points, prompts.negative_points
        if not pos:
            return SegmentResult(np.zeros((h, w), bool), None, 0.0)
        s = self.half * max(h, w)
        xs = [p[0] for p in pos]
        ys = [p[1] for p in pos]
        x0, x1 = int(max(min(xs[0] - s, min(xs)), 0)), int(min(max(xs[0] + s, max(xs)) + 1, w))
        y0, y1 = int(max(min(ys[0] - s, min(ys)), 0)), int(min(max(ys[0] + s, max(ys)) + 1, h))
        gc = np.full((h, w), cv2.GC_BGD, np.uint8)
        gc[y0:y1, x0:x1] = cv2.GC_PR_FGD
        for (x, y), v in [(p, cv2.GC_FGD) for p in pos] + [(p, cv2.GC_BGD) for p in neg]:
            cv2.circle(gc, (int(x), int(y)), 3, int(v), -1)
        bgd, fgd = np.zeros((1, 65)), np.zeros((1, 65))
        cv2.setRNGSeed(0)  # repeatable, like the classic segmenter
        cv2.grabCut(
            np.ascontiguousarray(img[..., ::-1]), gc, None, bgd, fgd, 5, cv2.GC_INIT_WITH_MASK
        )
        mask = np.isin(gc, (cv2.GC_FGD, cv2.GC_PR_FGD))
        return SegmentResult(mask, None, 0.0)


# ---- measurements ---------------------------------------------------------------------------------
def stats_ms(samples: list[float]) -> str:
    ms = sorted(1000 * s for s in samples)
    p95 = ms[min(len(ms) - 1, int(np.ceil(0.95 * len(ms))) - 1)]
    return f"median {statistics.median(ms):7.1f} ms   p95 {p95:7.1f} ms   (n={len(ms)})"


def latency(
    name: str, seg, image: np.ndarray, prompts: list[Prompts], embed_runs: int, embedding=None
):
    """Print embedding and click times; returns the embedding as the disk cache serves it.
    With ``embedding`` given (the same weights' embedding), only clicks are timed."""
    times = []
    if embedding is None:
        for _ in range(embed_runs):
            t = time.perf_counter()
            emb = seg.embed(image)
            times.append(time.perf_counter() - t)
        with tempfile.TemporaryDirectory() as tmp:
            cache = EmbeddingCache(tmp)
            key = image_hash(image)
            cache.put(seg.model_id, key, emb)
            t = time.perf_counter()
            emb = EmbeddingCache(tmp).get(seg.model_id, key)  # a fresh process: from disk (float16)
            load = time.perf_counter() - t
    else:
        emb = embedding
    seg.predict(emb, prompts[0])  # warm-up
    clicks = []
    for p in prompts:
        t = time.perf_counter()
        seg.predict(emb, p)
        clicks.append(time.perf_counter() - t)
    if times:
        print(
            f"  {name:<28} embed {statistics.median(times):7.2f} s (x{embed_runs})   "
            f"disk-cache load {1000 * load:6.1f} ms"
        )
        name = ""
    print(f"  {name:<28} click -> mask  {stats_ms(clicks)}")
    return emb


def quality(name: str, seg, photos, objects, max_clicks: int) -> None:
    t = time.perf_counter()
    embeddings = {k: seg.embed(v) for k, v in photos.items()}
    runs = np.array([simulate(seg, embeddings[i], gt, max_clicks) for i, gt in objects])
    per_click = (time.perf_counter() - t) / runs.size
    noc = {th: np.mean([clicks_to_reach(list(r), th) for r in runs]) for th in (0.85, 0.90)}
    print(
        f"  {name:<18} IoU@1 {runs[:, 0].mean():.3f}  IoU@3 {runs[:, 2].mean():.3f}  "
        f"IoU@5 {runs[:, 4].mean():.3f}  NoC@85 {noc[0.85]:5.2f}  NoC@90 {noc[0.90]:5.2f}   "
        f"({len(objects)} objects, <= {max_clicks} clicks, {per_click:.2f} s/click)"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--threads", type=int, default=2, help="torch threads for SAM on CPU")
    ap.add_argument("--clicks", type=int, default=24, help="clicks timed per backend (>= 20)")
    ap.add_argument(
        "--max-clicks", type=int, default=20, help="clicks per object in the quality run"
    )
    ap.add_argument("--skip-sam", action="store_true")
    ap.add_argument("--quality-only", action="store_true")
    ap.add_argument("--latency-only", action="store_true")
    args = ap.parse_args()
    classic = ClassicSegmenter()

    if not args.quality_only:
        image, masks = photo_1024()
        prompts = click_prompts(masks, max(args.clicks, 20))
        print(
            f"latency at {image.shape[1]} x {image.shape[0]} px, {len(prompts)} clicks "
            f"(1-3 points each)"
        )
        print(" CPU")
        latency("classic (OpenCV)", classic, image, prompts, embed_runs=3)
        if not args.skip_sam:
            import torch

            from model.sam_segmenter import SamSegmenter, build_sam_segmenter

            torch.set_num_threads(args.threads)
            sam = build_sam_segmenter(
                "vit_b", checkpoint=None, device="cpu", decoder_threads=args.threads
            )
            emb = latency(f"SAM vit_b ({args.threads} threads)", sam, image, prompts, embed_runs=1)
            print(f"  {'':<28} (clicks: ONNX Runtime decoder, the app's default)")
            for threads in (1, 2):  # the app's editor runs its torch ops on one thread
                torch.set_num_threads(threads)
                eager = SamSegmenter(sam.sam, sam.model_id)  # same weights, clicks in PyTorch
                latency(
                    f"  PyTorch decoder, {threads} thr.", eager, image, prompts, 0, embedding=emb
                )
            torch.set_num_threads(args.threads)
            if torch.cuda.is_available():
                print(f" GPU ({torch.cuda.get_device_name()})")
                gpu = build_sam_segmenter("vit_b", checkpoint=None, device="cuda")
                latency("SAM vit_b (cuda)", gpu, image, prompts, embed_runs=3)
            else:
                print(" GPU: none here, skipped")

    if not args.latency_only:
        for name in ("coco_tiny", "voc_tiny"):
            loaded = load_instances(name)
            if loaded is None:
                print(f"quality: {DATA / name} is absent, skipped")
                continue
            photos, objects = loaded
            print(f"quality on {name} (simulated clicks, instances >= {MIN_AREA} px)")
            quality("classic (ours)", classic, photos, objects, args.max_clicks)
            quality("plain GrabCut", PlainGrabCut(), photos, objects, args.max_clicks)


if __name__ == "__main__":
    main()

"""The simulated annotator on real photos: clicks per object and actions per pair, per click model.

    .venv/bin/python bench/bench_simulate_photos.py --data ../shared/data/coco_tiny
    .venv/bin/python bench/bench_simulate_photos.py --data ../shared/data/voc_tiny --segmenters auto classic

``--data``: a COCO-format folder (``bench_editing.load_objects`` reads it). It becomes one group of
its photos with one expression per category ("every <category>"); the truth of a pair is every
non-crowd object of that category at least ``--min-area`` px (smaller ones are dropped from the
truth, as a GRD annotator would skip specks), or a confirmed negative where the image has none.
Nothing is proposed, so this is annotation from scratch: ``pipelines.loop.simulate``'s annotator
(the app's ``ImageEditor``; RITM-style clicks at the centre of the largest error; accept at IoU
>= ``--accept-iou``; ``--max-clicks`` per object, then finished by hand) segments each positive
pair's objects, and the negatives go in one bulk action per expression. Each click model in
``--segmenters`` (as ``grd ui --segmenter`` takes them; ``auto`` = MobileSAM) annotates a fresh copy.

Last line: one JSON object ``{"data", "pairs", "objects", "results": {segmenter: {"clicks_per_object",
"actions_per_pair", "hand_fixed", "model"}}}``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_editing import DEFAULT_DATA  # noqa: E402

from labeler import rle  # noqa: E402
from labeler.domain import DecisionStatus  # noqa: E402
from labeler.project import Project  # noqa: E402
from pipelines.intake.ingest import IngestItem, ingest_items  # noqa: E402
from pipelines.loop import simulate  # noqa: E402

AUTHOR = "truth"
GROUP = "photos"


def category_truth(folder: Path, min_area: int):
    """``(file paths by image id, {category name: {image id: [H x W bool masks]}})``."""
    from pycocotools import mask as cocomask

    data = json.loads((folder / "annotations.json").read_text())
    images_dir = folder / "images" if (folder / "images").is_dir() else folder
    images = {im["id"]: im for im in data["images"]}
    names = {c["id"]: c["name"] for c in data["categories"]}
    paths = {i: images_dir / im["file_name"] for i, im in images.items()}
    truth: dict[str, dict[int, list]] = {}
    for ann in data["annotations"]:
        if ann.get("iscrowd") or ann["area"] < min_area:
            continue
        im = images[ann["image_id"]]
        h, w, seg = im["height"], im["width"], ann["segmentation"]
        if isinstance(seg, list):
            coded = cocomask.merge(cocomask.frPyObjects(seg, h, w))
        elif isinstance(seg.get("counts"), list):
            coded = cocomask.frPyObjects(seg, h, w)
        else:
            coded = seg
        mask = cocomask.decode(coded).astype(bool)
        truth.setdefault(names[ann["category_id"]], {}).setdefault(im["id"], []).append(mask)
    return paths, truth


def build_project(root: Path, folder: Path, min_area: int) -> tuple[int, int]:
    """The group, its expressions and every pair's human truth; ``(pairs, positive objects)``."""
    paths, truth = category_truth(folder, min_area)
    project = Project.init(root, name=f"simulated annotator on {folder.name}")
    items = [
        IngestItem(source=p.name, group=GROUP, meta={"original_name": p.name}, read=p.read_bytes)
        for p in paths.values()
    ]
    ingest_items(project, items)
    store = project.store
    group = store.group_by_name(GROUP)
    by_file = {im.meta["original_name"]: im for im in store.list_images(group.id)}
    image_of = {coco_id: by_file[p.name] for coco_id, p in paths.items()}
    pairs = objects = 0
    for category in sorted(truth):
        expr = store.ensure_expression(group.id, f"every {category}", created_by=AUTHOR)
        for coco_id, image in image_of.items():
            masks = truth[category].get(coco_id, [])
            status = DecisionStatus.POSITIVE if masks else DecisionStatus.NEGATIVE
            store.save_decision(
                expr.id,
                image.id,
                status,
                [rle.encode(m) for m in masks],
                author=AUTHOR,
                expected_revision=0,
            )
            pairs += 1
            objects += len(masks)
    simulate.init_simulation(project)
    project.close()
    return pairs, objects


def run(template: Path, setting: str, max_clicks: int, accept_iou: float) -> dict:
    from pipelines.click_models.segmenters import build_segmenter, resolve_click_model

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "p"
        shutil.copytree(template, root)
        model = resolve_click_model(setting)
        with Project.open(root) as project:
            truth = simulate.load_truth(simulate.truth_path(project))
            report = simulate.simulate_annotation(
                project,
                truth,
                build_segmenter(model),
                max_clicks=max_clicks,
                accept_iou=accept_iou,
            )
    print(f"{model.label}: {report.summary()}; {report.breakdown()}", flush=True)
    return {
        "model": model.label,
        "clicks_per_object": round(report.clicks_per_object, 3),
        "actions_per_pair": round(report.actions_per_pair, 3),
        "objects": report.objects,
        "hand_fixed": report.hand_fixed,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help="a COCO-format folder")
    ap.add_argument("--segmenters", nargs="+", default=["auto", "classic"])
    ap.add_argument("--min-area", type=int, default=1500, help="smallest object kept, in pixels")
    ap.add_argument("--max-clicks", type=int, default=20)
    ap.add_argument("--accept-iou", type=float, default=0.9)
    args = ap.parse_args()
    if not (args.data / "annotations.json").is_file():
        sys.exit(f"{args.data} has no annotations.json: pass --data DIR (a COCO-format folder)")
    with tempfile.TemporaryDirectory() as tmp:
        template = Path(tmp) / "template"
        pairs, objects = build_project(template, args.data, args.min_area)
        print(f"{args.data.name}: {pairs} pairs, {objects} objects >= {args.min_area} px")
        results = {s: run(template, s, args.max_clicks, args.accept_iou) for s in args.segmenters}
    print(
        json.dumps({"data": str(args.data), "pairs": pairs, "objects": objects, "results": results})
    )


if __name__ == "__main__":
    main()

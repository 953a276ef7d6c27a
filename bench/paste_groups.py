"""Real-texture groups for benchmarks: real COCO / VOC instances pasted onto real photos.

No real group-wise data can be had offline, and the 8 photos of ``shared/data/coco_tiny`` and
``voc_tiny`` are too few to form groups. So, per category with enough instances: 12 images, each a
different real background photo (scikit-image's bundled photos and textures, never one that holds
the category: its astronaut and camera-man photos hold persons), about half of them positive
with one to three real cut-outs of the category (their exact masks, a different cut-out every
time: none is pasted twice in a group), and some with a cut-out of another category as a
distractor (negatives too, so a pasted edge is no cue). The ground truth is the pasted masks,
minus what a later paste covers.

    groups = build_groups(data_root, seed=0)   # -> [PastedGroup(category, images=[...])]
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
from pycocotools import mask as mask_utils

DATASETS = {"coco_tiny": "images", "voc_tiny": ""}  # folder -> image sub-folder
MIN_AREA = 200  # px: smaller instances are specks, not objects an annotator would outline
MIN_INSTANCES = 3  # a category needs at least this many cut-outs for a group
BACKGROUND_SIDE = 480  # backgrounds resized so their longest side is this
#: scikit-image's bundled photos and textures (no download), and what they show
BACKGROUNDS = {
    "astronaut": {"person"},
    "camera": {"person"},
    "coffee": {"cup"},
    "chelsea": {"cat"},
    "rocket": set(),
    "hubble_deep_field": set(),
    "immunohistochemistry": set(),
    "retina": set(),
    "colorwheel": set(),
    "coins": set(),
    "moon": set(),
    "page": set(),
    "text": set(),
    "brick": set(),
    "grass": set(),
    "gravel": set(),
    "horse": {"horse"},
    "clock": {"clock"},
    "cell": set(),
}
INSTANCES_PER_POSITIVE = (1, 2, 1, 3, 1, 2)  # cycled while cut-outs last


@dataclass(frozen=True)
class CutOut:
    category: str
    source: str  # "coco_tiny/000000013923.jpg#17"
    rgb: np.ndarray  # h x w x 3 uint8, the instance's bounding box
    mask: np.ndarray  # h x w bool


@dataclass
class PastedImage:
    name: str
    rgb: np.ndarray
    instances: list[np.ndarray] = field(default_factory=list)  # the target's masks ([] = negative)
    background: str = ""
    sources: list[str] = field(default_factory=list)


@dataclass
class PastedGroup:
    category: str
    images: list[PastedImage]


def load_cutouts(data_root: Path) -> dict[str, list[CutOut]]:
    """Every non-crowd instance of at least ``MIN_AREA`` px, by category name."""
    from labeler.images import load_rgb

    out: dict[str, list[CutOut]] = {}
    for folder, sub in DATASETS.items():
        root = Path(data_root) / folder
        data = json.loads((root / "annotations.json").read_text())
        names = {c["id"]: c["name"] for c in data["categories"]}
        images = {i["id"]: i for i in data["images"]}
        pixels: dict[int, np.ndarray] = {}
        for a in sorted(data["annotations"], key=lambda a: a["id"]):
            if a.get("iscrowd") or a["area"] < MIN_AREA:
                continue
            info = images[a["image_id"]]
            if a["image_id"] not in pixels:
                pixels[a["image_id"]] = load_rgb(root / sub / info["file_name"])
            rgb = pixels[a["image_id"]]
            h, w = rgb.shape[:2]
            seg = a["segmentation"]
            rles = (
                mask_utils.frPyObjects(seg, h, w)
                if isinstance(seg, list)
                else [mask_utils.frPyObjects(seg, h, w)]
            )
            mask = mask_utils.decode(mask_utils.merge(rles)).astype(bool)
            ys, xs = np.nonzero(mask)
            if len(ys) < MIN_AREA:
                continue
            y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
            out.setdefault(names[a["category_id"]], []).append(
                CutOut(
                    names[a["category_id"]],
                    f"{folder}/{info['file_name']}#{a['id']}",
                    rgb[y0:y1, x0:x1].copy(),
                    mask[y0:y1, x0:x1].copy(),
                )
            )
    return out


def load_background(name: str) -> np.ndarray:
    import skimage.data

    image = np.asarray(getattr(skimage.data, name)())
    if image.ndim == 2:
        image = np.stack([image] * 3, axis=-1)
    image = image[..., :3].astype(np.uint8)
    h, w = image.shape[:2]
    scale = BACKGROUND_SIDE / max(h, w)
    return cv2.resize(image, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)


def paste(
    canvas: np.ndarray, cut: CutOut, rng: np.random.Generator, taken: np.ndarray
) -> np.ndarray | None:
    """Paste ``cut`` scaled to 3-12 % of the canvas at a free spot; returns its mask (or None
    when no spot is free). ``taken`` marks pixels other pastes hold (updated)."""
    h, w = canvas.shape[:2]
    share = rng.uniform(0.03, 0.12)
    scale = np.sqrt(share * h * w / cut.mask.sum())
    scale = float(np.clip(scale, 0.4, 3.0))
    ch, cw = cut.mask.shape
    nh, nw = max(2, round(ch * scale)), max(2, round(cw * scale))
    if nh >= h or nw >= w:
        scale = min((h - 1) / ch, (w - 1) / cw) * 0.9
        nh, nw = max(2, round(ch * scale)), max(2, round(cw * scale))
    rgb = cv2.resize(cut.rgb, (nw, nh), interpolation=cv2.INTER_LINEAR)
    mask = cv2.resize(cut.mask.astype(np.uint8), (nw, nh), interpolation=cv2.INTER_NEAREST) > 0
    for _ in range(50):
        y, x = int(rng.integers(0, h - nh + 1)), int(rng.integers(0, w - nw + 1))
        if not (taken[y : y + nh, x : x + nw] & mask).any():
            region = canvas[y : y + nh, x : x + nw]
            region[mask] = rgb[mask]
            full = np.zeros((h, w), bool)
            full[y : y + nh, x : x + nw] = mask
            taken |= full
            return full
    return None


def build_groups(
    data_root: Path, seed: int = 0, images: int = 12, min_instances: int = MIN_INSTANCES
) -> list[PastedGroup]:
    """One group per category with at least ``min_instances`` cut-outs (see the module doc)."""
    cutouts = load_cutouts(data_root)
    groups = []
    for category in sorted(cutouts, key=lambda c: (-len(cutouts[c]), c)):
        pool = list(cutouts[category])
        if len(pool) < min_instances:
            continue
        rng = np.random.default_rng([seed, sum(map(ord, category))])
        rng.shuffle(pool)
        backgrounds = [b for b, shows in BACKGROUNDS.items() if category not in shows]
        rng.shuffle(backgrounds)
        backgrounds = backgrounds[:images]
        distractors = [c for other, cs in cutouts.items() if other != category for c in cs]
        positives = min(images // 2, len(pool))
        counts = [1] * positives  # every positive gets one; extra cut-outs as extra instances
        spare = len(pool) - positives
        for k in range(positives):
            extra = min(INSTANCES_PER_POSITIVE[k % len(INSTANCES_PER_POSITIVE)] - 1, spare)
            counts[k] += extra
            spare -= extra
        is_positive = [True] * positives + [False] * (images - positives)
        rng.shuffle(is_positive)
        out, used, k_pos = [], 0, 0
        for k, background in enumerate(backgrounds):
            canvas = load_background(background).copy()
            taken = np.zeros(canvas.shape[:2], bool)
            item = PastedImage(f"{category}-{k:02d}-{background}", canvas, [], background)
            if is_positive[k]:
                for cut in pool[used : used + counts[k_pos]]:
                    mask = paste(canvas, cut, rng, taken)
                    if mask is not None:
                        item.instances.append(mask)
                        item.sources.append(cut.source)
                used += counts[k_pos]
                k_pos += 1
            if distractors and rng.random() < 0.5:
                cut = distractors[int(rng.integers(len(distractors)))]
                mask = paste(canvas, cut, rng, taken)
                if mask is not None:
                    item.sources.append(f"distractor {cut.category} {cut.source}")
            out.append(item)
        groups.append(PastedGroup(category, out))
    return groups


def photo_groups(data_root: Path, min_photos: int = 2) -> list[PastedGroup]:
    """The photos as they are (a smoke figure, not a benchmark): for each category present
    (>= ``MIN_AREA`` px) in at least ``min_photos`` of them, one group of every photo, its truth
    the category's instances of at least ``MIN_AREA`` px (smaller ones are ignored)."""
    from labeler.images import load_rgb

    photos: list[tuple[str, np.ndarray, dict[str, list[np.ndarray]]]] = []
    for folder, sub in DATASETS.items():
        root = Path(data_root) / folder
        data = json.loads((root / "annotations.json").read_text())
        names = {c["id"]: c["name"] for c in data["categories"]}
        for info in sorted(data["images"], key=lambda i: i["id"]):
            rgb = load_rgb(root / sub / info["file_name"])
            h, w = rgb.shape[:2]
            by_category: dict[str, list[np.ndarray]] = {}
            for a in data["annotations"]:
                if a["image_id"] != info["id"] or a.get("iscrowd") or a["area"] < MIN_AREA:
                    continue
                seg = a["segmentation"]
                rles = (
                    mask_utils.frPyObjects(seg, h, w)
                    if isinstance(seg, list)
                    else [mask_utils.frPyObjects(seg, h, w)]
                )
                mask = mask_utils.decode(mask_utils.merge(rles)).astype(bool)
                by_category.setdefault(names[a["category_id"]], []).append(mask)
            photos.append((f"{folder}-{Path(info['file_name']).stem}", rgb, by_category))
    counts: dict[str, int] = {}
    for _, _, by_category in photos:
        for category in by_category:
            counts[category] = counts.get(category, 0) + 1
    return [
        PastedGroup(
            f"photos {category}",
            [
                PastedImage(name, rgb, list(by.get(category, [])), "photo")
                for name, rgb, by in photos
            ],
        )
        for category in sorted(counts)
        if counts[category] >= min_photos
    ]

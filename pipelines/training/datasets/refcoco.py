"""RefCOCO / RefCOCO+ / RefCOCOg and gRefCOCO -> "one sentence vs a group of its referred images".

The paper (Sec. 5.1) rebuilds the RES datasets into groups: a sentence that refers to objects in
several images becomes one group whose positives are those images (mask = the referred objects),
and negatives are drawn at random from other groups' images, 1:1 (G-RefC / G-RefC+ / G-RefCg).
gRefCOCO ``grefs`` files already carry real negatives: a ref whose ``ann_id`` is ``[-1]`` (or
``no_target``) says its sentence has no target in that image.

Inputs: the refs file (``refs(unc).p`` pickle, read with the restricted unpickler, or the
``grefs(unc).json`` list), COCO ``instances.json`` and the COCO image folder.
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pycocotools import mask as cocomask

from labeler import rle, safe_pickle
from labeler.errors import ImportFormatError
from pipelines.training.datasets.base import GresGroup, GresItem, file_loader


@dataclass(frozen=True)
class RefRecord:
    """One sentence about one image: the referred COCO annotation ids (empty = no target)."""

    sentence: str
    image_id: int
    ann_ids: tuple[int, ...]


def segmentation_rle(segmentation, height: int, width: int) -> dict:
    """COCO polygons / uncompressed / compressed RLE -> one JSON-safe RLE."""
    if isinstance(segmentation, list):  # polygons
        rles = cocomask.frPyObjects(segmentation, height, width)
        return rle.normalize(cocomask.merge(rles))
    return rle.normalize(segmentation)


def normalise_sentence(text: str) -> str:
    return " ".join(text.lower().strip().rstrip(".").split())


def read_refs(path: str | Path, split: str | None = None) -> list[RefRecord]:
    """RefCOCO-family ``refs(*).p`` or gRefCOCO ``grefs(*).json`` as flat records."""
    path = Path(path)
    if path.suffix == ".json":
        refs = json.loads(path.read_text())
    else:
        refs = safe_pickle.load(path)
    if not isinstance(refs, list):
        raise ImportFormatError(f"{path}: expected a list of refs, got {type(refs).__name__}")
    records = []
    for k, ref in enumerate(refs):
        try:
            if split is not None and ref["split"] != split:
                continue
            ann = ref["ann_id"]
            ann_ids = tuple(
                int(a) for a in (ann if isinstance(ann, list) else [ann]) if int(a) >= 0
            )
            if ref.get("no_target"):
                ann_ids = ()
            for sent in ref["sentences"]:
                text = sent.get("raw") or sent.get("sent") or ""
                records.append(RefRecord(normalise_sentence(text), int(ref["image_id"]), ann_ids))
        except (KeyError, TypeError, ValueError) as exc:
            raise ImportFormatError(f"{path}: ref #{k} is malformed ({exc!r})") from exc
    return records


def build_sentence_groups(
    records: list[RefRecord],
    coco: dict,
    image_dir: str | Path,
    min_images: int = 2,
    negative_ratio: float = 1.0,
    seed: int = 0,
    name: str = "refcoco",
) -> list[GresGroup]:
    """Group records by sentence; top up negatives at random from other groups to ``ratio``.

    Args:
        coco: a loaded COCO ``instances.json`` (images and annotations).
        min_images: a sentence needs positives in at least this many images to form a group.
        negative_ratio: negatives per positive after top-up (1.0 = the paper's 1:1).
    """
    images = {int(i["id"]): i for i in coco["images"]}
    anns = {int(a["id"]): a for a in coco["annotations"]}
    image_dir = Path(image_dir)
    by_sentence: dict[str, dict[int, set[int]]] = defaultdict(lambda: defaultdict(set))
    for rec in records:
        by_sentence[rec.sentence][rec.image_id].update(rec.ann_ids)

    def item(image_id: int, ann_ids) -> GresItem:
        info = images[image_id]
        h, w = int(info["height"]), int(info["width"])
        inst = tuple(segmentation_rle(anns[a]["segmentation"], h, w) for a in sorted(ann_ids))
        return GresItem(f"coco/{image_id}", file_loader(image_dir / info["file_name"]), h, w, inst)

    rng = np.random.default_rng(seed)
    sentences = sorted(
        s for s, imgs in by_sentence.items() if sum(1 for a in imgs.values() if a) >= min_images
    )
    # negatives come from other images of the split (the paper: "from other groups")
    all_images = sorted({r.image_id for r in records if r.image_id in images})
    out = []
    for index, sentence in enumerate(sentences):
        per_image = by_sentence[sentence]
        items = [item(i, a) for i, a in sorted(per_image.items()) if i in images]
        n_pos = sum(1 for it in items if it.positive)
        want = int(round(n_pos * negative_ratio)) - (len(items) - n_pos)
        pool = [i for i in all_images if i not in per_image]
        for image_id in rng.permutation(pool)[: max(0, want)]:
            items.append(item(int(image_id), ()))
        out.append(GresGroup(f"{name}-{index:05d}", sentence, tuple(items)))
    return out


# Groups the paper reports after rebuilding each dataset (Sec. 5.1), keyed by its refs folder.
PAPER_GROUP_COUNTS = {"refcoco": ("G-RefC", 8717), "refcoco+": ("G-RefC+", 8020)}
PAPER_GROUP_COUNTS["refcocog"] = ("G-RefCg", 2451)


def compare_with_paper(refs_path: str | Path, groups: int, split: str | None) -> str:
    """One line: the rebuilt group count next to the paper's, or why it is not compared."""
    folder = Path(refs_path).parent.name.lower()
    if folder not in PAPER_GROUP_COUNTS:
        return f"rebuilt {groups} groups from {refs_path} (not compared: not a RefCOCO folder)"
    name, paper = PAPER_GROUP_COUNTS[folder]
    scope = f"split {split}" if split else "all splits"
    return f"rebuilt {name}: {groups} groups ({scope}); the paper reports {paper}"


def refcoco_groups(
    refs_path: str | Path,
    instances_path: str | Path,
    image_dir: str | Path,
    split: str | None = None,
    min_images: int = 2,
    negative_ratio: float = 1.0,
    seed: int = 0,
) -> list[GresGroup]:
    """G-RefC / G-RefC+ / G-RefCg (from refs) or gRefCOCO groups (from grefs)."""
    records = read_refs(refs_path, split)
    coco = json.loads(Path(instances_path).read_text())
    groups = build_sentence_groups(
        records, coco, image_dir, min_images, negative_ratio, seed, name=Path(refs_path).stem
    )
    logging.getLogger(__name__).warning(compare_with_paper(refs_path, len(groups), split))
    return groups

"""Classic RefCOCO: ``refs(unc).p`` + ``instances.json``, as the ``REFER`` loader reads them.

Classic RefCOCO has one target object per ref and no negatives, so only *positive* pairs are
written, one ref each::

    {"ref_id": 1, "image_id": 4, "ann_id": 12, "category_id": 1, "split": "train",
     "file_name": "images/ab/....png", "sentences": [{"sent_id": 1, "raw": ..., "sent": ...,
     "tokens": [...]}], "sent_ids": [1], "grd_complete": true, "grd_author": "ann"}

A pair with several instances ("the two dogs") points at a *union* annotation: the merged mask,
which is what a single-target RES model trains on, with ``grd_parts`` listing the instance
annotations it is made of, so an import gets the instances back. Which expressions are written
follows ``incomplete`` like every other export. ``refs(unc).p`` is a pickle of plain data (lists,
dicts, str, int, bool), loadable by ``REFER`` and by ``labeler.safe_pickle``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from exports import atomic
from exports.attribution import write_attribution
from exports.instances import annotation_index, build_instances, category_table, parse_instances
from exports.refs import PairCollector, find_refs_file, sentence_entry, sentence_text
from exports.snapshot import Incomplete, Snapshot, selected_expressions
from exports.validate import as_int, as_int_list, error, load_json, require
from labeler import masks, safe_pickle
from labeler.domain import Instance


def refs_file_name(split_by: str = "unc") -> str:
    return f"refs({split_by}).p"


def build_refcoco(
    snapshot: Snapshot, *, incomplete: Incomplete = "omit", split: str = "train"
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """``(refs, instances)`` for the positive pairs of the selected expressions."""
    selected = selected_expressions(snapshot, incomplete)
    categories, of_group = category_table(snapshot)
    index = annotation_index(snapshot, selected, of_group)
    by_id = {a["id"]: a for a in index.annotations}
    unions: dict[tuple[int, ...], int] = {}
    images = {i.id: i for i in snapshot.images}
    groups = {g.id: g for g in snapshot.groups}
    refs = []
    for chosen in selected:
        expression = chosen.expression
        for decision in snapshot.positives(expression.id):
            parts = tuple(index.pairs[(expression.id, decision.image_id)])
            if len(parts) == 1:
                target = parts[0]
            elif parts in unions:
                target = unions[parts]
            else:
                image = images[decision.image_id]
                rle = masks.union(
                    [by_id[p]["segmentation"] for p in parts], image.height, image.width
                )
                target = unions[parts] = len(index.annotations) + 1
                index.annotations.append(
                    {
                        **by_id[parts[0]],
                        "id": target,
                        "segmentation": rle,
                        "area": masks.area(rle),
                        "bbox": masks.bbox(rle),
                        "grd_parts": list(parts),
                    }
                )
            ref_id = len(refs) + 1
            refs.append(
                {
                    "ref_id": ref_id,
                    "image_id": decision.image_id,
                    "ann_id": target,
                    "category_id": of_group[expression.group_id],
                    "split": str(groups[expression.group_id].meta.get("split") or split),
                    "file_name": images[decision.image_id].file,
                    "sentences": [sentence_entry(ref_id, expression.text)],
                    "sent_ids": [ref_id],
                    "grd_complete": chosen.complete,
                    "grd_author": decision.author,
                    "grd_created_by": expression.created_by,
                }
            )
    return refs, build_instances(snapshot, index, categories)


def write_refcoco(
    out_dir: str | Path,
    snapshot: Snapshot,
    *,
    incomplete: Incomplete = "omit",
    split: str = "train",
    split_by: str = "unc",
) -> list[Path]:
    """Write ``refs(<split_by>).p``, ``instances.json`` and the attribution files."""
    out_dir = Path(out_dir)
    refs, instances = build_refcoco(snapshot, incomplete=incomplete, split=split)
    written = [
        atomic.write_pickle(out_dir / refs_file_name(split_by), refs, protocol=2),
        atomic.write_json(out_dir / "instances.json", instances),
    ]
    return written + write_attribution(out_dir, snapshot)


def _load_refs(file: Path) -> Any:
    if file.suffix == ".json":
        return load_json(file)
    return safe_pickle.load(file, allow_numpy=False)


def _target(parsed, ann_id: int, image_id: int, file: Path, where: str) -> tuple[Instance, ...]:
    """The instances a ref's annotation stands for: itself, or the parts of a union."""
    ann = parsed.resolve(ann_id, image_id, file, where)
    if "grd_parts" not in ann:
        return (Instance(parsed.rle(ann_id, where)),)
    parts = as_int_list(ann["grd_parts"], parsed.file, f"annotation {ann_id}", "grd_parts")
    if len(parts) < 2 or ann_id in parts:
        raise error(
            parsed.file, f"annotation {ann_id}", "grd_parts must name two or more other annotations"
        )
    instances = []
    for part in parts:
        parsed.resolve(part, image_id, parsed.file, f"annotation {ann_id}")
        instances.append(Instance(parsed.rle(part, where)))
    image = parsed.images[image_id]
    union = masks.union([i.rle for i in instances], image.height, image.width)
    if masks.normalize(union)["counts"] != parsed.rle(ann_id, where)["counts"]:
        raise error(
            parsed.file, f"annotation {ann_id}", "its mask is not the union of its grd_parts"
        )
    return tuple(instances)


def read_refcoco(source: str | Path, instances_path: str | Path | None = None) -> Snapshot:
    """Read classic RefCOCO refs (``refs(*).p`` or a JSON list, or their folder) and the
    ``instances.json`` beside them; every ref is a positive pair."""
    file = find_refs_file(source, "refs(*).p")
    instances_path = Path(instances_path or file.parent / "instances.json")
    parsed = parse_instances(instances_path, load_json(instances_path), per_image_groups=True)
    refs = _load_refs(file)
    if not isinstance(refs, list):
        raise error(file, "", f"expected a list of refs, got {type(refs).__name__}")
    collect = PairCollector(parsed, merge_positives=True)
    seen: set[int] = set()
    for number, ref in enumerate(refs):
        where = f"ref #{number}"
        require(ref, ["ref_id", "image_id", "ann_id", "sentences"], file, where)
        ref_id = as_int(ref["ref_id"], file, where, "ref_id")
        where = f"ref {ref_id}"
        if ref_id in seen:
            raise error(file, where, f"duplicate ref_id {ref_id}")
        seen.add(ref_id)
        image_id = as_int(ref["image_id"], file, where, "image_id")
        if image_id not in parsed.images:
            raise error(file, where, f"image_id {image_id} is not in {parsed.file.name}")
        instances = _target(
            parsed, as_int(ref["ann_id"], file, where, "ann_id"), image_id, file, where
        )
        if not isinstance(ref["sentences"], list) or not ref["sentences"]:
            raise error(file, where, "sentences must be a non-empty list")
        group_id = parsed.images[image_id].group_id
        for sentence in ref["sentences"]:
            text = sentence_text(sentence, file, where)
            expression = collect.expression(group_id, text, str(ref.get("grd_created_by") or ""))
            collect.add(
                file, where, expression, image_id, instances, str(ref.get("grd_author") or "")
            )
    return collect.snapshot(file, file.parent.name)

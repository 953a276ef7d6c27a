"""gRefCOCO: ``grefs(unc).json`` + ``instances.json``, as gRefCOCO's ``G_REFER`` loader reads them.

One ref per human-decided (expression, image) pair::

    {"ref_id": 3, "image_id": 4, "ann_id": [12, 13], "category_id": [1], "split": "train",
     "file_name": "images/ab/....png", "no_target": false,
     "sentences": [{"sent_id": 3, "raw": "the dogs", "sent": "the dogs",
                    "tokens": ["the", "dogs"]}],
     "sent_ids": [3], "grd_complete": true, "grd_author": "ann", "grd_created_by": "ann"}

A certified negative is a *no-target* ref: ``ann_id: [-1]``, ``category_id: [-1]``,
``no_target: true``. Unseen pairs have no ref at all, and incomplete expressions are left out
(or, with ``incomplete="mark"``, written with ``grd_complete: false``). ``split`` is the group's
``meta["split"]`` or the ``split`` argument. ``instances.json`` is the shared COCO instances dict
(``exports.instances``), with RLE segmentations.

Reading accepts ours and foreign files; a foreign file without ``grd_groups`` gets one group per
image, since its refs say nothing about other images.
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
from labeler.domain import Instance

NO_TARGET = [-1]


def refs_file_name(split_by: str = "unc") -> str:
    return f"grefs({split_by}).json"


def build_grefcoco(
    snapshot: Snapshot, *, incomplete: Incomplete = "omit", split: str = "train"
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """``(refs, instances)`` of the selected expressions' human-decided pairs."""
    selected = selected_expressions(snapshot, incomplete)
    categories, of_group = category_table(snapshot)
    index = annotation_index(snapshot, selected, of_group)
    images = {i.id: i for i in snapshot.images}
    groups = {g.id: g for g in snapshot.groups}
    refs = []
    for chosen in selected:
        expression = chosen.expression
        group = groups[expression.group_id]
        for decision in sorted(snapshot.human(expression.id).values(), key=lambda d: d.image_id):
            ref_id = len(refs) + 1
            ann_ids = index.pairs.get((expression.id, decision.image_id)) or NO_TARGET
            refs.append(
                {
                    "ref_id": ref_id,
                    "image_id": decision.image_id,
                    "ann_id": list(ann_ids),
                    "category_id": NO_TARGET if ann_ids == NO_TARGET else [of_group[group.id]],
                    "split": str(group.meta.get("split") or split),
                    "file_name": images[decision.image_id].file,
                    "no_target": ann_ids == NO_TARGET,
                    "sentences": [sentence_entry(ref_id, expression.text)],
                    "sent_ids": [ref_id],
                    "grd_complete": chosen.complete,
                    "grd_author": decision.author,
                    "grd_created_by": expression.created_by,
                }
            )
    return refs, build_instances(snapshot, index, categories)


def write_grefcoco(
    out_dir: str | Path,
    snapshot: Snapshot,
    *,
    incomplete: Incomplete = "omit",
    split: str = "train",
    split_by: str = "unc",
) -> list[Path]:
    """Write ``grefs(<split_by>).json``, ``instances.json`` and the attribution files."""
    out_dir = Path(out_dir)
    refs, instances = build_grefcoco(snapshot, incomplete=incomplete, split=split)
    written = [
        atomic.write_json(out_dir / refs_file_name(split_by), refs),
        atomic.write_json(out_dir / "instances.json", instances),
    ]
    return written + write_attribution(out_dir, snapshot)


def _ann_ids(ref: dict, file: Path, where: str) -> list[int]:
    value = ref["ann_id"]
    return as_int_list(value if isinstance(value, list) else [value], file, where, "ann_id")


def read_grefcoco(source: str | Path, instances_path: str | Path | None = None) -> Snapshot:
    """Read gRefCOCO refs (a ``grefs(*).json`` file or its folder) and the ``instances.json``
    beside them. Raises ``ImportFormatError`` naming the file, the record and the problem."""
    file = find_refs_file(source, "grefs(*).json")
    instances_path = Path(instances_path or file.parent / "instances.json")
    parsed = parse_instances(instances_path, load_json(instances_path), per_image_groups=True)
    refs = load_json(file)
    if not isinstance(refs, list):
        raise error(file, "", f"expected a list of refs, got {type(refs).__name__}")
    collect = PairCollector(parsed)
    seen_refs: set[int] = set()
    for number, ref in enumerate(refs):
        where = f"ref #{number}"
        require(ref, ["ref_id", "image_id", "ann_id", "sentences"], file, where)
        ref_id = as_int(ref["ref_id"], file, where, "ref_id")
        where = f"ref {ref_id}"
        if ref_id in seen_refs:
            raise error(file, where, f"duplicate ref_id {ref_id}")
        seen_refs.add(ref_id)
        image_id = as_int(ref["image_id"], file, where, "image_id")
        if image_id not in parsed.images:
            raise error(file, where, f"image_id {image_id} is not in {parsed.file.name}")
        ann_ids = _ann_ids(ref, file, where)
        if ann_ids == NO_TARGET:
            instances: tuple[Instance, ...] = ()
        elif not ann_ids or -1 in ann_ids:
            raise error(
                file, where, f"ann_id must list annotations or be [-1] (no target), got {ann_ids}"
            )
        else:
            for aid in ann_ids:
                parsed.resolve(aid, image_id, file, where)
            instances = tuple(Instance(parsed.rle(aid, where)) for aid in ann_ids)
        if "no_target" in ref and bool(ref["no_target"]) != (not instances):
            raise error(file, where, f"no_target is {ref['no_target']} but ann_id is {ann_ids}")
        if not isinstance(ref["sentences"], list) or not ref["sentences"]:
            raise error(file, where, "sentences must be a non-empty list")
        group_id = parsed.images[image_id].group_id
        for sentence in ref["sentences"]:
            text = sentence_text(sentence, file, where)
            expression = collect.expression(group_id, text, str(ref.get("grd_created_by") or ""))
            collect.add(
                file, where, expression, image_id, instances, str(ref.get("grd_author") or "")
            )
            if ref.get("grd_complete") is True:
                collect.claims_complete.setdefault(expression.id, where)
    return collect.snapshot(file, file.parent.name)

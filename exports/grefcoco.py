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

from exports.refs import PairCollector, RefsBuild, iter_refs, open_refs, write_refs_files
from exports.snapshot import Incomplete, Snapshot
from exports.validate import as_int_list, error
from labeler.domain import Instance

NO_TARGET = [-1]


def refs_file_name(split_by: str = "unc") -> str:
    return f"grefs({split_by}).json"


def build_grefcoco(
    snapshot: Snapshot, *, incomplete: Incomplete = "omit", split: str = "train"
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """``(refs, instances)`` of the selected expressions' human-decided pairs."""
    build = RefsBuild.of(snapshot, incomplete)
    refs = []
    for chosen in build.selected:
        expression = chosen.expression
        for decision in sorted(snapshot.human(expression.id).values(), key=lambda d: d.image_id):
            ann_ids = build.index.pairs.get((expression.id, decision.image_id)) or NO_TARGET
            no_target = ann_ids == NO_TARGET
            refs.append(
                build.ref(
                    len(refs) + 1,
                    chosen,
                    decision,
                    ann_id=list(ann_ids),
                    category_id=NO_TARGET if no_target else [build.of_group[expression.group_id]],
                    split=split,
                    no_target=no_target,
                )
            )
    return refs, build.instances()


def write_grefcoco(
    out_dir: str | Path,
    snapshot: Snapshot,
    *,
    incomplete: Incomplete = "omit",
    split: str = "train",
    split_by: str = "unc",
) -> list[Path]:
    """Write ``grefs(<split_by>).json``, ``instances.json`` and the attribution files."""
    refs, instances = build_grefcoco(snapshot, incomplete=incomplete, split=split)
    return write_refs_files(out_dir, snapshot, refs_file_name(split_by), refs, instances)


def _ann_ids(ref: dict, file: Path, where: str) -> list[int]:
    value = ref["ann_id"]
    return as_int_list(value if isinstance(value, list) else [value], file, where, "ann_id")


def read_grefcoco(source: str | Path, instances_path: str | Path | None = None) -> Snapshot:
    """Read gRefCOCO refs (a ``grefs(*).json`` file or its folder) and the ``instances.json``
    beside them. Raises ``ImportFormatError`` naming the file, the record and the problem."""
    file, parsed, refs = open_refs(source, instances_path, "grefs(*).json")
    collect = PairCollector(parsed)
    for ref, where, image_id in iter_refs(refs, file, parsed):
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
        for expression in collect.add_ref(file, where, ref, image_id, instances):
            if ref.get("grd_complete") is True:
                collect.claims_complete.setdefault(expression.id, where)
    return collect.snapshot(file, file.parent.name)

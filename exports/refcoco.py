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
from exports.refs import PairCollector, RefsBuild, iter_refs, open_refs, write_refs_files
from exports.snapshot import Incomplete, Snapshot
from exports.validate import as_int, as_int_list, error, load_json
from labeler import rle, safe_pickle
from labeler.domain import Instance


def refs_file_name(split_by: str = "unc") -> str:
    return f"refs({split_by}).p"


def build_refcoco(
    snapshot: Snapshot, *, incomplete: Incomplete = "omit", split: str = "train"
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """``(refs, instances)`` for the positive pairs of the selected expressions."""
    build = RefsBuild.of(snapshot, incomplete)
    index = build.index
    by_id = {a["id"]: a for a in index.annotations}
    unions: dict[tuple[int, ...], int] = {}
    refs = []
    for chosen in build.selected:
        expression = chosen.expression
        for decision in snapshot.positives(expression.id):
            parts = tuple(index.pairs[(expression.id, decision.image_id)])
            if len(parts) == 1:
                target = parts[0]
            elif parts in unions:
                target = unions[parts]
            else:
                image = build.images[decision.image_id]
                encoded = rle.union(
                    [by_id[p]["segmentation"] for p in parts], image.height, image.width
                )
                target = unions[parts] = len(index.annotations) + 1
                index.annotations.append(
                    {
                        **by_id[parts[0]],
                        "id": target,
                        "segmentation": encoded,
                        "area": rle.area(encoded),
                        "bbox": rle.bbox(encoded),
                        "grd_parts": list(parts),
                    }
                )
            refs.append(
                build.ref(
                    len(refs) + 1,
                    chosen,
                    decision,
                    ann_id=target,
                    category_id=build.of_group[expression.group_id],
                    split=split,
                )
            )
    return refs, build.instances()


def write_refcoco(
    out_dir: str | Path,
    snapshot: Snapshot,
    *,
    incomplete: Incomplete = "omit",
    split: str = "train",
    split_by: str = "unc",
) -> list[Path]:
    """Write ``refs(<split_by>).p``, ``instances.json`` and the attribution files."""
    refs, instances = build_refcoco(snapshot, incomplete=incomplete, split=split)
    return write_refs_files(
        out_dir, snapshot, refs_file_name(split_by), refs, instances, _write_pickle
    )


def _write_pickle(path: Path, refs: list) -> Path:
    # protocol 2: the newest that Python 2 (the original REFER) reads
    return atomic.write_pickle(path, refs, protocol=2)


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
    union = rle.union([i.rle for i in instances], image.height, image.width)
    if rle.normalize(union)["counts"] != parsed.rle(ann_id, where)["counts"]:
        raise error(
            parsed.file, f"annotation {ann_id}", "its mask is not the union of its grd_parts"
        )
    return tuple(instances)


def read_refcoco(source: str | Path, instances_path: str | Path | None = None) -> Snapshot:
    """Read classic RefCOCO refs (``refs(*).p`` or a JSON list, or their folder) and the
    ``instances.json`` beside them; every ref is a positive pair."""
    file, parsed, refs = open_refs(source, instances_path, "refs(*).p", _load_refs)
    collect = PairCollector(parsed, merge_positives=True)
    for ref, where, image_id in iter_refs(refs, file, parsed):
        instances = _target(
            parsed, as_int(ref["ann_id"], file, where, "ann_id"), image_id, file, where
        )
        collect.add_ref(file, where, ref, image_id, instances)
    return collect.snapshot(file, file.parent.name)

"""The expression file that goes with a COCO export (``expressions.json``).

COCO has no place for referring expressions or for images that do *not* contain an object, so
this file says, for every exported expression::

    {"id": 7, "group_id": 2, "group": "dog x beach", "text": "the dog on the left",
     "created_by": "ann", "complete": true,
     "ann_ids": [12, 13, 20],              # every referred object (annotations of instances.json)
     "positive_image_ids": [4, 9],          # explicit: the object is there
     "negative_image_ids": [5, 6, 7, 8],    # explicit: a person confirmed it is absent
     "confirmed_by": [{"image_id": 4, "author": "ann", "at": "2025-01-02T10:00:00+00:00"}, ...]}

An image of the group in neither list was not decided by anyone; that only happens in an
incomplete expression (``complete: false``, written with ``--incomplete mark``). The instances of
one pair are the expression's ``ann_ids`` that lie on that image, in the listed order.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from exports.instances import AnnotationIndex, ParsedInstances
from exports.snapshot import Incomplete, SelectedExpression, Snapshot
from exports.validate import as_int, as_int_list, as_str, error, require
from labeler.domain import DecisionStatus, Expression, ExpressionDecision, Instance

FORMAT = "grd-expressions"
VERSION = 1


def _confirmations(decisions: list[ExpressionDecision]) -> list[dict[str, Any]]:
    return [
        {
            "image_id": d.image_id,
            "author": d.author,
            "at": d.updated_at.isoformat(timespec="seconds") if d.updated_at else None,
        }
        for d in sorted(decisions, key=lambda d: d.image_id)
    ]


def build_expression_dict(
    snapshot: Snapshot,
    selected: list[SelectedExpression],
    index: AnnotationIndex,
    *,
    incomplete: Incomplete,
    instances_file: str = "instances.json",
) -> dict[str, Any]:
    """The expression file for ``selected`` expressions, whose annotations ``index`` numbered."""
    names = {g.id: g.name for g in snapshot.groups}
    entries = []
    for chosen in selected:
        expression = chosen.expression
        positives = snapshot.positives(expression.id)
        negatives = snapshot.negatives(expression.id)
        ann_ids: list[int] = []
        for decision in positives:
            ann_ids.extend(index.pairs[(expression.id, decision.image_id)])
        entries.append(
            {
                "id": expression.id,
                "group_id": expression.group_id,
                "group": names[expression.group_id],
                "text": expression.text,
                "created_by": expression.created_by,
                "complete": chosen.complete,
                "ann_ids": ann_ids,
                "positive_image_ids": [d.image_id for d in positives],
                "negative_image_ids": [d.image_id for d in negatives],
                "confirmed_by": _confirmations(positives + negatives),
            }
        )
    return {
        "format": FORMAT,
        "version": VERSION,
        "instances": instances_file,
        "incomplete": incomplete,
        "expressions": entries,
    }


# -- reading ---------------------------------------------------------------------------------------


def _image_list(entry: dict, key: str, group_images: set[int], file: Path, where: str) -> list[int]:
    ids = as_int_list(entry[key], file, where, key)
    if len(set(ids)) != len(ids):
        raise error(file, where, f"{key} lists an image twice")
    for iid in ids:
        if iid not in group_images:
            raise error(
                file,
                where,
                f"{key}: image {iid} does not exist or is not in group {entry['group_id']}",
            )
    return ids


def _authors(entry: dict, decided: set[int], file: Path, where: str) -> dict[int, str]:
    authors: dict[int, str] = {}
    confirmations = entry.get("confirmed_by") or []
    if not isinstance(confirmations, list):
        raise error(file, where, "confirmed_by must be a list")
    for item in confirmations:
        require(item, ["image_id", "author"], file, f"{where}, confirmed_by")
        iid = as_int(item["image_id"], file, where, "confirmed_by image_id")
        if iid not in decided:
            raise error(
                file,
                where,
                f"confirmed_by names image {iid}, which is neither positive nor negative",
            )
        authors[iid] = as_str(item["author"], file, where, "author")
    return authors


def _expression(
    entry: Any, number: int, parsed: ParsedInstances, file: Path, seen: dict
) -> tuple[Expression, dict[int, ExpressionDecision]]:
    where = f"expression #{number}"
    keys = ["id", "group_id", "text", "ann_ids", "positive_image_ids", "negative_image_ids"]
    require(entry, keys, file, where)
    eid = as_int(entry["id"], file, where, "id")
    where = f"expression {eid}"
    if eid in seen:
        raise error(file, where, f"duplicate expression id {eid}")
    gid = as_int(entry["group_id"], file, where, "group_id")
    if gid not in parsed.groups:
        raise error(file, where, f"group_id {gid} is not a group of {parsed.file.name}")
    text = " ".join(as_str(entry["text"], file, where, "text").split())
    if not text:
        raise error(file, where, "empty text")
    if (gid, text) in seen.values():
        raise error(file, where, f"group {gid} already has the expression {text!r}")
    seen[eid] = (gid, text)
    group_images = parsed.group_images(gid)
    positives = _image_list(entry, "positive_image_ids", group_images, file, where)
    negatives = _image_list(entry, "negative_image_ids", group_images, file, where)
    both = set(positives) & set(negatives)
    if both:
        raise error(file, where, f"image {min(both)} is listed as both positive and negative")
    complete = entry.get("complete", False)
    if complete is True and set(positives) | set(negatives) != group_images:
        missing = sorted(group_images - set(positives) - set(negatives))
        raise error(
            file, where, f"marked complete but image {missing[0]} of the group has no decision"
        )
    by_image: dict[int, list[Instance]] = {iid: [] for iid in positives}
    ann_ids = as_int_list(entry["ann_ids"], file, where, "ann_ids")
    if len(set(ann_ids)) != len(ann_ids):
        raise error(file, where, "ann_ids lists an annotation twice")
    for aid in ann_ids:
        ann = parsed.resolve(aid, None, file, where)
        if ann["image_id"] not in by_image:
            raise error(
                file,
                where,
                f"annotation {aid} lies on image {ann['image_id']}, "
                "which is not a positive image of the expression",
            )
        by_image[ann["image_id"]].append(Instance(parsed.rle(aid, where)))
    for iid, found in by_image.items():
        if not found:
            raise error(file, where, f"positive image {iid} has no annotation in ann_ids")
    authors = _authors(entry, set(positives) | set(negatives), file, where)
    expression = Expression(eid, gid, text, str(entry.get("created_by") or ""))
    decisions = {
        iid: ExpressionDecision(
            eid, iid, DecisionStatus.POSITIVE, tuple(by_image[iid]), author=authors.get(iid, "")
        )
        for iid in positives
    }
    decisions.update(
        {
            iid: ExpressionDecision(eid, iid, DecisionStatus.NEGATIVE, author=authors.get(iid, ""))
            for iid in negatives
        }
    )
    return expression, decisions


def parse_expression_dict(
    path: str | Path, data: Any, parsed: ParsedInstances
) -> tuple[list[Expression], dict[int, dict[int, ExpressionDecision]]]:
    """Check an expression file against its instances and turn it into expressions + decisions."""
    file = Path(path)
    require(data, ["format", "expressions"], file, "")
    if data["format"] != FORMAT:
        raise error(file, "format", f"expected {FORMAT!r}, got {data['format']!r}")
    if not isinstance(data["expressions"], list):
        raise error(file, "expressions", "must be a list")
    expressions, decisions, seen = [], {}, {}
    for number, entry in enumerate(data["expressions"]):
        expression, pairs = _expression(entry, number, parsed, file, seen)
        expressions.append(expression)
        decisions[expression.id] = pairs
    return expressions, decisions

"""What the RefCOCO-family formats (gRefCOCO, classic RefCOCO) share: sentence records, the common
fields of a ref, finding and checking the refs file, and turning (image, sentence) statements back
into expressions and decisions.

A ref belongs to one image; its sentences are expressions. Read back, an expression is the pair
(group of the image, sentence text), so two refs that share a sentence within a group describe the
same expression on two images.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from exports import atomic
from exports.attribution import write_attribution
from exports.instances import (
    AnnotationIndex,
    ParsedInstances,
    annotation_index,
    build_instances,
    category_table,
    parse_instances,
)
from exports.snapshot import Incomplete, SelectedExpression, Snapshot, selected_expressions
from exports.validate import as_int, as_str, error, load_json, require
from labeler.domain import (
    DecisionStatus,
    Expression,
    ExpressionDecision,
    Group,
    ImageRecord,
    Instance,
)
from labeler.errors import ImportFormatError

_TOKEN = re.compile(r"\w+|[^\w\s]")


def sentence_entry(sent_id: int, text: str) -> dict:
    """A RefCOCO sentence: ``raw`` is the text as written, ``sent`` / ``tokens`` the lower-cased
    tokens that RES codebases feed to their tokenizers."""
    tokens = _TOKEN.findall(text.lower())
    return {"tokens": tokens, "raw": text, "sent_id": sent_id, "sent": " ".join(tokens)}


def sentence_text(sentence: object, file: Path, where: str) -> str:
    require(sentence, [], file, where)
    value = sentence.get("raw") or sentence.get("sent")  # type: ignore[union-attr]
    text = " ".join(as_str(value, file, where, "sentence 'raw'").split())
    if not text:
        raise error(file, where, "empty sentence")
    return text


@dataclass
class RefsBuild:
    """What building refs for a snapshot starts from: the selected expressions, the category table
    and the annotation index of their pairs, images and groups by id."""

    snapshot: Snapshot
    selected: list[SelectedExpression]
    categories: list[dict]
    of_group: dict[int, int]
    index: AnnotationIndex
    images: dict[int, ImageRecord]
    groups: dict[int, Group]

    @classmethod
    def of(cls, snapshot: Snapshot, incomplete: Incomplete) -> RefsBuild:
        selected = selected_expressions(snapshot, incomplete)
        categories, of_group = category_table(snapshot)
        index = annotation_index(snapshot, selected, of_group)
        images = {i.id: i for i in snapshot.images}
        groups = {g.id: g for g in snapshot.groups}
        return cls(snapshot, selected, categories, of_group, index, images, groups)

    def ref(
        self,
        ref_id: int,
        chosen: SelectedExpression,
        decision: ExpressionDecision,
        *,
        ann_id: Any,
        category_id: Any,
        split: str,
        **extra: Any,
    ) -> dict[str, Any]:
        """A ref for one (expression, image) decision; ``extra`` fields go after ``file_name``.
        ``split`` is the default when the group's ``meta`` has none."""
        expression = chosen.expression
        return {
            "ref_id": ref_id,
            "image_id": decision.image_id,
            "ann_id": ann_id,
            "category_id": category_id,
            "split": str(self.groups[expression.group_id].meta.get("split") or split),
            "file_name": self.images[decision.image_id].file,
            **extra,
            "sentences": [sentence_entry(ref_id, expression.text)],
            "sent_ids": [ref_id],
            "grd_complete": chosen.complete,
            "grd_author": decision.author,
            "grd_created_by": expression.created_by,
        }

    def instances(self) -> dict[str, Any]:
        """The COCO instances dict of the index's annotations (call after adding any)."""
        return build_instances(self.snapshot, self.index, self.categories)


def write_refs_files(
    out_dir: str | Path,
    snapshot: Snapshot,
    refs_name: str,
    refs: list[dict[str, Any]],
    instances: dict[str, Any],
    write_refs: Callable[[Path, Any], Path] = atomic.write_json,
) -> list[Path]:
    """Write ``refs`` as ``refs_name`` (with ``write_refs``), ``instances.json`` and the
    attribution files into ``out_dir``; the paths written."""
    out_dir = Path(out_dir)
    written = [
        write_refs(out_dir / refs_name, refs),
        atomic.write_json(out_dir / "instances.json", instances),
    ]
    return written + write_attribution(out_dir, snapshot)


def find_refs_file(source: str | Path, pattern: str) -> Path:
    """``source`` is the refs file itself or the folder holding exactly one ``pattern`` file."""
    source = Path(source)
    if source.is_file():
        return source
    if not source.is_dir():
        raise ImportFormatError(f"{source}: no such file or folder")
    found = sorted(source.glob(pattern))
    if len(found) != 1:
        raise ImportFormatError(
            f"{source}: expected one {pattern} file, found {len(found)}"
            + (f" ({', '.join(p.name for p in found)}); name the one to import" if found else "")
        )
    return found[0]


def open_refs(
    source: str | Path,
    instances_path: str | Path | None,
    pattern: str,
    load: Callable[[Path], Any] = load_json,
) -> tuple[Path, ParsedInstances, list]:
    """``(refs file, parsed instances.json, refs list)``: the refs file found by ``pattern`` (see
    ``find_refs_file``), loaded with ``load``, and ``instances_path`` or the ``instances.json``
    beside it."""
    file = find_refs_file(source, pattern)
    instances_path = Path(instances_path or file.parent / "instances.json")
    parsed = parse_instances(instances_path, load_json(instances_path), per_image_groups=True)
    refs = load(file)
    if not isinstance(refs, list):
        raise error(file, "", f"expected a list of refs, got {type(refs).__name__}")
    return file, parsed, refs


def iter_refs(refs: list, file: Path, parsed: ParsedInstances) -> Iterator[tuple[dict, str, int]]:
    """``(ref, where, image_id)`` per ref, after checking the fields every ref has, that its
    ``ref_id`` is new and that its image is in ``parsed``."""
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
        yield ref, where, image_id


@dataclass
class PairCollector:
    """Collects (group, text, image) -> decision statements from refs, checking for conflicts.

    ``merge_positives``: two positive statements about one pair add up their instances (classic
    RefCOCO: one ref per object, so a sentence used for two objects of an image refers to both);
    otherwise statements about the same pair must agree exactly.
    """

    parsed: ParsedInstances
    merge_positives: bool = False
    expressions: dict[tuple[int, str], Expression] = field(default_factory=dict)
    decisions: dict[int, dict[int, ExpressionDecision]] = field(default_factory=dict)
    claims_complete: dict[int, str] = field(default_factory=dict)

    def expression(self, group_id: int, text: str, created_by: str = "") -> Expression:
        key = (group_id, text)
        if key not in self.expressions:
            eid = len(self.expressions) + 1
            self.expressions[key] = Expression(eid, group_id, text, created_by)
            self.decisions[eid] = {}
        return self.expressions[key]

    def add(
        self,
        file: Path,
        where: str,
        expression: Expression,
        image_id: int,
        instances: tuple[Instance, ...],
        author: str,
    ) -> None:
        status = DecisionStatus.POSITIVE if instances else DecisionStatus.NEGATIVE
        pairs = self.decisions[expression.id]
        new = ExpressionDecision(expression.id, image_id, status, instances, author=author)
        old = pairs.get(image_id)
        if old is not None:
            same = old.status is status and [i.rle for i in old.instances] == [
                i.rle for i in instances
            ]
            if same:
                return
            if self.merge_positives and old.status is status is DecisionStatus.POSITIVE:
                extra = tuple(i for i in instances if i.rle not in [o.rle for o in old.instances])
                new = ExpressionDecision(
                    expression.id,
                    image_id,
                    status,
                    old.instances + extra,
                    author=old.author or author,
                )
            else:
                raise error(
                    file,
                    where,
                    f"contradicts an earlier ref: {expression.text!r} on image "
                    f"{image_id} is both {old.status.value} and {status.value}"
                    " (or has other objects)",
                )
        pairs[image_id] = new

    def add_ref(
        self, file: Path, where: str, ref: dict, image_id: int, instances: tuple[Instance, ...]
    ) -> list[Expression]:
        """Add the statement of each of ``ref``'s sentences; the expressions, in sentence order."""
        if not isinstance(ref["sentences"], list) or not ref["sentences"]:
            raise error(file, where, "sentences must be a non-empty list")
        group_id = self.parsed.images[image_id].group_id
        expressions = []
        for sentence in ref["sentences"]:
            text = sentence_text(sentence, file, where)
            expression = self.expression(group_id, text, str(ref.get("grd_created_by") or ""))
            self.add(file, where, expression, image_id, instances, str(ref.get("grd_author") or ""))
            expressions.append(expression)
        return expressions

    def snapshot(self, file: Path, name: str) -> Snapshot:
        parsed = self.parsed
        snap = Snapshot(
            tuple(parsed.groups.values()),
            tuple(parsed.images.values()),
            tuple(self.expressions.values()),
            self.decisions,
            name=name,
        )
        for expression in snap.expressions:
            if expression.id in self.claims_complete and not snap.is_complete(expression):
                raise error(
                    file,
                    self.claims_complete[expression.id],
                    f"marks {expression.text!r} complete, but not every image of its "
                    "group has a ref for it",
                )
        return snap

"""What the RefCOCO-family formats (gRefCOCO, classic RefCOCO) share: sentence records, finding the
refs file, and turning (image, sentence) statements back into expressions and decisions.

A ref belongs to one image; its sentences are expressions. Read back, an expression is the pair
(group of the image, sentence text), so two refs that share a sentence within a group describe the
same expression on two images.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from exports.instances import ParsedInstances
from exports.snapshot import Snapshot
from exports.validate import as_str, error, require
from labeler.domain import DecisionStatus, Expression, ExpressionDecision, Instance
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

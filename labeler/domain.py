"""The GRES annotation domain: what modules pass to each other.

A project holds groups of related images (found by a target keyword and a scene keyword) and free-text
expressions per group. For every (expression, image) pair there is exactly one ``ExpressionDecision``:

- ``unseen``: nobody (not even a model) has looked at the pair yet;
- ``proposed``: a model proposed masks (or absence), with its presence score and model version;
- ``positive``: a person confirmed one or more instance masks of every object the expression describes;
- ``negative``: a person confirmed that the image holds no such object (a *certified* negative).

An expression is complete when every image of its group has a human decision (positive or negative).
All types here are frozen dataclasses or named tuples: plain data, no I/O.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

#: A COCO run-length encoding ``{"size": [H, W], "counts": str}`` (see :mod:`labeler.rle`).
RLE = dict[str, Any]


class DecisionStatus(str, enum.Enum):
    UNSEEN = "unseen"
    PROPOSED = "proposed"
    POSITIVE = "positive"
    NEGATIVE = "negative"

    @property
    def is_human(self) -> bool:
        """Whether a person decided this pair (only such decisions count towards completeness)."""
        return self in (DecisionStatus.POSITIVE, DecisionStatus.NEGATIVE)


HUMAN_STATUSES = (DecisionStatus.POSITIVE, DecisionStatus.NEGATIVE)


@dataclass(frozen=True)
class Group:
    id: int
    name: str
    target_keyword: str = ""
    scene_keyword: str = ""
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ImageRecord:
    """One normalised image of a group, with its provenance.

    ``file`` is relative to the project folder; ``width`` and ``height`` are those of the stored,
    already EXIF-rotated RGB image, so every mask of this image is ``height x width``.
    """

    id: int
    group_id: int
    file: str
    width: int
    height: int
    content_hash: str
    source_url: str = ""
    owner: str = ""
    license: str = ""
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Expression:
    id: int
    group_id: int
    text: str
    created_by: str = ""


@dataclass(frozen=True)
class Instance:
    """One referred object in one image: a COCO RLE mask (holes and several parts are exact)."""

    rle: RLE
    id: int | None = None
    area: int = 0
    bbox: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)


@dataclass(frozen=True)
class ExpressionDecision:
    """The one decision for an (expression, image) pair.

    ``revision`` is 0 for a pair nobody has saved yet and grows by one with every save; a save must
    name the revision it was based on (optimistic locking).
    """

    expression_id: int
    image_id: int
    status: DecisionStatus = DecisionStatus.UNSEEN
    instances: tuple[Instance, ...] = ()
    revision: int = 0
    author: str = ""
    updated_at: datetime | None = None
    score: float | None = None
    model_version: str | None = None

    @property
    def is_human(self) -> bool:
        return self.status.is_human

    @property
    def proposes_presence(self) -> bool:
        """For a model proposal: whether the model thinks the object is there (it proposed masks)."""
        return self.status is DecisionStatus.PROPOSED and bool(self.instances)


class BatchResult(NamedTuple):
    """What a bulk store action did, in one transaction. ``batch_id`` undoes every saved pair
    (None when nothing was saved); ``conflicts`` are the current decisions of the pairs someone
    changed since they were read: left as they are, each attempt logged as ``rejected_stale``."""

    batch_id: str | None
    saved: tuple[ExpressionDecision, ...] = ()
    conflicts: tuple[ExpressionDecision, ...] = ()


@dataclass(frozen=True)
class AuditEntry:
    id: int
    expression_id: int
    image_id: int
    author: str
    at: datetime
    action: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    batch_id: str | None = None


@dataclass(frozen=True)
class ExpressionProgress:
    """Counts of one expression over its group's images; ``complete`` when no pair lacks a human decision."""

    expression_id: int
    group_id: int
    text: str
    total: int
    positive: int
    negative: int
    proposed: int

    @property
    def decided(self) -> int:
        return self.positive + self.negative

    @property
    def unseen(self) -> int:
        return self.total - self.decided - self.proposed

    @property
    def complete(self) -> bool:
        return self.total > 0 and self.decided == self.total

    @property
    def fraction(self) -> float:
        return self.decided / self.total if self.total else 0.0


@dataclass(frozen=True)
class GroupProgress:
    group_id: int
    name: str
    images: int
    expressions: int
    pairs: int
    decided: int
    proposed: int
    complete_expressions: int

    @property
    def fraction(self) -> float:
        return self.decided / self.pairs if self.pairs else 0.0


@dataclass(frozen=True)
class AnnotatorProgress:
    author: str
    positive: int
    negative: int

    @property
    def decided(self) -> int:
        return self.positive + self.negative

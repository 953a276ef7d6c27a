"""Click-to-mask segmenters: one small interface, two backends.

The contract (structural, so ``model/`` can implement it without importing the labeler):

- ``model_id``: a string naming the backend *and* its weights; embeddings are cached under it;
- ``embed(image)``: the expensive, prompt-free pass over one ``H x W x 3`` uint8 RGB image, returning
  an :data:`Embedding` (a flat ``dict`` of numpy arrays, so caches can store it without knowing
  the backend);
- ``predict(embedding, prompts)``: the cheap pass, returning a :class:`SegmentResult` with the mask
  in original-image pixels and the logits to pass back as ``previous_logits`` on the next click.

A segmenter object holds no per-image state, so one instance can serve every user at once.
Backends: SAM (``model.sam_segmenter``, through ``segment_anything``) and the weight-free
:class:`~labeler.classic_segmenter.ClassicSegmenter` (OpenCV), chosen by ``pipelines.click_models.segmenters``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np

Embedding = dict[str, np.ndarray]


@dataclass(frozen=True)
class Prompts:
    """What the user gave for one mask, in original-image pixels (see :mod:`labeler.geometry`).

    Args:
        points: ``(x, y)`` clicks, in click order.
        labels: one per point, 1 = object (positive), 0 = not object (negative).
        box: optional XYXY box around the object.
        previous_logits: ``low_res_logits`` of the previous :class:`SegmentResult` of the same
            backend, to refine that mask rather than start over; None on the first click.
    """

    points: tuple[tuple[float, float], ...] = ()
    labels: tuple[int, ...] = ()
    box: tuple[float, float, float, float] | None = None
    previous_logits: np.ndarray | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "points", tuple((float(x), float(y)) for x, y in self.points))
        object.__setattr__(self, "labels", tuple(int(v) for v in self.labels))
        if len(self.points) != len(self.labels):
            raise ValueError(f"{len(self.points)} points but {len(self.labels)} labels")
        if any(v not in (0, 1) for v in self.labels):
            raise ValueError(
                f"point labels must be 1 (object) or 0 (background), got {self.labels}"
            )
        if self.box is not None:
            x0, y0, x1, y1 = (float(v) for v in self.box)
            if not (x1 > x0 and y1 > y0):
                raise ValueError(f"box must be XYXY with x1 > x0 and y1 > y0, got {self.box}")
            object.__setattr__(self, "box", (x0, y0, x1, y1))
        if not self.points and self.box is None:
            raise ValueError("a prompt needs at least one point or a box")

    @property
    def positive_points(self) -> list[tuple[float, float]]:
        return [p for p, v in zip(self.points, self.labels) if v == 1]

    @property
    def negative_points(self) -> list[tuple[float, float]]:
        return [p for p, v in zip(self.points, self.labels) if v == 0]


@dataclass(frozen=True)
class SegmentResult:
    """A predicted mask.

    Attributes:
        mask: ``H x W`` bool, original-image frame.
        low_res_logits: backend-specific float32 logits (SAM: ``256 x 256``); opaque to callers,
            who pass them back as ``Prompts.previous_logits``.
        score: the backend's own quality estimate in [0, 1] (SAM: predicted IoU).
    """

    mask: np.ndarray
    low_res_logits: np.ndarray | None
    score: float


@runtime_checkable
class Segmenter(Protocol):
    """Anything that turns an image plus prompts into a mask (see module docstring)."""

    model_id: str

    def embed(self, image: np.ndarray) -> Embedding: ...

    def predict(self, embedding: Embedding, prompts: Prompts) -> SegmentResult: ...


@runtime_checkable
class RefiningSegmenter(Segmenter, Protocol):
    """A segmenter that can start from *any* mask, not only its own last prediction.

    ``prior_logits(embedding, mask)`` turns an ``H x W`` bool mask (original frame) into logits to
    pass as ``Prompts.previous_logits``, so clicks refine a proposal or a painted mask the way
    they refine a prediction (the classic segmenter). SAM is not one: its mask input is trained on
    its own logits only (see ``labeler.image_editor``).
    """

    def prior_logits(self, embedding: Embedding, mask: np.ndarray) -> np.ndarray: ...


@runtime_checkable
class BoxSegmenter(Segmenter, Protocol):
    """A segmenter that finds an object well from a box around it (SAM). The editor corrects a
    model's proposal with it by prompting the proposal's box and the click together, rather
    than adding or cutting the region under each click (see ``labeler.image_editor``).
    ``segments_from_box`` is True for such a backend."""

    segments_from_box: bool


def segments_from_box(segmenter: Segmenter) -> bool:
    """Whether ``segmenter`` declares it finds objects well from their box (:class:`BoxSegmenter`)."""
    return isinstance(segmenter, BoxSegmenter) and bool(segmenter.segments_from_box)

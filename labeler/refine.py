"""Snap a model's coarse instance masks to the image's edges with the click segmenter.

GRSer predicts masks at stride 4 of a small input (the demo model: 24 x 24 logits for 96 px), so
its outlines are blobs even where it found the right object: on synthetic probe groups only a
quarter of the correctly found objects reach IoU 0.9 with the truth, the bar at which an annotator
accepts a mask unchanged. The click segmenter (SAM, or the weight-free classic one) sees the
full-resolution edges but not the expression. Together, GRSer decides *whether* and *which*
object, the segmenter *where exactly*: each coarse instance prompts the segmenter the way an
annotator would (a box around it and a click at its innermost pixel), and the answer replaces the
instance only while it is still the same object (IoU with the coarse mask >= ``min_agreement``).
It is only as good as the segmenter: the weight-free one makes real photos' masks worse (figures
in ``docs/editing.md``), so pre-labeling refines only when asked.

    refined = refine_instances(segmenter, embedding, coarse_masks)   # list of H x W bool
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from labeler import mask_ops
from labeler.mask_ops import iou
from labeler.segmenter import Embedding, Prompts, Segmenter


@dataclass(frozen=True)
class RefineSettings:
    """Args:
    pad_fraction: the prompt box grows by this share of the coarse mask's larger side on each
        side (a coarse mask is often a little small; the segmenter never leaves the box).
    min_pad: ... and by at least this many pixels.
    min_agreement: the segmenter's mask replaces the coarse one only at this IoU or more;
        below, it found something else (a neighbour, the background) and the coarse mask stays.
    merge_iou: refined instances this similar are one object (a blob the model split in two).
    """

    pad_fraction: float = 0.15
    min_pad: float = 2.0
    min_agreement: float = 0.5
    merge_iou: float = 0.5


@dataclass
class RefineOutcome:
    masks: list[np.ndarray] = field(default_factory=list)
    replaced: int = 0  # coarse instances the segmenter's mask replaced
    kept: int = 0  # coarse instances kept as they were (the segmenter disagreed)
    merged: int = 0  # instances folded into another one


def refine_prompts(mask: np.ndarray, settings: RefineSettings = RefineSettings()) -> Prompts | None:
    """The box (padded, inside the image) and innermost click an annotator would give for ``mask``;
    None for an empty mask."""
    mask = mask_ops.as_mask(mask)
    box = mask_ops.bbox_xyxy(mask)
    if box is None:
        return None
    x0, y0, x1, y1 = box
    pad = max(settings.min_pad, settings.pad_fraction * max(x1 - x0, y1 - y0))
    h, w = mask.shape
    x, y = mask_ops.innermost_pixel(mask)
    return Prompts(
        points=((x + 0.5, y + 0.5),),
        labels=(1,),
        box=(max(0.0, x0 - pad), max(0.0, y0 - pad), min(w, x1 + pad), min(h, y1 + pad)),
    )


def refine_instance(
    segmenter: Segmenter,
    embedding: Embedding,
    mask: np.ndarray,
    settings: RefineSettings = RefineSettings(),
) -> tuple[np.ndarray, bool]:
    """``(mask, replaced)``: the segmenter's mask for the coarse instance when it agrees, else the
    coarse mask unchanged."""
    mask = mask_ops.as_mask(mask)
    prompts = refine_prompts(mask, settings)
    if prompts is None:
        return mask, False
    refined = np.asarray(segmenter.predict(embedding, prompts).mask, dtype=bool)
    if refined.shape != mask.shape:
        raise ValueError(f"segmenter returned a {refined.shape} mask for a {mask.shape} instance")
    if not refined.any() or iou(refined, mask) < settings.min_agreement:
        return mask, False
    return refined, True


def refine_instances(
    segmenter: Segmenter,
    embedding: Embedding,
    masks: Sequence[np.ndarray],
    settings: RefineSettings = RefineSettings(),
) -> RefineOutcome:
    """Refine every instance of one (expression, image) proposal; duplicates are merged."""
    outcome = RefineOutcome()
    for mask in masks:
        refined, replaced = refine_instance(segmenter, embedding, mask, settings)
        outcome.replaced += replaced
        outcome.kept += not replaced
        for k, other in enumerate(outcome.masks):
            if iou(other, refined) >= settings.merge_iou:
                outcome.masks[k] = other | refined
                outcome.merged += 1
                break
        else:
            outcome.masks.append(refined)
    return outcome

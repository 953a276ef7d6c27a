"""The one GRSer inference path: numpy in, numpy out, around a trained GRSer.

Pre-labelling, evaluation and the app all run GRSer through ``GroupPredictor.predict_groups``;
they only decide which images run together, with ``plan_groups``. The predictor owns what
``GRSer.forward`` must not: eval mode, ``torch.inference_mode``, bf16 autocast on CUDA, batching
groups of equal size, mapping logits back to each image's original size, the sigmoid, the pixel
threshold and the presence decision.

    predictor = GroupPredictor(model, device="cuda")
    groups = [GroupInput("the red cup", to_pixels([resize_image(im, S) for im in ims]), sizes, keep)]
    predictions = predictor.predict_groups(groups, batch_size=4)   # [group][slot < keep]
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import TypeVar

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from model.errors import InputError
from model.grser import GRSer

T = TypeVar("T", bound=Hashable)


@dataclass
class ImagePrediction:
    """GRSer's answer for one image.

    Attributes:
        mask: [H, W] bool at the original image size; all False when the image is judged negative.
        probability: [H, W] float32 sigmoid of the mask logits (before the presence test).
        presence_score: d_neg - d_pos; the image is positive iff it exceeds the presence threshold
            (the margin m unless the predictor was given another one).
        is_present: the presence decision ``presence_score > presence_threshold``.
    """

    mask: np.ndarray
    probability: np.ndarray
    presence_score: float
    is_present: bool


@dataclass(frozen=True)
class GroupInput:
    """One GRSer group: an expression and up to N images already at the model's input size.

    Attributes:
        expression: the referring expression.
        pixels: [n, 3, S, S] float32 in [0, 1] (``to_pixels``); n <= the model's N.
        sizes: n original (H, W), where each prediction is mapped back to.
        keep: the first ``keep`` images are predicted; the rest are context only.
    """

    expression: str
    pixels: torch.Tensor
    sizes: tuple[tuple[int, int], ...]
    keep: int


def resize_image(image: np.ndarray, size: int) -> np.ndarray:
    """The one input resize: ``[H, W, 3] uint8 -> [size, size, 3] uint8`` (area filter when
    shrinking, bilinear when enlarging). Training, evaluation and pre-labelling all use it."""
    array = np.asarray(image)
    if array.ndim != 3 or array.shape[2] != 3 or array.dtype != np.uint8:
        raise InputError(
            f"image must be an [H, W, 3] uint8 RGB array, got {array.shape} {array.dtype}"
        )
    h, w = array.shape[:2]
    interp = cv2.INTER_AREA if (h > size or w > size) else cv2.INTER_LINEAR
    return cv2.resize(np.ascontiguousarray(array), (size, size), interpolation=interp)


def to_pixels(resized: Sequence[np.ndarray]) -> torch.Tensor:
    """n ``[S, S, 3] uint8`` -> ``[n, 3, S, S]`` float32 in [0, 1] (GRSer normalises itself)."""
    stacked = np.stack([np.asarray(r) for r in resized])
    return torch.from_numpy(stacked).permute(0, 3, 1, 2).float().div_(255.0)


def preprocess(images: Sequence[np.ndarray], size: int) -> torch.Tensor:
    """n RGB uint8 images of any sizes -> ``[n, 3, size, size]`` float32 in [0, 1]."""
    resized = []
    for i, image in enumerate(images):
        try:
            resized.append(resize_image(image, size))
        except InputError as exc:
            raise InputError(f"image {i}: {exc}") from None
    return to_pixels(resized)


def plan_groups(
    todo: Sequence[T], group_size: int, context: Sequence[T] = ()
) -> list[tuple[tuple[T, ...], int]]:
    """The one chunking rule: split ``todo`` into GRSer groups of ``group_size``.

    A short group is topped up with context so it still has as many prototypes as the data allow:
    first the other ``todo`` items (in order), then ``context``. Returns ``(items, keep)`` per
    group: the first ``keep`` items are new predictions (each ``todo`` item is kept exactly once),
    the rest are context only.
    """
    if group_size < 1:
        raise ValueError(f"group_size must be >= 1, got {group_size}")
    plan = []
    for start in range(0, len(todo), group_size):
        new = list(todo[start : start + group_size])
        taken = set(new)
        filler = []
        for candidate in list(todo) + list(context):
            if len(new) + len(filler) >= group_size:
                break
            if candidate not in taken:
                taken.add(candidate)
                filler.append(candidate)
        plan.append((tuple(new + filler), len(new)))
    return plan


class GroupPredictor:
    """Predict masks (or absence) for groups of images, each group with its expression.

    Args:
        model: a GRSer (it is moved to ``device`` and put in eval mode).
        device: "cpu", "cuda", ...
        autocast: run under bf16 autocast when the device is CUDA.
        apply_presence: None follows ``model.config.apply_presence``; False returns the raw mask
            of every image (RES setting, target known to exist).
        threshold: probability above which a pixel is in the mask.
        presence_threshold: an image is present iff ``d_neg - d_pos`` exceeds it; None = the
            model's margin m (the paper's rule ``d_pos + m < d_neg``).
    """

    def __init__(
        self,
        model: GRSer,
        device: str | torch.device = "cpu",
        autocast: bool = True,
        apply_presence: bool | None = None,
        threshold: float = 0.5,
        presence_threshold: float | None = None,
    ) -> None:
        self.device = torch.device(device)
        self.model = model.to(self.device).eval()
        self.autocast = autocast
        self.apply_presence = (
            model.config.apply_presence if apply_presence is None else apply_presence
        )
        self.threshold = threshold
        self.presence_threshold = (
            float(model.config.margin) if presence_threshold is None else float(presence_threshold)
        )

    def predict(self, images: list[np.ndarray], expression: str) -> list[ImagePrediction]:
        """Args:
            images: [H_i, W_i, 3] uint8 RGB arrays, any count (split into groups of N).
            expression: the referring expression.
        Returns:
            one ImagePrediction per image, in input order.
        """
        if not isinstance(expression, str) or not expression.strip():
            raise InputError("expression must be a non-empty string")
        if len(images) == 0:
            return []
        pixels = preprocess(images, self.model.config.image_size)
        sizes = [tuple(np.asarray(im).shape[:2]) for im in images]
        plan = plan_groups(list(range(len(images))), self.model.config.group_size)
        groups = [
            GroupInput(expression, pixels[list(ix)], tuple(sizes[i] for i in ix), keep)
            for ix, keep in plan
        ]
        results: list[ImagePrediction | None] = [None] * len(images)
        for (ix, keep), predictions in zip(plan, self.predict_groups(groups)):
            for index, prediction in zip(ix[:keep], predictions):
                results[index] = prediction
        return results  # type: ignore[return-value]

    def predict_groups(
        self, groups: Sequence[GroupInput], batch_size: int = 4
    ) -> list[list[ImagePrediction]]:
        """Run every group; ``batch_size`` groups of equal image count per forward pass.

        Returns, per group (in input order), the predictions of its first ``keep`` images.
        """
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        results: list[list[ImagePrediction]] = [[] for _ in groups]
        by_count: dict[int, list[int]] = {}
        for index, group in enumerate(groups):
            if not group.expression.strip():
                raise InputError("expression must be a non-empty string")
            by_count.setdefault(group.pixels.shape[0], []).append(index)
        for indices in by_count.values():
            for start in range(0, len(indices), batch_size):
                batch = [groups[i] for i in indices[start : start + batch_size]]
                outputs = self._run(batch)
                for b, index in enumerate(indices[start : start + batch_size]):
                    group = groups[index]
                    results[index] = [
                        self._to_prediction(outputs, b, slot, group.sizes[slot])
                        for slot in range(group.keep)
                    ]
        return results

    @torch.inference_mode()
    def _run(self, batch: Sequence[GroupInput]) -> dict[str, torch.Tensor]:
        use_amp = self.autocast and self.device.type == "cuda"
        pixels = torch.stack([g.pixels for g in batch]).to(self.device)
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=use_amp):
            out = self.model(pixels, [g.expression for g in batch])
        return {
            "mask_logits": out["mask_logits"].float(),
            "presence_score": out["presence_score"].float(),
        }

    def _to_prediction(
        self, outputs: dict[str, torch.Tensor], b: int, slot: int, size: tuple[int, int]
    ) -> ImagePrediction:
        logits = outputs["mask_logits"][b, slot][None, None]
        logits = F.interpolate(logits, size=tuple(size), mode="bilinear", align_corners=False)
        probability = torch.sigmoid(logits)[0, 0].cpu().numpy().astype(np.float32)
        score = float(outputs["presence_score"][b, slot])
        is_present = score > self.presence_threshold
        mask = probability > self.threshold
        if self.apply_presence and not is_present:
            mask = np.zeros_like(mask)
        return ImagePrediction(
            mask=mask, probability=probability, presence_score=score, is_present=is_present
        )

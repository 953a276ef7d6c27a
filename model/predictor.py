"""GroupPredictor: numpy in, numpy out, around a trained GRSer.

It owns what ``GRSer.forward`` must not: eval mode, ``torch.inference_mode``, bf16 autocast on
CUDA, resizing images to the model's square input, splitting a large image set into groups of N,
and mapping masks back to each image's original size.
"""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from model.errors import InputError
from model.grser import GRSer


@dataclass
class ImagePrediction:
    """GRSer's answer for one image.

    Attributes:
        mask: [H, W] bool at the original image size; all False when the image is judged negative.
        probability: [H, W] float32 sigmoid of the mask logits (before the presence test).
        presence_score: d_neg - d_pos; the image is positive iff it exceeds the margin m.
        is_present: the presence decision d_pos + m < d_neg.
    """

    mask: np.ndarray
    probability: np.ndarray
    presence_score: float
    is_present: bool


def preprocess(images: list[np.ndarray], size: int) -> torch.Tensor:
    """Resize RGB uint8 images to the model's square input.

    Args:
        images: n arrays [H_i, W_i, 3] uint8 (RGB), sizes may differ.
        size: side of the square model input (``config.image_size``).
    Returns:
        [n, 3, size, size] float32 in [0, 1] (GRSer normalises mean/std itself).
    """
    out = []
    for i, image in enumerate(images):
        array = np.asarray(image)
        if array.ndim != 3 or array.shape[2] != 3 or array.dtype != np.uint8:
            raise InputError(
                f"image {i} must be an [H, W, 3] uint8 RGB array, got {array.shape} {array.dtype}"
            )
        tensor = torch.from_numpy(np.ascontiguousarray(array)).permute(2, 0, 1)[None].float() / 255
        out.append(
            F.interpolate(
                tensor, size=(size, size), mode="bilinear", align_corners=False, antialias=True
            ).clamp_(0, 1)
        )
    return torch.cat(out)


def group_batches(count: int, group_size: int) -> list[tuple[list[int], int]]:
    """Split ``count`` images into groups of at most ``group_size``.

    The last group is topped up with images of the previous groups (as context only), so it still
    has N prototypes to query with. Returns (image indices of the group, how many leading entries
    of it are new predictions); the predictor keeps only those.
    """
    batches = []
    for start in range(0, count, group_size):
        new = list(range(start, min(start + group_size, count)))
        context = list(range(max(0, start - (group_size - len(new))), start))
        batches.append((new + context, len(new)))
    return batches


class GroupPredictor:
    """Predict masks for one expression over a set of images.

    Args:
        model: a GRSer (it is moved to ``device`` and put in eval mode).
        device: "cpu", "cuda", ...
        autocast: run under bf16 autocast when the device is CUDA.
        apply_presence: None follows ``model.config.apply_presence``; False returns the raw mask
            of every image (RES setting, target known to exist).
        threshold: probability above which a pixel is in the mask.
    """

    def __init__(
        self,
        model: GRSer,
        device: str | torch.device = "cpu",
        autocast: bool = True,
        apply_presence: bool | None = None,
        threshold: float = 0.5,
    ) -> None:
        self.device = torch.device(device)
        self.model = model.to(self.device).eval()
        self.autocast = autocast
        self.apply_presence = (
            model.config.apply_presence if apply_presence is None else apply_presence
        )
        self.threshold = threshold

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
        results: list[ImagePrediction | None] = [None] * len(images)
        for indices, keep in group_batches(len(images), self.model.config.group_size):
            outputs = self._run(pixels[indices][None], expression)
            for slot, index in enumerate(indices[:keep]):
                results[index] = self._to_prediction(outputs, slot, images[index].shape[:2])
        return results  # type: ignore[return-value]

    @torch.inference_mode()
    def _run(self, group: torch.Tensor, expression: str) -> dict[str, torch.Tensor]:
        use_amp = self.autocast and self.device.type == "cuda"
        context = torch.autocast("cuda", dtype=torch.bfloat16) if use_amp else nullcontext()
        with context:
            return self.model(group.to(self.device), [expression])

    def _to_prediction(
        self, outputs: dict[str, torch.Tensor], slot: int, size: tuple[int, int]
    ) -> ImagePrediction:
        logits = outputs["mask_logits"][0, slot][None, None].float()
        logits = F.interpolate(logits, size=tuple(size), mode="bilinear", align_corners=False)
        probability = torch.sigmoid(logits)[0, 0].cpu().numpy().astype(np.float32)
        is_present = bool(outputs["is_present"][0, slot])
        mask = probability > self.threshold
        if self.apply_presence and not is_present:
            mask = np.zeros_like(mask)
        return ImagePrediction(
            mask=mask,
            probability=probability,
            presence_score=float(outputs["presence_score"][0, slot]),
            is_present=is_present,
        )

"""GRSer training objective (Sec. 3.4, Eq. 5-6).

L = L_ce(Y_hat, Y) + lambda * L_ce^mirr(Y_hat_anti, 1 - Y) + (t / T) * L_tri
- L_ce: per-pixel binary cross-entropy on positive images only.
- L_ce^mirr: the mirror pass (L and L_anti swapped) against the background 1 - Y; positives only
  unless ``config.mirror_on_negatives`` (a negative's background is then the whole image).
- L_tri (Eq. 5): triplet margin loss on every image, anchor z_n; positives pull towards L and push
  from L_anti, negatives the reverse.
The mask head has one logit channel, so "cross-entropy" is the two-class CE written as BCE.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from model.config import GRSerConfig
from model.errors import InputError


def triplet_margin(
    d_pos: torch.Tensor, d_neg: torch.Tensor, positive: torch.Tensor, margin: float
) -> torch.Tensor:
    """Eq. 5 per image.

    Args:
        d_pos, d_neg: [B, N] d(z_n, L), d(z_n, L_anti).
        positive: [B, N] bool, True where the image contains the referred object.
        margin: m.
    Returns:
        [B, N]: max(d_pos - d_neg + m, 0) for positives, max(d_neg - d_pos + m, 0) for negatives.
    """
    gap = torch.where(positive, d_pos - d_neg, d_neg - d_pos)
    return torch.clamp(gap + margin, min=0.0)


def mirror_targets(targets: torch.Tensor) -> torch.Tensor:
    """Ground truth of the mirror pass: the background 1 - Y."""
    return 1.0 - targets


def triplet_weight(epoch: float, total_epochs: float) -> float:
    """The t / T ramp of Eq. 6, clipped to [0, 1].

    Args:
        epoch: t, the current epoch counted from 1 (the first epoch weighs 1/T, the last 1);
            a fractional value gives a smooth ramp within an epoch.
        total_epochs: T > 0.
    """
    if total_epochs <= 0:
        raise InputError(f"total_epochs must be > 0, got {total_epochs}")
    return float(min(max(epoch / total_epochs, 0.0), 1.0))


def masked_bce(logits: torch.Tensor, targets: torch.Tensor, select: torch.Tensor) -> torch.Tensor:
    """Mean per-pixel BCE over the selected images; 0 (still attached to the graph) if none.

    Args:
        logits, targets: [B, N, H, W]; select: [B, N] bool.
    """
    if not bool(select.any()):
        return logits.sum() * 0.0
    return F.binary_cross_entropy_with_logits(logits[select].float(), targets[select].float())


def grser_loss(
    outputs: dict[str, torch.Tensor],
    targets: torch.Tensor,
    positive: torch.Tensor,
    epoch: float,
    total_epochs: float,
    config: GRSerConfig,
) -> dict[str, torch.Tensor]:
    """Eq. 6.

    Args:
        outputs: ``GRSer.forward`` output; with ``config.use_mirror`` it must come from
            ``forward(..., mirror=True)``.
        targets: [B, N, H, W] float {0, 1} masks at the input resolution (all zero on negatives).
        positive: [B, N] bool.
        epoch, total_epochs: t and T of the ramp (see ``triplet_weight``).
        config: the switches (use_triplet, use_mirror, mirror_weight, margin, mirror_on_negatives).
    Returns:
        scalar tensors ``total``; ``ce``; ``mirror`` (unweighted L_ce^mirr, 0 without mirror);
        ``triplet`` (unweighted mean of Eq. 5 over all images, reported even when
        ``use_triplet`` is off, then detached and left out of ``total``); ``triplet_weight``.
    """
    logits = outputs["mask_logits"]
    if targets.shape != logits.shape:
        raise InputError(
            f"targets {tuple(targets.shape)} must match mask_logits {tuple(logits.shape)}"
        )
    positive = positive.to(device=logits.device, dtype=torch.bool)
    targets = targets.to(logits.device)
    ce = masked_bce(logits, targets, positive)
    total = ce
    mirror = logits.new_zeros(())
    if config.use_mirror:
        if "mirror_mask_logits" not in outputs:
            raise InputError("use_mirror is on: call the model with mirror=True")
        select = torch.ones_like(positive) if config.mirror_on_negatives else positive
        mirror = masked_bce(outputs["mirror_mask_logits"], mirror_targets(targets), select)
        total = total + config.mirror_weight * mirror
    triplet = triplet_margin(outputs["d_pos"], outputs["d_neg"], positive, config.margin).mean()
    weight = triplet_weight(epoch, total_epochs) if config.use_triplet else 0.0
    if config.use_triplet:
        total = total + weight * triplet
    else:
        triplet = triplet.detach()
    return {
        "total": total,
        "ce": ce,
        "mirror": mirror,
        "triplet": triplet,
        "triplet_weight": logits.new_tensor(weight),
    }

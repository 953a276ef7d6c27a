"""Mask predictor (GRSer Sec. 3.1): triphasic features z_n -> mask logits, and z_n -> presence vector.

The decoder is progressive, as in LAVT: it starts from z_n at stride 16, and at each step doubles
the resolution and merges the (language-fused) backbone stage of that stride, ending at stride 4
with one logit channel. The presence head pools z_n into a C_v vector that lives in the same space
as L' and L'_anti, so d(z_n, L) and d(z_n, L_anti) (Eq. 5, presence rule) are defined.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from model.common import conv_block
from model.errors import InputError


class MaskDecoder(nn.Module):
    """Args:
    in_channels: channels of z_n (N heatmaps [+1 language heatmap] + C_v).
    skip_channels: channels of the shallower stages, deepest first (e.g. stride 8, stride 4).
    dim: decoder width at stride 16; it halves at every upsampling step (never below 8),
        which keeps the stride-4 convolutions from dominating the cost of the whole model.
    """

    def __init__(self, in_channels: int, skip_channels: list[int], dim: int) -> None:
        super().__init__()
        widths = [max(dim // 2**i, min(dim, 8)) for i in range(len(skip_channels) + 1)]
        self.stem = nn.Sequential(
            conv_block(in_channels, widths[0]), conv_block(widths[0], widths[0])
        )
        self.steps = nn.ModuleList(
            nn.Sequential(conv_block(w_in + c, w_out), conv_block(w_out, w_out))
            for w_in, w_out, c in zip(widths[:-1], widths[1:], skip_channels)
        )
        self.head = nn.Conv2d(widths[-1], 1, 1)

    def forward(self, z: torch.Tensor, skips: list[torch.Tensor]) -> torch.Tensor:
        """Args:
            z: [B, C_z, h, w] triphasic features.
            skips: stage features, deepest first, each at twice the previous resolution.
        Returns:
            [B, 1, H_s, W_s] mask logits at the shallowest skip's resolution.
        """
        x = self.stem(z)
        for step, skip in zip(self.steps, skips):
            x = F.interpolate(x, size=skip.shape[-2:], mode="bilinear", align_corners=False)
            x = step(torch.cat([x, skip.to(x.dtype)], dim=1))
        return self.head(x)

    @torch.no_grad()
    def set_foreground_prior(self, prior: float) -> None:
        """Start the mask logits at the foreground log-odds ``log(p / (1 - p))`` instead of 0.

        With small objects a zero-biased head spends its first hundreds of steps only learning
        "mostly background" (RetinaNet's prior-probability initialisation fixes the same problem).
        ``prior`` is clipped to [1e-3, 0.5].
        """
        prior = min(max(prior, 1e-3), 0.5)
        self.head.bias.fill_(math.log(prior / (1.0 - prior)))


class PresenceHead(nn.Module):
    """z_n [C_z, h, w] -> vector in the shared C_v space (conv, pooling, linear).

    Args:
        in_channels: channels of z_n.
        c_v: C_v, the space of L' and L'_anti.
        mask_pooling: also pool with the image's predicted mask as weights, next to the global
            average (the two pooled vectors are concatenated before the linear map).
    """

    def __init__(self, in_channels: int, c_v: int, mask_pooling: bool = False) -> None:
        super().__init__()
        self.conv = conv_block(in_channels, c_v)
        self.mask_pooling = mask_pooling
        self.proj = nn.Linear(c_v * (2 if mask_pooling else 1), c_v)

    def forward(
        self, z: torch.Tensor, mask_probability: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Args: z [B, C_z, h, w]; mask_probability [B, 1, H', W'] in [0, 1] (any size; needed
        with ``mask_pooling``). Returns [B, C_v]."""
        features = self.conv(z)
        pooled = features.mean(dim=(-2, -1))
        if self.mask_pooling:
            if mask_probability is None:
                raise InputError("mask pooling needs the predicted mask probability")
            weights = F.adaptive_avg_pool2d(
                mask_probability.to(features.dtype), features.shape[-2:]
            )
            inside = (features * weights).sum(dim=(-2, -1)) / (weights.sum(dim=(-2, -1)) + 1e-3)
            pooled = torch.cat([pooled, inside], dim=-1)
        return self.proj(pooled)

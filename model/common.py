"""Small building blocks shared by several GRSer components."""

from __future__ import annotations

import torch
from torch import nn


def group_norm(channels: int) -> nn.GroupNorm:
    """GroupNorm with the largest of 32/16/8/4/2/1 groups that divides ``channels``.

    GroupNorm rather than BatchNorm: a batch is B*N images of only a few groups, and inference
    runs one group at a time, so batch statistics would be noisy and differ between train and test.
    """
    groups = next(g for g in (32, 16, 8, 4, 2, 1) if channels % g == 0)
    return nn.GroupNorm(groups, channels)


def conv_block(in_channels: int, out_channels: int) -> nn.Sequential:
    """3x3 conv + GroupNorm + GELU, spatial size kept."""
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False),
        group_norm(out_channels),
        nn.GELU(),
    )


def full_precision(device: torch.device):
    """Context that turns autocast off, so cosine maps and distances stay float32 under bf16 AMP."""
    return torch.autocast(device_type=device.type, enabled=False)

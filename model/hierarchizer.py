"""Heatmap Hierarchizer (GRSer Sec. 3.3, Eq. 4).

Each prototype p_i is scored against the expression and its anti-expression:
s_i^pos = ||p_i - L'||, s_i^neg = ||p_i - L'_anti|| (Euclidean, both in the C_v space).
R^pos ranks the N vision heatmaps by s^pos ascending (closest to the expression first), R^neg by
s^neg descending (farthest from the anti-expression first). Eq. 4 re-stacks the heatmaps of every
image in the order argsort(R^pos + R^neg). Ranks start at 0. Ties are broken by the prototype's
index (stable sorts): equal scores rank the lower index first, and so do equal rank sums.
The order depends only on the prototypes, so all images of a group share it.
"""

from __future__ import annotations

import torch
from torch import nn

from model.common import full_precision
from model.config import ORDER_MODES
from model.errors import ConfigError


def prototype_scores(
    protos: torch.Tensor, text: torch.Tensor, text_anti: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """s^pos and s^neg.

    Args:
        protos: [B, N, C] prototypes p_i.
        text, text_anti: [B, C] L' and L'_anti.
    Returns:
        (s_pos, s_neg), each [B, N].
    """
    s_pos = torch.linalg.vector_norm(protos - text[:, None, :], dim=-1)
    s_neg = torch.linalg.vector_norm(protos - text_anti[:, None, :], dim=-1)
    return s_pos, s_neg


def ranks(scores: torch.Tensor, descending: bool = False) -> torch.Tensor:
    """Rank of every entry along the last dim (0 = first), ties ranked by index.

    Args:
        scores: [B, N].
    Returns:
        [B, N] long: ``ranks(s)[b, i]`` is the position of item i when sorted.
    """
    order = torch.sort(scores, dim=-1, descending=descending, stable=True).indices
    return torch.argsort(order, dim=-1)


def heatmap_order(
    s_pos: torch.Tensor,
    s_neg: torch.Tensor,
    mode: str = "pos+neg",
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """The permutation that re-stacks the vision heatmaps (Eq. 4 and its ablations, Table 4).

    Args:
        s_pos, s_neg: [B, N] scores.
        mode: "pos+neg" argsort(R^pos + R^neg); "pos" R^pos only; "neg" R^neg only;
            "random" a random permutation per group; "identity" the input order.
        generator: random source for "random" (on the scores' device).
    Returns:
        [B, N] long: ``order[b, k]`` is the prototype index stacked at channel k.
    """
    b, n = s_pos.shape
    if mode == "identity":
        return torch.arange(n, device=s_pos.device).expand(b, n).clone()
    if mode == "random":
        keys = torch.rand(b, n, generator=generator, device=s_pos.device)
        return torch.argsort(keys, dim=-1)
    if mode == "pos":
        total = ranks(s_pos)
    elif mode == "neg":
        total = ranks(s_neg, descending=True)
    elif mode == "pos+neg":
        total = ranks(s_pos) + ranks(s_neg, descending=True)
    else:
        raise ConfigError(f"heatmap order mode must be one of {ORDER_MODES}, got {mode!r}")
    return torch.sort(total, dim=-1, stable=True).indices


def rearrange(heatmaps: torch.Tensor, order: torch.Tensor) -> torch.Tensor:
    """Re-stack the prototype axis of every image's heatmaps.

    Args:
        heatmaps: [B, N, N_i, H, W] (image n, prototype i).
        order: [B, N_i] from ``heatmap_order``.
    Returns:
        [B, N, N_i, H, W] with ``out[b, n, k] = heatmaps[b, n, order[b, k]]``.
    """
    b, n, n_i, h, w = heatmaps.shape
    index = order[:, None, :, None, None].expand(b, n, n_i, h, w)
    return torch.gather(heatmaps, 2, index)


class HeatmapHierarchizer(nn.Module):
    """Eq. 4 with separate train and test criteria (Table 4). No parameters.

    Args:
        train_mode, test_mode: order modes used when ``self.training`` is True / False.
    """

    def __init__(self, train_mode: str = "pos+neg", test_mode: str = "pos+neg") -> None:
        super().__init__()
        for mode in (train_mode, test_mode):
            if mode not in ORDER_MODES:
                raise ConfigError(f"heatmap order mode must be one of {ORDER_MODES}, got {mode!r}")
        self.train_mode = train_mode
        self.test_mode = test_mode

    def forward(
        self,
        heatmaps: torch.Tensor,
        protos: torch.Tensor,
        text: torch.Tensor,
        text_anti: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Args:
            heatmaps: [B, N, N, H, W] vision heatmaps; protos [B, N, C]; text, text_anti [B, C].
        Returns:
            (re-stacked heatmaps [B, N, N, H, W], order [B, N]).
        """
        mode = self.train_mode if self.training else self.test_mode
        with full_precision(protos.device), torch.no_grad():
            # The order is a discrete choice: no gradient flows through the ranking itself.
            s_pos, s_neg = prototype_scores(protos.float(), text.float(), text_anti.float())
            order = heatmap_order(s_pos, s_neg, mode)
        return rearrange(heatmaps, order), order

"""Triphasic Query Module, TQM (GRSer Sec. 3.2, Eq. 1-3).

The target is queried three ways: by language (Eq. 1, language-activated heatmap M^l_n), and by
the group's own visual prototypes (Eq. 2 builds one prototype p_i per image, Eq. 3 correlates
every image with every prototype, giving N vision-activated heatmaps M^v_{ni} per image).
The equations are pure tensor functions so tests can check them against hand computations.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from model.common import full_precision

EPS = 1e-6


def cosine_map(features: torch.Tensor, query: torch.Tensor) -> torch.Tensor:
    """Cosine similarity between a query vector and every spatial position (Eq. 1 and Eq. 3).

    Args:
        features: [..., C, H, W] visual features V.
        query: [..., C] one vector per feature map (same leading dims).
    Returns:
        [..., H, W] values in [-1, 1]: V^T q / (||V|| ||q||) per position.
    """
    feats = F.normalize(features.float(), dim=-3, eps=EPS)
    q = F.normalize(query.float(), dim=-1, eps=EPS)
    return torch.einsum("...chw,...c->...hw", feats, q)


def language_heatmaps(visual: torch.Tensor, text: torch.Tensor) -> torch.Tensor:
    """Eq. 1: M^l_n = cos(V_n, L') for every image of every group.

    Args:
        visual: [B, N, C_v, H, W] V_n.
        text: [B, C_v] L' = omega_l(L).
    Returns:
        [B, N, H, W] language-activated heatmaps.
    """
    return cosine_map(visual, text[:, None, :].expand(-1, visual.shape[1], -1))


def prototypes(visual: torch.Tensor, lang_heatmaps: torch.Tensor) -> torch.Tensor:
    """Eq. 2: p_n = avg over H x W of (M^l_n broadcast over channels * V_n).

    Args:
        visual: [B, N, C_v, H, W].
        lang_heatmaps: [B, N, H, W].
    Returns:
        [B, N, C_v] prototypes.
    """
    return (lang_heatmaps.unsqueeze(2) * visual.float()).mean(dim=(-2, -1))


def vision_heatmaps(visual: torch.Tensor, protos: torch.Tensor) -> torch.Tensor:
    """Eq. 3: M^v_{ni} = cos(V_n, p_i) for every image n and every prototype i of its group.

    Args:
        visual: [B, N, C_v, H, W].
        protos: [B, N, C_v] (index i).
    Returns:
        [B, N, N, H, W]: dim 1 is the image n, dim 2 the prototype i.
    """
    feats = F.normalize(visual.float(), dim=2, eps=EPS)
    q = F.normalize(protos.float(), dim=-1, eps=EPS)
    return torch.einsum("bnchw,bic->bnihw", feats, q)


class TriphasicQueryModule(nn.Module):
    """omega_l plus Eq. 1-3.

    Args:
        text_dim: C_l.
        c_v: C_v.
        use_tqm: False skips Eq. 2-3 (the "w/o TQM" ablation keeps only M^l).
    """

    def __init__(self, text_dim: int, c_v: int, use_tqm: bool = True) -> None:
        super().__init__()
        # omega_l: the paper's 1x1 conv on a C_l vector, i.e. a linear map into the visual space.
        self.omega_l = nn.Linear(text_dim, c_v)
        self.use_tqm = use_tqm

    def project_text(self, sentence: torch.Tensor) -> torch.Tensor:
        """L' = omega_l(L): [B, C_l] -> [B, C_v] (also used for L_anti)."""
        return self.omega_l(sentence)

    def forward(self, visual: torch.Tensor, text_proj: torch.Tensor) -> dict[str, torch.Tensor]:
        """Args:
            visual: [B, N, C_v, H, W] V.
            text_proj: [B, C_v] L'.
        Returns:
            ``lang_heatmaps`` [B, N, H, W]; with TQM also ``prototypes`` [B, N, C_v] and
            ``vision_heatmaps`` [B, N, N, H, W] (image n, prototype i).
        """
        with full_precision(visual.device):
            visual, text_proj = visual.float(), text_proj.float()
            out = {"lang_heatmaps": language_heatmaps(visual, text_proj)}
            if self.use_tqm:
                out["prototypes"] = prototypes(visual, out["lang_heatmaps"])
                out["vision_heatmaps"] = vision_heatmaps(visual, out["prototypes"])
        return out

"""Language fusion inside the visual encoder (LAVT, used by GRSer Sec. 3.1).

After each backbone stage a pixel-word attention module (PWAM) gives every pixel a language
feature (attention over the expression's words), multiplies it with the pixel's visual feature,
and a language gate adds the result back: ``out = V + tanh(gate(F)) * F``. The gate's last layer is
zero-initialised, so at the start the backbone computes exactly what its pretrained weights do and
language enters only as fast as the gate learns to open.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class PixelWordAttention(nn.Module):
    """PWAM: per-pixel attention over words, fused multiplicatively with the visual feature.

    Args:
        vis_dim: C, channels of the stage output.
        text_dim: C_l, channels of the word features.
        attn_dim: width of the attention (split over ``num_heads``).
    """

    def __init__(self, vis_dim: int, text_dim: int, attn_dim: int, num_heads: int = 1) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.query = nn.Sequential(nn.GroupNorm(1, vis_dim), nn.Conv2d(vis_dim, attn_dim, 1))
        self.key = nn.Linear(text_dim, attn_dim)
        self.value = nn.Linear(text_dim, attn_dim)
        self.lang_out = nn.Conv2d(attn_dim, vis_dim, 1)
        self.vis_proj = nn.Sequential(nn.Conv2d(vis_dim, vis_dim, 1), nn.GELU())
        self.mm_proj = nn.Sequential(nn.Conv2d(vis_dim, vis_dim, 1), nn.GELU())

    def forward(
        self, vis: torch.Tensor, words: torch.Tensor, word_mask: torch.Tensor
    ) -> torch.Tensor:
        """Args: vis [B, C, H, W]; words [B, T, C_l]; word_mask [B, T] bool (True = real token).

        Returns: fused multi-modal feature F [B, C, H, W].
        """
        b, _, h, w = vis.shape
        heads = self.num_heads
        q = self.query(vis).flatten(2).transpose(1, 2)  # [B, HW, D]
        k, v = self.key(words), self.value(words)  # [B, T, D]
        q, k, v = (x.reshape(b, x.shape[1], heads, -1).transpose(1, 2) for x in (q, k, v))
        attn_mask = word_mask[:, None, None, :].to(torch.bool)  # broadcast over heads and pixels
        lang = F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask)  # [B, h, HW, D/h]
        lang = lang.transpose(1, 2).reshape(b, h * w, -1).transpose(1, 2).reshape(b, -1, h, w)
        return self.mm_proj(self.vis_proj(vis) * self.lang_out(lang))


class LanguageGate(nn.Module):
    """Zero-initialised tanh gate: ``out = vis + tanh(g(F)) * F``, g a per-pixel channel MLP.

    Args:
        dim: C, channels of both inputs.
    """

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.mlp = nn.Sequential(nn.Conv2d(dim, dim, 1), nn.ReLU(), nn.Conv2d(dim, dim, 1))
        nn.init.zeros_(self.mlp[-1].weight)
        nn.init.zeros_(self.mlp[-1].bias)

    def forward(self, vis: torch.Tensor, fused: torch.Tensor) -> torch.Tensor:
        """Args: vis, fused [B, C, H, W]. Returns [B, C, H, W]; equals ``vis`` at initialisation."""
        return vis + torch.tanh(self.mlp(fused)) * fused


class StageFusion(nn.Module):
    """PWAM + language gate applied after one backbone stage."""

    def __init__(self, vis_dim: int, text_dim: int, attn_dim: int, num_heads: int = 1) -> None:
        super().__init__()
        self.pwam = PixelWordAttention(vis_dim, text_dim, attn_dim, num_heads)
        self.gate = LanguageGate(vis_dim)

    def forward(
        self, vis: torch.Tensor, words: torch.Tensor, word_mask: torch.Tensor
    ) -> torch.Tensor:
        """Args: vis [B, C, H, W], words [B, T, C_l], word_mask [B, T]. Returns [B, C, H, W]."""
        return self.gate(vis, self.pwam(vis, words, word_mask))

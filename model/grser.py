"""GRSer, the Grouped Referring Segmenter (ICCV 2023, Sec. 3, Fig. 3), composed from its parts.

One expression and a group of N images go in; every image gets mask logits, a presence score and a
presence decision. Pipeline: text encoder (L, L_anti, words) -> language-aware visual encoder ->
neck (V_n) -> TQM (Eq. 1-3) -> hierarchizer (Eq. 4) -> z_n = [ordered M^v_n, M^l_n, V_n] ->
progressive mask decoder + presence head. The mirror pass (Sec. 3.4, training only) runs the same
branch with L and L_anti swapped. ``forward`` is trainable: no_grad and eval live in the predictor.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from model.common import full_precision
from model.config import GRSerConfig
from model.errors import InputError
from model.hierarchizer import HeatmapHierarchizer
from model.mask_decoder import MaskDecoder, PresenceHead
from model.query_module import TriphasicQueryModule
from model.text_encoder import TextEncoder
from model.visual_encoder import LanguageAwareEncoder, VisualNeck


def heatmap_channels(config: GRSerConfig) -> int:
    """Heatmap channels of z_n: N vision heatmaps (with TQM) plus M^l (if included or w/o TQM)."""
    vision = config.group_size if config.use_tqm else 0
    language = 1 if (config.include_language_heatmap or not config.use_tqm) else 0
    return vision + language


def presence_rule(d_pos: torch.Tensor, d_neg: torch.Tensor, margin: float) -> torch.Tensor:
    """Sec. 3.1 inference: an image is positive iff d_pos + m < d_neg (strict). Shapes broadcast."""
    return d_pos + margin < d_neg


class GRSer(nn.Module):
    """The network. Build it with ``model.build.build_grser``; the parts are injected here.

    Args:
        config: the resolved GRSerConfig (kept for the presence margin and ablation switches).
        text_encoder, visual_encoder, neck, tqm, hierarchizer, decoder, presence_head: the parts.
    """

    def __init__(
        self,
        config: GRSerConfig,
        text_encoder: TextEncoder,
        visual_encoder: LanguageAwareEncoder,
        neck: VisualNeck,
        tqm: TriphasicQueryModule,
        hierarchizer: HeatmapHierarchizer,
        decoder: MaskDecoder,
        presence_head: PresenceHead,
    ) -> None:
        super().__init__()
        self.config = config
        self.text_encoder = text_encoder
        self.visual_encoder = visual_encoder
        self.neck = neck
        self.tqm = tqm
        self.hierarchizer = hierarchizer
        self.decoder = decoder
        self.presence_head = presence_head
        self.register_buffer(
            "pixel_mean", torch.tensor(config.pixel_mean).view(1, 3, 1, 1), persistent=False
        )
        self.register_buffer(
            "pixel_std", torch.tensor(config.pixel_std).view(1, 3, 1, 1), persistent=False
        )

    @property
    def device(self) -> torch.device:
        return self.pixel_mean.device

    def forward(
        self, images: torch.Tensor, expressions: list[str], mirror: bool = False
    ) -> dict[str, torch.Tensor]:
        """Segment one expression in each group of images.

        Args:
            images: [B, n, 3, H, W] float RGB in [0, 1] (NOT mean/std-normalised: the model applies
                ``config.pixel_mean/std`` itself), 1 <= n <= N = config.group_size. A group with
                fewer than N images gets zero heatmaps for the missing prototypes. H and W should
                be multiples of 32 (``config.image_size`` in the predictor).
            expressions: B strings, one per group.
            mirror: also run the mirror pass (L and L_anti swapped) for mirror training.
        Returns:
            dict of tensors:
            ``mask_logits`` [B, n, H, W] float32 logits at the input resolution;
            ``mask`` [B, n, H, W] bool: logits > 0 and, if ``config.apply_presence``, is_present;
            ``d_pos``, ``d_neg`` [B, n] Euclidean d(z_n, L'), d(z_n, L'_anti);
            ``presence_score`` [B, n] = d_neg - d_pos; ``is_present`` [B, n] bool
            (d_pos + m < d_neg); ``z`` [B, n, C_v] pooled triphasic features;
            ``text``, ``text_anti`` [B, C_v] L' and L'_anti; ``lang_heatmaps`` [B, n, h, w];
            with TQM ``heatmap_order`` [B, n]. With ``mirror=True`` the same branch keys
            prefixed ``mirror_`` (``mirror_mask_logits`` [B, n, H, W], ``mirror_d_pos`` ...).
        """
        b, n = self._check_inputs(images, expressions)
        texts = self.text_encoder(
            list(expressions) + [self.text_encoder.anti(e) for e in expressions]
        )
        text = self.tqm.project_text(texts.sentence[:b])
        text_anti = self.tqm.project_text(texts.sentence[b:])
        pixels = (images.flatten(0, 1) - self.pixel_mean) / self.pixel_std
        stages = self._encode_visual(pixels, texts.words[:b], texts.mask[:b], n)
        out = self._branch(stages, text, text_anti, b, n, images.shape[-2:])
        out["text"], out["text_anti"] = text, text_anti
        if mirror:
            if self.config.mirror_reencode:
                stages = self._encode_visual(pixels, texts.words[b:], texts.mask[b:], n)
            swapped = self._branch(stages, text_anti, text, b, n, images.shape[-2:])
            out.update({f"mirror_{key}": value for key, value in swapped.items()})
        out["presence_score"] = out["d_neg"] - out["d_pos"]
        out["is_present"] = presence_rule(out["d_pos"], out["d_neg"], self.config.margin)
        out["mask"] = out["mask_logits"] > 0
        if self.config.apply_presence:
            out["mask"] = out["mask"] & out["is_present"][..., None, None]
        return out

    def _check_inputs(self, images: torch.Tensor, expressions: list[str]) -> tuple[int, int]:
        if not isinstance(images, torch.Tensor) or images.dim() != 5 or images.shape[2] != 3:
            shape = tuple(images.shape) if isinstance(images, torch.Tensor) else type(images)
            raise InputError(f"images must be a [B, N, 3, H, W] tensor, got {shape}")
        b, n = images.shape[:2]
        if not 1 <= n <= self.config.group_size:
            raise InputError(
                f"a group holds 1..{self.config.group_size} images, got {n}; "
                "split larger sets (GroupPredictor does)"
            )
        if isinstance(expressions, str) or len(expressions) != b:
            raise InputError(f"need one expression per group: {b} groups, got {expressions!r}")
        return b, n

    def _encode_visual(
        self, pixels: torch.Tensor, words: torch.Tensor, word_mask: torch.Tensor, n: int
    ) -> list[torch.Tensor]:
        """pixels [B*n, 3, H, W]; words [B, T, C_l] -> stage features [B*n, C_i, H/r_i, W/r_i]."""
        words = words.repeat_interleave(n, dim=0)
        word_mask = word_mask.repeat_interleave(n, dim=0)
        return self.visual_encoder(pixels, words, word_mask)

    def _branch(
        self,
        stages: list[torch.Tensor],
        text: torch.Tensor,
        text_anti: torch.Tensor,
        b: int,
        n: int,
        size: torch.Size,
    ) -> dict[str, torch.Tensor]:
        """TQM, hierarchizer, decoder and distances for one role assignment of (L, L_anti)."""
        visual = self.neck(stages[-2], stages[-1])
        visual = visual.view(b, n, *visual.shape[1:])  # [B, n, C_v, h, w]
        query = self.tqm(visual, text)
        out: dict[str, torch.Tensor] = {"lang_heatmaps": query["lang_heatmaps"]}
        maps = []
        if self.config.use_tqm:
            ordered, out["heatmap_order"] = self.hierarchizer(
                query["vision_heatmaps"], query["prototypes"], text, text_anti
            )
            # Missing prototypes of a short group become zero heatmaps at the lowest priority.
            maps.append(F.pad(ordered, (0, 0, 0, 0, 0, self.config.group_size - n)))
        if self.config.include_language_heatmap or not self.config.use_tqm:
            maps.append(query["lang_heatmaps"].unsqueeze(2))
        z = torch.cat(maps + [visual.to(maps[0].dtype)], dim=2).flatten(0, 1)  # [B*n, C_z, h, w]
        skips = stages[:-2][::-1]
        logits = self.decoder(z, skips)
        # mask pooling reads the decoder's own mask; detached, so the triplet loss does not
        # reshape the masks through it
        mask = torch.sigmoid(logits.detach().float()) if self.presence_head.mask_pooling else None
        z_vec = self.presence_head(z, mask).view(b, n, -1)
        logits = F.interpolate(
            logits.float(), size=tuple(size), mode="bilinear", align_corners=False
        )
        out["mask_logits"] = logits.view(b, n, *size)
        with full_precision(z_vec.device):
            out["z"] = z_vec.float()
            out["d_pos"] = torch.linalg.vector_norm(out["z"] - text.float()[:, None], dim=-1)
            out["d_neg"] = torch.linalg.vector_norm(out["z"] - text_anti.float()[:, None], dim=-1)
        return out

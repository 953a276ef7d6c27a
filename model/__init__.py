"""GRSer (Grouped Referring Segmenter, ICCV 2023) in plain PyTorch. Knows nothing of the labeler.

Public API:
    build_grser, CONFIGS, get_config        -- builder and named variants (tiny, offline, paper)
    ABLATIONS                               -- config overrides of the paper's ablations
    GRSer, GRSerConfig                      -- the network and its config
    grser_loss                              -- Eq. 6 objective
    save_checkpoint, load_checkpoint        -- safe, self-describing checkpoints
    GroupPredictor.predict_groups, plan_groups -- the one inference path and chunking rule
"""

from model.build import ABLATIONS, CONFIGS, DEFAULT_CONFIG, build_grser, get_config
from model.checkpoint import load_checkpoint, read_checkpoint, save_checkpoint
from model.config import GRSerConfig
from model.errors import (
    CheckpointError,
    ConfigError,
    InputError,
    ModelError,
    WeightsMismatch,
    WeightsNotFound,
)
from model.grser import GRSer, presence_rule
from model.losses import grser_loss
from model.predictor import (
    GroupInput,
    GroupPredictor,
    ImagePrediction,
    plan_groups,
    preprocess,
    resize_image,
    to_pixels,
)

__all__ = [
    "ABLATIONS",
    "CONFIGS",
    "DEFAULT_CONFIG",
    "build_grser",
    "get_config",
    "load_checkpoint",
    "read_checkpoint",
    "save_checkpoint",
    "GRSerConfig",
    "GRSer",
    "presence_rule",
    "grser_loss",
    "GroupInput",
    "GroupPredictor",
    "plan_groups",
    "resize_image",
    "to_pixels",
    "ImagePrediction",
    "preprocess",
    "CheckpointError",
    "ConfigError",
    "InputError",
    "ModelError",
    "WeightsMismatch",
    "WeightsNotFound",
]

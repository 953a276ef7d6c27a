"""Self-describing GRSer checkpoints, loaded safely (``torch.load(..., weights_only=True)``).

A checkpoint is one ``torch.save`` file holding only plain data and tensors:
``{"format": "grser", "format_version": 1, "config": GRSerConfig.to_dict(), "text_encoder":
{source, init, hidden_size, vocab_size, model_type}, "state_dict": ..., "meta": {...}}``.
``meta`` takes anything plain: ``epoch``, ``step``, ``optimizer_state`` (an optimizer's
``state_dict()``, for exact resume), metrics, dataset version. Writes are atomic (tmp + rename).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import torch

from model.build import build_grser
from model.config import GRSerConfig
from model.errors import CheckpointError, ConfigError, WeightsNotFound
from model.grser import GRSer
from model.safe_load import load_weights

FORMAT = "grser"
FORMAT_VERSION = 1
_PLAIN = (str, int, float, bool, type(None), torch.Tensor)


def save_checkpoint(
    path: str | os.PathLike, model: GRSer, config: GRSerConfig | None = None, **meta: Any
) -> Path:
    """Write ``model``'s weights, its config and ``meta`` to ``path`` (atomically).

    Args:
        path: target file (parents are created).
        model: the GRSer.
        config: the config to record; defaults to ``model.config``.
        meta: plain values (str/int/float/bool/None/tensors, nested in dicts/lists/tuples), e.g.
            ``epoch=3, step=1200, optimizer_state=opt.state_dict()``.
    Raises:
        CheckpointError: a meta value is not plain data (it could not be loaded safely).
    """
    config = config or model.config
    for key, value in meta.items():
        _check_plain(value, key)
    payload = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "config": config.to_dict(),
        "text_encoder": model.text_encoder.describe(),
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "meta": meta,
    }
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(fd)
    try:
        torch.save(payload, tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def read_checkpoint(
    path: str | os.PathLike, map_location: str | torch.device = "cpu"
) -> dict[str, Any]:
    """The raw checkpoint dict, loaded with ``weights_only=True`` and checked for the GRSer format."""
    path = Path(path)
    if not path.is_file():
        raise WeightsNotFound(f"checkpoint {path} does not exist")
    payload = load_weights(path, "checkpoint", map_location)
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not a GRSer checkpoint")
    if payload.get("format_version", 0) > FORMAT_VERSION:
        raise CheckpointError(
            f"{path} has format version {payload['format_version']}; this code "
            f"reads up to {FORMAT_VERSION}"
        )
    return payload


def load_checkpoint(
    path: str | os.PathLike, map_location: str | torch.device = "cpu"
) -> tuple[GRSer, dict[str, Any]]:
    """Rebuild the GRSer a checkpoint describes and load its weights.

    Returns:
        (model in eval mode on ``map_location``, meta) where meta is the saved ``meta`` plus
        ``config`` (the GRSerConfig), ``text_encoder`` (what it needs) and ``format_version``.
    Raises:
        WeightsNotFound: the file, or the text encoder's local dir/tokenizer, is missing.
        CheckpointError: not a GRSer checkpoint, or the weights do not fit the rebuilt network.
    """
    payload = read_checkpoint(path, map_location)
    try:
        config = GRSerConfig.from_dict(payload["config"])
    except ConfigError as exc:
        raise CheckpointError(f"{path}: stored config is invalid: {exc}") from exc
    model = build_grser(config, load_pretrained=False)
    needed = payload.get("text_encoder", {})
    found = model.text_encoder.describe()
    if needed and needed.get("vocab_size") != found["vocab_size"]:
        raise CheckpointError(
            f"{path} needs a text tokenizer with {needed.get('vocab_size')} "
            f"tokens (source {needed.get('source')!r}); the local one has "
            f"{found['vocab_size']}"
        )
    try:
        model.load_state_dict(payload["state_dict"], strict=True)
    except RuntimeError as exc:
        raise CheckpointError(f"{path}: weights do not fit the rebuilt network: {exc}") from exc
    model.to(map_location).eval()
    meta = dict(payload.get("meta", {}))
    meta.update(config=config, text_encoder=needed, format_version=payload["format_version"])
    return model, meta


def _check_plain(value: Any, where: str) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, (str, int)):
                raise CheckpointError(f"meta {where}: key {key!r} must be str or int")
            _check_plain(item, f"{where}.{key}")
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            _check_plain(item, f"{where}[{i}]")
    elif not isinstance(value, _PLAIN):
        raise CheckpointError(
            f"meta {where} is a {type(value).__name__}; store plain data "
            "(str, numbers, bool, None, tensors, lists, dicts) so "
            "weights_only loading works"
        )

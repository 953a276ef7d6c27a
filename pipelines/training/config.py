"""Training configuration: a dataclass, read from YAML, overridden from the command line.

    cfg = load_train_config("configs/train_synth_tiny.yaml", ["epochs=3", "model_overrides.use_triplet=false"])

Overrides are ``key=value`` with ``value`` parsed as YAML (``3``, ``1e-4``, ``false``, ``[1, 2]``);
a dotted key goes into a dict field. The resolved config is saved next to the run's outputs and
inside every checkpoint as a plain dict (timm's ``args.yaml`` / nanoGPT's checkpoint ``config``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml


class TrainConfigError(ValueError):
    """A training config file or override is invalid; the message names the key."""


@dataclass
class TrainConfig:
    # --- data -----------------------------------------------------------------------------------
    # project folder, D³ "IMG_DIR::ANNO_DIR", refs "REFS::INSTANCES::IMG_DIR", "coca:DIR", ...;
    # or a list of them, trained on together (the paper trains on G-RefC + G-RefC+ + G-RefCg)
    data: str | list[str] = ""
    data_weights: list[float] = field(default_factory=list)  # per source of `data`; [] = equal
    val_data: str = ""  # same forms; empty = no held-out evaluation during training
    data_split: str = ""  # refs split to read (train / val / testA ...), empty = all
    val_split: str = ""
    cross_group_negatives: bool = True  # top up negatives from other groups (paper's 1:1)
    # --- model ----------------------------------------------------------------------------------
    model: str = "tiny"  # named variant of model.build (tiny / offline / paper)
    model_overrides: dict[str, Any] = field(default_factory=dict)  # GRSerConfig fields
    init_checkpoint: str = ""  # start from these weights (fine-tuning); resume is separate
    prior_bias_init: bool = True  # new models w/o mirror: mask-head bias = foreground log-odds
    # --- optimisation (paper Sec. 5.2: AdamW, wd 0.01, lr 5e-5, polynomial decay, batch 4) ------
    epochs: int = 80
    batch_size: int = 4  # GLOBAL groups per optimizer step: split over ranks x grad_accum_steps
    grad_accum_steps: int = 1  # forward/backward passes per optimizer step (same global batch)
    lr: float = 5e-5
    # The text encoder's lr as a fraction of ``lr`` (1 = the same). A pretrained MiniLM trained at
    # the new layers' rate collapsed: every expression and anti-expression to one vector.
    text_lr_scale: float = 1.0
    min_lr: float = 0.0
    lr_power: float = 0.9  # polynomial decay exponent
    warmup_steps: int = 0
    weight_decay: float = 0.01
    grad_clip: float = 1.0  # 0 = off
    # --- run ------------------------------------------------------------------------------------
    out_dir: str = "runs/grser"
    seed: int = 0
    resume: bool = True  # continue from out_dir/checkpoints/last.pt when it exists
    amp: str = "auto"  # auto (bf16 on CUDA, off on CPU) | bf16 | off
    compile: bool = False  # torch.compile the model
    num_threads: int = 0  # torch CPU threads; 0 = torch's default
    device: str = "auto"  # auto | cpu | cuda | cuda:1 ...
    log_every: int = 10  # steps between log lines / CSV rows
    eval_every: int = 1  # epochs between held-out evaluations (0 = only at the end)
    max_steps: int = 0  # stop after this many steps in total (0 = no cap)
    time_budget_s: float = 0.0  # stop at the next epoch end after this many seconds (0 = none)
    tensorboard: bool = True
    ddp_timeout_s: float = 1800.0  # collective timeout (NCCL / gloo); evaluation is distributed
    num_workers: int = 0  # DataLoader worker processes decoding images (0 = main process)
    pin_memory: bool = True  # page-locked batches for the copy to a GPU (ignored on CPU)
    cache_mb: int = 512  # per process: resized uint8 images kept in memory
    activation_checkpointing: bool = False  # recompute backbone activations in backward

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        for name in ("epochs", "batch_size", "grad_accum_steps"):
            if int(getattr(self, name)) < 1:
                raise TrainConfigError(f"{name} must be >= 1, got {getattr(self, name)!r}")
        if self.lr <= 0 or self.weight_decay < 0 or self.lr_power < 0:
            raise TrainConfigError("lr must be > 0, weight_decay and lr_power >= 0")
        if not 0 <= self.text_lr_scale <= 1:
            raise TrainConfigError(f"text_lr_scale must be in [0, 1], got {self.text_lr_scale!r}")
        if self.amp not in ("auto", "bf16", "off"):
            raise TrainConfigError(f"amp must be auto, bf16 or off, got {self.amp!r}")
        if self.num_workers < 0 or self.cache_mb < 0 or self.ddp_timeout_s <= 0:
            raise TrainConfigError("num_workers and cache_mb must be >= 0, ddp_timeout_s > 0")
        sources = self.sources
        if self.data_weights and len(self.data_weights) != len(sources):
            raise TrainConfigError(
                f"data_weights has {len(self.data_weights)} entries for {len(sources)} sources"
            )
        if any(float(w) < 0 for w in self.data_weights) or (
            self.data_weights and sum(float(w) for w in self.data_weights) <= 0
        ):
            raise TrainConfigError("data_weights must be >= 0 with a positive total")
        if not isinstance(self.model_overrides, dict):
            raise TrainConfigError("model_overrides must be a mapping of GRSerConfig fields")

    @property
    def sources(self) -> list[str]:
        """The training data specs, as a list (``data`` may be one string)."""
        if isinstance(self.data, str):
            return [self.data] if self.data else []
        return [str(d) for d in self.data]

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        fields = {f.name: f for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - set(fields))
        if unknown:
            raise TrainConfigError(
                f"unknown training config keys {unknown}; valid: {sorted(fields)}"
            )
        return cls(**{k: _coerce(k, fields[k].default, v) for k, v in data.items()})


def _coerce(name: str, default: Any, value: Any) -> Any:
    """Match a value to its field's default type (YAML reads ``2e-4`` as a string)."""
    if name == "data" and isinstance(value, (list, tuple)):
        return [str(v) for v in value]
    if name == "data_weights":
        if not isinstance(value, (list, tuple)):
            raise TrainConfigError(f"data_weights: {value!r} is not a list of numbers")
        try:
            return [float(v) for v in value]
        except (TypeError, ValueError):
            raise TrainConfigError(f"data_weights: {value!r} is not a list of numbers") from None
    try:
        if isinstance(default, bool):
            if isinstance(value, str) and value.lower() in ("true", "false", "yes", "no", "1", "0"):
                return value.lower() in ("true", "yes", "1")
            if not isinstance(value, bool):
                raise ValueError
            return value
        if isinstance(default, float) and not isinstance(value, bool):
            return float(value)
        if isinstance(default, int) and not isinstance(value, bool):
            if isinstance(value, float) and not value.is_integer():
                raise ValueError
            return int(value)
        if isinstance(default, str):
            return "" if value is None else str(value)
    except (TypeError, ValueError):
        raise TrainConfigError(
            f"{name}: {value!r} is not a valid {type(default).__name__}"
        ) from None
    return value


def apply_overrides(data: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """``key=value`` strings applied to a plain dict (values parsed as YAML)."""
    out = {k: (dict(v) if isinstance(v, dict) else v) for k, v in data.items()}
    for item in overrides:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise TrainConfigError(f"override {item!r} is not key=value")
        try:
            value = yaml.safe_load(raw) if raw.strip() else ""
        except yaml.YAMLError as exc:
            raise TrainConfigError(f"override {item!r}: value is not valid YAML ({exc})") from exc
        head, _, rest = key.strip().partition(".")
        if rest:
            out.setdefault(head, {})
            if not isinstance(out[head], dict):
                raise TrainConfigError(f"override {item!r}: {head} is not a mapping")
            out[head][rest] = value
        else:
            out[head] = value
    return out


def load_train_config(
    path: str | Path | None = None, overrides: list[str] | None = None
) -> TrainConfig:
    """Defaults <- YAML file (if any) <- overrides."""
    data: dict[str, Any] = {}
    if path:
        path = Path(path)
        if not path.exists():
            raise TrainConfigError(f"config file {path} does not exist")
        try:
            loaded = yaml.safe_load(path.read_text()) or {}
        except yaml.YAMLError as exc:
            raise TrainConfigError(f"{path} is not valid YAML: {exc}") from exc
        if not isinstance(loaded, dict):
            raise TrainConfigError(f"{path} must hold a mapping of config keys")
        data.update(loaded)
    data = apply_overrides(data, overrides or [])
    try:
        return TrainConfig.from_dict(data)
    except TypeError as exc:
        raise TrainConfigError(str(exc)) from exc


def save_train_config(cfg: TrainConfig, path: str | Path) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(yaml.safe_dump(cfg.to_dict(), sort_keys=False))
    tmp.replace(path)

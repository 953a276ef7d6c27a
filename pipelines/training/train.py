"""Train a GRSer on GRES groups: a plain loop you can read top to bottom (nanoGPT-style).

    grd train --config configs/train_synth_tiny.yaml data=runs/synth/train val_data=runs/synth/test
    torchrun --nproc_per_node 2 .venv/bin/grd train --config ...      # DDP, same script

Sections: setup (devices, DDP, seeds) -> data -> model -> optimizer -> resume -> loop (group
sampler, Eq. 6 objective with its t/T ramp, bf16 autocast on GPU, polynomial LR) -> checkpoints
(every epoch, self-describing, exact resume) -> held-out evaluation -> logs (CSV, TensorBoard).
Under DDP ``batch_size`` is global: every optimizer step takes ``batch_size`` groups over all
ranks and ``grad_accum_steps`` micro-steps (``sampler.step_plan``); epochs are padded so every
rank runs the same number of steps; BatchNorm buffers are broadcast from rank 0 after each epoch;
held-out evaluation is shared by all ranks (gathered, none idles waiting on another); collectives
time out after ``ddp_timeout_s``; at the end the ranks' weight digests are compared. Rank 0 writes
everything.
"""

from __future__ import annotations

import contextlib
import csv
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.distributed as dist

from pipelines.training.config import TrainConfig, save_train_config
from pipelines.training.sampler import step_plan

CSV_FIELDS = (
    "kind",
    "epoch",
    "step",
    "lr",
    "loss",
    "ce",
    "mirror",
    "triplet",
    "triplet_weight",
    "groups_per_s",
    "elapsed_s",
    "miou",
    "bar_miou",
    "r_neg",
    "giou",
    "ciou",
    "n_acc",
    "t_acc",
    "mae",
    "max_f",
    "s_measure",
    "mean_e",
)


# ------------------------------------------------------------------------ learning-rate schedule
def param_groups(model: torch.nn.Module, cfg: TrainConfig) -> list[dict]:
    """AdamW groups: weight decay on matrices only (not biases or norms), and the text encoder's
    parameters at ``cfg.text_lr_scale`` times the schedule's lr (``lr_scale`` of each group).
    With the scale at 1 the groups are the two they always were (decay, then no decay), so a run
    started before the scale existed resumes its optimizer state as it was."""
    groups: dict[tuple[bool, bool], list] = {}
    for name, param in model.named_parameters():
        if param.requires_grad:
            scaled = cfg.text_lr_scale != 1 and name.startswith("text_encoder.")
            no_decay = param.ndim < 2 or name.endswith(".bias")
            groups.setdefault((scaled, no_decay), []).append(param)
    return [
        {
            "params": params,
            "weight_decay": 0.0 if no_decay else cfg.weight_decay,
            "lr_scale": cfg.text_lr_scale if scaled else 1.0,
        }
        for (scaled, no_decay), params in sorted(groups.items())
    ]


def lr_at(
    step: int,
    total_steps: int,
    base_lr: float,
    power: float = 0.9,
    warmup_steps: int = 0,
    min_lr: float = 0.0,
) -> float:
    """Polynomial decay ``min_lr + (base - min_lr) * (1 - step / total) ** power`` after a linear
    warm-up; a pure function of the step (0-based)."""
    if warmup_steps and step < warmup_steps:
        return base_lr * (step + 1) / warmup_steps
    progress = min(max(step - warmup_steps, 0) / max(total_steps - warmup_steps, 1), 1.0)
    return min_lr + (base_lr - min_lr) * (1.0 - progress) ** power


# ------------------------------------------------------------------------ setup helpers
@dataclass
class Runtime:
    device: torch.device
    rank: int = 0
    world_size: int = 1
    amp_dtype: torch.dtype | None = None

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def setup_runtime(cfg: TrainConfig) -> Runtime:
    """Device, DDP process group (when launched by torchrun) and autocast dtype."""
    if cfg.num_threads > 0:
        torch.set_num_threads(cfg.num_threads)
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    if cfg.device == "auto":
        device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    else:
        device = torch.device(cfg.device)
    if world > 1:
        if device.type == "cuda":
            device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
            torch.cuda.set_device(device)
        if not dist.is_initialized():
            from datetime import timedelta

            dist.init_process_group(
                backend="nccl" if device.type == "cuda" else "gloo",
                timeout=timedelta(seconds=cfg.ddp_timeout_s),
            )
    amp = cfg.amp if cfg.amp != "auto" else ("bf16" if device.type == "cuda" else "off")
    return Runtime(device, rank, world, torch.bfloat16 if amp == "bf16" else None)


def build_model(cfg: TrainConfig):
    """The GRSer named by the config (or the one in ``init_checkpoint``), plus overrides."""
    from model.build import build_grser
    from model.checkpoint import load_checkpoint

    if cfg.init_checkpoint:
        model, _ = load_checkpoint(cfg.init_checkpoint)
        if cfg.model_overrides:
            # Only switches that keep the weights' shapes make sense when fine-tuning.
            model.config = model.config.replace(**cfg.model_overrides)
        model.train()
        return model
    return build_grser(cfg.model, **cfg.model_overrides)


def foreground_prior(groups, size: int, max_items: int = 256, seed: int = 0) -> float:
    """Share of foreground pixels over the positive images (at the model's input size)."""
    import numpy as np

    from pipelines.training.batching import resize_mask

    positives = [item for g in groups for item in g.positives]
    if not positives:
        return 0.5
    rng = np.random.default_rng(seed)
    picked = [positives[i] for i in rng.permutation(len(positives))[:max_items]]
    return float(np.mean([resize_mask(item.mask(), size).mean() for item in picked]))


def checkpoint_dir(cfg: TrainConfig) -> Path:
    return Path(cfg.out_dir) / "checkpoints"


def rng_state() -> dict:
    state = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = list(torch.cuda.get_rng_state_all())
    return state


def set_rng_state(state: dict) -> None:
    torch.set_rng_state(state["torch"].cpu())
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([s.cpu() for s in state["cuda"]])


def save_training_checkpoint(
    path: Path,
    model,
    optimizer,
    cfg: TrainConfig,
    epoch: int,
    step: int,
    metrics: dict | None = None,
) -> None:
    """Weights + config + everything exact resume needs (optimizer, step, epoch, RNG)."""
    from model.checkpoint import save_checkpoint

    clean = {
        k: float(v)
        for k, v in (metrics or {}).items()
        if isinstance(v, (int, float)) and not math.isnan(float(v))
    }
    save_checkpoint(
        path,
        model,
        model.config,
        epoch=epoch,
        step=step,
        optimizer_state=optimizer.state_dict(),
        rng_state=rng_state(),
        train_config=cfg.to_dict(),
        metrics=clean,
    )


class MetricLog:
    """Rows to ``metrics.csv`` (append, so a resumed run continues the file) and TensorBoard."""

    def __init__(self, out_dir: Path, tensorboard: bool, enabled: bool):
        self.enabled = enabled
        self.path = out_dir / "metrics.csv"
        self.writer = None
        if not enabled:
            return
        out_dir.mkdir(parents=True, exist_ok=True)
        if tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter

                self.writer = SummaryWriter(str(out_dir / "tensorboard"))
            except ImportError:  # tensorboard is optional; the CSV always exists
                self.writer = None

    def log(self, kind: str, step: int, row: dict) -> None:
        if not self.enabled:
            return
        new = not self.path.exists()
        with self.path.open("a", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=CSV_FIELDS, extrasaction="ignore")
            if new:
                writer.writeheader()
            writer.writerow({"kind": kind, "step": step, **row})
        if self.writer is not None:
            for key, value in row.items():
                if isinstance(value, (int, float)) and key not in ("epoch", "step"):
                    self.writer.add_scalar(f"{kind}/{key}", value, step)
            self.writer.flush()

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def sync_buffers(model: torch.nn.Module, rt: Runtime) -> None:
    """Broadcast every buffer (BatchNorm running statistics) from rank 0.

    DDP broadcasts buffers at the start of each forward, so after the last forward of an epoch
    each rank holds running statistics of its own shard: without this, ranks would evaluate and
    checkpoint different models.
    """
    if rt.world_size > 1:
        for buffer in model.buffers():
            dist.broadcast(buffer.data, src=0)


def state_digest(model: torch.nn.Module) -> str:
    """sha256 over every parameter and buffer (names, shapes, bytes): equal iff the weights are."""
    import hashlib

    digest = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        digest.update(name.encode())
        digest.update(str(tuple(tensor.shape)).encode())
        digest.update(tensor.detach().cpu().contiguous().view(-1).view(torch.uint8).numpy())
    return digest.hexdigest()


def check_ranks_agree(model: torch.nn.Module, step: int, rt: Runtime) -> list[dict]:
    """Every rank's (steps, weights digest); raises when the ranks diverged (a DDP bug)."""
    mine = {"rank": rt.rank, "steps": step, "weights_sha256": state_digest(model)}
    if rt.world_size == 1:
        return [mine]
    ranks: list = [None] * rt.world_size
    dist.all_gather_object(ranks, mine)
    if len({(r["steps"], r["weights_sha256"]) for r in ranks}) != 1:
        raise RuntimeError(f"DDP ranks diverged: {ranks}")
    return ranks


def load_training_data(cfg: TrainConfig) -> tuple[list, list[float] | None]:
    """The groups of every source of ``cfg.data`` and, with ``data_weights``, a sampling weight
    per group (its source's weight shared among the source's groups)."""
    from pipelines.training.datasets.load import load_groups

    groups, weights = [], []
    for index, spec in enumerate(cfg.sources):
        loaded = load_groups(spec, cfg.data_split)
        usable = max(sum(1 for g in loaded if g.positives), 1)
        share = (float(cfg.data_weights[index]) if cfg.data_weights else 1.0) / usable
        groups += loaded
        weights += [share] * len(loaded)
    return groups, (weights if cfg.data_weights else None)


def _reduce_mean(value: torch.Tensor, rt: Runtime) -> float:
    value = value.detach()
    if rt.world_size > 1:
        value = value.clone()
        dist.all_reduce(value)
        value /= rt.world_size
    return float(value)


# ------------------------------------------------------------------------ the training run
def train(
    cfg: TrainConfig,
    progress: bool = True,
    train_groups: list | None = None,
    val_groups: list | None = None,
) -> dict:
    """Run (or resume) a training; returns the final held-out report (empty without val data).

    ``train_groups`` / ``val_groups`` (lists of ``GresGroup``) replace ``cfg.data`` / ``cfg.val_data``
    when given, e.g. the feedback round's split of a project's complete expressions.
    """
    from model.losses import grser_loss
    from pipelines.training.datasets.load import load_groups
    from pipelines.training.evaluate import evaluate_groups, write_report
    from pipelines.training.loader import ShardedEpochs, make_loader, to_model_inputs

    # -- setup -------------------------------------------------------------------------------
    rt = setup_runtime(cfg)
    out_dir = Path(cfg.out_dir)
    torch.manual_seed(cfg.seed + rt.rank)
    if rt.is_main:
        save_train_config(cfg, out_dir / "config.yaml")

    # -- data ------------------------------------------------------------------------------------
    weights = None
    if train_groups is None:
        train_groups, weights = load_training_data(cfg)
    if val_groups is None:
        val_groups = load_groups(cfg.val_data, cfg.val_split) if cfg.val_data else []
    if not any(g.positives for g in train_groups):
        raise ValueError(f"{cfg.data}: no expression with a positive image to train on")
    plan = step_plan(
        sum(1 for g in train_groups if g.positives),
        cfg.batch_size,
        rt.world_size,
        cfg.grad_accum_steps,
    )

    # -- model -----------------------------------------------------------------------------------
    model = build_model(cfg)
    if cfg.prior_bias_init and not cfg.init_checkpoint and not model.config.use_mirror:
        # (with mirror training the same head also predicts 1 - Y, so the balanced prior is 0)
        # identical on every rank: the seed and the data are the same
        model.decoder.set_foreground_prior(
            foreground_prior(train_groups, model.config.image_size, seed=cfg.seed)
        )
    model = model.to(rt.device)
    config = model.config
    model.visual_encoder.checkpoint_activations = cfg.activation_checkpointing
    raw_model = model
    if cfg.compile:
        model = torch.compile(model)
    if rt.world_size > 1:
        model = torch.nn.parallel.DistributedDataParallel(
            model,
            device_ids=[rt.device.index] if rt.device.type == "cuda" else None,
            find_unused_parameters=True,
        )
    data = ShardedEpochs(
        train_groups,
        plan,
        rt.rank,
        config.image_size,
        config.group_size,
        cfg.seed,
        cfg.cross_group_negatives,
        cache_bytes=cfg.cache_mb * 2**20,
        weights=weights,
    )
    loader = make_loader(data, cfg.num_workers, cfg.pin_memory and rt.device.type == "cuda")

    # -- optimizer -------------------------------------------------------------------------------
    optimizer = torch.optim.AdamW(param_groups(raw_model, cfg), lr=cfg.lr)
    steps_per_epoch = plan.steps_per_epoch
    total_steps = cfg.epochs * steps_per_epoch

    # -- resume ----------------------------------------------------------------------------------
    start_epoch, step = 0, 0
    last = checkpoint_dir(cfg) / "last.pt"
    if cfg.resume and last.exists():
        from model.checkpoint import read_checkpoint

        payload = read_checkpoint(last)
        raw_model.load_state_dict(payload["state_dict"])
        meta = payload["meta"]
        scales = [group["lr_scale"] for group in optimizer.param_groups]
        optimizer.load_state_dict(meta["optimizer_state"])
        # loading replaces each group's settings with the saved ones; the config decides the
        # text encoder's share (a state saved before text_lr_scale existed has no lr_scale)
        for group, scale in zip(optimizer.param_groups, scales, strict=True):
            group["lr_scale"] = scale
        set_rng_state(meta["rng_state"])
        start_epoch, step = int(meta["epoch"]), int(meta["step"])
        if rt.is_main:
            print(f"resumed from {last}: epoch {start_epoch} done, step {step}")

    # -- loop ------------------------------------------------------------------------------------
    log = MetricLog(out_dir, cfg.tensorboard, rt.is_main)
    started = time.time()
    stop = False
    report: dict = {}
    epoch_done = start_epoch
    model.train()
    for epoch in range(start_epoch, cfg.epochs):
        loader.sampler.epoch = epoch
        micro_batches = iter(loader)
        bar = None
        if progress and rt.is_main:
            from tqdm import tqdm

            bar = tqdm(
                total=steps_per_epoch,
                desc=f"epoch {epoch + 1}/{cfg.epochs}",
                unit="step",
                dynamic_ncols=True,
            )
        window_t, window_groups = time.time(), 0
        done_batches = 0
        for _ in range(steps_per_epoch):
            lr = lr_at(step, total_steps, cfg.lr, cfg.lr_power, cfg.warmup_steps, cfg.min_lr)
            for group in optimizer.param_groups:
                group["lr"] = lr * group["lr_scale"]
            optimizer.zero_grad(set_to_none=True)
            totals: dict[str, torch.Tensor] = {}
            for k in range(plan.accum):
                images, targets, positive, expressions = to_model_inputs(
                    next(micro_batches), rt.device
                )
                # Only the last micro-step all-reduces gradients (DDP's no_sync on the others).
                sync = k == plan.accum - 1 or rt.world_size == 1
                context = model.no_sync() if not sync else contextlib.nullcontext()
                with context:
                    with torch.autocast(
                        device_type=rt.device.type,
                        dtype=rt.amp_dtype,
                        enabled=rt.amp_dtype is not None,
                    ):
                        outputs = model(images, expressions, mirror=config.use_mirror)
                    # Eq. 6: t counts epochs from 1, so the first epoch already weighs 1/T.
                    losses = grser_loss(outputs, targets, positive, epoch + 1, cfg.epochs, config)
                    (losses["total"] / plan.accum).backward()
                for key, value in losses.items():
                    totals[key] = totals.get(key, 0.0) + value.detach() / plan.accum
            losses = totals
            if cfg.grad_clip > 0:
                torch.nn.utils.clip_grad_norm_(raw_model.parameters(), cfg.grad_clip)
            optimizer.step()
            step += 1
            done_batches += 1
            window_groups += plan.batch_size
            if bar is not None:
                bar.update(1)
                bar.set_postfix(loss=f"{float(losses['total']):.3f}", lr=f"{lr:.2e}")
            if step % cfg.log_every == 0 or step == total_steps:
                now = time.time()
                row = {k: _reduce_mean(v, rt) for k, v in losses.items()}
                row["loss"] = row.pop("total")
                row.update(
                    epoch=epoch + 1,
                    lr=lr,
                    elapsed_s=now - started,
                    groups_per_s=window_groups / max(now - window_t, 1e-9),
                )
                log.log("train", step, row)
                window_t, window_groups = now, 0
            if cfg.max_steps and step >= cfg.max_steps:
                stop = True
                break
        if bar is not None:
            bar.close()
        del micro_batches
        sync_buffers(raw_model, rt)
        completed = done_batches == steps_per_epoch
        epoch_done = epoch + 1 if completed else epoch
        # -- checkpoint (every completed epoch; an interrupted epoch is replayed on resume) -----
        if rt.is_main and completed:
            save_training_checkpoint(last, raw_model, optimizer, cfg, epoch_done, step)
        # -- held-out evaluation -------------------------------------------------------------
        over_budget = bool(cfg.time_budget_s and time.time() - started > cfg.time_budget_s)
        if rt.world_size > 1:  # every rank must take the same branch: rank 0's clock decides
            flag = torch.tensor([int(over_budget)], device=rt.device)
            dist.broadcast(flag, src=0)
            over_budget = bool(flag.item())
        final = stop or epoch + 1 == cfg.epochs or over_budget
        periodic = cfg.eval_every and (epoch + 1) % cfg.eval_every == 0
        if val_groups and (final or periodic):
            # every rank scores its share; the records are gathered (no rank idles at a barrier)
            report = evaluate_groups(
                raw_model, val_groups, config.group_size, rt.device, rt.amp_dtype
            )
            log.log("val", step, {"epoch": epoch + 1, **report})
            if rt.is_main:
                print(
                    f"epoch {epoch + 1}: bar-mIoU {report['bar_miou']:.4f} "
                    f"[{report['bar_miou_ci_low']:.4f}, {report['bar_miou_ci_high']:.4f}] "
                    f"(all-negative {report['baseline_all_negative']:.4f})  "
                    f"mIoU {report['miou']:.4f}  R_neg {report['r_neg']:.4f}  "
                    f"AUC {report['auc']:.4f}"
                )
        if final:
            break
    # -- wrap up -------------------------------------------------------------------------------
    ranks = check_ranks_agree(raw_model, step, rt)
    if rt.is_main:
        save_training_checkpoint(
            checkpoint_dir(cfg) / "final.pt", raw_model, optimizer, cfg, epoch_done, step, report
        )
        summary = {
            "steps": step,
            "epochs_done": epoch_done,
            "train_seconds": time.time() - started,
            "groups": len(train_groups),
            "world_size": rt.world_size,
            "ranks": ranks,
            "steps_per_epoch": steps_per_epoch,
            "model": config.name,
            "report": report,
        }
        write_report(summary, out_dir / "summary.json")
    log.close()
    if rt.world_size > 1:
        dist.barrier()
        dist.destroy_process_group()
    return report

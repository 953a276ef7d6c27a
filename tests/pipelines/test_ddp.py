"""DDP that cannot hang: equal steps on every rank, a global batch, identical weights, and an
evaluation every rank shares. Two gloo ranks on CPU (torch.multiprocessing spawn), tiny model."""

from __future__ import annotations

import json
import socket

import pytest
import torch.multiprocessing as mp

from pipelines.training.sampler import TrainingGroup, shard_epoch, step_plan

# 5 image groups, 9 expressions with a positive: with a per-rank batch of 2 on 2 ranks
# the old split gave one rank 3 steps and the other 2 (the hang of issue #18).
DATA = "synth:0:5:4:0:1:64"
VAL = "synth:1:2:4:10:1:64"


def _groups(n):
    return [TrainingGroup(f"e{i}", ()) for i in range(n)]


def test_step_plan_gives_every_rank_the_same_steps():
    for n_groups in range(1, 40):
        for world, accum in ((1, 1), (2, 1), (2, 2), (4, 1), (8, 1)):
            batch = world * accum * 2
            plan = step_plan(n_groups, batch, world, accum)
            shards = [shard_epoch(_groups(n_groups), plan, r) for r in range(world)]
            assert {len(s) for s in shards} == {plan.steps_per_epoch}
            for shard in shards:
                assert all(len(step) == accum for step in shard)
                assert all(len(micro) == plan.micro for step in shard for micro in step)
            seen = {g.expression for s in shards for step in s for m in step for g in m}
            assert seen == {f"e{i}" for i in range(n_groups)}  # padding drops nothing


def test_global_batch_must_split_evenly():
    with pytest.raises(ValueError, match="multiple of ranks x grad_accum_steps = 2 x 2 = 4"):
        step_plan(10, 6, world=2, accum=2)
    assert step_plan(10, 8, world=2, accum=2).micro == 2


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _rank_main(rank, world, port, overrides, out_path):
    import os

    os.environ.update(
        MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE=str(world)
    )
    from pipelines.training.config import load_train_config
    from pipelines.training.train import train

    cfg = load_train_config(None, overrides)
    report = train(cfg, progress=False)
    clean = {k: v for k, v in report.items() if isinstance(v, (int, float, list, str))}
    with open(f"{out_path}.{rank}.json", "w") as f:
        json.dump(clean, f)


def _spawn(tmp_path, overrides, world=2):
    out_path = str(tmp_path / "rank")
    mp.spawn(_rank_main, args=(world, _free_port(), overrides, out_path), nprocs=world, join=True)
    return [json.loads((tmp_path / f"rank.{r}.json").read_text()) for r in range(world)]


def _base(tmp_path, **extra):
    items = {
        "data": DATA,
        "model": "tiny",
        "epochs": 2,
        "batch_size": 4,
        "num_threads": 1,
        "tensorboard": "false",
        "log_every": 1,
        "device": "cpu",
        "ddp_timeout_s": 120,
        "out_dir": str(tmp_path / "run"),
        "model_overrides.group_size": 4,
        **extra,
    }
    return [f"{k}={v}" for k, v in items.items()]


def test_two_ranks_with_uneven_shards_finish_with_identical_steps_and_weights(tmp_path):
    _spawn(tmp_path, _base(tmp_path, grad_accum_steps=2))
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    ranks = summary["ranks"]
    assert [r["rank"] for r in ranks] == [0, 1]
    assert ranks[0]["steps"] == ranks[1]["steps"] == 2 * 3  # ceil(9 / 4) steps x 2 epochs
    assert ranks[0]["weights_sha256"] == ranks[1]["weights_sha256"]
    assert summary["steps_per_epoch"] == 3 and summary["world_size"] == 2


def test_evaluation_is_shared_by_the_ranks_not_run_on_rank_0_alone(tmp_path):
    reports = _spawn(tmp_path, _base(tmp_path, val_data=VAL, epochs=1))
    a, b = reports
    assert len(a["samples_per_rank"]) == 2 and min(a["samples_per_rank"]) > 0
    assert sum(a["samples_per_rank"]) == a["n_samples"]
    # every rank returns the same gathered report
    for key in ("bar_miou", "miou", "r_neg", "auc", "mae", "max_f", "n_samples"):
        assert a[key] == pytest.approx(b[key], rel=1e-9, nan_ok=True), key

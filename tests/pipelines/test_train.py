"""Training loop: LR schedule, a few real steps, exact resume, and the CLI end to end (tiny model)."""

import json

import pytest
import torch
from typer.testing import CliRunner

from pipelines.training.config import TrainConfig, TrainConfigError, load_train_config
from pipelines.training.train import lr_at, train

DATA = "synth:0:2:4:0:1:64"  # 2 image groups x 4 images, level 1, 64 px: 6 expressions


def tiny_cfg(tmp_path, name, **kw):
    base = dict(
        data=DATA,
        model="tiny",
        epochs=2,
        batch_size=2,
        lr=1e-3,
        out_dir=str(tmp_path / name),
        log_every=1,
        num_threads=1,
        tensorboard=False,
        model_overrides={"group_size": 4},
    )
    base.update(kw)
    return TrainConfig(**base)


def test_lr_schedule_is_polynomial_with_warmup():
    assert lr_at(0, 100, 1.0, power=1.0) == 1.0
    assert lr_at(50, 100, 1.0, power=1.0) == pytest.approx(0.5)
    assert lr_at(100, 100, 1.0, power=1.0) == 0.0
    assert lr_at(50, 100, 1.0, power=2.0) == pytest.approx(0.25)
    assert lr_at(0, 100, 1.0, warmup_steps=10) == pytest.approx(0.1)
    assert lr_at(10, 100, 1.0, power=1.0, warmup_steps=10) == 1.0
    assert lr_at(100, 100, 1.0, min_lr=0.1) == pytest.approx(0.1)


def test_config_yaml_and_overrides(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("epochs: 3\nmodel: tiny\nmodel_overrides:\n  use_mirror: false\n")
    cfg = load_train_config(path, ["epochs=5", "lr=2e-4", "model_overrides.use_triplet=false"])
    assert cfg.epochs == 5 and cfg.lr == 2e-4
    assert cfg.model_overrides == {"use_mirror": False, "use_triplet": False}
    with pytest.raises(TrainConfigError, match="epoch"):
        load_train_config(None, ["epoch=3"])  # a typo must not pass silently
    with pytest.raises(TrainConfigError, match="key=value"):
        load_train_config(None, ["epochs"])


def _weights(path):
    from model.checkpoint import read_checkpoint

    return read_checkpoint(path)["state_dict"]


def test_training_runs_logs_and_resumes_exactly(tmp_path):
    straight = tiny_cfg(tmp_path, "straight")
    train(straight, progress=False)
    rows = (tmp_path / "straight" / "metrics.csv").read_text().splitlines()
    assert rows[0].startswith("kind,epoch,step,lr,loss") and len(rows) > 3
    first_loss = float(rows[1].split(",")[4])
    assert first_loss == first_loss and first_loss > 0  # finite, positive

    # same run, interrupted after epoch 1 (3 steps), then resumed from last.pt
    split = tiny_cfg(tmp_path, "split", max_steps=3)
    train(split, progress=False)
    from model.checkpoint import read_checkpoint

    assert read_checkpoint(tmp_path / "split" / "checkpoints" / "last.pt")["meta"]["epoch"] == 1
    train(tiny_cfg(tmp_path, "split"), progress=False)
    a = _weights(tmp_path / "straight" / "checkpoints" / "last.pt")
    b = _weights(tmp_path / "split" / "checkpoints" / "last.pt")
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)
    # a run saved before text_lr_scale existed (its optimizer groups have no lr_scale) resumes too
    older = tiny_cfg(tmp_path, "older", max_steps=3)
    train(older, progress=False)
    path = tmp_path / "older" / "checkpoints" / "last.pt"
    payload = read_checkpoint(path)
    for group in payload["meta"]["optimizer_state"]["param_groups"]:
        del group["lr_scale"]
    torch.save(payload, path)
    train(tiny_cfg(tmp_path, "older"), progress=False)
    c = _weights(tmp_path / "older" / "checkpoints" / "last.pt")
    assert all(torch.equal(a[k], c[k]) for k in a)
    # and training changed the weights at all
    init = tiny_cfg(tmp_path, "none", max_steps=1, epochs=1)
    train(init, progress=False)
    d = _weights(tmp_path / "none" / "checkpoints" / "final.pt")
    assert any(not torch.equal(a[k], d[k]) for k in a if a[k].is_floating_point())


def test_text_lr_scale_holds_the_text_encoder_while_the_rest_trains(tmp_path):
    train(tiny_cfg(tmp_path, "start", max_steps=1, epochs=1), progress=False)
    start = tmp_path / "start" / "checkpoints" / "final.pt"
    tuned = tiny_cfg(tmp_path, "tuned", init_checkpoint=str(start), text_lr_scale=0.0, epochs=1)
    train(tuned, progress=False)
    a, b = _weights(start), _weights(tmp_path / "tuned" / "checkpoints" / "final.pt")
    text = [k for k in a if k.startswith("text_encoder.") and a[k].is_floating_point()]
    rest = [k for k in a if not k.startswith("text_encoder.") and a[k].is_floating_point()]
    assert text and all(torch.equal(a[k], b[k]) for k in text)
    assert any(not torch.equal(a[k], b[k]) for k in rest)
    with pytest.raises(TrainConfigError, match="text_lr_scale"):
        tiny_cfg(tmp_path, "bad", text_lr_scale=2.0)


def test_cli_synth_train_evaluate_end_to_end(tmp_path):
    from pipelines.cli import app

    runner = CliRunner()
    project, held = tmp_path / "train", tmp_path / "test"
    res = runner.invoke(
        app,
        [
            "synth",
            str(project),
            "--groups",
            "2",
            "--images-per-group",
            "4",
            "--image-size",
            "64",
            "--level",
            "1",
            "--holdout",
            str(held),
            "--holdout-groups",
            "1",
        ],
    )
    assert res.exit_code == 0, res.output
    out = tmp_path / "run"
    res = runner.invoke(
        app,
        [
            "train",
            f"data={project}",
            f"val_data={held}",
            "model=tiny",
            "epochs=1",
            "batch_size=2",
            "num_threads=1",
            "tensorboard=false",
            f"out_dir={out}",
            "model_overrides.group_size=4",
            "--quiet",
        ],
    )
    assert res.exit_code == 0, res.output
    assert "bar-mIoU" in res.output
    report_path, visuals = tmp_path / "report.json", tmp_path / "vis"
    res = runner.invoke(
        app,
        [
            "evaluate",
            str(out / "checkpoints" / "final.pt"),
            str(held),
            "--out",
            str(report_path),
            "--save-visuals",
            str(visuals),
        ],
    )
    assert res.exit_code == 0, res.output
    report = json.loads(report_path.read_text())
    assert report["n_positives"] == report["n_negatives"] > 0  # the paper's 1:1 test setting
    assert 0.0 <= report["bar_miou"] <= 1.0 and report["TP"] + report["FN"] == report["n_positives"]
    assert len(list(visuals.glob("*.png"))) == report["n_samples"]


def test_cli_reports_bad_input_without_traceback(tmp_path):
    from pipelines.cli import app

    res = CliRunner().invoke(app, ["train", "data=" + str(tmp_path / "nothing"), "model=tiny"])
    assert res.exit_code == 1 and "cannot read" in res.output
    res = CliRunner().invoke(app, ["train", "bogus=1"])
    assert res.exit_code == 1 and "unknown training config keys" in res.output


@pytest.mark.slow
def test_torchrun_ddp_two_cpu_processes(tmp_path):
    """The same `grd train` under torchrun: two gloo ranks share each epoch, rank 0 writes."""
    import subprocess
    import sys
    from pathlib import Path

    bin_dir = Path(sys.executable).parent
    torchrun, grd = bin_dir / "torchrun", bin_dir / "grd"
    if not torchrun.exists() or not grd.exists():
        pytest.skip("torchrun / grd console scripts not installed next to this Python")
    out = tmp_path / "ddp"
    cmd = [
        str(torchrun),
        "--standalone",
        "--nproc_per_node",
        "2",
        str(grd),
        "train",
        f"data={DATA}",
        "model=tiny",
        "epochs=1",
        "batch_size=2",  # global: one group per rank
        "num_threads=1",
        f"out_dir={out}",
        "model_overrides.group_size=4",
        "log_every=1",
        "tensorboard=false",
        "--quiet",
    ]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    rows = (out / "metrics.csv").read_text().splitlines()[1:]
    assert rows and all(r.startswith("train,1,") for r in rows)
    assert (out / "checkpoints" / "last.pt").exists()


@pytest.mark.parametrize("bias, r_neg, t_acc", [(10.0, 0.0, 1.0), (-10.0, 1.0, 0.0)])
def test_evaluation_without_presence_rule_follows_the_mask(bias, r_neg, t_acc):
    """apply_presence=False (the w/o-triplet setting): positive iff the mask is non-empty."""
    from model.build import build_grser
    from pipelines.training.datasets.load import load_groups
    from pipelines.training.evaluate import evaluate_groups

    torch.manual_seed(0)
    model = build_grser("tiny", apply_presence=False)
    with torch.no_grad():
        model.decoder.head.bias.fill_(bias)  # everything foreground / everything background
        model.decoder.head.weight.zero_()
    report = evaluate_groups(model, load_groups(DATA), balance=True)
    assert report["r_neg"] == r_neg and report["t_acc"] == t_acc
    assert report["bar_miou"] < 0.5 if bias > 0 else report["bar_miou"] == 0.5

"""Checkpoints: round trip, self-description, exact resume, safe loading, small tiny files."""

from __future__ import annotations

import pytest
import torch

from model import CheckpointError, GRSerConfig, grser_loss, load_checkpoint, save_checkpoint
from model.checkpoint import read_checkpoint
from tests.model.conftest import make_tiny, synthetic_groups


def test_round_trip_gives_identical_outputs(tmp_path, tiny_model):
    images, _, _, expressions = synthetic_groups(batch=1, n=4)
    with torch.no_grad():
        tiny_model.neck.lateral16.bias.add_(0.5)  # weights that a fresh build would not have
    path = save_checkpoint(
        tmp_path / "ckpt" / "tiny.pt",
        tiny_model,
        tiny_model.config,
        epoch=3,
        step=120,
        metrics={"bar_miou": 0.5},
        dataset_version="v1",
    )
    loaded, meta = load_checkpoint(path)
    assert not loaded.training
    assert meta["epoch"] == 3 and meta["step"] == 120 and meta["metrics"] == {"bar_miou": 0.5}
    assert isinstance(meta["config"], GRSerConfig) and meta["config"] == tiny_model.config
    assert meta["text_encoder"]["init"] == "random" and meta["text_encoder"]["hidden_size"] == 16
    tiny_model.eval()
    with torch.no_grad():
        a, b = tiny_model(images, expressions), loaded(images, expressions)
    torch.testing.assert_close(a["mask_logits"], b["mask_logits"])
    torch.testing.assert_close(a["presence_score"], b["presence_score"])


def test_checkpoint_records_ablation_switches(tmp_path):
    model = make_tiny(use_tqm=False, hierarchizer_test="pos", margin=0.5)
    loaded, meta = load_checkpoint(save_checkpoint(tmp_path / "a.pt", model))
    assert loaded.config.use_tqm is False and loaded.config.hierarchizer_test == "pos"
    assert loaded.config.margin == 0.5


def test_tiny_checkpoint_is_small(tmp_path, tiny_model):
    path = save_checkpoint(tmp_path / "tiny.pt", tiny_model)
    assert path.stat().st_size < 4_000_000


def test_optimizer_state_resumes_exactly(tmp_path):
    batch = synthetic_groups(batch=1, n=4)

    def step(model, opt):
        images, targets, positive, expressions = batch
        torch.manual_seed(7)  # same dropout masks in both runs
        opt.zero_grad()
        out = model(images, expressions, mirror=True)
        grser_loss(out, targets, positive, 1, 2, model.config)["total"].backward()
        opt.step()

    model = make_tiny()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    step(model, opt)
    path = save_checkpoint(tmp_path / "resume.pt", model, optimizer_state=opt.state_dict(), step=1)
    step(model, opt)  # the run that continued without interruption

    resumed, meta = load_checkpoint(path)
    resumed.train()
    opt2 = torch.optim.AdamW(resumed.parameters(), lr=1e-3)
    opt2.load_state_dict(meta["optimizer_state"])
    step(resumed, opt2)
    for (name, a), b in zip(model.state_dict().items(), resumed.state_dict().values()):
        torch.testing.assert_close(a, b, msg=name)


def test_meta_must_be_plain_data(tmp_path, tiny_model):
    with pytest.raises(CheckpointError, match="plain data"):
        save_checkpoint(tmp_path / "x.pt", tiny_model, note=object())
    assert not list(tmp_path.iterdir())  # nothing half-written


class _Payload:
    def __reduce__(self):
        return (print, ("this must never run",))


def test_loading_refuses_pickled_code(tmp_path):
    path = tmp_path / "evil.pt"
    torch.save({"format": "grser", "format_version": 1, "x": _Payload()}, path)
    with pytest.raises(
        CheckpointError, match=r"refused to load this checkpoint: it names (builtins\.)?print,"
    ):
        load_checkpoint(path)


def test_foreign_files_are_rejected(tmp_path):
    plain = tmp_path / "other.pt"
    torch.save({"weights": torch.zeros(2)}, plain)
    with pytest.raises(CheckpointError, match="not a GRSer checkpoint"):
        read_checkpoint(plain)
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"definitely not a checkpoint")
    with pytest.raises(CheckpointError):
        load_checkpoint(junk)


def test_weights_that_do_not_fit_are_reported(tmp_path, tiny_model):
    path = save_checkpoint(tmp_path / "tiny.pt", tiny_model)
    payload = torch.load(path, weights_only=True)
    payload["config"]["c_v"] = 48  # config now describes another network
    torch.save(payload, path)
    with pytest.raises(CheckpointError, match="do not fit"):
        load_checkpoint(path)

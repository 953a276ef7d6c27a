"""bench/synth_benchmark.py: each Table 5 row removes one design from the paper's full model, and a
finished run is reused by the same protocol (so an interrupted benchmark resumes) but not by
another one, and a recipe chosen on validation is scored on test from the same checkpoint."""

from __future__ import annotations

import json

import pytest

import bench.synth_benchmark as synth_benchmark
from pipelines.training import train as train_module
from pipelines.training.ablate import TABLE5

PROTOCOL = {"data_seed": 0, "groups": 2, "val_groups": 1, "test_groups": 1, "images": 4}
FAST = ["epochs=1", "model_overrides.image_size=64", "num_threads=1"]


def _row(label: str) -> dict:
    return dict(TABLE5)[label]


def _trained_mirror(run_dir) -> bool:
    import yaml

    return yaml.safe_load((run_dir / "config.yaml").read_text())["model_overrides"]["use_mirror"]


def test_a_run_is_saved_and_reused_by_the_same_protocol_only(tmp_path, monkeypatch):
    result = synth_benchmark.run_one("Full model", _row("Full model"), 0, tmp_path, FAST, PROTOCOL)
    saved = json.loads((tmp_path / "full-model" / "seed0" / "result.json").read_text())
    assert saved["result"] == result
    assert 0.0 <= result["bar_miou"] <= 1.0 and result["seed"] == 0
    # the paper's full model trains with mirror training on, although the CPU config turns it off
    assert _trained_mirror(tmp_path / "full-model" / "seed0") is True

    def no_training(*args, **kwargs):
        raise AssertionError("a finished run was trained again")

    monkeypatch.setattr(train_module, "train", no_training)
    again = synth_benchmark.run_one("Full model", _row("Full model"), 0, tmp_path, FAST, PROTOCOL)
    assert again == result
    with pytest.raises(AssertionError, match="trained again"):
        synth_benchmark.run_one(
            "Full model", _row("Full model"), 0, tmp_path, FAST, {**PROTOCOL, "data_seed": 1}
        )
    with pytest.raises(AssertionError, match="trained again"):
        synth_benchmark.run_one(
            "Full model", _row("Full model"), 0, tmp_path, [*FAST, "lr=0.01"], PROTOCOL
        )


def test_the_mirror_row_differs_from_the_full_model_in_mirror_training_only(tmp_path):
    synth_benchmark.run_one("w/o MirrorT", _row("w/o MirrorT"), 0, tmp_path, FAST, PROTOCOL)
    assert _trained_mirror(tmp_path / "w-o-mirrort" / "seed0") is False
    for label, overrides in TABLE5:
        options = {**synth_benchmark.FULL_MODEL, **overrides}
        removed = {k for k, v in options.items() if synth_benchmark.FULL_MODEL.get(k, v) != v}
        assert ("use_mirror" in removed) == (label == "w/o MirrorT"), label


def test_a_recipe_is_chosen_on_validation_and_its_checkpoint_then_scored_on_test(
    tmp_path, monkeypatch
):
    from pipelines.training import evaluate as evaluate_module

    scored = []
    evaluate_groups = evaluate_module.evaluate_groups

    def spy(model, groups, *args, **kwargs):
        scored.append(groups)
        return evaluate_groups(model, groups, *args, **kwargs)

    monkeypatch.setattr(evaluate_module, "evaluate_groups", spy)
    row = _row("Full model")
    splits = synth_benchmark.make_splits(**PROTOCOL)
    chosen = synth_benchmark.run_one("Full model", row, 0, tmp_path, FAST, PROTOCOL, "validation")
    run_dir = tmp_path / "full-model" / "seed0"
    assert (run_dir / "result-validation.json").is_file() and not (run_dir / "result.json").exists()
    # choosing a recipe never looks at the test split
    assert scored and all(groups is splits["validation"] for groups in scored)
    assert 0.0 <= chosen["bar_miou"] <= 1.0

    def no_training(*args, **kwargs):
        raise AssertionError("a trained checkpoint was trained again")

    monkeypatch.setattr(train_module, "train", no_training)
    scored.clear()
    test = synth_benchmark.run_one("Full model", row, 0, tmp_path, FAST, PROTOCOL)
    assert scored[-1] is splits["test"] and (run_dir / "result.json").is_file()
    assert test["n_samples"] > 0

"""Several training sources with weights, the CoCA reader, G-RefC counts next to the paper's."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from pipelines.training.config import TrainConfigError, load_train_config
from pipelines.training.datasets.load import load_groups
from pipelines.training.datasets.refcoco import compare_with_paper
from pipelines.training.sampler import sample_epoch


def test_several_sources_with_weights_from_the_command_line():
    cfg = load_train_config(None, ["data=[synth:0:2:4, synth:1:2:4]", "data_weights=[1, 3]"])
    assert cfg.sources == ["synth:0:2:4", "synth:1:2:4"] and cfg.data_weights == [1.0, 3.0]
    assert load_train_config(None, ["data=synth:0:2:4"]).sources == ["synth:0:2:4"]
    with pytest.raises(TrainConfigError, match="2 sources"):
        load_train_config(None, ["data=[a, b]", "data_weights=[1]"])
    with pytest.raises(TrainConfigError, match=">= 0"):
        load_train_config(None, ["data=[a, b]", "data_weights=[1, -1]"])


def test_weights_decide_how_often_a_source_is_drawn():
    from pipelines.training.train import load_training_data

    cfg = load_train_config(
        None, ["data=[synth:0:2:4:0:1:48, synth:1:2:4:50:1:48]", "data_weights=[1, 9]"]
    )
    groups, weights = load_training_data(cfg)
    second = {g.expression + g.name for g in groups[len(groups) // 2 :]}
    drawn = [t for e in range(40) for t in sample_epoch(groups, 4, 0, e, weights=weights)]
    share = np.mean([any(t.expression + g.name in second for g in groups[len(groups) // 2 :])
                     for t in drawn])  # fmt: skip
    assert len(drawn) == 40 * sum(1 for g in groups if g.positives)
    assert share > 0.75  # 90 % expected
    plain = sample_epoch(groups, 4, 0, 0)
    assert sorted(t.expression for t in plain) == sorted(
        g.expression for g in groups if g.positives
    )


def test_coca_reader(tmp_path):
    for cls, masks in {"rubber_eraser": [True, False], "accordion": [True]}.items():
        (tmp_path / "image" / cls).mkdir(parents=True)
        (tmp_path / "binary" / cls).mkdir(parents=True)
        for k, has_object in enumerate(masks):
            Image.fromarray(np.zeros((6, 8, 3), np.uint8)).save(
                tmp_path / "image" / cls / f"{k}.jpg"
            )
            gt = np.zeros((6, 8), np.uint8)
            if has_object:
                gt[1:3, 2:5] = 255
            Image.fromarray(gt).save(tmp_path / "binary" / cls / f"{k}.png")
    groups = load_groups(f"coca:{tmp_path}")
    assert [(g.expression, len(g.positives), len(g.negatives)) for g in groups] == [
        ("accordion", 1, 0),
        ("rubber eraser", 1, 1),
    ]
    assert groups[1].positives[0].mask().sum() == 6
    (tmp_path / "binary" / "accordion" / "0.png").unlink()
    with pytest.raises(Exception, match="no ground truth"):
        load_groups(f"coca:{tmp_path}")


def test_group_counts_are_compared_with_the_paper():
    line = compare_with_paper("/data/refcoco/refs(unc).p", 8700, "train")
    assert "G-RefC" in line and "8717" in line and "8700" in line
    assert "8020" in compare_with_paper("/data/refcoco+/refs(unc).p", 1, None)
    assert "2451" in compare_with_paper("/data/refcocog/refs(umd).p", 1, None)
    assert "not compared" in compare_with_paper("/data/other/refs.p", 1, None)


def test_grd_train_on_two_weighted_sources(tmp_path):
    from typer.testing import CliRunner

    from pipelines.cli import app

    res = CliRunner().invoke(
        app,
        ["train", "data=[synth:0:2:4:0:1:48, synth:1:2:4:50:1:48]", "data_weights=[1, 2]",
         "model=tiny", "epochs=1", "batch_size=2", "max_steps=2", "num_threads=1",
         "tensorboard=false", f"out_dir={tmp_path}", "model_overrides.group_size=4", "--quiet"],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    assert (tmp_path / "checkpoints" / "final.pt").exists()

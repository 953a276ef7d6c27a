"""Ablation sweeps: the paper's switches map to GRSerConfig overrides, tables in the paper's layout."""

import pytest

from model.config import GRSerConfig
from pipelines.training.ablate import TABLES, format_ablation_table, run_table, slug, variant_config
from pipelines.training.config import TrainConfig


def test_every_row_is_a_valid_model_config():
    for rows in TABLES.values():
        for _, overrides in rows:
            GRSerConfig().replace(**overrides)  # raises on an unknown or invalid switch
    # w/o TriLoss changes one thing: the presence rule stays on
    assert dict(TABLES[5])["w/o TriLoss"] == {"use_triplet": False}
    assert dict(TABLES[5])["w/o presence rule"] == {"apply_presence": False}
    assert [o["group_size"] for _, o in TABLES[6]] == [1, 3, 5, 8]
    # N = 1 is the w/o-TQM model at N = 1
    assert dict(TABLES[6])["N = 1"] == {"group_size": 1, **dict(TABLES[5])["w/o TQM"]}


def test_variants_train_into_separate_folders_with_merged_overrides(tmp_path):
    base = TrainConfig(
        data="d",
        val_data="v",
        out_dir=str(tmp_path),
        model_overrides={"group_size": 8, "use_mirror": True},
    )
    cfg = variant_config(base, "w/o MirrorT", {"use_mirror": False})
    assert cfg.model_overrides == {"group_size": 8, "use_mirror": False}
    assert cfg.out_dir == str(tmp_path / "w-o-mirrort")
    assert base.model_overrides["use_mirror"] is True  # the base config is not mutated


def test_run_table_selects_rows_and_formats_like_the_paper(tmp_path):
    seen = []

    def fake_train(cfg, progress=True):
        seen.append(cfg.model_overrides)
        no_tri = cfg.model_overrides.get("use_triplet") is False
        return {
            "bar_miou": 0.3 if no_tri else 0.75,
            "r_neg": 0.0 if no_tri else 0.95,
            "mean_e": 0.5,
            "miou": 0.6,
        }

    base = TrainConfig(data="d", val_data="v", out_dir=str(tmp_path))
    results = run_table(base, 5, rows=["w/o TriLoss", "Full model"], train_fn=fake_train)
    assert [label for label, _ in results] == ["w/o TriLoss", "Full model"]
    assert seen == [{"use_triplet": False}, {}]
    text = format_ablation_table(5, results)
    lines = text.splitlines()
    assert "R_neg" in lines[1]
    # bar-mIoU, CI, all-negative baseline, E_xi, R_neg, T-acc, AUC, mIoU ("-" where not given)
    assert lines[2].split()[2:] == ["30.00", "-", "-", "0.500", "0.00", "-", "-", "60.00"]
    assert "all-neg" in lines[1] and "AUC" in lines[1] and "T-acc" in lines[1]
    assert slug("N = 8 (*)") == "n-8"
    with pytest.raises(ValueError, match="val_data"):
        run_table(TrainConfig(data="d"), 5, train_fn=fake_train)

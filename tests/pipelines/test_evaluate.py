"""Evaluation protocol: label-blind grouping, thresholds without re-running, intervals, AUC."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from pipelines.training.datasets.base import GresGroup, GresItem
from pipelines.training.evaluate import SampleRecord, eval_chunks, summarize, sweep_thresholds
from pipelines.training.stats import all_negative_bar_miou, cluster_bootstrap_ci, roc_auc


def _item(key, positive):
    inst = ({"size": [2, 2], "counts": "0400"},) if positive else ()
    return GresItem(key, lambda: np.zeros((2, 2, 3), np.uint8), 2, 2, inst)


def test_blind_grouping_never_looks_at_the_labels():
    keys = [f"k{i}" for i in range(11)]
    a = GresGroup("g", "the cup", tuple(_item(k, i < 3) for i, k in enumerate(keys)))
    b = GresGroup("g", "the cup", tuple(_item(k, i >= 5) for i, k in enumerate(keys)))
    chunks_a = [[it.key for it in c.items] for c in eval_chunks(a, 4, seed=3)]
    chunks_b = [[it.key for it in c.items] for c in eval_chunks(b, 4, seed=3)]
    assert chunks_a == chunks_b  # other labels, same groups
    paper = eval_chunks(a, 4, seed=3, grouping="paper")
    assert [it.positive for it in paper[0].items[:2]] == [True, False]  # 1:1 using labels
    kept = sorted(it.key for c in eval_chunks(a, 4) for it in c.items[: c.keep])
    assert kept == sorted(keys)  # each image scored once
    with pytest.raises(ValueError):
        eval_chunks(a, 4, grouping="oracle")


def test_auc_and_baseline_by_hand():
    assert roc_auc([0.1, 0.4, 0.35, 0.8], [False, False, True, True]) == pytest.approx(0.75)
    assert roc_auc([1, 1], [True, False]) == pytest.approx(0.5)  # a tie counts half
    assert np.isnan(roc_auc([1, 2], [True, True]))
    assert all_negative_bar_miou([True, False, False, False]) == 0.75


def test_bootstrap_resamples_expressions():
    values = [1.0] * 10 + [0.0] * 10
    low, high = cluster_bootstrap_ci(values, ["a"] * 10 + ["b"] * 10, resamples=2000)
    # two clusters: a resample is both a, both b or one of each -> means 1, 0 or 0.5
    assert low == 0.0 and high == 1.0
    low, high = cluster_bootstrap_ci(values, [str(i) for i in range(20)], resamples=2000)
    assert 0.2 < low < 0.5 < high < 0.8


def test_records_give_metrics_at_any_threshold_without_rerunning():
    records = [
        SampleRecord("e1", True, 2.0, True, 6, 10, 8),  # positive, confident, IoU 0.6
        SampleRecord("e1", True, 0.5, True, 4, 8, 5),  # positive, below the margin 1
        SampleRecord("e2", False, 0.2, True, 0, 7, 0),  # negative, mask drawn
        SampleRecord("e2", False, -1.0, False, 0, 0, 0),  # negative, empty mask
    ]
    at_margin = summarize(records, 1.0)
    assert at_margin["bar_miou"] == pytest.approx((0.6 + 0 + 1 + 1) / 4)
    assert at_margin["t_acc"] == 0.5 and at_margin["r_neg"] == 1.0
    assert at_margin["baseline_all_negative"] == 0.5 and at_margin["auc"] == 1.0
    assert at_margin["threshold"] == 1.0
    at_zero = summarize(records, 0.0)
    assert at_zero["bar_miou"] == pytest.approx((0.6 + 0.5 + 0 + 1) / 4)
    assert at_zero["r_neg"] == 0.5
    rule_off = summarize(records, None)  # positive iff the mask is non-empty
    assert rule_off["r_neg"] == 0.5 and rule_off["t_acc"] == 1.0
    rows = {r["threshold"]: r for r in sweep_thresholds(records, [0.0, 1.0])}
    assert rows[1.0]["bar_miou"] == pytest.approx(at_margin["bar_miou"])


def test_grd_evaluate_blind_paper_sweep_and_res(tmp_path):
    from pipelines.cli import app
    from pipelines.services.demo import DEMO_CHECKPOINT

    data = "synth:5:3:4:100:1:96"
    runner = CliRunner()
    reports = {}
    for name, extra in {
        "blind": [],
        "paper": ["--grouping", "paper"],
        "sweep": ["--sweep", "--threshold", "0"],
        "res": ["--mode", "res"],
    }.items():
        out = tmp_path / f"{name}.json"
        res = runner.invoke(
            app, ["evaluate", str(DEMO_CHECKPOINT), data, "--out", str(out), *extra]
        )
        assert res.exit_code == 0, res.output
        text = " ".join(res.output.split())  # rich wraps long lines
        assert "all-negative baseline" in text and "95% CI" in text
        reports[name] = json.loads(out.read_text())
    blind = reports["blind"]
    assert blind["grouping"] == "blind" and reports["paper"]["grouping"] == "paper"
    share = blind["n_negatives"] / blind["n_samples"]  # what calling everything negative scores
    assert blind["baseline_all_negative"] == pytest.approx(share)
    assert blind["bar_miou_ci_low"] <= blind["bar_miou"] <= blind["bar_miou_ci_high"]
    assert 0.0 <= blind["auc"] <= 1.0 and blind["threshold"] > 0  # the model's margin
    assert reports["sweep"]["threshold"] == 0.0 and len(reports["sweep"]["sweep"]) > 2
    res = reports["res"]
    assert res["n_negatives"] == 0 and res["threshold"] is None and res["mode"] == "res"
    res = runner.invoke(app, ["evaluate", str(DEMO_CHECKPOINT), data, "--grouping", "x"])
    assert res.exit_code == 1 and "--grouping" in res.output

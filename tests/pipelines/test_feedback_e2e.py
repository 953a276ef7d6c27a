"""End to end on a small synthetic project: pre-label -> simulated corrections -> `grd round`.

The parent is a tiny GRSer trained briefly the RES way (every training image assumed to show the
object, no negatives), so it says "present" everywhere, as a single-image model does. The
simulated annotator corrects its proposals, certifying the negatives; the round fine-tunes on those
corrections and must beat the parent on the held-out groups (bar-mIoU scores a false positive 0 and
a certified negative 1). A tiny model trained from random weights for this few steps learns little
else, so this test checks the loop's mechanics and the value of certified negatives, not accuracy.
"""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from labeler.domain import DecisionStatus
from labeler.project import Project

pytestmark = pytest.mark.slow


def _res_parent(tmp_path):
    """A tiny GRSer trained on all-positive groups (RES setting) of other synthetic scenes."""
    import torch

    from pipelines.training.config import TrainConfig
    from pipelines.training.datasets.base import GresGroup
    from pipelines.training.datasets.load import load_groups
    from pipelines.training.train import train

    torch.manual_seed(0)
    groups = [
        GresGroup(g.name, g.expression, tuple(g.positives))
        for g in load_groups("synth:1:4:8:100:1:64")
        if g.positives
    ]
    cfg = TrainConfig(
        model="tiny",
        epochs=3,
        batch_size=2,
        lr=2e-3,
        out_dir=str(tmp_path / "res"),
        resume=False,
        tensorboard=False,
        num_threads=2,
        cross_group_negatives=False,
    )
    train(cfg, progress=False, train_groups=groups, val_groups=[])
    return tmp_path / "res" / "checkpoints" / "final.pt"


def test_prelabel_correct_round_registers_a_better_child(tmp_path):
    from pipelines.cli import app
    from pipelines.loop.feedback import run_round
    from pipelines.loop.prelabel import prelabel_project
    from pipelines.loop.simulate import (
        init_simulation,
        load_truth,
        simulate_annotation,
        truth_path,
    )
    from pipelines.training.synth import make_group
    from pipelines.training.synth_project import write_project
    from tests.pipelines.flood_fill import FloodFillSegmenter

    write_project(
        tmp_path / "p",
        (
            make_group(0, i, images_per_group=8, image_size=64, expressions_per_group=2, level=1)
            for i in range(6)
        ),
        0,
    )
    parent_file = _res_parent(tmp_path)
    with Project.open(tmp_path / "p") as project:
        store = project.store
        init_simulation(project)
        truth = load_truth(truth_path(project))
        first = prelabel_project(project, checkpoint=parent_file)
        parent = store.current_model()
        assert parent.name == first.model_version and first.proposed == 6 * 2 * 8
        groups = [g.id for g in store.list_groups()]
        sim = simulate_annotation(project, truth, FloodFillSegmenter(), group_ids=groups[:-1])
        assert sim.pairs == 5 * 2 * 8 and sim.actions > 0

        result = run_round(project, epochs=5, lr=2e-3, batch_size=2)

        child = result.model
        assert child.parent_id == parent.id and result.parent.id == parent.id
        assert [m.name for m in store.lineage(child.id)] == [child.name, parent.name]
        assert len(child.dataset["pairs"]) == 5 * 2 * 8  # every corrected pair, by revision
        assert child.config["model"]["name"] == "tiny" and child.config["train"]["epochs"] == 5
        held = set(child.report["holdout_groups"])
        assert held and not held & set(child.report["train_groups"])
        assert result.parent_report["bar_miou"] < result.report["bar_miou"], child.report
        assert result.improved and store.current_model().id == child.id
        # the still undecided group is now proposed by the child
        last = [e for e in store.list_expressions() if e.group_id == groups[-1]]
        for expression in last:
            decisions = store.decisions_for_expression(expression.id).values()
            assert {d.model_version for d in decisions} == {child.name}
            assert all(d.status is DecisionStatus.PROPOSED for d in decisions)

    out = CliRunner().invoke(app, ["models", str(tmp_path / "p"), "--json"])
    assert out.exit_code == 0, out.output
    listed = {m["name"]: m for m in json.loads(out.output)}
    assert listed[child.name]["current"] and listed[child.name]["parent_id"] == parent.id
    assert not listed[parent.name]["current"]

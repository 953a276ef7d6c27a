"""Model registry: migration, register / lineage / current, data snapshot and held-out split."""

from __future__ import annotations

import pytest

from labeler.errors import DuplicateName, NotFound
from pipelines.loop.feedback import HOLDOUT_SETTING, dataset_snapshot, split_holdout


def test_registry_records_lineage_and_one_current(store):
    root = store.register_model(
        "grser-r0-aaaa",
        "models/a.pt",
        config={"model": {"name": "tiny"}},
        dataset={},
        report={"bar_miou": 0.5},
        make_current=True,
    )
    child = store.register_model(
        "grser-r1-bbbb",
        "models/b.pt",
        config={},
        parent_id=root.id,
        dataset={"hash": "h", "pairs": [[1, 2, 3]]},
        report={"bar_miou": 0.6},
        make_current=True,
    )
    assert store.current_model().name == "grser-r1-bbbb"
    assert [m.is_current for m in store.list_models()] == [False, True]
    assert [m.name for m in store.lineage(child.id)] == ["grser-r1-bbbb", "grser-r0-aaaa"]
    assert store.get_model("grser-r1-bbbb").dataset["pairs"] == [[1, 2, 3]]
    assert store.get_model(child.id).report["bar_miou"] == 0.6
    store.set_current_model("grser-r0-aaaa")
    assert store.current_model().id == root.id
    assert sum(m.is_current for m in store.list_models()) == 1
    with pytest.raises(DuplicateName):
        store.register_model("grser-r0-aaaa", "x.pt", config={}, dataset={}, report={})
    with pytest.raises(NotFound):
        store.register_model("orphan", "x.pt", config={}, dataset={}, report={}, parent_id=999)
    with pytest.raises(NotFound):
        store.get_model("nope")


def test_empty_registry_has_no_current(store):
    assert store.current_model() is None and store.list_models() == []


def test_snapshot_lists_complete_expressions_by_revision(populated):
    store, group, images, (dog, ball) = populated
    for image in images:
        store.save_decision(dog.id, image.id, "negative", author="a", expected_revision=0)
    store.save_decision(ball.id, images[0].id, "negative", author="a", expected_revision=0)
    snap = dataset_snapshot(store)
    assert snap["expressions"] == 1 and snap["negatives"] == 3 and snap["positives"] == 0
    assert snap["pairs"] == [[dog.id, i.id, 1] for i in images]
    store.save_decision(dog.id, images[0].id, "negative", author="b", expected_revision=1)
    again = dataset_snapshot(store)
    assert again["hash"] != snap["hash"] and again["pairs"][0][2] == 2


def test_holdout_split_is_remembered_and_never_empty(store):
    names = [f"group {i}" for i in range(12)]
    held = split_holdout(store, names, 0.2)
    assert held and held != set(names)
    # growing the project never moves an existing group across the split
    more = split_holdout(store, names + [f"group {i}" for i in range(12, 30)], 0.2)
    assert held == {n for n in more if n in names}
    assert store.get_setting(HOLDOUT_SETTING)["group 0"] in (True, False)
    assert split_holdout(store, ["only a", "only b"], 0.0) in ({"only a"}, {"only b"})


def test_the_configured_checkpoint_is_the_fallback_and_registers_once(tmp_path):
    import json

    import torch

    from labeler.project import Project
    from model import build_grser, save_checkpoint
    from pipelines.loop.registry import (
        NoCheckpoint,
        current_model,
        model_path,
        resolve_checkpoint,
        unavailable_reason,
    )

    with Project.init(tmp_path / "p") as project:
        assert current_model(project) is None
        assert "no current model" in unavailable_reason(project)
        with pytest.raises(NoCheckpoint, match="no checkpoint given"):
            resolve_checkpoint(project)
        project.settings.grser_checkpoint = "weights/tiny.pt"  # relative to the project folder
        assert "weights/tiny.pt does not exist" in unavailable_reason(project)
        with pytest.raises(NoCheckpoint, match="does not exist"):
            current_model(project)
        torch.manual_seed(0)
        (project.root / "weights").mkdir()
        save_checkpoint(project.root / "weights/tiny.pt", build_grser("tiny"))
        assert unavailable_reason(project) is None
        assert project.store.list_models() == []  # checking registers nothing
        record = resolve_checkpoint(project)
        assert record.name.startswith("grser-r0-") and record.is_current
        assert model_path(project, record).exists()
        assert current_model(project) == record == resolve_checkpoint(project)
        # an explicit file already registered resolves to its record, not a new one
        assert resolve_checkpoint(project, model_path(project, record)).id == record.id
        assert len(project.store.list_models()) == 1
    # project.json files that kept the checkpoint under `extra` still open with it as the setting
    settings = json.loads((tmp_path / "p" / "project.json").read_text())
    settings["extra"] = {"grser_checkpoint": "old.pt", "prelabel_refine": True}
    (tmp_path / "p" / "project.json").write_text(json.dumps(settings))
    with Project.open(tmp_path / "p") as project:
        assert project.settings.grser_checkpoint == "old.pt"
        assert project.settings.extra == {"prelabel_refine": True}


def test_a_round_reads_the_corrections_once_so_its_snapshot_is_what_it_trains_on(tmp_path):
    """Someone saves while the round reads: the recorded snapshot and the training groups still
    come from the same read (the save shows in neither)."""
    from labeler import rle
    from labeler.domain import DecisionStatus
    from labeler.project import Project
    from pipelines.loop.feedback import read_corrections
    from pipelines.training.synth import make_group
    from pipelines.training.synth_project import write_project

    groups = (
        make_group(0, i, images_per_group=3, image_size=32, expressions_per_group=1, level=1)
        for i in range(2)
    )
    write_project(tmp_path / "p", groups, 0)
    with Project.open(tmp_path / "p") as project:
        store = project.store
        assert all(p.complete for p in store.expression_progress())  # the synthetic truth
        reads = []
        read = store.decisions_for_expression

        def read_then_someone_saves(expression_id, image_ids=None):
            decisions = read(expression_id, image_ids)
            reads.append(expression_id)
            image_id, d = min(decisions.items())
            mask = rle.decode(d.instances[0].rle) if d.instances else None
            status = DecisionStatus.NEGATIVE if mask is not None else DecisionStatus.POSITIVE
            box = [] if mask is not None else [_box(store.get_image(image_id))]
            store.save_decision(
                expression_id, image_id, status, box, author="bob", expected_revision=d.revision
            )
            return decisions

        store.decisions_for_expression = read_then_someone_saves
        snapshot, training = read_corrections(project)
        del store.decisions_for_expression
        expressions = store.list_expressions()
        assert sorted(reads) == sorted(e.id for e in expressions)  # each expression read once
        assert snapshot["expressions"] == len(training) == len(expressions)
        items = [item for group in training for item in group.items]
        assert [p[1] for p in snapshot["pairs"]] == [int(i.key.split("/")[1]) for i in items]
        assert snapshot["positives"] == sum(i.positive for i in items)
        # every pair bob changed meanwhile is in the snapshot and the training data as it was read
        for (expression_id, image_id, revision), item in zip(snapshot["pairs"], items, strict=True):
            now = store.get_decision(expression_id, image_id)
            assert now.revision in (revision, revision + 1)
            if now.revision == revision + 1:
                assert now.author == "bob" and item.positive != (now.status.value == "positive")


def _box(image):
    import numpy as np

    from labeler import rle

    mask = np.zeros((image.height, image.width), bool)
    mask[2:6, 2:6] = True
    return rle.encode(mask)

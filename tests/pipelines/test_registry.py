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

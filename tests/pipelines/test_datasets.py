"""Dataset readers (store, D³, RefCOCO / gRefCOCO, synthetic) and the group sampler."""

import json
import os
import pickle

import numpy as np
import pytest
from PIL import Image

from labeler import rle
from labeler.project import Project
from labeler.safe_pickle import UnsafePickle
from pipelines.training.datasets.d3 import d3_groups
from pipelines.training.datasets.refcoco import refcoco_groups
from pipelines.training.datasets.store import store_groups
from pipelines.training.datasets.synth import synth_groups
from pipelines.training.sampler import sample_epoch
from pipelines.training.synth import make_dataset
from pipelines.training.synth_project import write_project


@pytest.fixture(scope="module")
def synth():
    return make_dataset(1, 3, images_per_group=6, image_size=48, level=2)


def test_store_round_trip_matches_memory(tmp_path, synth):
    write_project(tmp_path / "p", synth, seed=1)
    from_store = store_groups(tmp_path / "p")
    in_memory = synth_groups(synth)
    assert [(g.name, g.expression) for g in from_store] == [
        (g.name, g.expression) for g in in_memory
    ]
    for a, b in zip(from_store, in_memory):
        for x, y in zip(a.items, b.items):
            assert x.positive == y.positive
            assert np.array_equal(x.mask(), y.mask())
            assert np.array_equal(x.load_image(), y.load_image())


def test_store_reader_skips_incomplete_expressions(tmp_path, synth):
    write_project(tmp_path / "p", synth[:1], seed=1)
    with Project.open(tmp_path / "p") as project:
        store = project.store
        expr = store.list_expressions()[0]
        image = store.list_images()[0]
        current = store.get_decision(expr.id, image.id)
        store.save_decision(
            expr.id, image.id, "unseen", author="x", expected_revision=current.revision
        )
    texts = [g.expression for g in store_groups(tmp_path / "p")]
    assert expr.text not in texts and len(texts) == len(synth[0].expressions) - 1


def _png(path, h, w, value):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((h, w, 3), value, np.uint8)).save(path)


def _write_d3(root, sentences_extra=None):
    h, w = 20, 30
    m1 = np.zeros((h, w), bool)
    m1[2:8, 3:9] = True
    m2 = np.zeros((h, w), bool)
    m2[10:15, 10:20] = True
    enc = lambda m: {"size": [h, w], "counts": rle.encode(m)["counts"].encode()}  # noqa: E731
    images = {
        i: {"id": i, "file_name": f"g/{i}.jpg", "height": h, "width": w, "anno_id": a}
        for i, a in ((0, [0, 1]), (1, [2]), (2, []))
    }
    annotations = {
        0: {
            "id": 0,
            "image_id": 0,
            "group_id": 5,
            "sent_id": [10],
            "segmentation": [enc(m1)],
            "bbox": np.array([[3, 2, 6, 6]]),
        },
        1: {
            "id": 1,
            "image_id": 0,
            "group_id": 5,
            "sent_id": [10, 11],
            "segmentation": [enc(m2)],
            "bbox": np.array([[10, 10, 10, 5]]),
        },
        2: {
            "id": 2,
            "image_id": 1,
            "group_id": 5,
            "sent_id": [11],
            "segmentation": [enc(m1), enc(m2)],
            "bbox": np.array([[3, 2, 17, 13]]),
        },
    }
    sentences = {
        10: {"id": 10, "raw_sent": "a dog", "anno_id": [0, 1], "is_negative": False},
        11: {"id": 11, "raw_sent": "a dog without leash", "anno_id": [1, 2], "is_negative": True},
    }
    groups = {5: {"id": 5, "group_name": "dogs", "img_id": [0, 1, 2], "inner_sent_id": [10, 11]}}
    anno = root / "anno"
    anno.mkdir(parents=True)
    for name, table in (
        ("images", images),
        ("annotations", annotations),
        ("sentences", sentences),
        ("groups", groups),
    ):
        (anno / f"{name}.pkl").write_bytes(pickle.dumps(table))
    for i in images:
        _png(root / "img" / "g" / f"{i}.jpg", h, w, 100 + i)
    return m1, m2


def test_d3_positives_are_annotated_images_rest_negatives(tmp_path):
    m1, m2 = _write_d3(tmp_path)
    groups = d3_groups(tmp_path / "img", tmp_path / "anno")
    assert [g.expression for g in groups] == ["a dog"]  # absence sentence skipped by default
    dog = groups[0]
    assert [i.positive for i in dog.items] == [True, False, False]
    assert len(dog.items[0].instances) == 2
    assert np.array_equal(dog.items[0].mask(), m1 | m2)
    assert dog.items[0].load_image().shape == (20, 30, 3)
    both = d3_groups(tmp_path / "img", tmp_path / "anno", include_negative_sentences=True)
    rev = both[1]
    assert [i.positive for i in rev.items] == [True, True, False]
    assert len(rev.items[1].instances) == 1  # one annotation with two parts = one instance
    assert np.array_equal(rev.items[1].mask(), m1 | m2)


def test_d3_refuses_a_malicious_pickle(tmp_path):
    _write_d3(tmp_path)

    class Evil:
        def __reduce__(self):
            return (os.system, ("echo owned > /dev/null",))

    (tmp_path / "anno" / "groups.pkl").write_bytes(pickle.dumps({5: Evil()}))
    with pytest.raises(UnsafePickle, match=r"groups\.pkl.*posix\.system|groups\.pkl.*os\.system"):
        d3_groups(tmp_path / "img", tmp_path / "anno")


def _coco(tmp_path, n_images=6):
    images = [
        {"id": i, "file_name": f"{i}.jpg", "height": 16, "width": 16} for i in range(n_images)
    ]
    for i in range(n_images):
        _png(tmp_path / "coco" / f"{i}.jpg", 16, 16, 10 * i)
    square = [[2.0, 2.0, 10.0, 2.0, 10.0, 10.0, 2.0, 10.0]]
    anns = [
        {"id": 100 + i, "image_id": i, "segmentation": square, "category_id": 1}
        for i in range(n_images)
    ]
    path = tmp_path / "instances.json"
    path.write_text(json.dumps({"images": images, "annotations": anns, "categories": []}))
    return path


def test_refcoco_rebuild_groups_sentences_with_random_negatives(tmp_path):
    instances = _coco(tmp_path)
    refs = [
        {
            "ref_id": 1,
            "ann_id": 100,
            "image_id": 0,
            "split": "train",
            "sentences": [{"raw": "Man in red.", "sent": "man in red"}],
        },
        {
            "ref_id": 2,
            "ann_id": 101,
            "image_id": 1,
            "split": "train",
            "sentences": [{"raw": "man in red", "sent": "man in red"}],
        },
        {
            "ref_id": 3,
            "ann_id": 102,
            "image_id": 2,
            "split": "train",
            "sentences": [{"raw": "a lonely cat", "sent": "a lonely cat"}],
        },
        {
            "ref_id": 5,
            "ann_id": 104,
            "image_id": 4,
            "split": "train",
            "sentences": [{"raw": "a blue car", "sent": "a blue car"}],
        },
        {
            "ref_id": 4,
            "ann_id": 103,
            "image_id": 3,
            "split": "val",
            "sentences": [{"raw": "man in red", "sent": "man in red"}],
        },
    ]
    (tmp_path / "refs(unc).p").write_bytes(pickle.dumps(refs, protocol=2))
    groups = refcoco_groups(tmp_path / "refs(unc).p", instances, tmp_path / "coco", split="train")
    assert [g.expression for g in groups] == ["man in red"]  # the cat is in one image only
    g = groups[0]
    assert len(g.positives) == 2 and len(g.negatives) == 2  # 1:1
    assert {i.key for i in g.positives} == {"coco/0", "coco/1"}
    assert {i.key for i in g.negatives} == {"coco/2", "coco/4"}  # other train images, not val
    assert g.positives[0].mask()[2:10, 2:10].all()


def test_grefcoco_no_target_is_a_real_negative(tmp_path):
    instances = _coco(tmp_path)
    grefs = [
        {
            "ref_id": 1,
            "ann_id": [100],
            "image_id": 0,
            "split": "val",
            "no_target": False,
            "sentences": [{"raw": "two dogs", "sent": "two dogs"}],
        },
        {
            "ref_id": 2,
            "ann_id": [101],
            "image_id": 1,
            "split": "val",
            "no_target": False,
            "sentences": [{"raw": "two dogs", "sent": "two dogs"}],
        },
        {
            "ref_id": 3,
            "ann_id": [-1],
            "image_id": 4,
            "split": "val",
            "no_target": True,
            "sentences": [{"raw": "two dogs", "sent": "two dogs"}],
        },
        {
            "ref_id": 4,
            "ann_id": [105],
            "image_id": 5,
            "split": "val",
            "no_target": False,
            "sentences": [{"raw": "a bench", "sent": "a bench"}],
        },
    ]
    (tmp_path / "grefs(unc).json").write_text(json.dumps(grefs))
    groups = refcoco_groups(tmp_path / "grefs(unc).json", instances, tmp_path / "coco")
    g = groups[0]
    keys_neg = {i.key for i in g.negatives}
    assert keys_neg == {"coco/4", "coco/5"}  # the real one + one random to reach 1:1


def test_sampler_is_balanced_deterministic_and_borrows_negatives(synth):
    groups = synth_groups(synth)
    e1 = sample_epoch(groups, 8, seed=3, epoch=1)
    assert e1 == sample_epoch(groups, 8, seed=3, epoch=1)
    assert [t.expression for t in e1] != [t.expression for t in sample_epoch(groups, 8, 3, 2)] or [
        t.items for t in e1
    ] != [t.items for t in sample_epoch(groups, 8, 3, 2)]
    usable = [g for g in groups if g.positives]
    assert len(e1) == len(usable)
    for t in e1:
        assert len(t.items) == 8 and sum(t.positive) == 4
    # a group without negatives takes random images of other groups as negatives
    only_pos = groups[0].__class__(groups[0].name, groups[0].expression, tuple(groups[0].positives))
    t = sample_epoch([only_pos, groups[-1]], 4, seed=0, epoch=0)[0]
    assert sum(t.positive) == 2
    own = {i.key for i in only_pos.items}
    assert all(i.key not in own for i in t.items if not i.positive)
    # N = 1 and odd sizes still work
    for n in (1, 3, 5):
        assert all(len(t.items) == n for t in sample_epoch(groups, n, seed=0, epoch=0))

"""Files that grd did not write: COCO polygons and uncompressed RLE, refs without our extra keys.
Each image becomes its own group (a ref says nothing about other images)."""

import json
import pickle

import numpy as np
import pytest
from pycocotools import mask as cocomask

from exports.grefcoco import read_grefcoco
from exports.refcoco import read_refcoco
from labeler import rle
from labeler.errors import ImportFormatError

SQUARE = [10.0, 10.0, 30.0, 10.0, 30.0, 30.0, 10.0, 30.0]


def _instances(tmp_path, polygon=SQUARE):
    row = np.zeros(40 * 50, int)  # uncompressed RLE (column-major runs): 100 background, 50 object
    instances = {
        "images": [
            {"id": 7, "file_name": "COCO_7.jpg", "width": 50, "height": 40},
            {"id": 8, "file_name": "COCO_8.jpg", "width": 50, "height": 40},
        ],
        "annotations": [
            {"id": 70, "image_id": 7, "category_id": 1, "segmentation": [polygon], "iscrowd": 0},
            {
                "id": 71,
                "image_id": 7,
                "category_id": 1,
                "iscrowd": 1,
                "segmentation": {"size": [40, 50], "counts": [100, 50, row.size - 150]},
            },
            {"id": 80, "image_id": 8, "category_id": 1, "segmentation": [SQUARE], "iscrowd": 0},
        ],
        "categories": [{"id": 1, "name": "person"}],
    }
    (tmp_path / "instances.json").write_text(json.dumps(instances))


def _sentence(sent_id, text):
    return {"sent_id": sent_id, "raw": text, "sent": text.lower(), "tokens": text.lower().split()}


def test_grefcoco_from_elsewhere(tmp_path):
    _instances(tmp_path)
    refs = [
        {
            "ref_id": 1,
            "image_id": 7,
            "ann_id": [70, 71],
            "category_id": [1],
            "split": "train",
            "sentences": [_sentence(1, "Two people"), _sentence(2, "everyone")],
        },
        {
            "ref_id": 2,
            "image_id": 8,
            "ann_id": [-1],
            "category_id": [-1],
            "split": "val",
            "sentences": [_sentence(3, "two people")],
            "no_target": True,
        },
    ]
    (tmp_path / "grefs(unc).json").write_text(json.dumps(refs))
    snapshot = read_grefcoco(tmp_path)
    assert len(snapshot.groups) == 2  # one group per image
    by_text = {e.text: e for e in snapshot.expressions}
    two = snapshot.decisions[by_text["Two people"].id][7]
    polygon = cocomask.decode(cocomask.merge(cocomask.frPyObjects([SQUARE], 40, 50))).astype(bool)
    assert np.array_equal(rle.decode(two.instances[0].rle), polygon)
    assert rle.area(two.instances[1].rle) == 50
    # "two people" on image 8 is another group, so another expression: a certified negative there
    assert snapshot.decisions[by_text["two people"].id][8].status.value == "negative"


def test_polygon_outside_the_image_is_refused(tmp_path):
    _instances(tmp_path, polygon=[10.0, 10.0, 90.0, 10.0, 90.0, 30.0])
    refs = [{"ref_id": 1, "image_id": 7, "ann_id": [70], "sentences": [_sentence(1, "a")]}]
    (tmp_path / "grefs(unc).json").write_text(json.dumps(refs))
    with pytest.raises(
        ImportFormatError, match=r"instances\.json, annotation 70: polygon lies outside"
    ):
        read_grefcoco(tmp_path)


def test_classic_refcoco_pickle_same_sentence_for_two_objects_means_both(tmp_path):
    _instances(tmp_path)
    refs = [
        {
            "ref_id": 1,
            "image_id": 7,
            "ann_id": 70,
            "category_id": 1,
            "split": "train",
            "sentences": [_sentence(1, "person")],
            "sent_ids": [1],
        },
        {
            "ref_id": 2,
            "image_id": 7,
            "ann_id": 71,
            "category_id": 1,
            "split": "train",
            "sentences": [_sentence(2, "person"), _sentence(3, "crowd")],
            "sent_ids": [2, 3],
        },
    ]
    (tmp_path / "refs(unc).p").write_bytes(pickle.dumps(refs, protocol=2))
    snapshot = read_refcoco(tmp_path)
    by_text = {e.text: e for e in snapshot.expressions}
    assert len(snapshot.decisions[by_text["person"].id][7].instances) == 2
    assert len(snapshot.decisions[by_text["crowd"].id][7].instances) == 1
    assert all(
        d.status.value == "positive" for v in snapshot.decisions.values() for d in v.values()
    )


def test_refs_pickle_with_code_is_refused(tmp_path):
    import os

    class Evil:
        def __reduce__(self):
            return (os.system, ("true",))

    _instances(tmp_path)
    (tmp_path / "refs(unc).p").write_bytes(pickle.dumps([Evil()]))
    with pytest.raises(ImportFormatError, match=r"refs\(unc\)\.p: refused to load.*system"):
        read_refcoco(tmp_path)

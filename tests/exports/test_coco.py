"""COCO export: pycocotools loads it, COCOeval of the ground truth against itself gives AP 1.0,
masks (holes, several parts) come back pixel-equal, negatives are explicit, proposals stay out."""

import contextlib
import io
import json

import numpy as np
import pytest
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from exports.coco import build_coco_dict, read_coco, write_coco
from labeler import rle
from tests.exports.conftest import canonical


@pytest.fixture(scope="module")
def exported(snapshot, tmp_path_factory):
    out = tmp_path_factory.mktemp("coco")
    write_coco(out, snapshot, incomplete="mark", predictions=True)
    return out


def _quiet(fn, *args):
    with contextlib.redirect_stdout(io.StringIO()):
        return fn(*args)


def test_pycocotools_loads_it_and_masks_are_pixel_equal(exported, snapshot, small_project):
    coco = _quiet(COCO, str(exported / "instances.json"))
    assert sorted(coco.getImgIds()) == sorted(i.id for i in snapshot.images)
    e_dogs = small_project.ids["expressions"][0]
    expressions = json.loads((exported / "expressions.json").read_text())["expressions"]
    entry = next(e for e in expressions if e["id"] == e_dogs)
    for image_id in entry["positive_image_ids"]:
        ann_ids = [a for a in entry["ann_ids"] if coco.anns[a]["image_id"] == image_id]
        got = [coco.annToMask(coco.anns[a]).astype(bool) for a in ann_ids]
        want = [rle.decode(i.rle) for i in snapshot.decisions[e_dogs][image_id].instances]
        assert len(got) == len(want) >= 1
        for g, w in zip(got, want, strict=True):
            assert np.array_equal(g, w)
    holed = coco.annToMask(coco.anns[entry["ann_ids"][0]])
    assert holed[17, 17] == 0 and holed[5, 5] == 1  # the hole survived


def test_cocoeval_gt_against_itself_gives_ap_1(exported):
    gt = _quiet(COCO, str(exported / "instances.json"))
    detections = [
        {
            "image_id": a["image_id"],
            "category_id": a["category_id"],
            "segmentation": a["segmentation"],
            "score": 1.0,
        }
        for a in gt.dataset["annotations"]
    ]
    dt = _quiet(gt.loadRes, detections)
    evaluator = COCOeval(gt, dt, "segm")
    _quiet(evaluator.evaluate)
    _quiet(evaluator.accumulate)
    _quiet(evaluator.summarize)
    assert evaluator.stats[0] == pytest.approx(1.0)  # AP @ IoU .50:.95


def test_one_annotation_per_object_and_categories_from_target_keywords(snapshot):
    coco = build_coco_dict(snapshot, incomplete="omit")
    # "the ball" reuses a mask of "the dogs" on image 1: one object, one annotation
    assert len(coco["annotations"]) == 4
    assert {c["name"] for c in coco["categories"]} == {"dog", "object"}
    assert all(
        a["iscrowd"] == 0 and isinstance(a["segmentation"]["counts"], str)
        for a in coco["annotations"]
    )
    licenses = {entry["id"]: entry for entry in coco["licenses"]}
    by_file = {i["file_name"]: i for i in coco["images"]}
    first = next(i for i in snapshot.images if i.owner == "Ann")
    assert licenses[by_file[first.file]["license"]]["name"] == "CC BY 2.0"
    assert by_file[first.file]["flickr_url"] == "https://flickr.com/p/1"


def test_expression_file_lists_negatives_explicitly(exported, small_project):
    data = json.loads((exported / "expressions.json").read_text())
    e_dogs, e_ball, e_fris, e_cat = small_project.ids["expressions"]
    i1, i2, i3, i4, i5 = small_project.ids["images"]
    by_id = {e["id"]: e for e in data["expressions"]}
    assert by_id[e_ball]["negative_image_ids"] == [i2, i3]
    assert by_id[e_ball]["complete"] is True
    assert by_id[e_cat]["negative_image_ids"] == [i5]
    frisbee = by_id[e_fris]
    assert frisbee["complete"] is False
    assert frisbee["negative_image_ids"] == [i1] and frisbee["positive_image_ids"] == []
    assert {c["image_id"]: c["author"] for c in by_id[e_dogs]["confirmed_by"]} == {
        i1: "ann",
        i2: "bob",
        i3: "bob",
    }


def test_omit_leaves_incomplete_expressions_and_their_objects_out(snapshot, tmp_path):
    write_coco(tmp_path, snapshot, incomplete="omit")
    data = json.loads((tmp_path / "expressions.json").read_text())
    assert [e["text"] for e in data["expressions"]] == ["the dogs", "the ball", "a cat"]
    assert all(e["complete"] for e in data["expressions"])


def test_proposals_go_to_predictions_only(exported, small_project):
    predictions = json.loads((exported / "predictions.json").read_text())
    assert len(predictions) == 1 and predictions[0]["score"] == pytest.approx(0.7)
    assert predictions[0]["image_id"] == small_project.ids["images"][1]
    frisbee = small_project.ids["expressions"][2]
    data = json.loads((exported / "expressions.json").read_text())
    entry = next(e for e in data["expressions"] if e["id"] == frisbee)
    assert (
        small_project.ids["images"][1]
        not in entry["positive_image_ids"] + entry["negative_image_ids"]
    )


def test_attribution_file_names_owner_licence_and_source(exported, snapshot):
    rows = {
        r["image_id"]: r for r in json.loads((exported / "attribution.json").read_text())["images"]
    }
    assert len(rows) == len(snapshot.images)
    ann = next(i for i in snapshot.images if i.owner == "Ann")
    assert rows[ann.id]["license_url"] == "https://creativecommons.org/licenses/by/2.0/"
    assert rows[ann.id]["source_url"] == "https://flickr.com/p/1"
    assert "Ann" in (exported / "ATTRIBUTION.md").read_text()


def test_reading_our_export_gives_the_same_snapshot(exported, snapshot):
    assert canonical(read_coco(exported / "instances.json")) == canonical(snapshot)

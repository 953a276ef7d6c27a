"""Classic RefCOCO export: ``refs(unc).p`` loads with ``pickle`` as ``REFER`` does, each ref
names one annotation (the union for a multi-object pair), and reading it back restores the
instances."""

import json
import pickle

import numpy as np
import pytest
from pycocotools import mask as cocomask

from exports.refcoco import build_refcoco, read_refcoco, write_refcoco
from labeler import rle
from labeler.errors import ImportFormatError
from tests.exports.conftest import canonical


@pytest.fixture(scope="module")
def exported(snapshot, tmp_path_factory):
    out = tmp_path_factory.mktemp("refcoco")
    write_refcoco(out, snapshot)
    return out


def test_refs_point_at_one_annotation_whose_mask_is_the_pair_target(exported, snapshot):
    refs = pickle.loads((exported / "refs(unc).p").read_bytes())
    instances = json.loads((exported / "instances.json").read_text())
    anns = {a["id"]: a for a in instances["annotations"]}
    positives = {
        (e.text, d.image_id): d
        for e in snapshot.expressions
        if snapshot.is_complete(e)
        for d in snapshot.positives(e.id)
    }
    assert len(refs) == len(positives) == 4
    for ref in refs:
        ann = anns[ref["ann_id"]]  # REFER: refToAnn[ref_id] = Anns[ann_id]
        assert ann["image_id"] == ref["image_id"] and ref["category_id"] == ann["category_id"]
        decision = positives[(ref["sentences"][0]["raw"], ref["image_id"])]
        h, w = ann["segmentation"]["size"]
        want = rle.decode(rle.union([i.rle for i in decision.instances], h, w))
        assert np.array_equal(cocomask.decode(ann["segmentation"]).astype(bool), want)


def test_multi_object_pair_uses_a_union_with_its_parts(snapshot):
    refs, instances = build_refcoco(snapshot)
    unions = [a for a in instances["annotations"] if "grd_parts" in a]
    assert len(unions) == 1 and len(unions[0]["grd_parts"]) == 2
    assert sum(r["ann_id"] == unions[0]["id"] for r in refs) == 1


def test_reading_back_restores_every_positive_instance(exported, snapshot):
    want = canonical(snapshot, positives_only=True)
    assert ("dog x beach", "the frisbee") not in want  # it has no positive pair
    assert canonical(read_refcoco(exported)) == want


def test_a_union_that_is_not_the_union_of_its_parts_is_refused(exported, tmp_path):
    instances = json.loads((exported / "instances.json").read_text())
    union = next(a for a in instances["annotations"] if "grd_parts" in a)
    union["grd_parts"] = union["grd_parts"][:1] + [union["grd_parts"][0]]
    (tmp_path / "instances.json").write_text(json.dumps(instances))
    (tmp_path / "refs(unc).p").write_bytes((exported / "refs(unc).p").read_bytes())
    with pytest.raises(
        ImportFormatError, match=rf"instances\.json, annotation {union['id']}: its mask is not"
    ):
        read_refcoco(tmp_path)

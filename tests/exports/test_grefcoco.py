"""gRefCOCO export, read the way gRefCOCO's ``G_REFER`` / ReLA's ``load_grefcoco_json`` read it:
refs index annotations by ``ann_id`` (with -1 standing for "no target"), every ref's annotations lie
on its image, and the records of a split carry ``raw`` sentences and decodable RLE masks."""

import json

import numpy as np
import pytest
from pycocotools import mask as cocomask

from exports.grefcoco import build_grefcoco, read_grefcoco, write_grefcoco
from labeler import rle
from labeler.errors import ImportFormatError
from tests.exports.conftest import canonical


@pytest.fixture(scope="module")
def exported(snapshot, tmp_path_factory):
    out = tmp_path_factory.mktemp("grefcoco")
    write_grefcoco(out, snapshot, incomplete="omit")
    return out


def load_like_grefer(folder, split="train"):
    """Our reading of the gRefCOCO loader's contract: (image, ref, [ann or None]) per ref."""
    refs = json.loads((folder / "grefs(unc).json").read_text())
    instances = json.loads((folder / "instances.json").read_text())
    anns = {a["id"]: a for a in instances["annotations"]}
    anns[-1] = None
    images = {i["id"]: i for i in instances["images"]}
    records = []
    for ref in refs:
        if ref["split"] != split:
            continue
        ann_ids = ref["ann_id"] if isinstance(ref["ann_id"], list) else [ref["ann_id"]]
        records.append((images[ref["image_id"]], ref, [anns[a] for a in ann_ids]))
    return records


def test_refs_load_like_grefcoco(exported, snapshot):
    records = load_like_grefer(exported)
    pairs = {}
    for image, ref, anns in records:
        assert ref["image_id"] == image["id"]
        if None in anns:  # a no-target sample
            assert anns == [None] and ref["ann_id"] == [-1] and ref["no_target"] is True
            merged = np.zeros((image["height"], image["width"]), bool)
        else:
            merged = np.zeros((image["height"], image["width"]), bool)
            for ann in anns:
                assert ann["image_id"] == image["id"] and isinstance(ann["segmentation"], dict)
                merged |= cocomask.decode(ann["segmentation"]).astype(bool)
        for sentence in ref["sentences"]:
            assert {"raw", "sent", "sent_id", "tokens"} <= set(sentence)
            pairs[(sentence["raw"], image["id"])] = merged
    texts = {e.id: e.text for e in snapshot.expressions}
    expected = {}
    for expression in snapshot.expressions:
        if not snapshot.is_complete(expression):
            continue
        for image in snapshot.images_of(expression.group_id):
            decision = snapshot.decisions[expression.id][image.id]
            expected[(texts[expression.id], image.id)] = rle.decode(
                rle.union([i.rle for i in decision.instances], image.height, image.width)
            )
    assert pairs.keys() == expected.keys()
    for key, mask in expected.items():
        assert np.array_equal(pairs[key], mask), key


def test_negatives_are_no_target_refs_and_unseen_pairs_have_none(snapshot):
    refs, _ = build_grefcoco(snapshot, incomplete="mark")
    frisbee = [r for r in refs if r["sentences"][0]["raw"] == "the frisbee"]
    assert len(frisbee) == 1  # one certified negative; the proposal and the unseen pair: no ref
    assert frisbee[0]["ann_id"] == [-1] and frisbee[0]["grd_complete"] is False
    multi = [r for r in refs if r["sentences"][0]["raw"] == "the dogs" and len(r["ann_id"]) == 2]
    assert len(multi) == 1


def test_reading_our_export_gives_the_same_snapshot(exported, snapshot):
    want = {k: v for k, v in canonical(snapshot).items() if k[1] != "the frisbee"}
    assert canonical(read_grefcoco(exported)) == want


def test_a_ref_claiming_complete_with_a_missing_pair_is_refused(exported, tmp_path):
    refs = json.loads((exported / "grefs(unc).json").read_text())
    (tmp_path / "instances.json").write_text((exported / "instances.json").read_text())
    (tmp_path / "grefs(unc).json").write_text(json.dumps(refs[1:]))
    with pytest.raises(
        ImportFormatError, match=r"grefs\(unc\)\.json, ref \d+: marks 'the dogs' complete"
    ):
        read_grefcoco(tmp_path)


def test_an_annotation_on_another_image_is_refused(exported, tmp_path):
    refs = json.loads((exported / "grefs(unc).json").read_text())
    positive = next(r for r in refs if r["ann_id"] != [-1])
    other = next(r for r in refs if r["image_id"] != positive["image_id"])
    other["ann_id"], other["no_target"] = positive["ann_id"], False
    (tmp_path / "instances.json").write_text((exported / "instances.json").read_text())
    (tmp_path / "grefs(unc).json").write_text(json.dumps(refs))
    with pytest.raises(
        ImportFormatError, match=rf"ref {other['ref_id']}: annotation \d+ lies on image"
    ):
        read_grefcoco(tmp_path)

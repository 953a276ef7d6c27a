"""D³ export: the ``ddd-dataset`` package loads it and sees the same pairs and masks; reading it
back (or a plain D³ folder without our extra keys) goes through the restricted unpickler."""

import contextlib
import io
import pickle

import numpy as np
import pytest
from d_cube import D3

from exports.d3 import build_d3, read_d3, write_d3
from labeler import rle
from labeler.errors import ImportFormatError
from labeler.safe_pickle import UnsafePickle
from tests.exports.conftest import canonical


@pytest.fixture(scope="module")
def exported(snapshot, tmp_path_factory):
    out = tmp_path_factory.mktemp("d3")
    write_d3(out, snapshot, incomplete="mark")
    return out


def test_d_cube_sees_the_same_pairs_and_masks(exported, snapshot, small_project):
    d3 = D3(str(small_project.root), str(exported))
    files = {i.file: i.id for i in snapshot.images}
    d3_image = {files[info["file_name"]]: info["id"] for info in d3.load_imgs()}
    texts = {e.text: e for e in snapshot.expressions}
    checked = 0
    for group_id in d3.get_group_ids():
        images = d3.load_groups(group_id)[0]["img_id"]
        for sent in d3.load_sents(d3.get_sent_ids(group_ids=[group_id])):
            expression = texts[sent["raw_sent"]]
            for image in snapshot.images_of(expression.group_id):
                assert d3_image[image.id] in images
                anns = d3.load_annos(
                    d3.get_anno_ids(img_ids=[d3_image[image.id]], sent_ids=[sent["id"]])
                )
                decision = snapshot.decisions[expression.id][image.id]
                got = sorted(rle.encode(d3.get_mask([a])["mask"] > 0)["counts"] for a in anns)
                want = sorted(rle.normalize(i.rle)["counts"] for i in decision.instances)
                assert got == want  # a negative is an image without annotations of the sentence
                checked += 1
    assert checked == 8  # 2 complete dog expressions x 3 images + 1 cat expression x 2 images


def test_only_complete_expressions_are_group_sentences(exported):
    d3 = D3("", str(exported))
    inner = {s["raw_sent"] for g in d3.load_groups() for s in d3.load_sents(g["inner_sent_id"])}
    assert inner == {"the dogs", "the ball", "a cat"}
    marked = [s for s in d3.load_sents() if not s["grd_complete"]]
    assert [s["raw_sent"] for s in marked] == ["the frisbee"]
    assert marked[0]["id"] in d3.load_groups(1)[0]["grd_incomplete_sent_id"]


def test_d_cube_helpers_run_on_it(exported, tmp_path):
    d3 = D3("", str(exported))
    with contextlib.redirect_stdout(io.StringIO()):
        d3.stat_description()
    d3.convert2coco(str(tmp_path))  # uses bbox[0].tolist() and area[0]
    assert (tmp_path / "coco_annotations.json").stat().st_size > 0


def test_reading_our_export_gives_the_same_snapshot(exported, snapshot):
    assert canonical(read_d3(exported)) == canonical(snapshot)


def test_plain_d3_negatives_are_every_other_image_of_the_group(snapshot, tmp_path):
    data = build_d3(snapshot, incomplete="omit")
    for sent in data["sentences"].values():  # strip our explicit lists: an original D³ folder
        for key in [k for k in sent if k.startswith("grd_")]:
            del sent[key]
    for name, table in data.items():
        (tmp_path / f"{name}.pkl").write_bytes(pickle.dumps(table, protocol=4))
    plain = read_d3(tmp_path)
    assert canonical(plain) == {
        k: v for k, v in canonical(snapshot).items() if k[1] != "the frisbee"
    }


def test_a_pickle_that_runs_code_is_refused(exported, tmp_path):
    class Evil:
        def __reduce__(self):
            return (print, ("owned",))

    for name in ("images", "annotations", "sentences"):
        (tmp_path / f"{name}.pkl").write_bytes((exported / f"{name}.pkl").read_bytes())
    (tmp_path / "groups.pkl").write_bytes(pickle.dumps({1: Evil()}))
    with pytest.raises(UnsafePickle, match=r"groups\.pkl.*builtins\.print"):
        read_d3(tmp_path)


def test_annotation_of_a_missing_image_is_refused(snapshot, tmp_path):
    data = build_d3(snapshot, incomplete="omit")
    data["annotations"][2]["image_id"] = 99
    for name, table in data.items():
        (tmp_path / f"{name}.pkl").write_bytes(pickle.dumps(table, protocol=4))
    with pytest.raises(
        ImportFormatError, match=r"annotations\.pkl, annotation 2: image_id 99 does not exist"
    ):
        read_d3(tmp_path)


def test_bbox_is_a_1x4_array_and_segmentation_a_list(snapshot):
    ann = build_d3(snapshot)["annotations"][1]
    assert isinstance(ann["bbox"], np.ndarray) and ann["bbox"].shape == (1, 4)
    assert isinstance(ann["segmentation"], list) and isinstance(
        ann["segmentation"][0]["counts"], bytes
    )

"""Malformed input stops the import with a message naming the file, the record and the problem,
and leaves the project exactly as it was (no rows, no image files)."""

import json
import pickle

import pytest

from exports.d3 import write_d3
from exports.grefcoco import write_grefcoco
from exports.snapshot import snapshot_from_store
from labeler.errors import ImportFormatError
from labeler.project import Project
from pipelines.intake.imports import import_snapshot, read_source


def _import(fmt, source, image_root, project_root):
    """Read and import; returns the project's counts and image files afterwards."""
    with Project.init(project_root) as project:
        try:
            import_snapshot(project, read_source(fmt, source), image_root)
        finally:
            counts = project.store.counts()
    return counts


def _empty(project_root):
    with Project.open(project_root) as project:
        assert set(project.store.counts().values()) == {0}
    assert [p for p in (project_root / "images").rglob("*") if p.is_file()] == []


def _mutated(coco_dir, tmp_path, change):
    instances = json.loads((coco_dir / "instances.json").read_text())
    expressions = json.loads((coco_dir / "expressions.json").read_text())
    change(instances, expressions)
    out = tmp_path / "bad"
    out.mkdir()
    (out / "instances.json").write_text(_dumps(instances))
    (out / "expressions.json").write_text(_dumps(expressions))
    return out


def _first_ann(i, e):
    return i["annotations"][0]


CASES = {
    "missing key": (
        lambda i, e: i["images"][1].pop("height"),
        r"instances\.json, image \d+: missing key 'height'",
    ),
    "bad RLE": (
        lambda i, e: _first_ann(i, e)["segmentation"].update(counts="~~~~~~~~"),
        r"instances\.json, annotation 1: RLE counts do not decode",
    ),
    "mask out of bounds": (
        lambda i, e: _first_ann(i, e)["segmentation"].update(size=[480, 640]),
        r"instances\.json, annotation 1: mask size \[480, 640\] does not match the image "
        r"\(48 x 64\)",
    ),
    "annotation id that does not resolve": (
        lambda i, e: e["expressions"][0]["ann_ids"].append(999),
        r"expressions\.json, expression \d+: annotation 999 does not exist",
    ),
    "image of another group": (
        lambda i, e: e["expressions"][0]["negative_image_ids"].append(i["images"][-1]["id"]),
        r"expressions\.json, expression \d+: negative_image_ids: image \d+ does not exist "
        r"or is not in group",
    ),
    "positive and negative at once": (
        lambda i, e: e["expressions"][0]["negative_image_ids"].append(
            e["expressions"][0]["positive_image_ids"][0]
        ),
        r"expressions\.json, expression \d+: image \d+ is listed as both positive and negative",
    ),
    "path escaping the image root": (
        lambda i, e: i["images"][0].update(file_name="../../etc/passwd"),
        r"instances\.json, image \d+: file_name '../../etc/passwd' must be a relative path",
    ),
    "group that does not exist": (
        lambda i, e: i["images"][0].update(grd_group_id=77),
        r"instances\.json, image \d+: grd_group_id 77 is not in grd_groups",
    ),
    # issue 20: non-finite numbers once passed the bounds check and made pycocotools run away
    "NaN in a polygon": (
        lambda i, e: _first_ann(i, e).update(segmentation=[[1, 1, float("nan"), 5, 9, 9]]),
        r"instances\.json, annotation 1: polygon coordinates must be finite",
    ),
    "Infinity in a polygon": (
        lambda i, e: _first_ann(i, e).update(segmentation=[[1, 1, 5, float("inf"), 9, 9]]),
        r"instances\.json, annotation 1: polygon coordinates must be finite",
    ),
    "NaN in RLE counts": (
        lambda i, e: _first_ann(i, e).update(
            segmentation={"size": [48, 64], "counts": [float("nan"), 48 * 64]}
        ),
        r"instances\.json, annotation 1: RLE counts do not decode: run lengths must be integers",
    ),
    "Infinity in a bbox": (
        lambda i, e: _first_ann(i, e).update(bbox=[0, 0, float("inf"), 3]),
        r"instances\.json, annotation 1: bbox must be 4 finite numbers",
    ),
    "NaN area": (
        lambda i, e: _first_ann(i, e).update(area=float("nan")),
        r"instances\.json, annotation 1: area must be a finite number",
    ),
    # the name reached the file system first: a 52-line OSError (ENAMETOOLONG) traceback
    "image file name over its limit, in the last image": (
        lambda i, e: i["images"][-1].update(file_name="a" * 5000 + ".png"),
        r"image \d+: image file is 5,004 characters long; the limit is 500",
    ),
    "NUL in an image file name": (
        lambda i, e: i["images"][-1].update(file_name="a\x00b.png"),
        r"image \d+: .*(NUL|U\+0000|control character)",
    ),
    "deeply nested expression file": (
        lambda i, e: e["expressions"][0].update(ann_ids=_nested(100_000)),
        r"expressions\.json: JSON nested 10000\d levels deep; the limit is 64",
    ),
}


def _nested(levels):
    """A JSON-able list nested ``levels`` deep, without recursion (json.dumps cannot write it)."""
    return _Raw("[" * levels + "]" * levels)


class _Raw(str):
    """Marks text spliced verbatim into the dumped JSON (see ``_dumps``)."""


def _dumps(data):
    raws: list[str] = []

    def default(obj):
        raise TypeError(obj)

    def walk(obj):
        if isinstance(obj, _Raw):
            raws.append(obj)
            return f"@@RAW{len(raws) - 1}@@"
        if isinstance(obj, dict):
            return {k: walk(v) for k, v in obj.items()}
        if isinstance(obj, list):
            return [walk(v) for v in obj]
        return obj

    text = json.dumps(walk(data), default=default)
    for number, raw in enumerate(raws):
        text = text.replace(f'"@@RAW{number}@@"', raw)
    return text


@pytest.mark.parametrize("case", list(CASES))
def test_malformed_coco_is_refused_and_nothing_imported(case, coco_dir, small_project, tmp_path):
    change, message = CASES[case]
    source = _mutated(coco_dir, tmp_path, change)
    with pytest.raises(ImportFormatError, match=message):
        _import("coco", source / "instances.json", small_project.root, tmp_path / "p")
    _empty(tmp_path / "p")


def test_a_file_that_is_not_json(coco_dir, small_project, tmp_path):
    (tmp_path / "instances.json").write_bytes(b"\x89PNG\r\n\x1a\n not json")
    (tmp_path / "expressions.json").write_text((coco_dir / "expressions.json").read_text())
    with pytest.raises(
        ImportFormatError, match=r"instances\.json: not (valid JSON|a UTF-8 text file)"
    ):
        _import("coco", tmp_path, small_project.root, tmp_path / "p")
    _empty(tmp_path / "p")


def test_missing_image_file_is_named(coco_dir, tmp_path):
    with pytest.raises(ImportFormatError, match=r"image \d+: no such image file under"):
        _import("coco", coco_dir, tmp_path / "nowhere", tmp_path / "p")
    _empty(tmp_path / "p")


def test_wrong_image_size_stops_and_removes_copied_files(coco_dir, small_project, tmp_path):
    def shrink_last(i, e):
        i["images"][-1].update(width=41)

    source = _mutated(coco_dir, tmp_path, shrink_last)
    with pytest.raises(
        ImportFormatError,
        match=r"image \d+: the file is 40 x 30 pixels but the "
        r"annotation says 41 x 30",
    ):
        _import("coco", source, small_project.root, tmp_path / "p")
    _empty(tmp_path / "p")  # the four images stored before the bad one were removed again


def test_an_image_that_does_not_decode(coco_dir, small_project, tmp_path):
    root = tmp_path / "root"
    for image in json.loads((coco_dir / "instances.json").read_text())["images"]:
        target = root / image["file_name"]
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes((small_project.root / image["file_name"]).read_bytes())
    broken = root / json.loads((coco_dir / "instances.json").read_text())["images"][2]["file_name"]
    broken.write_bytes(broken.read_bytes()[:100])
    with pytest.raises(ImportFormatError, match=r"image \d+: .*(corrupt|truncated|not an image)"):
        _import("coco", coco_dir, root, tmp_path / "p")
    _empty(tmp_path / "p")


def test_d3_folder_with_a_non_pickle(small_project, tmp_path):
    with Project.open(small_project.root) as project:
        write_d3(tmp_path / "d3", snapshot_from_store(project.store))
    (tmp_path / "d3" / "sentences.pkl").write_text("this is not a pickle")
    with pytest.raises(ImportFormatError, match=r"sentences\.pkl: not a readable pickle"):
        _import("d3", tmp_path / "d3", small_project.root, tmp_path / "p")
    _empty(tmp_path / "p")


def test_d3_sentence_id_that_does_not_resolve(small_project, tmp_path):
    with Project.open(small_project.root) as project:
        write_d3(tmp_path / "d3", snapshot_from_store(project.store))
    groups = pickle.loads((tmp_path / "d3" / "groups.pkl").read_bytes())
    groups[1]["inner_sent_id"].append(42)
    (tmp_path / "d3" / "groups.pkl").write_bytes(pickle.dumps(groups))
    with pytest.raises(
        ImportFormatError, match=r"groups\.pkl, group 1: inner_sent_id: sentence 42 does not exist"
    ):
        read_source("d3", tmp_path / "d3")


def test_grefcoco_refs_that_are_not_a_list(small_project, tmp_path):
    with Project.open(small_project.root) as project:
        write_grefcoco(tmp_path / "g", snapshot_from_store(project.store))
    (tmp_path / "g" / "grefs(unc).json").write_text('{"refs": []}')
    with pytest.raises(ImportFormatError, match=r"grefs\(unc\)\.json: expected a list of refs"):
        read_source("grefcoco", tmp_path / "g")

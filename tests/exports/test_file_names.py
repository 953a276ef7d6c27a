"""Exports keep the names images came with: a dataset with its own file names, imported and then
exported with ``--copy-images``, comes back under the same names with pixel-equal masks."""

import dataclasses
import filecmp

import numpy as np
import pytest
from typer.testing import CliRunner

from exports.coco import write_coco
from exports.d3 import write_d3
from exports.names import export_names, original_name
from exports.registry import read_format
from exports.snapshot import Snapshot
from labeler import rle
from labeler.domain import ImageRecord
from labeler.project import Project
from pipelines.cli import app

runner = CliRunner()


def _image(iid, name, stored=".png", content_hash=None):
    content_hash = content_hash or f"{iid:02d}" * 32
    return ImageRecord(
        iid,
        1,
        f"images/{content_hash[:2]}/{content_hash}{stored}",
        8,
        8,
        content_hash,
        meta={"original_name": name} if name is not None else {},
    )


def test_the_naming_rule():
    snapshot = Snapshot(
        groups=(),
        images=(
            _image(1, "g1_0.jpg", ".jpg"),
            _image(2, "G1_0.JPEG", ".jpg", "ab" * 32),  # same name ignoring case and .jpeg
            _image(3, "scan.bmp"),  # converted to PNG at ingest
            _image(4, "../../etc/passwd.png"),  # not a relative path: the stored one
            _image(5, None),  # an older project: the stored path
            _image(6, "dogs\\a.png"),
        ),
        expressions=(),
    )
    names = export_names(snapshot)
    assert names == {
        1: "g1_0.jpg",
        2: "G1_0-abababab.jpg",
        3: "scan.png",
        4: snapshot.images[3].file,
        5: snapshot.images[4].file,
        6: "dogs/a.png",
    }
    assert original_name("/abs/x.png") is None and original_name("./a/./b.png") == "a/b.png"


def _own_dataset(small_project, snapshot, folder, fmt):
    """Write ``snapshot`` as a foreign dataset whose images carry their own names."""
    prefix = "photos/" if fmt == "coco" else ""
    named = tuple(
        dataclasses.replace(image, file=f"{prefix}g{image.group_id}_{k}.png", meta={})
        for k, image in enumerate(sorted(snapshot.images, key=lambda i: i.id))
    )
    for image, own in zip(sorted(snapshot.images, key=lambda i: i.id), named, strict=True):
        (folder / own.file).parent.mkdir(parents=True, exist_ok=True)
        (folder / own.file).write_bytes((small_project.root / image.file).read_bytes())
    foreign = dataclasses.replace(snapshot, images=named)
    (write_coco if fmt == "coco" else write_d3)(folder, foreign, incomplete="mark")
    return foreign


def _masks_by_name(snapshot):
    files = {i.id: i.file for i in snapshot.images}
    texts = {e.id: e.text for e in snapshot.expressions}
    return {
        (texts[eid], files[iid], d.status.value): [rle.decode(i.rle) for i in d.instances]
        for eid, pairs in snapshot.decisions.items()
        for iid, d in pairs.items()
        if d.is_human
    }


@pytest.mark.parametrize("fmt", ["d3", "coco"])
def test_own_names_survive_import_and_export(fmt, small_project, snapshot, tmp_path):
    source = tmp_path / "source"
    foreign = _own_dataset(small_project, snapshot, source, fmt)
    Project.init(tmp_path / "project").close()
    args = ["import", str(tmp_path / "project"), str(source), "-f", fmt]
    assert runner.invoke(app, args).exit_code == 0
    out = tmp_path / "out"
    result = runner.invoke(
        app,
        [
            "export",
            str(tmp_path / "project"),
            str(out),
            "-f",
            fmt,
            "--incomplete",
            "mark",
            "--copy-images",
        ],
    )
    assert result.exit_code == 0, result.output
    back = read_format(fmt, out)
    assert sorted(i.file for i in back.images) == sorted(i.file for i in foreign.images)
    for image in foreign.images:
        assert filecmp.cmp(out / image.file, source / image.file, shallow=False)
    assert not (out / "images").exists()  # no content-hash names
    expected, got = _masks_by_name(foreign), _masks_by_name(back)
    assert expected.keys() == got.keys()
    for key, masks in expected.items():
        assert len(masks) == len(got[key])
        assert all(np.array_equal(a, b) for a, b in zip(masks, got[key], strict=True)), key

"""``grd export`` / ``grd import``: every format through the command line, and a clear non-zero
exit (no traceback, nothing imported) on a malformed file."""

import json

import pytest
from typer.testing import CliRunner

from labeler.project import Project
from pipelines.cli import app

runner = CliRunner()


@pytest.mark.parametrize("fmt", ["coco", "d3", "grefcoco", "refcoco"])
def test_export_then_import_with_copied_images(fmt, small_project, tmp_path):
    out = tmp_path / "out"
    result = runner.invoke(
        app,
        [
            "export",
            str(small_project.root),
            str(out),
            "--format",
            fmt,
            "--incomplete",
            "mark",
            "--copy-images",
        ],
    )
    assert result.exit_code == 0, result.output
    assert (out / "attribution.json").is_file() and (out / "images").is_dir()
    Project.init(tmp_path / "copy").close()
    source = out / "instances.json" if fmt == "coco" else out
    result = runner.invoke(app, ["import", str(tmp_path / "copy"), str(source), "--format", fmt])
    assert result.exit_code == 0, result.output
    with Project.open(tmp_path / "copy") as project:
        counts = project.store.counts()
    assert counts["images"] == 5
    assert counts["decisions"] == (4 if fmt == "refcoco" else 9)


def test_malformed_import_exits_1_with_the_problem_and_imports_nothing(small_project, tmp_path):
    out = tmp_path / "out"
    assert runner.invoke(app, ["export", str(small_project.root), str(out)]).exit_code == 0
    data = json.loads((out / "expressions.json").read_text())
    data["expressions"][0]["ann_ids"] = [12345]
    (out / "expressions.json").write_text(json.dumps(data))
    Project.init(tmp_path / "copy").close()
    result = runner.invoke(
        app, ["import", str(tmp_path / "copy"), str(out), "--images", str(small_project.root)]
    )
    assert result.exit_code == 1
    assert (
        "expressions.json, expression" in result.output
        and "annotation 12345 does not exist" in result.output
    )
    assert "Traceback" not in result.output
    with Project.open(tmp_path / "copy") as project:
        assert set(project.store.counts().values()) == {0}

"""The `grd` project commands through typer's runner: init, ingest, expressions, status, demo."""

import io

import numpy as np
from PIL import Image
from typer.testing import CliRunner

from labeler.project import Project
from pipelines.cli import app

runner = CliRunner()


def _write_png(path, seed):
    arr = np.random.default_rng(seed).integers(0, 255, (16, 16, 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, "PNG")
    path.write_bytes(buf.getvalue())


def test_help_lists_every_command():
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("init", "ingest", "expressions", "status", "demo"):
        assert command in result.output


def test_init_ingest_expressions_status(tmp_path):
    proj = tmp_path / "proj"
    assert runner.invoke(app, ["init", str(proj)]).exit_code == 0
    photos = tmp_path / "photos"
    photos.mkdir()
    for i in range(3):
        _write_png(photos / f"{i}.png", i)
    (photos / "broken.jpg").write_bytes(b"\xff\xd8\xff")
    result = runner.invoke(
        app,
        [
            "ingest",
            str(proj),
            str(photos),
            "--group",
            "dog x beach",
            "--target",
            "dog",
            "--scene",
            "beach",
        ],
    )
    assert result.exit_code == 1, result.output  # one bad file -> non-zero summary
    assert (
        "3 added" in result.output
        and "1 skipped" in result.output
        and "broken.jpg" in result.output
    )
    result = runner.invoke(
        app, ["expressions", "add", str(proj), "dog x beach", "the dog", "a red ball"]
    )
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["status", str(proj)], env={"COLUMNS": "200"})
    assert result.exit_code == 0 and "dog x beach" in result.output
    with Project.open(proj) as project:
        (g,) = project.store.group_progress()
        assert (g.images, g.expressions, g.pairs) == (3, 2, 6)
        assert project.store.list_groups()[0].target_keyword == "dog"


def test_commands_on_a_missing_project_fail_cleanly(tmp_path):
    result = runner.invoke(app, ["status", str(tmp_path / "nothing")])
    assert result.exit_code == 2
    assert "not a project folder" in result.output
    assert "Traceback" not in result.output


def test_unknown_group_is_a_clear_error(tmp_path):
    runner.invoke(app, ["init", str(tmp_path / "p")])
    result = runner.invoke(app, ["expressions", "add", str(tmp_path / "p"), "nope", "x"])
    assert result.exit_code == 2 and "no group named 'nope'" in result.output

"""``grd`` behaves like the command-line tools a team knows: files readable per the umask, help in
``DIRECTORY OUT`` style without ``<bool>``, a busy port refused before any URL is printed, tables
never cut at 80 columns, unknown formats and over-long expressions named in one line, and
expressions renamed and deleted from the command line."""

import io
import os
import socket
import stat

import numpy as np
import pytest
import typer
from PIL import Image
from typer.testing import CliRunner

from labeler.project import Project
from pipelines.cli import app

runner = CliRunner()


def _png(path, seed):
    path.parent.mkdir(parents=True, exist_ok=True)
    arr = np.random.default_rng(seed).integers(0, 255, (12, 16, 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, "PNG")
    path.write_bytes(buf.getvalue())


@pytest.fixture
def project(tmp_path):
    """A project whose images came from a folder with a sub-folder (group "dogs": a, b; group
    "cats": cats/c), and two expressions of "dogs"."""
    photos = tmp_path / "photos"
    _png(photos / "a.png", 1)
    _png(photos / "b.png", 2)
    _png(photos / "cats" / "c.png", 3)
    root = tmp_path / "proj"
    assert runner.invoke(app, ["init", str(root)]).exit_code == 0
    result = runner.invoke(app, ["ingest", str(root), str(photos), "--group", "dogs"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["expressions", "add", str(root), "dogs", "the dog", "a ball"])
    assert result.exit_code == 0, result.output
    return root


def _flat(output: str) -> str:
    """CLI output with rich's box characters and line breaks taken out."""
    return " ".join(output.replace("│", " ").replace("╭", " ").replace("╰", " ").split())


def test_ingest_records_the_relative_path_and_export_uses_it(project, tmp_path):
    with Project.open(project) as p:
        names = sorted(i.meta["original_name"] for i in p.store.list_images())
    assert names == ["a.png", "b.png", "cats/c.png"]
    out = tmp_path / "out"
    result = runner.invoke(app, ["export", str(project), str(out), "--copy-images"])
    assert result.exit_code == 0, result.output
    assert (out / "a.png").is_file() and (out / "cats" / "c.png").is_file()


@pytest.mark.parametrize("umask", [0o022, 0o077])
def test_exported_files_follow_the_umask(umask, project, tmp_path):
    old = os.umask(umask)
    try:
        result = runner.invoke(app, ["export", str(project), str(tmp_path / "out"), "-f", "d3"])
    finally:
        os.umask(old)
    assert result.exit_code == 0, result.output
    files = [p for p in (tmp_path / "out").rglob("*") if p.is_file()]
    assert files
    assert {stat.S_IMODE(p.stat().st_mode) for p in files} == {0o666 & ~umask}


def _commands(group, prefix=()):
    for name, command in group.commands.items():
        if getattr(command, "hidden", False):
            continue
        if hasattr(command, "commands"):  # a sub-group (typer's own click)
            yield from _commands(command, (*prefix, name))
        else:
            yield (*prefix, name)


def test_help_reads_in_the_usual_style():
    commands = list(_commands(typer.main.get_command(app)))
    assert ("export",) in commands and ("expressions", "delete") in commands
    for command in commands:
        result = runner.invoke(app, [*command, "--help"], env={"COLUMNS": "120"})
        assert result.exit_code == 0, command
        assert "<bool>" not in result.output, command
        assert "{" not in result.output.splitlines()[1], command
    usage = runner.invoke(app, ["export", "--help"]).output
    assert "[OPTIONS] DIRECTORY OUT" in usage


def test_unknown_format_names_the_choices(project, tmp_path):
    result = runner.invoke(app, ["export", str(project), str(tmp_path / "o"), "-f", "yolo"])
    assert result.exit_code == 2
    assert "unknown format 'yolo'; choose one of coco, d3, grefcoco, refcoco" in _flat(
        result.output
    )
    assert not (tmp_path / "o").exists()


def test_export_says_what_it_writes_and_leaves_out(project, tmp_path):
    with Project.open(project) as p:
        (dog, ball) = p.store.list_expressions()
        for image in p.store.list_images(dog.group_id):
            p.store.save_decision(dog.id, image.id, "negative", author="ann", expected_revision=0)
    result = runner.invoke(app, ["export", str(project), str(tmp_path / "out"), "-f", "refcoco"])
    assert result.exit_code == 0, result.output
    assert "refcoco writes 3 images, 1 complete expression, 0 object masks" in result.output
    assert "1 incomplete expression (choose 'mark'" in result.output
    assert "2 negative pairs (refcoco has no place for them)" in result.output


def test_ui_on_a_busy_port_fails_before_printing_the_url(project):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = runner.invoke(app, ["ui", str(project), "--port", str(port)])
    assert result.exit_code == 2
    assert "http://" not in result.output
    assert f"cannot serve on 127.0.0.1:{port}" in result.output and "--port" in result.output


def test_status_keeps_long_names_whole_and_names_groups(project):
    long_group = "a very long group name " * 6
    with Project.open(project) as p:
        group = p.store.create_group(long_group.strip())
        p.store.add_expression(group.id, "the " + "long " * 30 + "expression")
    result = runner.invoke(app, ["status", str(project)])
    assert result.exit_code == 0
    assert any(long_group.strip() in line for line in result.output.splitlines())
    result = runner.invoke(app, ["status", str(project), "-e"])
    lines = result.output.splitlines()
    assert any("the " + "long " * 30 + "expression" in line for line in lines)
    row = next(line for line in lines if "the dog" in line)
    assert "dogs" in row.split()


def test_expressions_rename_delete_and_the_length_limit(project):
    with Project.open(project) as p:
        dog, ball = p.store.list_expressions()
        image = p.store.list_images()[0]
        p.store.save_decision(dog.id, image.id, "negative", author="ann", expected_revision=0)
    result = runner.invoke(app, ["expressions", "add", str(project), "dogs", "x" * 10_000])
    assert result.exit_code == 2
    assert "expression is 10,000 characters long; the limit is 500" in _flat(result.output)
    result = runner.invoke(app, ["expressions", "rename", str(project), str(ball.id), "a red ball"])
    assert result.exit_code == 0 and "a red ball" in result.output
    result = runner.invoke(app, ["expressions", "delete", str(project), str(dog.id)])
    assert result.exit_code == 2
    assert "has 1 human decision; delete it with force" in _flat(result.output)
    result = runner.invoke(app, ["expressions", "delete", str(project), str(dog.id), "--force"])
    assert result.exit_code == 0, result.output
    assert "1 human decisions kept in the audit log" in result.output
    with Project.open(project) as p:
        assert [e.text for e in p.store.list_expressions()] == ["a red ball"]
        assert any(e.action == "delete_expression" for e in p.store.audit(expression_id=dog.id))


def test_an_export_without_images_still_imports_from_the_project_folder(project, tmp_path):
    out = tmp_path / "out"
    assert (
        runner.invoke(app, ["export", str(project), str(out), "--incomplete", "mark"]).exit_code
        == 0
    )
    assert not (out / "a.png").exists()  # names as they came, files not copied
    Project.init(tmp_path / "copy").close()
    result = runner.invoke(
        app, ["import", str(tmp_path / "copy"), str(out), "--images", str(project)]
    )
    assert result.exit_code == 0, result.output
    with Project.open(tmp_path / "copy") as p:
        assert sorted(i.meta["original_name"] for i in p.store.list_images()) == [
            "a.png",
            "b.png",
            "cats/c.png",
        ]

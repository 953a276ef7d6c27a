"""`grd users ...`, `grd assign`, `grd agreement` through typer's runner on a SQLite project."""

from __future__ import annotations

from typer.testing import CliRunner

from labeler.project import Project
from pipelines.cli import app

runner = CliRunner()


def _project(tmp_path):
    folder = tmp_path / "proj"
    assert runner.invoke(app, ["init", str(folder)]).exit_code == 0
    project = Project.open(folder)
    group = project.store.create_group("dogs", "dog", "beach")
    project.store.add_image(group.id, "a.png", 8, 8, "h1")
    project.store.add_expression(group.id, "the dog")
    return folder, project


def test_users_lifecycle(tmp_path):
    folder, project = _project(tmp_path)
    d = str(folder)
    assert "local single-user mode" in runner.invoke(app, ["users", "list", d]).output
    first = runner.invoke(app, ["users", "add", d, "ann", "--password-stdin"], input="pw-pw-pw-1\n")
    assert first.exit_code == 2 and "first user of a project must be an admin" in first.output
    ok = runner.invoke(
        app,
        ["users", "add", d, "root", "--role", "admin", "--password-stdin"],
        input="pw-pw-pw-1\n",
    )
    assert ok.exit_code == 0, ok.output
    runner.invoke(app, ["users", "add", d, "ann", "--password-stdin"], input="pw-pw-pw-2\n")
    assert runner.invoke(app, ["users", "list", d]).output.split() == [
        "ann",
        "annotator",
        "root",
        "admin",
    ]
    assert runner.invoke(app, ["users", "role", d, "ann", "reviewer"]).exit_code == 0
    bad = runner.invoke(app, ["users", "role", d, "ann", "boss"])
    assert bad.exit_code == 2 and "unknown role" in bad.output
    assert project.store.sign_in("ann", "pw-pw-pw-2")
    assert runner.invoke(app, ["users", "remove", d, "ann"]).exit_code == 0
    assert runner.invoke(app, ["users", "list", d]).output.split() == ["root", "admin"]
    long_name = runner.invoke(
        app, ["users", "add", d, "x" * 5000, "--password-stdin"], input="pw-pw-pw-3\n"
    )
    assert long_name.exit_code == 2 and "user name is 5,000 characters long" in long_name.output


def test_assign_and_agreement(tmp_path):
    folder, project = _project(tmp_path)
    d = str(folder)
    runner.invoke(
        app,
        ["users", "add", d, "root", "--role", "admin", "--password-stdin"],
        input="pw-pw-pw-1\n",
    )
    runner.invoke(app, ["users", "add", d, "ann", "--password-stdin"], input="pw-pw-pw-2\n")
    refused = runner.invoke(app, ["assign", d, "--group", "dogs", "--to", "ann", "--as", "ann"])
    assert refused.exit_code == 2 and "may not assign" in refused.output
    done = runner.invoke(
        app, ["assign", d, "--group", "dogs", "--expression", "the dog", "--to", "ann"]
    )
    assert done.exit_code == 0, done.output
    assert project.store.assigned_expressions("ann") == [project.store.list_expressions()[0].id]
    report = runner.invoke(app, ["agreement", d])
    assert report.exit_code == 0 and "no pair was judged by two annotators" in report.output


def test_export_reviewed_only(tmp_path):
    import json

    folder, project = _project(tmp_path)
    store = project.store
    for name, role in (("root", "admin"), ("ann", "annotator"), ("rev", "reviewer")):
        store.add_user(name, role, "pw-pw-pw-1")
    group = store.list_groups()[0]
    image = store.list_images(group.id)[0]
    expr = store.list_expressions(group.id)[0]
    store.save_decision(expr.id, image.id, "negative", author="ann", expected_revision=0)

    def exported(*flags):
        out = tmp_path / f"out{len(flags)}{len(store.reviewed_pairs())}"
        result = runner.invoke(app, ["export", str(folder), str(out), *flags])
        assert result.exit_code == 0, result.output
        return json.loads((out / "expressions.json").read_text())["expressions"]

    everything = tmp_path / "all"
    assert runner.invoke(app, ["export", str(folder), str(everything)]).exit_code == 0
    assert exported("--reviewed-only") == []  # not reviewed yet: the expression is incomplete
    store.review(expr.id, image.id, "accepted", reviewer="rev")
    assert len(exported("--reviewed-only")) == 1


def test_ui_refuses_a_public_address_without_users(tmp_path):
    folder, _ = _project(tmp_path)
    result = runner.invoke(app, ["ui", str(folder), "--address", "0.0.0.0", "--port", "0"])
    assert result.exit_code == 2
    assert "has no users" in result.output and "grd users add" in result.output


def test_review_and_gold_commands(tmp_path):
    folder, project = _project(tmp_path)
    d, store = str(folder), project.store
    for name, role in (("root", "admin"), ("ann", "annotator"), ("rev", "reviewer")):
        store.add_user(name, role, "pw-pw-pw-1")
    expr = store.list_expressions()[0].id
    image = store.list_images()[0].id
    store.save_decision(expr, image, "negative", author="ann", expected_revision=0)
    args = ["review", d, str(expr), str(image), "--reject", "--as"]
    refused = runner.invoke(app, [*args, "ann", "--reason", "no"])
    assert refused.exit_code == 2 and "may not review" in refused.output
    no_reason = runner.invoke(app, [*args, "rev"])
    assert no_reason.exit_code == 2 and "reason is empty" in no_reason.output
    done = runner.invoke(app, [*args, "rev", "--reason", "a dog hides left"])
    assert done.exit_code == 0, done.output
    assert [r.reason for r in store.rejections_for("ann")] == ["a dog hides left"]
    assert runner.invoke(app, ["gold", d, str(expr), str(image)]).exit_code == 0
    assert store.gold() == {(expr, image): ("negative", [])}
    assert "gold ann 1/1 100%" in " ".join(runner.invoke(app, ["agreement", d]).output.split())

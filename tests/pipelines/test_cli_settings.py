"""`grd settings`: shows and changes the intake settings, as the first admin or ``--as``; an
annotator is refused and a bad folder is one line of error, nothing changed."""

from __future__ import annotations

from typer.testing import CliRunner

from labeler.project import Project
from pipelines.cli import app
from pipelines.services import team_admin

runner = CliRunner()


def test_settings_show_change_and_refuse(tmp_path):
    folder = tmp_path / "proj"
    assert runner.invoke(app, ["init", str(folder)]).exit_code == 0
    d, allowed = str(folder), tmp_path / "incoming"
    allowed.mkdir()
    shown = runner.invoke(app, ["settings", d])
    assert shown.exit_code == 0 and "the server disk is off" in shown.output
    for name, role in (("root", "admin"), ("ann", "annotator")):
        added = runner.invoke(
            app, ["users", "add", d, name, "--role", role, "--password-stdin"], input="pw-pw-pw-1\n"
        )
        assert added.exit_code == 0, added.output
    ok = runner.invoke(app, ["settings", d, "--ingest-root", str(allowed), "--allow-private-urls"])
    assert ok.exit_code == 0, ok.output
    assert str(allowed.resolve()) in ok.output and "allow_private_urls\ttrue" in ok.output
    refused = runner.invoke(app, ["settings", d, "--no-ingest-roots", "--as", "ann"])
    assert refused.exit_code == 2 and "annotator" in refused.output
    bad = runner.invoke(app, ["settings", d, "--ingest-root", "relative/x"])
    assert bad.exit_code == 2 and "not an absolute path" in bad.output
    assert len(bad.output.strip().splitlines()) == 1
    with Project.open(folder) as project:
        assert team_admin.intake_settings(project.store) == ([str(allowed.resolve())], True)
    off = runner.invoke(app, ["settings", d, "--no-ingest-roots", "--public-urls-only"])
    assert off.exit_code == 0 and "the server disk is off" in off.output

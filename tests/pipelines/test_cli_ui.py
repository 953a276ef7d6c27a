"""`grd ui --segmenter`: checked before the app starts, handed to the app's process."""

from __future__ import annotations

import subprocess

from typer.testing import CliRunner

from labeler.project import Project
from pipelines.cli import app
from pipelines.click_models.segmenters import ENV

runner = CliRunner()


def test_segmenter_option_reaches_the_app_and_a_wrong_name_stops_before_it(tmp_path, monkeypatch):
    Project.init(tmp_path / "p").close()
    started = []
    monkeypatch.setattr(subprocess, "call", lambda cmd, env, cwd: started.append(env) or 0)
    ok = runner.invoke(app, ["ui", str(tmp_path / "p"), "--segmenter", "classic"])
    assert ok.exit_code == 0, ok.output
    assert "click model: weight-free fallback segmenter" in ok.output
    assert started[-1][ENV] == "classic"
    bad = runner.invoke(app, ["ui", str(tmp_path / "p"), "--segmenter", "sam_vit_q"])
    assert bad.exit_code == 2 and "--segmenter sam_vit_q" in bad.output and len(started) == 1

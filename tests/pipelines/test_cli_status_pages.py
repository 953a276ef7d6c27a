"""`grd status` prints a page of rows (a 1,000-group table took seconds to draw); totals count all."""

from __future__ import annotations

import re

from typer.testing import CliRunner

from labeler.project import Project
from pipelines.cli import app


def test_status_prints_limit_rows_and_totals_over_every_group(tmp_path):
    with Project.init(tmp_path / "p") as project:
        for g in range(5):
            group = project.store.create_group(f"group{g}")
            project.store.add_image(group.id, f"images/{g}.png", 8, 8, f"hash{g}")
    runner = CliRunner(env={"COLUMNS": "200"})
    paged = runner.invoke(app, ["status", str(tmp_path / "p"), "--limit", "2"])
    assert paged.exit_code == 0, paged.output
    assert "group1" in paged.output and "group2" not in paged.output
    assert "2 of 5 rows shown" in paged.output
    assert re.search(r"│ all\s+│ 5\s+│", paged.output), paged.output  # images of all 5 groups
    everything = runner.invoke(app, ["status", str(tmp_path / "p"), "--limit", "0"])
    assert "group4" in everything.output and "rows shown" not in everything.output

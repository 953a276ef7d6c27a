"""`grd status` prints a page of rows (a 1,000-group table took seconds to draw); totals count all."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

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


def test_status_in_a_new_process_loads_no_array_image_or_model_library(tmp_path):
    """`grd status` is a few queries; numpy, OpenCV, pycocotools, PIL, torch and Streamlit cost
    0.2-3 s to import and none is needed for it (issue #21: status < 1 s at ten times GRD)."""
    with Project.init(tmp_path / "p") as project:
        group = project.store.create_group("g")
        project.store.add_image(group.id, "images/0.png", 8, 8, "hash0")
        project.store.add_expression(group.id, "the dog")
    probe = (
        "import sys, runpy\n"
        "sys.argv = ['grd', 'status', sys.argv[1]]\n"
        "try:\n"
        "    runpy.run_module('pipelines.cli', run_name='__main__')\n"
        "except SystemExit as stop:\n"
        "    assert not stop.code, stop.code\n"
        "heavy = {'numpy', 'cv2', 'pycocotools', 'PIL', 'torch', 'streamlit', 'alembic'}\n"
        "print('LOADED', sorted(heavy & {m.split('.')[0] for m in sys.modules}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe, str(tmp_path / "p")],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "LOADED []", done.stdout[-2000:]

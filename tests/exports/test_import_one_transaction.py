"""Imports and ingests write every row in ONE transaction (``Store.unit``): a database error after
some rows were written, or ``kill -9`` in the middle of the writing, leaves the project's rows and
image files as they were (image files are staged until the rows commit; the next run settles a
killed one's staging folder); on SQLite and PostgreSQL alike."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from labeler.project import Project
from labeler.store import Store
from pipelines.intake.imports import import_snapshot, read_source
from pipelines.intake.ingest import folder_items, ingest_items
from pipelines.intake.staging import STAGING, recover

REPO = Path(__file__).resolve().parents[2]


def _files(root: Path) -> list[Path]:
    return sorted(p.relative_to(root) for p in (root / "images").rglob("*") if p.is_file())


class _DatabaseBroke(RuntimeError):
    """Stands for a DataError / lost connection raised by the database mid-way."""


def _fail_on_call(monkeypatch, method: str, call: int) -> list[int]:
    calls = [0]
    real = getattr(Store, method)

    def flaky(self, *args, **kwargs):
        calls[0] += 1
        if calls[0] == call:
            raise _DatabaseBroke(f"{method} failed")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Store, method, flaky)
    return calls


def test_a_database_error_late_in_an_import_rolls_back_every_row_and_file(
    database_url, coco_dir, small_project, tmp_path, monkeypatch
):
    root = tmp_path / "p"
    with Project.init(root, database_url=database_url) as project:
        before = project.store.counts()
        # Groups and images are written before the expressions (one call): that call fails.
        _fail_on_call(monkeypatch, "add_expressions", 1)
        with pytest.raises(_DatabaseBroke):
            import_snapshot(
                project, read_source("coco", coco_dir / "instances.json"), small_project.root
            )
        assert project.store.counts() == before
        assert project.store.list_groups() == []
        monkeypatch.undo()
        report = import_snapshot(
            project, read_source("coco", coco_dir / "instances.json"), small_project.root
        )
        assert report.groups_created > 0 and report.decisions_written > 0
    assert _files(root) != []


def test_a_database_error_late_in_an_ingest_rolls_back_every_row_and_file(
    database_url, tmp_path, monkeypatch
):
    from PIL import Image

    source = tmp_path / "photos"
    for k, group in enumerate(["cats", "dogs"]):
        (source / group).mkdir(parents=True)
        for j in range(3):
            Image.new("RGB", (32, 24), (40 * k + 10 * j, 90, 200)).save(source / group / f"{j}.png")
    root = tmp_path / "p"
    with Project.init(root, database_url=database_url) as project:
        before = project.store.counts()
        _fail_on_call(monkeypatch, "add_image", 5)
        with pytest.raises(_DatabaseBroke):
            ingest_items(project, folder_items(source))
        assert project.store.counts() == before
        assert _files(root) == []
        monkeypatch.undo()
        report = ingest_items(project, folder_items(source))
        assert len(report.added) == 6
        assert project.store.counts()["images"] == before["images"] + 6


_KILLED_IMPORT = """
import sys, time
from pathlib import Path
from labeler.project import Project
from labeler.store import Store
from pipelines.intake.imports import import_snapshot, read_source

root, coco, images, marker = sys.argv[1:5]
real = Store.add_expressions
def slow(self, *args, **kwargs):
    record = real(self, *args, **kwargs)
    Path(marker).write_text("rows written, transaction open")
    time.sleep(120)
    return record
Store.add_expressions = slow
with Project.open(root) as project:
    import_snapshot(project, read_source("coco", coco), images)
"""


def test_kill_9_in_the_middle_of_an_import_leaves_the_rows_as_they_were(
    database_url, coco_dir, small_project, tmp_path
):
    root = tmp_path / "p"
    with Project.init(root, database_url=database_url) as project:
        before = project.store.counts()
    marker = tmp_path / "marker"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    child = subprocess.Popen(
        [sys.executable, "-c", _KILLED_IMPORT, str(root), str(coco_dir / "instances.json"),
         str(small_project.root), str(marker)],
        env=env,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while not marker.exists():
            assert child.poll() is None, "the import ended before it was killed"
            assert time.monotonic() < deadline, "the import never reached its expressions"
            time.sleep(0.1)
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
    assert _files(root) == []  # its image files were still staged
    assert (root / STAGING).is_dir()
    with Project.open(root) as project:
        assert project.store.counts() == before  # groups and images it had written: gone
        recover(project)  # what the next import or ingest does first
    assert not (root / STAGING).exists() and _files(root) == []  # the project as it was
    with Project.open(root) as project:
        report = import_snapshot(
            project, read_source("coco", coco_dir / "instances.json"), small_project.root
        )  # a re-run completes it
        assert report.groups_created > 0 and report.decisions_written > 0

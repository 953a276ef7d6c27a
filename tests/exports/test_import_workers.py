"""A large import reads its image files in a pool of worker processes: the project it makes is the
one a single process makes, and a bad file still stops the import with its one-line error, naming
the first bad image, with nothing written and nothing left staged."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from labeler.errors import ImportFormatError
from labeler.project import Project
from pipelines.intake import imports
from pipelines.intake.imports import import_snapshot, read_source
from pipelines.intake.staging import STAGING


def _files(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in (root / "images").rglob("*")
        if p.is_file()
    }


def _images(project) -> list[tuple]:
    return [(i.file, i.content_hash, i.width, i.height) for i in project.store.list_images()]


def test_workers_make_the_same_project_as_one_process(
    database_url, coco_dir, small_project, tmp_path, monkeypatch
):
    monkeypatch.setattr(imports, "CHUNK", 2)  # several tasks for two workers
    made = {}
    for workers in (1, 2):
        root = tmp_path / f"w{workers}"
        # the pool forks a process holding the project's database connection: on PostgreSQL too
        url = database_url if workers > 1 else ""
        with Project.init(root, database_url=url) as project:
            report = import_snapshot(
                project,
                read_source("coco", coco_dir / "instances.json"),
                small_project.root,
                workers=workers,
            )
            made[workers] = (_images(project), _files(root), report.decisions_written)
        assert not (root / STAGING).exists()
    assert made[1] == made[2] and made[1][0]


def test_a_bad_file_read_by_a_worker_stops_the_import_and_leaves_nothing(
    database_url, coco_dir, small_project, tmp_path, monkeypatch
):
    monkeypatch.setattr(imports, "CHUNK", 2)
    source = tmp_path / "source"
    shutil.copytree(small_project.root / "images", source / "images")
    snapshot = read_source("coco", coco_dir / "instances.json")
    images = sorted(snapshot.images, key=lambda i: i.id)
    bad = [images[2], images[4]]  # in the second and third task
    for image in bad:
        (source / image.file).write_bytes(b"not an image")
    root = tmp_path / "p"
    with Project.init(root, database_url=database_url) as project:
        before = project.store.counts()
        with pytest.raises(ImportFormatError) as caught:
            import_snapshot(project, snapshot, source, workers=2)
        assert f"image {bad[0].id}:" in str(caught.value) and "\n" not in str(caught.value)
        assert project.store.counts() == before
    assert _files(root) == {}
    assert not (root / STAGING).exists()

"""Staged image files: published only after the rows commit; a dead run's folder is settled by
``recover`` (files its committed rows name move into place, the rest go); a live run's folder and
another machine's are left alone."""

from __future__ import annotations

import socket

from labeler.project import Project
from pipelines.intake.staging import STAGING, StagedFiles, recover


def _dead_run(root, name_pid: int = 2**22 + 12345):
    # pid_max on Linux is at most 2**22: this pid cannot be alive.
    return root / STAGING / f"{socket.gethostname()}-{name_pid}-deadbeef"


def _stage(run, rel, data=b"x"):
    path = run / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def test_put_stages_and_publish_moves_into_place(tmp_path):
    with Project.init(tmp_path / "p") as project:
        staged = StagedFiles(project.root)
        rel = staged.put(b"pixels", "ab" + "0" * 62, ".png")
        assert rel == f"images/ab/ab{'0' * 62}.png"
        assert not (project.root / rel).exists() and (staged.dir / rel).exists()
        staged.publish()
        assert (project.root / rel).read_bytes() == b"pixels"
        assert not (project.root / STAGING).exists()


def test_discard_leaves_nothing(tmp_path):
    with Project.init(tmp_path / "p") as project:
        staged = StagedFiles(project.root)
        rel = staged.put(b"pixels", "cd" + "0" * 62, ".png")
        staged.discard()
        assert not (project.root / rel).exists() and not (project.root / STAGING).exists()


def test_recover_publishes_what_committed_rows_name_and_drops_the_rest(tmp_path):
    with Project.init(tmp_path / "p") as project:
        group = project.store.create_group("g")
        kept, dropped = "images/aa/aa1.png", "images/bb/bb2.png"
        project.store.add_image(group.id, kept, 4, 3, "aa1")  # its run committed, then died
        run = _dead_run(project.root)
        _stage(run, kept, b"kept")
        _stage(run, dropped, b"dropped")
        recover(project)
        assert (project.root / kept).read_bytes() == b"kept"
        assert not (project.root / dropped).exists()
        assert not (project.root / STAGING).exists()


def test_recover_leaves_live_and_foreign_runs_alone(tmp_path):
    import os

    with Project.init(tmp_path / "p") as project:
        live = project.root / STAGING / f"{socket.gethostname()}-{os.getpid()}-cafecafe"
        foreign = project.root / STAGING / f"another-host-{2**22 + 7}-cafecafe"
        _stage(live, "images/cc/cc3.png")
        _stage(foreign, "images/dd/dd4.png")
        recover(project)
        assert (live / "images/cc/cc3.png").exists()
        assert (foreign / "images/dd/dd4.png").exists()


def test_publish_merges_into_folders_the_project_has_and_skips_files_it_holds(tmp_path):
    with Project.init(tmp_path / "p") as project:
        held = "ab" + "1" * 62
        (project.root / "images" / "ab").mkdir(parents=True)
        (project.root / f"images/ab/{held}.png").write_bytes(b"old")
        staged = StagedFiles(project.root)
        assert staged.put(b"new", held, ".png") == f"images/ab/{held}.png"
        assert not (staged.dir / f"images/ab/{held}.png").exists()  # the project has it
        beside, fresh = "ab" + "2" * 62, "ef" + "3" * 62
        staged.put(b"beside", beside, ".png")  # into a folder the project has
        staged.put(b"fresh", fresh, ".jpg")  # into one it lacks (moved whole)
        staged.publish()
        assert (project.root / f"images/ab/{held}.png").read_bytes() == b"old"
        assert (project.root / f"images/ab/{beside}.png").read_bytes() == b"beside"
        assert (project.root / f"images/ef/{fresh}.jpg").read_bytes() == b"fresh"
        assert not (project.root / STAGING).exists()

"""Image files of an import or ingest, kept out of the project until its rows commit.

    staged = StagedFiles(project.root)
    rel = staged.put(data, content_hash, ".jpg")   # the final project-relative path
    with store.unit(): ...                         # write the rows naming ``rel``
    staged.publish()                               # then move the files into place

Files go to ``<project>/.staging/<host>-<pid>-<id>/`` first. A failure before the commit
``discard``s them; a process killed mid-way leaves its folder behind, and :func:`recover` (run at
the start of every import and ingest) settles it: files whose rows committed are moved into place,
the rest removed, so the project ends as it was or as the finished run would have left it.
"""

from __future__ import annotations

import os
import shutil
import socket
import uuid
from pathlib import Path

from labeler.project import Project

STAGING = ".staging"


def _final_rel(content_hash: str, extension: str) -> str:
    return f"images/{content_hash[:2]}/{content_hash}{extension}"


class StagedFiles:
    """The image files one run writes, staged until :meth:`publish`.

    Written for imports of 100k files: each file costs one ``open``/``write`` and nothing else
    (which files the project already holds is listed once per ``images/xx`` folder, folders are
    made once), and publishing moves whole folders the project lacks in one rename each."""

    def __init__(self, project_root: Path, run_dir: Path | None = None):
        """Stage for the project at ``project_root``, in a new run folder, or in ``run_dir`` (a
        worker process staging its share of a run another process started)."""
        self.root = Path(project_root)
        self.dir = run_dir or (
            self.root / STAGING / f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        )
        self._staged: set[str] = set()  # a set: a list made a 105k-image import quadratic
        self._present: dict[str, set[str]] = {}  # images/xx -> file names the project holds
        self._made: set[str] = set()  # staging folders already created

    def put(self, data: bytes, content_hash: str, extension: str) -> str:
        """Stage the normalised bytes (unless the project holds them already); returns the
        project-relative path the file will have once published."""
        rel = _final_rel(content_hash, extension)
        folder, _, name = rel.rpartition("/")
        if rel in self._staged or name in self._held(folder):
            return rel
        if folder not in self._made:
            os.makedirs(os.path.join(self.dir, folder), exist_ok=True)
            self._made.add(folder)
        with open(os.path.join(self.dir, rel), "wb") as out:
            out.write(data)
        self._staged.add(rel)
        return rel

    def _held(self, folder: str) -> set[str]:
        if folder not in self._present:
            try:
                self._present[folder] = set(os.listdir(os.path.join(self.root, folder)))
            except (FileNotFoundError, NotADirectoryError):
                self._present[folder] = set()
        return self._present[folder]

    def publish(self) -> None:
        """Move every staged file into place (after the rows that name them committed)."""
        _move_into_place(self.root, self.dir)

    def discard(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)
        _remove_if_empty(self.root / STAGING)


def recover(project: Project) -> None:
    """Settle the staging folders of runs on this host whose process is gone: files named by an
    image row move into place (the run committed, then died), the others are removed."""
    root = project.root / STAGING
    if not root.is_dir():
        return
    host = socket.gethostname()
    for run in root.iterdir():
        name, _, rest = run.name.rpartition("-")[0].rpartition("-")
        if name != host or not rest.isdigit() or _alive(int(rest)):
            continue  # another machine's run (shared storage), or still running
        committed = project.store.referenced_files(
            [p.relative_to(run).as_posix() for p in run.rglob("*") if p.is_file()]
        )
        for path in [p for p in run.rglob("*") if p.is_file()]:
            if path.relative_to(run).as_posix() not in committed:
                path.unlink()
        _move_into_place(project.root, run)
    _remove_if_empty(root)


def _move_into_place(project_root: Path, run: Path) -> None:
    if run.is_dir():
        _merge(str(run), str(project_root))
        shutil.rmtree(run, ignore_errors=True)
    _remove_if_empty(project_root / STAGING)


def _merge(source: str, target: str) -> None:
    """Move the tree under ``source`` into ``target``: a folder ``target`` lacks moves in one
    rename (a fresh project's ``images/`` in one call), files replace theirs one by one."""
    with os.scandir(source) as listing:
        entries = list(listing)  # listed first: the loop renames entries out of ``source``
    for entry in entries:
        destination = os.path.join(target, entry.name)
        if entry.is_dir(follow_symlinks=False):
            if not os.path.lexists(destination):
                try:
                    os.rename(entry.path, destination)
                    continue
                except OSError:
                    pass  # another run made it meanwhile: merge into it
            os.makedirs(destination, exist_ok=True)
            _merge(entry.path, destination)
        else:
            os.replace(entry.path, destination)


def _remove_if_empty(folder: Path) -> None:
    try:
        folder.rmdir()
    except OSError:
        pass  # missing, or another run's folder is still in it


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True

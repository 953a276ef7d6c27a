"""Ingest from the browser: uploaded files (images or a manifest) and server paths, as jobs.

The UI hands over names and bytes; everything else is ``pipelines.intake.ingest``. Each ``*_job``
function has the :mod:`pipelines.services.jobs` signature (``progress`` first) and returns a one-line summary.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from labeler.errors import ImportFormatError
from labeler.progress_types import Progress, tracking
from labeler.project import Project
from pipelines.intake.guards import (
    ALLOW_PRIVATE_URLS,
    INGEST_ROOTS,
    check_server_path,
)
from pipelines.intake.ingest import (
    IMAGE_SUFFIXES,
    MANIFEST_SUFFIXES,
    IngestItem,
    IngestReport,
    ingest_items,
    manifest_items,
    source_items,
)

Upload = tuple[str, bytes]  # (file name, content)


def _safe_name(name: str) -> str:
    return Path(name).name or "upload"


def _settings(project: Project) -> tuple[list[str], bool]:
    store = project.store
    return store.get_setting(INGEST_ROOTS, []) or [], bool(store.get_setting(ALLOW_PRIVATE_URLS))


def upload_items(
    project: Project, files: Sequence[Upload], group: str, target: str = "", scene: str = ""
) -> list[IngestItem]:
    """Items of uploaded files: images join ``group``; a CSV / JSON manifest is read as one
    (its rows name URLs or absolute paths; ``group`` is the default for rows without one).
    Rows naming server files must lie under the project's ``ingest_roots`` (``PermissionDenied``);
    URLs must be public unless ``allow_private_urls`` (see ``guards.py``)."""
    roots, allow_private = _settings(project)
    items: list[IngestItem] = []
    for name, data in files:
        suffix = Path(name).suffix.lower()
        if suffix in MANIFEST_SUFFIXES:
            folder = project.cache_dir / "uploads"
            folder.mkdir(exist_ok=True)
            path = folder / _safe_name(name)
            path.write_bytes(data)
            rows = manifest_items(
                path, group or None, target, scene, allow_private_urls=allow_private
            )
            for row in rows:
                if not row.source.startswith(("http://", "https://")):
                    check_server_path(path.parent / row.source, roots)
            items += rows
        elif suffix in IMAGE_SUFFIXES:
            if not group.strip():
                raise ImportFormatError(f"{name}: uploaded images need a group name")
            items.append(
                IngestItem(
                    source=_safe_name(name),
                    group=group.strip(),
                    target=target,
                    scene=scene,
                    meta={"original_name": _safe_name(name)},
                    read=(lambda d=data: d),
                )
            )
        else:
            raise ImportFormatError(f"{name}: not an image or a .csv / .json manifest")
    return items


def run_ingest(progress: Progress, project: Project, items: list[IngestItem]) -> IngestReport:
    """Job: ingest ``items`` with progress; the report lists what was skipped and why."""
    report = ingest_items(project, items, progress=tracking(progress, len(items), "image"))
    progress(1.0, report.summary())
    return report


def ingest_uploads_job(
    progress: Progress,
    project: Project,
    files: Sequence[Upload],
    group: str,
    target: str = "",
    scene: str = "",
    *,
    actor: str | None = None,
) -> IngestReport:
    """Job: uploaded files. ``actor`` must be allowed to ingest (admins; anyone in local mode)."""
    project.store.authorize(actor, "ingest")
    return run_ingest(progress, project, upload_items(project, files, group, target, scene))


def ingest_path_job(
    progress: Progress,
    project: Project,
    source: str,
    group: str | None = None,
    target: str = "",
    scene: str = "",
    *,
    actor: str | None = None,
) -> IngestReport:
    """Job: a folder, manifest or image on the server's disk (as ``grd ingest`` does), for admins
    only and only under the project's ``ingest_roots`` (manifest rows included)."""
    project.store.authorize(actor, "ingest")
    return ingest_server_path(progress, project, source, group, target, scene)


def ingest_server_path(
    progress: Progress,
    project: Project,
    source: str,
    group: str | None = None,
    target: str = "",
    scene: str = "",
) -> IngestReport:
    """``ingest_path_job`` once the acting user was authorized (the job runner's ``start`` does):
    reads only under the project's ``ingest_roots``, manifest rows and symlinks included."""
    roots, allow_private = _settings(project)
    check_server_path(source, roots)
    items = source_items(source, group or None, target, scene, allow_private_urls=allow_private)
    base = Path(source).resolve().parent
    for item in items:
        if not item.source.startswith(("http://", "https://")):
            check_server_path(base / item.source, roots)
    return run_ingest(progress, project, items)

"""Export files for a browser download, built in memory through the format table.

    preview = export_preview(project, "d3", incomplete="omit")    # ExportSummary, nothing written
    prepared = build_downloads(project, fmt="coco", incomplete="omit", images=True)

Every format of ``exports.registry.FORMATS`` is offered: a zip of what ``grd export`` writes
(with the image files under their export names when ``images``), and for COCO also the instances
JSON on its own (it loads in ``pycocotools.coco.COCO``). ``prepared.summary`` says what was written
and what was left out, from the same snapshot.
"""

from __future__ import annotations

import io
import json
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from exports.summary import ExportSummary
from labeler.project import Project

#: How expressions without a human decision on every image are exported (exports.snapshot).
INCOMPLETE_CHOICES = {
    "omit": "leave them out (only certified, complete expressions)",
    "mark": "include them, marked incomplete (only decided pairs listed)",
}


@dataclass(frozen=True)
class Download:
    label: str
    file_name: str
    data: bytes
    mime: str


@dataclass(frozen=True)
class PreparedExport:
    summary: ExportSummary
    files: list[Download]


def _zip_folder(folder: Path) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(folder).as_posix())
    return buffer.getvalue()


def _check(incomplete: str) -> None:
    if incomplete not in INCOMPLETE_CHOICES:
        raise ValueError(
            f"incomplete must be one of {list(INCOMPLETE_CHOICES)}, got {incomplete!r}"
        )


def _snapshot(project: Project):
    from exports.snapshot import snapshot_from_store

    return snapshot_from_store(project.store, name=project.settings.name)


def export_preview(project: Project, fmt: str, *, incomplete: str = "omit") -> ExportSummary:
    """What exporting ``fmt`` now would write and leave out (reads the project, writes nothing)."""
    from exports.summary import export_summary

    _check(incomplete)
    return export_summary(_snapshot(project), fmt, incomplete=incomplete)


def build_downloads(
    project: Project,
    *,
    fmt: str = "coco",
    incomplete: str = "omit",
    images: bool = False,
    actor: str | None = None,
) -> PreparedExport:
    """The export of ``fmt`` as downloadable files, and its summary (see the module docstring).
    ``actor`` must be allowed to export (admins; anyone in local single-user mode)."""
    project.store.authorize(actor, "export")
    from exports.coco import build_coco_dict
    from exports.files import copy_images
    from exports.names import for_export
    from exports.registry import format_named, write_format
    from exports.summary import export_summary

    _check(incomplete)
    title = format_named(fmt).title
    snapshot = _snapshot(project)
    with tempfile.TemporaryDirectory() as tmp:
        write_format(fmt, tmp, snapshot, incomplete=incomplete)
        if images:
            copy_images(snapshot, project.root, tmp)
        bundle = _zip_folder(Path(tmp))
    stem = (
        "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in project.settings.name)
        or "export"
    )
    files = []
    if fmt == "coco":
        coco = build_coco_dict(for_export(snapshot), incomplete=incomplete)
        files.append(
            Download(
                "COCO instances (JSON)",
                f"{stem}_instances.json",
                json.dumps(coco).encode(),
                "application/json",
            )
        )
    files.append(Download(f"{title} (zip)", f"{stem}_{fmt}.zip", bundle, "application/zip"))
    return PreparedExport(export_summary(snapshot, fmt, incomplete=incomplete), files)

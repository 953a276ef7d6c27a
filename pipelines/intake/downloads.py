"""Export files for a browser download: built in memory from the ``exports`` builders/writers.

``build_downloads(project)`` returns the COCO instances JSON on its own (loads in
``pycocotools.coco.COCO``) and a zip with everything ``exports.coco.write_coco`` writes
(instances, expression file, attribution).
"""

from __future__ import annotations

import io
import json
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

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


def _zip_folder(folder: Path) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(folder).as_posix())
    return buffer.getvalue()


def build_downloads(project: Project, *, incomplete: str = "omit") -> list[Download]:
    """The export as downloadable files (see module docstring)."""
    from exports.coco import build_coco_dict, write_coco
    from exports.snapshot import snapshot_from_store

    if incomplete not in INCOMPLETE_CHOICES:
        raise ValueError(
            f"incomplete must be one of {list(INCOMPLETE_CHOICES)}, got {incomplete!r}"
        )
    snapshot = snapshot_from_store(project.store, name=project.settings.name)
    coco = json.dumps(build_coco_dict(snapshot, incomplete=incomplete)).encode()
    with tempfile.TemporaryDirectory() as tmp:
        write_coco(tmp, snapshot, incomplete=incomplete)
        bundle = _zip_folder(Path(tmp))
    stem = (
        "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in project.settings.name)
        or "export"
    )
    return [
        Download("COCO instances (JSON)", f"{stem}_instances.json", coco, "application/json"),
        Download("Full export (zip)", f"{stem}_export.zip", bundle, "application/zip"),
    ]

"""The file name an image gets in an export: the name it came with, made unique.

An image's name is its relative path at ingest or import (``meta["original_name"]``, e.g.
``g1_0.jpg`` or ``dogs/a.png``); images without one (older projects) keep their stored,
content-addressed path (``images/fe/fe0d....jpg``). The rule, applied in image-id order:

1. the recorded name if it is a safe relative path (no ``..``, not absolute), else the stored path;
2. the extension is the stored file's when the two differ (an image whose pixels were rotated or
   converted at ingest is stored as PNG, so ``a.bmp`` is exported as ``a.png``; ``.jpeg`` and
   ``.jpg`` count as the same);
3. a name already taken by an earlier image (compared ignoring case, as on macOS and Windows) gets
   ``-<first 8 hex digits of the content hash>`` before its extension, and ``-<image id>`` after
   that if it is still taken.

    names = export_names(snapshot)        # image id -> name, pure
    renamed = for_export(snapshot)        # the same snapshot, ``ImageRecord.file`` = that name
"""

from __future__ import annotations

import dataclasses
from pathlib import PurePosixPath

from exports.snapshot import Snapshot
from labeler.domain import ImageRecord

_SAME_SUFFIX = {".jpeg": ".jpg", ".tif": ".tiff"}


def original_name(name: str) -> str | None:
    """``name`` as a clean relative POSIX path, or None when it is not one (absolute, ``..``)."""
    path = PurePosixPath(name.replace("\\", "/"))
    parts = [p for p in path.parts if p not in ("", ".")]
    if not parts or path.is_absolute() or ".." in parts or ":" in parts[0]:
        return None
    return "/".join(parts)


def _suffix(name: str) -> str:
    suffix = PurePosixPath(name).suffix.lower()
    return _SAME_SUFFIX.get(suffix, suffix)


def _candidate(image: ImageRecord) -> str:
    recorded = image.meta.get("original_name")
    name = original_name(recorded) if isinstance(recorded, str) else None
    if name is None:
        return image.file
    stored = PurePosixPath(image.file).suffix
    if stored and _suffix(name) != _suffix(stored):
        name = str(PurePosixPath(name).with_suffix(stored))
    return name


def export_names(snapshot: Snapshot) -> dict[int, str]:
    """Image id -> the unique relative file name it has in an export (see the module docstring)."""
    names: dict[int, str] = {}
    taken: set[str] = set()
    for image in sorted(snapshot.images, key=lambda i: i.id):
        name = _candidate(image)
        if name.casefold() in taken:
            path = PurePosixPath(name)
            name = str(path.with_name(f"{path.stem}-{image.content_hash[:8]}{path.suffix}"))
            if name.casefold() in taken:
                name = str(path.with_name(f"{path.stem}-{image.content_hash[:8]}-{image.id}"))
                name += path.suffix
        taken.add(name.casefold())
        names[image.id] = name
    return names


def for_export(snapshot: Snapshot) -> Snapshot:
    """``snapshot`` with every ``ImageRecord.file`` replaced by its export name."""
    names = export_names(snapshot)
    images = tuple(dataclasses.replace(i, file=names[i.id]) for i in snapshot.images)
    return dataclasses.replace(snapshot, images=images)

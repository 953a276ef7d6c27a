"""Copy a snapshot's image files next to an export, making the export folder self-contained.

Each image is written under its export name (``exports.names``: the name it came with at ingest or
import, made unique), the same name every format's files list, so the export folder becomes the
image root of every format it holds. Files are hard-linked where the file system allows (the
stored images are immutable, content-addressed files) and copied atomically otherwise.
"""

from __future__ import annotations

import os
from pathlib import Path

from exports import atomic
from exports.names import export_names
from exports.snapshot import Snapshot
from labeler.progress_types import Track


def copy_images(
    snapshot: Snapshot,
    source_root: str | Path,
    out_dir: str | Path,
    *,
    progress: Track | None = None,
) -> int:
    """Put every image of ``snapshot`` (files relative to ``source_root``) under ``out_dir`` by its
    export name; a file already there with that name is replaced. Returns how many were written."""
    source_root, out_dir = Path(source_root), Path(out_dir)
    names = export_names(snapshot)
    added = 0
    images = sorted(snapshot.images, key=lambda i: i.id)
    for image in progress(images) if progress else images:
        target = out_dir / names[image.id]
        source = source_root / image.file
        if target.exists():
            if target.samefile(source):
                continue
            target.unlink()
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(source, target)
        except OSError:
            atomic.write_bytes(target, source.read_bytes())
        added += 1
    return added

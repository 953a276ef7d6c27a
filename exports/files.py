"""Copy a snapshot's image files next to an export, making the export folder self-contained.

Each image keeps its relative path (``images/ab/<hash>.png``), so the export folder becomes the
image root of every format it holds. Files are hard-linked where the file system allows (the
images are immutable, content-addressed files) and copied atomically otherwise.
"""

from __future__ import annotations

import os
from pathlib import Path

from exports import atomic
from exports.snapshot import Snapshot
from labeler.progress_types import Track


def copy_images(
    snapshot: Snapshot,
    source_root: str | Path,
    out_dir: str | Path,
    *,
    progress: Track | None = None,
) -> int:
    """Put every image of ``snapshot`` under ``out_dir``; returns how many files were added."""
    source_root, out_dir = Path(source_root), Path(out_dir)
    added = 0
    images = sorted(snapshot.images, key=lambda i: i.id)
    for image in progress(images) if progress else images:
        target = out_dir / image.file
        if target.exists():
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        source = source_root / image.file
        try:
            os.link(source, target)
        except OSError:
            atomic.write_bytes(target, source.read_bytes())
        added += 1
    return added

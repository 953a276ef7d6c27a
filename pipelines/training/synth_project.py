"""Write synthetic groups into a labeler project: images, expressions, complete human decisions.

The ground truth goes in as ordinary *human* decisions (author ``synth-ground-truth``): positive
decisions carry one RLE per referred object, every other pair is a confirmed negative. So the app
opens the project as a fully annotated dataset, ``grd train --data DIR`` reads it like any other
project, and the feedback loop can compare a model against a known truth.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np
from PIL import Image

from labeler import rle
from labeler.images import content_hash
from labeler.project import Project
from pipelines.training.synth import SynthGroup

AUTHOR = "synth-ground-truth"


def _write_png(project: Project, pixels: np.ndarray) -> tuple[str, str]:
    """Store ``H x W x 3 uint8`` pixels content-addressed; returns ``(relative file, hash)``."""
    digest = content_hash(pixels)
    rel = Path("images") / digest[:2] / f"{digest}.png"
    path = project.root / rel
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        buffer = io.BytesIO()
        Image.fromarray(pixels).save(buffer, format="PNG")  # lossless: the hash stays valid
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(buffer.getvalue())
        tmp.replace(path)
    return rel.as_posix(), digest


def write_group(project: Project, group: SynthGroup, seed: int, truth: bool = True) -> None:
    """Add one synthetic group with all its decisions (``truth``; else none) to an open project."""
    store = project.store
    theme = group.referents[0]
    record = store.create_group(
        group.name,
        target_keyword=f"{theme.colour} {theme.shape}",
        scene_keyword="synthetic",
        meta={"synthetic": True, "seed": seed},
    )
    expressions = [
        store.add_expression(record.id, text, created_by=AUTHOR) for text in group.expressions
    ]
    for image in group.images:
        rel, digest = _write_png(project, image.image)
        h, w = image.image.shape[:2]
        stored, _ = store.add_image(
            record.id,
            rel,
            w,
            h,
            digest,
            source_url=f"synth://{seed}/{image.name}",
            owner="grd synth",
            license="CC0-1.0",
        )
        for expression in expressions if truth else ():
            instances = [rle.encode(m) for m in image.masks[expression.text]]
            status = "positive" if instances else "negative"
            store.save_decision(
                expression.id,
                stored.id,
                status,
                instances,
                author=AUTHOR,
                expected_revision=0,
                action="synth",
            )


def write_project(
    root: str | Path,
    groups: Iterable[SynthGroup],
    seed: int,
    name: str | None = None,
    on_group: Callable[[SynthGroup], None] | None = None,
    truth: bool = True,
    database_url: str = "",
) -> Path:
    """Create (or extend) the project at ``root`` with the given groups (``truth``: with their
    decisions; else every pair unseen). ``database_url``: a new project's database."""
    with Project.init(root, name=name, database_url=database_url) as project:
        for group in groups:
            write_group(project, group, seed, truth)
            if on_group is not None:
                on_group(group)
    return Path(root)

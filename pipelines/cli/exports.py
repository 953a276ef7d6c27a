"""``grd export`` and ``grd import``: COCO (+ expression file), D³, gRefCOCO, classic RefCOCO."""

from __future__ import annotations

import time
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import track

from labeler.errors import LabelerError
from pipelines.cli._app import app
from pipelines.cli.project import ProjectDir, open_project

console = Console()
err = Console(stderr=True)


class Format(str, Enum):
    coco = "coco"
    d3 = "d3"
    grefcoco = "grefcoco"
    refcoco = "refcoco"


class IncompleteMode(str, Enum):
    omit = "omit"
    mark = "mark"


def _bar(description: str):
    return lambda items: track(items, description=description, console=err, transient=True)


def write_format(
    fmt: str, out: Path, snapshot, *, incomplete: str, split: str, predictions: bool
) -> list[Path]:
    """Write ``snapshot`` as ``fmt`` into ``out``; the files written."""
    if fmt == "coco":
        from exports.coco import write_coco

        return write_coco(out, snapshot, incomplete=incomplete, predictions=predictions)
    if fmt == "d3":
        from exports.d3 import write_d3

        return write_d3(out, snapshot, incomplete=incomplete)
    if fmt == "grefcoco":
        from exports.grefcoco import write_grefcoco

        return write_grefcoco(out, snapshot, incomplete=incomplete, split=split)
    from exports.refcoco import write_refcoco

    return write_refcoco(out, snapshot, incomplete=incomplete, split=split)


@app.command("export")
def export(
    directory: ProjectDir,
    out: Annotated[
        Path, typer.Argument(help="Folder to write the dataset into (created if missing).")
    ],
    fmt: Annotated[Format, typer.Option("--format", "-f", help="Dataset format.")] = Format.coco,
    incomplete: Annotated[
        IncompleteMode,
        typer.Option(
            help="Expressions with undecided images: 'omit' leaves them out; 'mark' writes "
            "them with complete=false and only their decided pairs."
        ),
    ] = IncompleteMode.omit,
    split: Annotated[
        str, typer.Option(help="Split name for (g)RefCOCO refs of groups without meta 'split'.")
    ] = "train",
    predictions: Annotated[
        bool,
        typer.Option(
            help="COCO only: also write model proposals as a results file (predictions.json)."
        ),
    ] = False,
    copy_images: Annotated[
        bool, typer.Option(help="Copy the images into OUT so it is self-contained.")
    ] = False,
) -> None:
    """Export the project's human decisions; every file is written atomically."""
    from exports.files import copy_images as copy_files
    from exports.snapshot import selected_expressions, snapshot_from_store

    project = open_project(directory)
    started = time.perf_counter()
    snapshot = snapshot_from_store(
        project.store, name=project.settings.name, progress=_bar("reading decisions")
    )
    try:
        with err.status(f"writing {fmt.value}"):
            written = write_format(
                fmt.value,
                out,
                snapshot,
                incomplete=incomplete.value,
                split=split,
                predictions=predictions,
            )
        if copy_images:
            copy_files(snapshot, project.root, out, progress=_bar("copying images"))
    except OSError as exc:
        err.print(f"[red]error:[/red] cannot write to {out}: {exc.strerror or exc}", soft_wrap=True)
        raise typer.Exit(code=1) from None
    chosen = selected_expressions(snapshot, incomplete.value)
    complete = sum(c.complete for c in chosen)
    left_out = len(snapshot.expressions) - len(chosen)
    console.print(
        f"{fmt.value}: {len(snapshot.images)} images, {complete} complete expressions"
        + (
            f", {len(chosen) - complete} incomplete marked"
            if incomplete is IncompleteMode.mark
            else ""
        )
        + (f", {left_out} incomplete left out" if left_out else "")
        + f" -> {out} ({', '.join(p.name for p in written)})"
        + f" in {time.perf_counter() - started:.1f} s"
    )


@app.command("import")
def import_(
    directory: ProjectDir,
    source: Annotated[
        Path,
        typer.Argument(
            help="coco: instances.json (or its folder); d3: the folder of "
            "*.pkl; grefcoco / refcoco: the refs file or its folder."
        ),
    ],
    fmt: Annotated[Format, typer.Option("--format", "-f", help="Dataset format.")] = Format.coco,
    images: Annotated[
        Path | None,
        typer.Option(
            help="Folder the image file names are relative to (default: the source folder)."
        ),
    ] = None,
    expressions: Annotated[
        Path | None,
        typer.Option(
            help="coco: the expression file (default: expressions.json beside instances.json)."
        ),
    ] = None,
    author: Annotated[
        str, typer.Option(help="Author for decisions whose file names nobody.")
    ] = "import",
) -> None:
    """Import a dataset into a project: everything is checked first, and nothing is written unless
    all of it is valid."""
    from pipelines.intake.imports import import_snapshot, read_source

    project = open_project(directory)
    image_root = images or (source if source.is_dir() else source.parent)
    try:
        with err.status(f"reading {source}"):
            snapshot = read_source(fmt.value, source, expressions=expressions)
        report = import_snapshot(
            project, snapshot, image_root, author=author, progress=_bar("checking images")
        )
    except LabelerError as exc:
        err.print(f"[red]error:[/red] {exc}", soft_wrap=True)
        err.print("nothing was imported")
        raise typer.Exit(code=1) from None
    console.print(report.summary())

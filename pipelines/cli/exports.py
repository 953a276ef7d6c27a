"""``grd export`` and ``grd import``: COCO (+ expression file), D³, gRefCOCO, classic RefCOCO."""

from __future__ import annotations

import time
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import track

from exports.registry import FORMATS, UnknownFormat, format_named
from labeler.errors import LabelerError
from pipelines.cli._app import app
from pipelines.cli.project import ProjectDir, open_project

console = Console()
err = Console(stderr=True)


def _format_name(value: str) -> str:
    """Typer callback: the format's name, or a usage error that lists the choices."""
    try:
        return format_named(value).name
    except UnknownFormat as exc:
        raise typer.BadParameter(str(exc)) from None


FORMAT_HELP = (
    "Dataset format: " + ", ".join(f"{f.name} ({f.title})" for f in FORMATS.values()) + "."
)
FormatOption = Annotated[
    str,
    typer.Option("--format", "-f", metavar="FORMAT", callback=_format_name, help=FORMAT_HELP),
]


class IncompleteMode(str, Enum):
    omit = "omit"
    mark = "mark"


def _bar(description: str):
    return lambda items: track(items, description=description, console=err, transient=True)


@app.command("export")
def export(
    directory: ProjectDir,
    out: Annotated[
        Path, typer.Argument(help="Folder to write the dataset into (created if missing).")
    ],
    fmt: FormatOption = "coco",
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
    reviewed_only: Annotated[
        bool,
        typer.Option(
            "--reviewed-only",
            help="Only pairs a reviewer accepted; the rest count as undecided.",
        ),
    ] = False,
) -> None:
    """Export the project's human decisions; every file is written atomically and images are
    named as they came (see docs/exports.md, "File names")."""
    from exports.files import copy_images as copy_files
    from exports.registry import write_format
    from exports.snapshot import snapshot_from_store
    from exports.summary import export_summary

    project = open_project(directory)
    started = time.perf_counter()
    snapshot = snapshot_from_store(
        project.store,
        name=project.settings.name,
        progress=_bar("reading decisions"),
        reviewed_only=reviewed_only,
    )
    summary = export_summary(snapshot, fmt, incomplete=incomplete.value)
    try:
        with err.status(f"writing {fmt}"):
            written = write_format(
                fmt,
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
    for line in summary.lines():
        console.print(line, soft_wrap=True)
    console.print(
        f"-> {out} ({', '.join(p.name for p in written)}) in {time.perf_counter() - started:.1f} s",
        soft_wrap=True,
    )


@app.command("import")
def import_(
    directory: ProjectDir,
    source: Annotated[
        Path,
        typer.Argument(
            help="; ".join(f"{f.name}: {f.source_help}" for f in FORMATS.values()) + ".",
        ),
    ],
    fmt: FormatOption = "coco",
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
            snapshot = read_source(fmt, source, expressions=expressions)
        report = import_snapshot(
            project, snapshot, image_root, author=author, progress=_bar("checking images")
        )
    except LabelerError as exc:
        err.print(f"[red]error:[/red] {exc}", soft_wrap=True)
        err.print("nothing was imported")
        raise typer.Exit(code=1) from None
    console.print(report.summary())

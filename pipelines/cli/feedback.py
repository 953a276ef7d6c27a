"""Feedback-loop commands: prelabel, models, round, simulate."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from pipelines.cli._app import app

console = Console()
err = Console(stderr=True)

ProjectDir = Annotated[Path, typer.Argument(help="Project folder.")]
Refine = Annotated[
    bool | None,
    typer.Option(
        "--refine/--no-refine",
        help="Snap proposed masks to image edges with the click segmenter "
        "(default: project.json extra.prelabel_refine).",
    ),
]


def _fail(message: str) -> None:
    err.print(f"[red]error:[/red] {message}")
    raise typer.Exit(code=1)


def _open(directory: Path):
    from labeler.errors import LabelerError
    from labeler.project import Project

    try:
        return Project.open(directory)
    except LabelerError as exc:
        _fail(str(exc))


class _Bar:
    """A rich progress bar behind the jobs' ``progress(fraction, message)`` callback."""

    def __init__(self, description: str):
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.percentage:>3.0f}%"),
            TimeElapsedColumn(),
            console=err,
            transient=False,
        )
        self.task = self.progress.add_task(description, total=1.0)

    def __enter__(self):
        self.progress.start()
        return self

    def __exit__(self, *exc):
        self.progress.stop()

    def __call__(self, fraction: float | None = None, message: str | None = None) -> None:
        changes = {}
        if fraction is not None:
            changes["completed"] = fraction
        if message:
            changes["description"] = message[:70]
        self.progress.update(self.task, **changes)


def _group_id(project, group: str | None) -> int | None:
    from labeler.errors import LabelerError

    if group is None:
        return None
    try:
        return project.store.find_group(group).id
    except LabelerError as exc:
        _fail(str(exc))


@app.command()
def prelabel(
    directory: ProjectDir,
    checkpoint: Annotated[
        Path | None,
        typer.Option(
            help="GRSer checkpoint (default: the current registered model, else project.json "
            "grser_checkpoint)."
        ),
    ] = None,
    group: Annotated[str | None, typer.Option(help="Only this group (name or id).")] = None,
    expression: Annotated[int | None, typer.Option(help="Only this expression id.")] = None,
    group_size: Annotated[
        int | None,
        typer.Option(
            "--group-size", "-n", help="N images per GRSer group (default: the model's N)."
        ),
    ] = None,
    batch_size: Annotated[int, typer.Option(help="GRSer groups per forward pass.")] = 4,
    device: Annotated[str, typer.Option(help="cpu, cuda, cuda:1 ...")] = "cpu",
    embeddings: Annotated[
        bool, typer.Option("--embeddings", help="Also cache the editor's SAM image embeddings.")
    ] = False,
    refine: Refine = None,
) -> None:
    """Propose masks / absence for every pair without a human decision (resumable)."""
    from model.errors import ModelError
    from pipelines.loop.prelabel import prelabel_project
    from pipelines.loop.registry import NoCheckpoint

    project = _open(directory)
    try:
        with _Bar("pre-labeling") as bar:
            report = prelabel_project(
                project,
                checkpoint=checkpoint,
                group_id=_group_id(project, group),
                expression_id=expression,
                group_size=group_size,
                batch_size=batch_size,
                device=device,
                progress=bar,
                embeddings=embeddings,
                refine=refine,
            )
    except (NoCheckpoint, ModelError, ValueError, FileNotFoundError) as exc:  # a missing SAM file
        _fail(str(exc))
    console.print(report.summary())
    console.print(
        f"throughput: {report.images_per_s:.1f} images/s on {device} "
        f"({report.images} images in {report.seconds:.1f} s)"
    )


@app.command()
def models(
    directory: ProjectDir,
    current: Annotated[
        str | None, typer.Option("--set-current", help="Mark this model (name or id) current.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the registry as JSON.")] = False,
) -> None:
    """List the registered models: lineage, data snapshot, held-out scores; one is current."""
    from labeler.errors import LabelerError

    project = _open(directory)
    store = project.store
    if current is not None:
        try:
            store.set_current_model(int(current) if current.isdigit() else current)
        except LabelerError as exc:
            _fail(str(exc))
    records = store.list_models()
    if as_json:
        console.print_json(
            json.dumps(
                [
                    {
                        "id": r.id,
                        "name": r.name,
                        "path": r.path,
                        "parent_id": r.parent_id,
                        "current": r.is_current,
                        "created_at": str(r.created_at),
                        "dataset": {k: v for k, v in r.dataset.items() if k != "pairs"},
                        "report": r.report,
                    }
                    for r in records
                ]
            )
        )
        return
    names = {r.id: r.name for r in records}
    table = Table(title=f"models of {project.settings.name}")
    for col in (
        "",
        "id",
        "name",
        "parent",
        "config",
        "pairs",
        "expr.",
        "bar-mIoU",
        "parent bar-mIoU",
        "created",
    ):
        table.add_column(col)

    def fmt(value) -> str:
        return "-" if value is None else f"{value:.4f}"

    for r in records:
        table.add_row(
            "*" if r.is_current else "",
            str(r.id),
            r.name,
            names.get(r.parent_id, "-"),
            str(r.config.get("model", {}).get("name", "?")),
            str(len(r.dataset.get("pairs", []))),
            str(r.dataset.get("expressions", "-")),
            fmt(r.report.get("bar_miou")),
            fmt(r.report.get("parent_bar_miou")),
            f"{r.created_at:%Y-%m-%d %H:%M}" if r.created_at else "",
        )
    console.print(table)
    if not records:
        console.print("no models yet: `grd round DIR` trains one from the complete expressions")


@app.command("round")
def round_cmd(
    directory: ProjectDir,
    epochs: Annotated[int, typer.Option(help="Fine-tuning epochs.")] = 5,
    lr: Annotated[float, typer.Option(help="Learning rate.")] = 1e-3,
    batch_size: Annotated[int, typer.Option(help="Groups per training step.")] = 4,
    max_steps: Annotated[int, typer.Option(help="Stop after this many steps (0 = no cap).")] = 0,
    holdout: Annotated[
        float, typer.Option(help="Share of image groups held out for evaluation.")
    ] = 0.2,
    base_model: Annotated[
        str, typer.Option(help="Variant to start from when no model exists yet.")
    ] = "tiny",
    device: Annotated[str, typer.Option(help="cpu, cuda ...")] = "cpu",
    no_prelabel: Annotated[
        bool, typer.Option("--no-prelabel", help="Do not pre-label afterwards.")
    ] = False,
    refine: Refine = None,
    seed: Annotated[int, typer.Option(help="Training seed.")] = 0,
) -> None:
    """One feedback round: snapshot, fine-tune, evaluate on held-out groups, register, pre-label."""
    from model.errors import ModelError
    from pipelines.loop.feedback import RoundError, run_round
    from pipelines.training.config import TrainConfigError

    project = _open(directory)
    try:
        with _Bar("feedback round") as bar:
            result = run_round(
                project,
                progress=bar,
                epochs=epochs,
                lr=lr,
                batch_size=batch_size,
                max_steps=max_steps,
                holdout_fraction=holdout,
                device=device,
                base_model=base_model,
                prelabel=not no_prelabel,
                seed=seed,
                refine=refine,
            )
    except (RoundError, ModelError, TrainConfigError, ValueError, FileNotFoundError) as exc:
        _fail(str(exc))
    console.print(result.summary())


@app.command()
def simulate(
    directory: ProjectDir,
    init: Annotated[
        bool,
        typer.Option(
            "--init",
            help="Copy the (complete) human decisions aside as truth and reset every pair "
            "to unseen. Once per project.",
        ),
    ] = False,
    groups: Annotated[
        int, typer.Option(help="Annotate the next N groups with undecided pairs (0 = all).")
    ] = 0,
    max_clicks: Annotated[
        int, typer.Option(help="Clicks per object before finishing by hand.")
    ] = 20,
    accept_iou: Annotated[
        float, typer.Option(help="Accept a proposal at this IoU with the truth.")
    ] = 0.9,
    masked_negatives_in_bulk: Annotated[
        bool,
        typer.Option(
            "--masked-negatives-in-bulk",
            help="Leave negatives the model gave masks to for the bulk "
            "'All remaining negative' (default: 1 action each).",
        ),
    ] = False,
    segmenter: Annotated[
        str | None,
        typer.Option(
            help="Click model to correct with (as `grd ui --segmenter`; default: the project's)."
        ),
    ] = None,
) -> None:
    """Simulated annotator: accept good proposals, correct the rest with clicks; print the cost."""
    from pipelines.loop.simulate import (
        SimulationError,
        init_simulation,
        load_truth,
        next_groups,
        simulate_annotation,
        truth_path,
    )

    project = _open(directory)
    try:
        if init:
            path, reset = init_simulation(project)
            console.print(
                f"truth of {project.settings.name} saved to {path}; {reset} pairs reset to unseen"
            )
            return
        truth = load_truth(truth_path(project))
        chosen = next_groups(project, groups) if groups else None
        from pipelines.click_models.segmenters import project_click_model, project_segmenter

        console.print(f"clicks with: {project_click_model(project, segmenter).label}")
        with _Bar("simulated annotation") as bar:
            report = simulate_annotation(
                project,
                truth,
                project_segmenter(project, override=segmenter),
                group_ids=chosen,
                max_clicks=max_clicks,
                accept_iou=accept_iou,
                progress=bar,
                masked_negatives_in_bulk=masked_negatives_in_bulk,
            )
    except (SimulationError, FileNotFoundError, ValueError) as exc:  # also an unknown --segmenter
        _fail(str(exc))
    console.print(report.summary())
    console.print(
        f"actions per pair {report.actions_per_pair:.3f}; clicks per object "
        f"{report.clicks_per_object:.2f}; accepted as proposed {report.accepted_share:.1%}"
    )
    console.print(f"where the actions went (pairs/actions): {report.breakdown()}")

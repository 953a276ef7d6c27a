"""Project commands: init, ingest, expressions, status, demo."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import track
from rich.table import Table

from labeler.errors import LabelerError
from labeler.project import Project
from pipelines.cli._app import app
from pipelines.cli.conventions import GrdTyper

console = Console()
err = Console(stderr=True, soft_wrap=True)  # one line per skipped file, never wrapped

ProjectDir = Annotated[Path, typer.Argument(help="Project folder (made by `grd init`).")]
#: Rows `grd status` prints by default: a 1,000-group table took seconds to draw (10x GRD).
STATUS_ROWS = 50


def open_project(path: Path) -> Project:
    """Open a project or exit with a clear message (never a traceback for a wrong folder)."""
    try:
        return Project.open(path)
    except LabelerError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(code=2) from None


@app.command()
def init(
    directory: ProjectDir,
    name: Annotated[str | None, typer.Option(help="Project name (default: folder name).")] = None,
    database_url: Annotated[
        str,
        typer.Option(
            help="SQLAlchemy URL, e.g. postgresql+psycopg://user@host/db (default: SQLite in the folder)."
        ),
    ] = "",
) -> None:
    """Create a project folder with its database."""
    project = Project.init(directory, name=name, database_url=database_url)
    console.print(f"project [bold]{project.settings.name}[/bold] ready in {directory}")


@app.command()
def ingest(
    directory: ProjectDir,
    source: Annotated[
        str, typer.Argument(help="A folder of images, a CSV/JSON manifest, or one image.")
    ],
    group: Annotated[
        str | None, typer.Option(help="Group for loose images (default: folder name).")
    ] = None,
    target: Annotated[str, typer.Option(help="Target keyword of the group, e.g. 'dog'.")] = "",
    scene: Annotated[str, typer.Option(help="Scene keyword of the group, e.g. 'beach'.")] = "",
) -> None:
    """Add images to a project. Bad files are skipped with a reason; exit code 1 if any were."""
    from pipelines.intake.ingest import ingest_items, source_items

    project = open_project(directory)
    try:
        items = source_items(source, group, target, scene)
    except (LabelerError, FileNotFoundError) as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(code=2) from None
    report = ingest_items(
        project,
        items,
        progress=lambda xs: track(xs, description="ingesting", console=err, transient=True),
        on_skip=lambda source, reason: err.print(f"[yellow]skipped[/yellow] {reason}"),
    )
    console.print(report.summary())
    if not report.ok:
        raise typer.Exit(code=1)


expressions_app = GrdTyper(
    help="Add, list, rename and delete the expressions of a group.", no_args_is_help=True
)
app.add_typer(expressions_app, name="expressions")


@expressions_app.command("add")
def expressions_add(
    directory: ProjectDir,
    group: Annotated[str, typer.Argument(help="Group name or id.")],
    texts: Annotated[list[str], typer.Argument(help="One or more expressions.")],
    author: Annotated[str, typer.Option(help="Who wrote them.")] = "cli",
) -> None:
    """Add expressions to a group (an existing identical one is kept, not duplicated)."""
    project = open_project(directory)
    try:
        g = project.store.find_group(group)
        for text in texts:
            e = project.store.ensure_expression(g.id, text, created_by=author)
            console.print(f"{e.id}\t{e.text}")
    except (LabelerError, ValueError) as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(code=2) from None


@expressions_app.command("list")
def expressions_list(
    directory: ProjectDir, group: Annotated[str | None, typer.Argument()] = None
) -> None:
    """List expressions (of one group, or all)."""
    project = open_project(directory)
    gid = project.store.find_group(group).id if group else None
    for e in project.store.list_expressions(gid):
        console.print(f"{e.id}\t{e.group_id}\t{e.text}", soft_wrap=True)


@expressions_app.command("rename")
@expressions_app.command("edit", hidden=True)
def expressions_rename(
    directory: ProjectDir,
    expression_id: Annotated[int, typer.Argument(help="The expression's id (`expressions list`).")],
    text: Annotated[str, typer.Argument(help="The new wording.")],
    author: Annotated[str, typer.Option(help="Who renames it (audit log).")] = "cli",
) -> None:
    """Rename (reword) an expression; the old text stays in the audit log."""
    project = open_project(directory)
    try:
        e = project.store.edit_expression(expression_id, text, author)
    except (LabelerError, ValueError) as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(code=2) from None
    console.print(f"{e.id}\t{e.text}")


@expressions_app.command("delete")
def expressions_delete(
    directory: ProjectDir,
    expression_id: Annotated[int, typer.Argument(help="The expression's id (`expressions list`).")],
    force: Annotated[
        bool,
        typer.Option(
            "--force", help="Delete even if people decided pairs (kept in the audit log)."
        ),
    ] = False,
    author: Annotated[str, typer.Option(help="Who deletes it (audit log).")] = "cli",
) -> None:
    """Delete an expression and its decisions; refuses when people decided any of its pairs
    unless --force. Every deleted decision is kept in the audit log."""
    project = open_project(directory)
    try:
        text = project.store.get_expression(expression_id).text
        human = project.store.delete_expression(expression_id, author=author, force=force)
    except (LabelerError, ValueError) as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(code=2) from None
    console.print(
        f"deleted expression {expression_id} “{text}”"
        + (f" ({human} human decisions kept in the audit log)" if human else ""),
        soft_wrap=True,
    )


def print_table(table: Table) -> None:
    """Print a table at the terminal's width; piped or redirected, at the table's own width, so a
    long name is never cut at rich's default 80 columns."""
    screen = Console()
    if not screen.is_terminal:
        needed = Console(width=100_000).measure(table).maximum
        screen = Console(width=max(needed, 80))
    screen.print(table)


@app.command()
def status(
    directory: ProjectDir,
    expressions: Annotated[
        bool, typer.Option("--expressions", "-e", help="One row per expression.")
    ] = False,
    limit: Annotated[
        int, typer.Option(help="Rows to print (the totals count every group); 0: all.")
    ] = STATUS_ROWS,
) -> None:
    """Progress table: decided / proposed / unseen pairs and complete expressions per group."""
    project = open_project(directory)
    store = project.store
    table = Table(title=f"{project.settings.name}")
    shown = (lambda rows: rows) if limit <= 0 else (lambda rows: rows[:limit])
    if expressions:
        for col in (
            "id",
            "group",
            "expression",
            "images",
            "positive",
            "negative",
            "proposed",
            "unseen",
            "complete",
        ):
            table.add_column(col)
        group_names = {g.id: g.name for g in store.list_groups()}
        rows = store.expression_progress()
        for p in shown(rows):
            table.add_row(
                str(p.expression_id),
                group_names.get(p.group_id, str(p.group_id)),
                p.text,
                str(p.total),
                str(p.positive),
                str(p.negative),
                str(p.proposed),
                str(p.unseen),
                "yes" if p.complete else "no",
            )
    else:
        for col in (
            "group",
            "images",
            "expressions",
            "pairs",
            "decided",
            "proposed",
            "complete expr.",
            "done",
        ):
            table.add_column(col)
        totals = [0, 0, 0, 0, 0, 0]
        rows = store.group_progress()
        for k, g in enumerate(rows):
            row = [g.images, g.expressions, g.pairs, g.decided, g.proposed, g.complete_expressions]
            totals = [a + b for a, b in zip(totals, row)]
            if limit <= 0 or k < limit:
                table.add_row(g.name, *map(str, row), f"{g.fraction:.0%}")
        done = totals[3] / totals[2] if totals[2] else 0.0
        table.add_row("[bold]all[/bold]", *map(str, totals), f"{done:.0%}")
    if 0 < limit < len(rows):
        table.caption = f"{limit} of {len(rows)} rows shown; --limit 0 prints all"
    print_table(table)
    annotators = store.annotator_progress()
    if annotators:
        console.print(
            "annotators: "
            + ", ".join(f"{a.author} {a.decided} ({a.positive}+/{a.negative}-)" for a in annotators)
        )


@app.command()
def demo(
    directory: ProjectDir,
    prelabel: Annotated[
        bool, typer.Option(help="Pre-label with the bundled demo checkpoint.")
    ] = True,
) -> None:
    """Create the demo project (bundled photos and synthetic scenes, with expressions)."""
    from pipelines.services.demo import build_demo

    project = build_demo(directory, prelabel=prelabel, log=console.print)
    _prepare_click_model(project)
    console.print(f"demo project ready in {directory}: {project.store.counts()}")


def _prepare_click_model(project) -> None:
    """Load the click model once, so the app's first click does not wait for it (MobileSAM's
    encoder graph is exported on first use: tens of seconds, once per machine)."""
    from pipelines.click_models.segmenters import build_segmenter, project_click_model

    try:
        model = project_click_model(project)
        with console.status(f"preparing the click model ({model.label})"):
            build_segmenter(model)
    except Exception as exc:  # noqa: BLE001 - the demo is usable anyway; the editor says why
        console.print(f"[yellow]click model not ready: {exc}[/yellow]")
        return
    console.print(f"click model: {model.label}")

"""`grd worker DIR`: run queued jobs here; `grd jobs DIR`: the job records; `grd stack DIR`: try it all."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from labeler.errors import LabelerError
from pipelines.cli._app import app
from pipelines.cli.project import ProjectDir, open_project

console = Console()


@app.command()
def worker(
    directory: ProjectDir,
    queues: Annotated[
        str, typer.Option(help="Comma-separated queues to serve: embed, prelabel, train, io.")
    ] = "embed,prelabel,train,io",
    gpu: Annotated[bool, typer.Option("--gpu", help="Run the jobs on CUDA.")] = False,
    burst: Annotated[
        bool, typer.Option("--burst", help="Stop once the queues are empty (scripts, tests).")
    ] = False,
    stale_s: Annotated[
        float,
        typer.Option(help="Seconds without a heartbeat after which a running job is retried."),
    ] = 30.0,
) -> None:
    """Take jobs from the project's Redis queues (GRD_REDIS_URL or `redis_url` in project.json)
    and run them here; any machine that sees the project's database and files can run one."""
    from pipelines.services.queue import run_worker

    names = [q.strip() for q in queues.split(",") if q.strip()]
    try:
        run_worker(directory, names, gpu=gpu, burst=burst, stale_s=stale_s)
    except LabelerError as exc:
        Console(stderr=True).print(f"[red]error:[/red] {exc}")
        raise typer.Exit(code=2) from None


@app.command()
def jobs(
    directory: ProjectDir,
    limit: Annotated[int, typer.Option(help="How many of the newest jobs.")] = 20,
    cancel: Annotated[
        str | None, typer.Option(help="Ask this job (and its children) to stop.")
    ] = None,
) -> None:
    """The project's background jobs (from every app process and worker), newest first."""
    project = open_project(directory)
    if cancel:
        try:
            project.store.request_cancel(cancel)
        except LabelerError as exc:
            Console(stderr=True).print(f"[red]error:[/red] {exc}")
            raise typer.Exit(code=2) from None
    table = Table(title=f"jobs of {project.settings.name}")
    for col in ("id", "kind", "name", "author", "state", "progress", "tries", "summary"):
        table.add_column(col)
    for job in project.store.list_jobs(limit=limit):
        table.add_row(
            job.id,
            job.kind,
            job.name,
            job.author,
            job.state.value,
            f"{job.fraction:.0%}",
            str(job.attempts) if not job.children else f"{job.children} jobs",
            job.error or job.summary,
        )
    console.print(table)


@app.command()
def stack(
    directory: ProjectDir,
    replicas: Annotated[
        int, typer.Option(help="`grd ui` processes (ports PORT, PORT+1, ...).")
    ] = 2,
    workers: Annotated[int, typer.Option(help="`grd worker` processes.")] = 1,
    port: Annotated[int, typer.Option(help="Port of the first app replica.")] = 8501,
    redis_url: Annotated[
        str, typer.Option(help="Use this Redis (default: a private redis-server on a free port).")
    ] = "",
) -> None:
    """Try a team deployment on one machine: Redis, workers and app replicas on 127.0.0.1
    over the project's database (Ctrl+C stops them all). docs/deploy.md has the real thing."""
    import time

    from pipelines.services.stack import start_stack

    open_project(directory).close()
    try:
        running = start_stack(
            directory, replicas=replicas, workers=workers, port=port, redis_url=redis_url
        )
    except (LabelerError, RuntimeError) as exc:
        Console(stderr=True).print(f"[red]error:[/red] {exc}")
        raise typer.Exit(code=2) from None
    try:
        while all(p.poll() is None for p in running.procs):
            time.sleep(1)
        console.print("[red]a process of the stack stopped; stopping the rest[/red]")
    except KeyboardInterrupt:
        pass
    finally:
        running.stop()

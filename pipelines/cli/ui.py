"""`grd ui DIR`: open the annotation app on a project."""

from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path
from typing import Annotated

import typer

from pipelines.cli._app import app


def port_in_use(address: str, port: int) -> str | None:
    """Why ``address:port`` cannot be served on (e.g. "Address already in use"), or None.

    Binds the way the server will (SO_REUSEADDR, so a port in TIME_WAIT counts as free)."""
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((address, port))
        except OSError as exc:
            return exc.strerror or str(exc)
    return None


@app.command()
def ui(
    directory: Annotated[
        Path, typer.Argument(help="Project folder (made by `grd init` or `grd demo`).")
    ],
    port: Annotated[int, typer.Option(help="Port to serve on.")] = 8501,
    address: Annotated[
        str,
        typer.Option(
            help="Address to listen on. A team server stays on 127.0.0.1 behind an HTTPS "
            "reverse proxy (docs/teams.md)."
        ),
    ] = "127.0.0.1",
    segmenter: Annotated[
        str | None,
        typer.Option(
            help="Click model for this session: auto (MobileSAM, else the weight-free fallback), "
            "mobile_sam, sam_vit_b/l/h, classic, or a checkpoint path (default: the project's "
            "`segmenter` setting)."
        ),
    ] = None,
) -> None:
    """Start the Streamlit annotation app on a project (Ctrl+C stops it)."""
    from pipelines.services.ui_server import streamlit_command

    if not (directory / "project.json").exists():
        typer.echo(
            f"error: {directory} is not a project folder; run `grd demo {directory}` or `grd init`",
            err=True,
        )
        raise typer.Exit(code=2)
    busy = port_in_use(address, port)
    if busy:
        typer.echo(
            f"error: cannot serve on {address}:{port} ({busy}); choose another with --port",
            err=True,
        )
        raise typer.Exit(code=2)
    if address not in ("127.0.0.1", "localhost", "::1"):
        from labeler.project import Project

        with Project.open(directory) as project:
            has_users = project.store.has_users()
        if not has_users:
            typer.echo(
                f"error: {directory} has no users, so anyone reaching {address}:{port} could "
                "annotate under any name; add an admin first (`grd users add DIR NAME --role "
                "admin`), see docs/teams.md",
                err=True,
            )
            raise typer.Exit(code=2)
    env = {**os.environ, "GRD_PROJECT": str(directory.resolve())}
    if segmenter:
        from pipelines.click_models.segmenters import ENV, resolve_click_model
        from pipelines.click_models.weights import WeightsError

        try:  # a wrong name fails here, not in the browser
            typer.echo(f"click model: {resolve_click_model(segmenter).label}")
        except (WeightsError, FileNotFoundError) as exc:
            typer.echo(f"error: --segmenter {segmenter}: {exc}", err=True)
            raise typer.Exit(code=2) from None
        env[ENV] = segmenter
    command = streamlit_command(port, headless=True, address=address)
    typer.echo(f"GRES labeler on http://{address}:{port} (project {directory})")
    raise typer.Exit(code=subprocess.call(command, env=env, cwd=Path(command[4]).parent))

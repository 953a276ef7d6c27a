"""Assistance commands: ``grd propagate`` (the confirmed images of a group propose the rest)."""

from __future__ import annotations

from typing import Annotated

import typer

from pipelines.cli._app import app
from pipelines.cli.feedback import ProjectDir, _Bar, _fail, _group_id, _open, console


@app.command()
def propagate(
    directory: ProjectDir,
    group: Annotated[str | None, typer.Option(help="Only this group (name or id).")] = None,
    expression: Annotated[int | None, typer.Option(help="Only this expression id.")] = None,
) -> None:
    """Propose masks / absence for undecided pairs from the group's confirmed images."""
    from labeler.errors import LabelerError
    from model.errors import ModelError
    from pipelines.loop.propagate import enabled, propagate_project

    project = _open(directory)
    if not enabled(project):
        _fail("propagation is switched off for this project (extra.propagation in project.json)")
    try:
        with _Bar("propagating") as bar:
            report = propagate_project(
                project, group_id=_group_id(project, group), expression_id=expression, progress=bar
            )
    except (LabelerError, ModelError, FileNotFoundError) as exc:
        _fail(str(exc))
    console.print(report.summary())

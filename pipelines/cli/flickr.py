"""`grd flickr`: build GRD-style groups (target keyword x scene keyword) from Flickr searches.

The API key comes from the environment variable ``FLICKR_API_KEY`` (another name can be set as
``extra.flickr.api_key_env`` in project.json) or, less safely, ``extra.flickr.api_key``. Other
settings under ``extra.flickr``: ``api_url``, ``static_url``, ``timeout_s``, ``retries``,
``backoff_s``, ``min_interval_s``, ``download_interval_s``.
"""

from __future__ import annotations

import logging
import os
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.logging import RichHandler
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from labeler.errors import ImportFormatError
from pipelines.cli._app import app
from pipelines.cli.project import ProjectDir, open_project

console = Console()
err = Console(stderr=True)
KEY_ENV = "FLICKR_API_KEY"


class Match(str, Enum):
    text = "text"
    tags = "tags"


def flickr_settings(project) -> dict[str, Any]:
    settings = (project.settings.extra or {}).get("flickr") or {}
    return settings if isinstance(settings, dict) else {}


def api_key(settings: dict[str, Any]) -> str:
    """The key from the environment (preferred) or the project settings; empty if neither has one."""
    return (
        os.environ.get(settings.get("api_key_env") or KEY_ENV) or settings.get("api_key") or ""
    ).strip()


def make_client(settings: dict[str, Any], key: str):
    from pipelines.flickr.client import DEFAULT_API_URL, DEFAULT_STATIC_URL, FlickrClient

    numbers = {
        name: float(settings[name])
        for name in ("timeout_s", "backoff_s", "min_interval_s", "download_interval_s")
        if name in settings
    }
    return FlickrClient(
        key,
        api_url=settings.get("api_url") or DEFAULT_API_URL,
        static_url=settings.get("static_url") or DEFAULT_STATIC_URL,
        retries=int(settings.get("retries", 3)),
        **numbers,
    )


def fail(message: str, code: int = 2) -> typer.Exit:
    err.print(f"[red]error:[/red] {message}")
    return typer.Exit(code=code)


def _summary(results) -> Table:
    from pipelines.flickr import ingest as fi

    table = Table(title="Flickr groups")
    columns = (
        "group",
        "images",
        "added",
        "in project already",
        "near dup.",
        "same pixels",
        "removed",
        "other license",
        "failed",
        "search done",
    )
    for column in columns:
        table.add_column(column)
    for r in results:
        c = r.counts
        table.add_row(
            r.group,
            str(r.images),
            str(c[fi.ADDED]),
            str(c[fi.KNOWN]),
            str(c[fi.NEAR_DUPLICATE]),
            str(c[fi.DUPLICATE]),
            str(c[fi.REMOVED] + c[fi.NO_SIZE]),
            str(c[fi.LICENSE]),
            str(c[fi.FAILED]),
            "yes" if r.exhausted else "no",
        )
    return table


@app.command("flickr")
def flickr_command(
    directory: ProjectDir,
    target: Annotated[
        list[str] | None,
        typer.Option("--target", "-t", help="Target keyword, e.g. 'dog' (repeatable)."),
    ] = None,
    scene: Annotated[
        list[str] | None,
        typer.Option("--scene", "-s", help="Scene keyword, e.g. 'beach' (repeatable)."),
    ] = None,
    per_group: Annotated[
        int, typer.Option(min=1, help="Fill each group up to this many images.")
    ] = 100,
    license: Annotated[
        str,
        typer.Option(
            help="Licenses to keep, comma-separated: cc (every Creative Commons license and public-domain "
            "tool), open (BY, BY-SA, CC0, public domain), cc-by, cc-by-sa, cc-by-nc, ..., or Flickr ids.",
        ),
    ] = "cc",
    match: Annotated[
        Match, typer.Option(help="Search the keywords as free text or as tags.")
    ] = Match.text,
    per_page: Annotated[
        int, typer.Option(min=1, max=500, help="Search results per API call.")
    ] = 100,
    source: Annotated[
        Path | None,
        typer.Option(
            "--from",
            help="Instead of searching: a saved flickr.photos.search result (.json) or a CSV of Flickr URLs.",
        ),
    ] = None,
    group: Annotated[
        str | None, typer.Option(help="Group for the photos of --from (default: 'TARGET x SCENE').")
    ] = None,
    near_duplicate: Annotated[
        int,
        typer.Option(
            help="Refuse a photo whose perceptual hash is within this many bits (of 64) of one in the group; -1: off.",
        ),
    ] = 6,
) -> None:
    """Search Flickr for every TARGET x SCENE and ingest the photos into one group per combination.

    Re-running the same command continues where the last run stopped, without duplicates.
    """
    from pipelines.flickr.client import FlickrAPIError, FlickrError, FlickrKeyError
    from pipelines.flickr.groups import (
        SearchOptions,
        build_search_groups,
        group_name,
        ingest_listed,
    )
    from pipelines.flickr.ingest import FAILED, PhotoIngester
    from pipelines.flickr.licenses import LICENSES, parse_licenses
    from pipelines.flickr.sources import read_listed

    targets, scenes = [t for t in target or [] if t.strip()], [s for s in scene or [] if s.strip()]
    if source is None and (not targets or not scenes):
        raise typer.BadParameter("give at least one --target and one --scene (or --from FILE)")
    try:
        parse_licenses(license)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--license") from None

    project = open_project(directory)
    settings = flickr_settings(project)
    key = api_key(settings)
    client = make_client(settings, key)
    listed = None
    if source is not None:
        name = group or (
            group_name(targets[0], scenes[0]) if len(targets) == 1 and len(scenes) == 1 else ""
        )
        try:
            listed = read_listed(
                source, name, targets[0] if targets else "", scenes[0] if scenes else ""
            )
        except (ImportFormatError, FileNotFoundError) as exc:
            raise fail(str(exc)) from None
    needs_api = listed is None or any(entry.photo is None for entry in listed)
    if needs_api and not key:
        raise fail(
            f"no Flickr API key. Set the environment variable {settings.get('api_key_env') or KEY_ENV}; "
            "get a free key at https://www.flickr.com/services/apps/create/ (see docs/flickr.md)"
        )

    handler = RichHandler(console=err, show_path=False, show_time=False)
    flickr_log = logging.getLogger("pipelines.flickr.client")
    flickr_log.addHandler(handler)
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[note]}"),
        console=err,
        transient=False,
    )
    tasks: dict[str, int] = {}

    def on_group(result) -> None:
        tasks[result.group] = progress.add_task(
            result.group, total=per_group, completed=result.images, note=""
        )

    def on_photo(result, photo, outcome) -> None:
        if result.group not in tasks:
            on_group(result)
        progress.update(
            tasks[result.group],
            completed=min(result.images, per_group),
            note=f"photo {photo.id}: {outcome}",
        )

    try:
        table = client.licenses() if needs_api else LICENSES
        ingester = PhotoIngester(
            project,
            client,
            parse_licenses(license, table),
            license_table=table,
            max_distance=near_duplicate,
        )
        with progress:
            if listed is None:
                options = SearchOptions(per_group, ingester.licenses, match.value, per_page)
                results = build_search_groups(
                    ingester, targets, scenes, options, on_photo, on_group
                )
            else:
                results = ingest_listed(ingester, listed, per_group, on_photo)
    except (FlickrKeyError, FlickrAPIError) as exc:
        raise fail(str(exc)) from None
    except FlickrError as exc:  # network gone or Flickr down: the state so far is saved
        raise fail(f"{exc}\nNothing is lost: re-run the same command to continue.") from None
    except KeyboardInterrupt:
        raise fail(
            "interrupted; re-run the same command to continue where it stopped", code=130
        ) from None
    finally:
        flickr_log.removeHandler(handler)
    console.print(_summary(results))
    for result in results:
        if result.exhausted and result.images < per_group:
            err.print(
                f"{result.group}: Flickr has no more results for this search "
                f"({result.images} of {per_group}); try --match tags, other keywords or --license"
            )
        for _photo_id, reason in result.failures:
            err.print(f"[yellow]not downloaded[/yellow] {reason}")
    if any(r.counts[FAILED] for r in results):
        err.print("some photos could not be downloaded; re-run the same command to try them again")
        raise typer.Exit(code=1)

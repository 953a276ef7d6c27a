"""The one table of dataset formats: name -> writer, reader, the options each takes.

    fmt = format_named("d3")                       # or UnknownFormat naming the choices
    written = write_format("coco", out, snapshot, incomplete="mark", predictions=True)
    snapshot = read_format("coco", "out/instances.json", expressions=None)

The CLI (``grd export`` / ``grd import``), the importer and the app's Export tab iterate
``FORMATS``; adding a format here adds it everywhere. Writers take ``incomplete`` plus the options
the format lists in ``write_options`` (others are not passed); readers take the source path plus
``read_options``. Writing goes through ``write_format`` so every format names its image files the
same way (``exports.names``: the name an image came with).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from exports.names import for_export
from exports.snapshot import Snapshot
from labeler.errors import LabelerError


class UnknownFormat(LabelerError, ValueError):
    """A format name that is not in ``FORMATS``."""


@dataclass(frozen=True)
class ExportFormat:
    """One dataset format. ``write(out_dir, snapshot, incomplete=..., **write_options)`` returns the
    files written; ``read(source, **read_options)`` returns a checked ``Snapshot``."""

    name: str
    title: str
    #: What ``grd import`` takes as its source for this format (help text).
    source_help: str
    write: Callable[..., list[Path]]
    read: Callable[..., Snapshot]
    write_options: tuple[str, ...] = ()
    read_options: tuple[str, ...] = ()
    #: False where the format has no place for "this image does not show it" (RefCOCO).
    writes_negatives: bool = True


def _write_coco(out_dir, snapshot, **options):
    from exports.coco import write_coco

    return write_coco(out_dir, snapshot, **options)


def _read_coco(source, expressions=None):
    from exports.coco import read_coco

    return read_coco(source, expressions)


def _write_d3(out_dir, snapshot, **options):
    from exports.d3 import write_d3

    return write_d3(out_dir, snapshot, **options)


def _read_d3(source):
    from exports.d3 import read_d3

    return read_d3(source)


def _write_grefcoco(out_dir, snapshot, **options):
    from exports.grefcoco import write_grefcoco

    return write_grefcoco(out_dir, snapshot, **options)


def _read_grefcoco(source):
    from exports.grefcoco import read_grefcoco

    return read_grefcoco(source)


def _write_refcoco(out_dir, snapshot, **options):
    from exports.refcoco import write_refcoco

    return write_refcoco(out_dir, snapshot, **options)


def _read_refcoco(source):
    from exports.refcoco import read_refcoco

    return read_refcoco(source)


FORMATS: dict[str, ExportFormat] = {
    f.name: f
    for f in (
        ExportFormat(
            "coco",
            "COCO instances + expression file",
            "instances.json (or its folder)",
            _write_coco,
            _read_coco,
            write_options=("predictions",),
            read_options=("expressions",),
        ),
        ExportFormat("d3", "D³ (GRD) pickles", "the folder of *.pkl", _write_d3, _read_d3),
        ExportFormat(
            "grefcoco",
            "gRefCOCO refs + instances",
            "the grefs(*).json file or its folder",
            _write_grefcoco,
            _read_grefcoco,
            write_options=("split",),
        ),
        ExportFormat(
            "refcoco",
            "RefCOCO refs + instances (positives only)",
            "the refs(*).p file or its folder",
            _write_refcoco,
            _read_refcoco,
            write_options=("split",),
            writes_negatives=False,
        ),
    )
}


def format_named(name: str) -> ExportFormat:
    """The format called ``name``; ``UnknownFormat`` lists the choices."""
    try:
        return FORMATS[name]
    except KeyError:
        raise UnknownFormat(
            f"unknown format {name!r}; choose one of {', '.join(sorted(FORMATS))}"
        ) from None


def write_format(
    name: str, out_dir: str | Path, snapshot: Snapshot, *, incomplete: str = "omit", **options: Any
) -> list[Path]:
    """Write ``snapshot`` as format ``name`` into ``out_dir``; the files written.

    Images are listed under their export names (``exports.names.for_export``); ``options`` the
    format does not take are not passed on.
    """
    fmt = format_named(name)
    taken = {k: v for k, v in options.items() if k in fmt.write_options}
    return fmt.write(Path(out_dir), for_export(snapshot), incomplete=incomplete, **taken)


def read_format(name: str, source: str | Path, **options: Any) -> Snapshot:
    """Parse and check ``source`` as format ``name``; options it does not take are not passed."""
    fmt = format_named(name)
    taken = {k: v for k, v in options.items() if k in fmt.read_options}
    return fmt.read(source, **taken)

"""Import a COCO (+ expression file), D³, gRefCOCO or RefCOCO dataset: all or nothing.

    snapshot = read_source("d3", "GRD/annotations")
    report = import_snapshot(project, snapshot, image_root="GRD/images", author="import")

Everything is checked before anything is written: the readers (``exports.*``) check structure,
ids, RLE and mask bounds; ``import_snapshot`` then decodes every image file (it must exist, decode,
and have the size the file declares), checks the project for conflicting decisions, and only then
writes groups, images, expressions and every decision (one undoable batch) in ONE transaction
(``Store.unit``). Any problem raises ``ImportFormatError`` naming the file, the record and the
problem. Image files are staged (``pipelines.intake.staging``) and move into the project only once
the rows committed; a process killed mid-way is settled by the next import or ingest.

An import may extend a project: groups are matched by name, images by content within a group,
expressions by text. A pair a person already decided differently is a conflict (an error); a pair
that is unseen or only proposed gets the imported decision.
"""

from __future__ import annotations

import functools
import gc
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from exports.registry import FORMATS as _REGISTRY
from exports.registry import read_format
from exports.snapshot import Snapshot
from labeler.domain import DecisionStatus
from labeler.errors import ImportFormatError, InvalidImage
from labeler.images import normalize_image
from labeler.limits import InvalidText, check_text
from labeler.progress_types import Track
from labeler.project import Project
from pipelines.intake.staging import StagedFiles, recover

FORMATS = tuple(_REGISTRY)


def read_source(fmt: str, source: str | Path, *, expressions: str | Path | None = None) -> Snapshot:
    """Parse and check an import source of format ``fmt`` (a name in ``exports.registry.FORMATS``;
    ``UnknownFormat`` otherwise). ``expressions``: COCO's expression file (default: beside it)."""
    return read_format(fmt, source, expressions=expressions)


@dataclass
class ImportReport:
    groups_created: int = 0
    images_added: int = 0
    images_present: int = 0
    expressions_added: int = 0
    decisions_written: int = 0
    decisions_unchanged: int = 0
    batch_id: str | None = None
    image_ids: dict[int, int] = field(default_factory=dict)

    def summary(self) -> str:
        return (
            f"{self.groups_created} groups, {self.images_added} images "
            f"({self.images_present} already present), {self.expressions_added} expressions, "
            f"{self.decisions_written} decisions imported ({self.decisions_unchanged} unchanged)"
        )


@dataclass(frozen=True)
class _StoredImage:
    rel: str
    content_hash: str


def _image_bytes(root: Path, image) -> tuple[Path, bytes]:
    """The file of ``image`` under ``root`` and its bytes: its name, else (a grd export read with
    ``--images`` pointing at the exporting project) the project's content-addressed copy of the
    same pixels. Raises ``FileNotFoundError`` when neither exists."""
    path = root / image.file
    try:
        with open(path, "rb") as source:  # no stat first: one syscall fewer on 100k files
            return path, source.read()
    except FileNotFoundError:
        if not image.content_hash:
            raise
    stored = sorted((root / "images" / image.content_hash[:2]).glob(f"{image.content_hash}.*"))
    if not stored:
        raise FileNotFoundError(path)
    return stored[0], stored[0].read_bytes()


#: An import of at least this many images reads them in a pool of processes, one per core (below
#: it, starting the processes costs more than it saves).
PARALLEL_FROM = 2_000
CHUNK = 256  # images a worker reads per task: small enough for a smooth progress bar


@dataclass(frozen=True)
class _ImageReader:
    """Reads, checks and stages image files of one import; picklable, so a worker process can
    stage its share into the same run folder."""

    root: Path  # the folder image ``file`` paths are relative to
    max_pixels: int
    project_root: Path
    run_dir: Path

    def read(self, image, staged: StagedFiles | None = None) -> _StoredImage:
        """Decode and stage one image file, checking it is the picture the annotation names."""
        root = self.root
        try:  # checked before the name reaches the file system (ENAMETOOLONG, NUL: tracebacks)
            check_text("image file", image.file)
        except InvalidText as exc:
            raise ImportFormatError(f"{root}, image {image.id}: {exc}") from None
        where = f"{root / image.file}: image {image.id}"
        try:
            path, data = _image_bytes(root, image)
            image_data = normalize_image(data, max_pixels=self.max_pixels, name=str(path))
        except FileNotFoundError:
            raise ImportFormatError(f"{where}: no such image file under {root}") from None
        except (OSError, InvalidImage) as exc:
            raise ImportFormatError(f"{where}: {exc}") from None
        if (image_data.width, image_data.height) != (image.width, image.height):
            raise ImportFormatError(
                f"{where}: the file is {image_data.width} x {image_data.height} pixels but the "
                f"annotation says {image.width} x {image.height}, so its masks would not fit"
            )
        if image.content_hash and image.content_hash != image_data.content_hash:
            raise ImportFormatError(
                f"{where}: the pixels differ from the annotated image (content hash mismatch)"
            )
        staged = staged or _worker_staging(self.project_root, self.run_dir)
        rel = staged.put(image_data.data, image_data.content_hash, image_data.extension)
        return _StoredImage(rel, image_data.content_hash)

    def read_many(self, images: list) -> list[_StoredImage]:
        """A worker's task: ``read`` each image, in order."""
        return [self.read(image) for image in images]


@functools.cache
def _worker_staging(project_root: Path, run_dir: Path) -> StagedFiles:
    """One ``StagedFiles`` per worker process and run (it remembers which folders exist)."""
    return StagedFiles(project_root, run_dir)


def _read_all(reader: _ImageReader, images: list, staged: StagedFiles, workers: int):
    """Each image's ``_StoredImage``, in order: in this process, or over ``workers`` processes.
    The first failing image, in order, raises; the other tasks are cancelled.

    The workers are forked: they only read, decode and write files, never the inherited database
    connections (and leave with ``os._exit``, so nothing of the parent's is closed). Spawned
    workers would re-run the calling script's unguarded top level, which a user's import script
    rarely guards. Where fork does not exist, one process reads everything."""
    if workers <= 1 or "fork" not in multiprocessing.get_all_start_methods():
        for image in images:
            yield reader.read(image, staged)
        return
    chunks = [images[k : k + CHUNK] for k in range(0, len(images), CHUNK)]
    # Frozen, the parent's objects are left out of the workers' garbage collections, which would
    # otherwise touch (and so copy) every page of a large snapshot in each worker.
    gc.freeze()
    pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"))
    try:
        for stored in pool.map(reader.read_many, chunks):
            yield from stored
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        gc.unfreeze()


class _Sized:
    """An iterable with a known length (a progress bar shows a total)."""

    def __init__(self, items, length: int):
        self.items, self.length = items, length

    def __len__(self) -> int:
        return self.length

    def __iter__(self):
        return iter(self.items)


def default_workers(images: int) -> int:
    """Processes to read ``images`` image files with: one per usable core from ``PARALLEL_FROM``
    images on, else this process alone."""
    if images < PARALLEL_FROM:
        return 1
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, min(cores or 1, 8))


def _store_images(
    project: Project,
    snapshot: Snapshot,
    root: Path,
    progress: Track | None,
    staged: StagedFiles,
    workers: int | None = None,
) -> dict[int, _StoredImage]:
    """Decode every image file and stage the ones the project does not hold yet; a large import
    spreads the files over a pool of processes (``default_workers``; threads did not help: the
    per-file Python work holds the GIL)."""
    stored: dict[int, _StoredImage] = {}
    seen: dict[tuple[int, str], int] = {}
    images = sorted(snapshot.images, key=lambda i: i.id)
    reader = _ImageReader(root, project.settings.max_image_pixels, staged.root, staged.dir)
    workers = default_workers(len(images)) if workers is None else workers
    reading = _read_all(reader, images, staged, workers)
    pairs = zip(images, reading)
    try:
        for image, stored_image in progress(_Sized(pairs, len(images))) if progress else pairs:
            key = (image.group_id, stored_image.content_hash)
            if key in seen:
                raise ImportFormatError(
                    f"{root / image.file}: image {image.id}: same picture as image {seen[key]} of "
                    "the same group"
                )
            seen[key] = image.id
            stored[image.id] = stored_image
    finally:
        reading.close()  # now, not when the traceback lets go: no worker writes after a discard
    return stored


def _plan_decisions(
    project: Project,
    snapshot: Snapshot,
    expression_ids: dict[int, int | None],
    image_ids: dict[int, int | None],
    author: str,
):
    """Split the imported decisions (source ids) into new pairs and overwrites of existing pairs
    that nobody decided; a pair a person decided differently is a conflict."""
    new, overwrite, unchanged = [], [], 0
    for expression in snapshot.expressions:
        eid = expression_ids[expression.id]
        current = project.store.decisions_for_expression(eid) if eid is not None else {}
        for image_id, decision in sorted(snapshot.decisions.get(expression.id, {}).items()):
            if not decision.is_human:
                continue  # model proposals are not truth; they are never imported
            row = (
                expression.id,
                image_id,
                decision.status,
                [i.rle for i in decision.instances],
                decision.author or author,
            )
            iid = image_ids[image_id]
            old = current.get(iid) if iid is not None else None
            if old is None or (old.status is DecisionStatus.UNSEEN and old.revision == 0):
                new.append(row)
            elif old.is_human:
                if old.status is not decision.status or [
                    i.rle["counts"] for i in old.instances
                ] != [i.rle["counts"] for i in decision.instances]:
                    raise ImportFormatError(
                        f"{snapshot.name}: expression {expression.text!r}, image {image_id}: the "
                        f"project already has a different decision ({old.status.value} by "
                        f"{old.author or 'someone'}); resolve it in the project or leave it out"
                    )
                unchanged += 1
            else:
                overwrite.append((row, old.revision))
    return new, overwrite, unchanged


def _match_existing(project: Project, snapshot: Snapshot, stored: dict[int, _StoredImage]):
    """Source id -> id of the same group / image / expression already in the project (or None)."""
    store = project.store
    by_name = {g.name: g.id for g in store.list_groups()}
    groups = {g.id: by_name.get(g.name) for g in snapshot.groups}
    images: dict[int, int | None] = {}
    for image in snapshot.images:
        gid = groups[image.group_id]
        found = store.image_by_hash(gid, stored[image.id].content_hash) if gid is not None else None
        images[image.id] = found.id if found else None
    texts: dict[int, dict[str, int]] = {}
    expressions: dict[int, int | None] = {}
    for expression in snapshot.expressions:
        gid = groups[expression.group_id]
        if gid is not None and gid not in texts:
            texts[gid] = {e.text: e.id for e in store.list_expressions(gid)}
        expressions[expression.id] = texts[gid].get(expression.text) if gid is not None else None
    return groups, images, expressions


def _check_texts(snapshot: Snapshot) -> None:
    """Every text the import would write fits ``labeler.limits`` (checked before anything is
    written, so PostgreSQL never refuses a row half-way through and SQLite stores the same)."""

    def check(where: str, field: str, value, allow_empty: bool = True) -> None:
        try:
            check_text(field, value if value is not None else "", allow_empty=allow_empty)
        except InvalidText as exc:
            raise ImportFormatError(f"{snapshot.name or 'import'}, {where}: {exc}") from None

    for group in snapshot.groups:
        where = f"group {group.id}"
        check(where, "group name", group.name.strip(), allow_empty=False)
        check(where, "target keyword", group.target_keyword)
        check(where, "scene keyword", group.scene_keyword)
    for image in snapshot.images:
        where = f"image {image.id}"
        check(where, "source URL", image.source_url)
        check(where, "owner", image.owner)
        check(where, "license", image.license)
    for expression in snapshot.expressions:
        where = f"expression {expression.id}"
        check(where, "expression", " ".join(str(expression.text).split()), allow_empty=False)
        check(where, "user name", expression.created_by)
        for image_id, decision in snapshot.decisions.get(expression.id, {}).items():
            check(f"{where}, image {image_id}", "user name", decision.author)


def import_snapshot(
    project: Project,
    snapshot: Snapshot,
    image_root: str | Path,
    *,
    author: str = "import",
    progress: Track | None = None,
    workers: int | None = None,
) -> ImportReport:
    """Write a checked ``Snapshot`` into ``project`` (all or nothing, see the module docstring).

    ``image_root``: the folder that image ``file`` paths are relative to. ``author`` names the
    decisions whose file does not say who confirmed them. ``workers``: processes reading the
    image files (default :func:`default_workers`).
    """
    store = project.store
    report = ImportReport()
    recover(project)
    staged = StagedFiles(project.root)
    try:
        _check_texts(snapshot)
        stored = _store_images(project, snapshot, Path(image_root), progress, staged, workers)
        groups, images, expressions = _match_existing(project, snapshot, stored)
        new, overwrite, report.decisions_unchanged = _plan_decisions(
            project, snapshot, expressions, images, author
        )
        # One transaction for every row: a failure anywhere (a database error, a crash) leaves
        # the rows as they were; the staged image files move into place only after it commits.
        with store.unit():
            creating = [g for g in snapshot.groups if groups[g.id] is None]
            created = store.create_groups(
                [(g.name, g.target_keyword, g.scene_keyword, dict(g.meta)) for g in creating]
            )
            groups.update({g.id: gid for g, gid in zip(creating, created, strict=True)})
            report.groups_created += len(created)
            adding = [
                i for i in sorted(snapshot.images, key=lambda i: i.id) if images[i.id] is None
            ]
            report.images_present += len(snapshot.images) - len(adding)
            added = store.add_images(
                [
                    {
                        "group_id": groups[image.group_id],
                        "file": stored[image.id].rel,
                        "width": image.width,
                        "height": image.height,
                        "content_hash": stored[image.id].content_hash,
                        "source_url": image.source_url,
                        "owner": image.owner,
                        "license": image.license,
                        "meta": {**image.meta, "original_name": image.file},
                    }
                    for image in adding
                ]
            )
            images.update({image.id: iid for image, iid in zip(adding, added, strict=True)})
            report.images_added += len(added)
            writing = [e for e in snapshot.expressions if expressions[e.id] is None]
            written = store.add_expressions(
                [(groups[e.group_id], e.text, e.created_by) for e in writing]
            )
            expressions.update({e.id: eid for e, eid in zip(writing, written, strict=True)})
            report.expressions_added += len(written)

            def resolve(row):
                return (expressions[row[0]], images[row[1]], *row[2:])

            report.batch_id = store.import_decisions([resolve(r) for r in new], action="import")
            for row, revision in overwrite:
                eid, iid, status, rles, who = resolve(row)
                store.save_decision(
                    eid,
                    iid,
                    status,
                    rles,
                    author=who,
                    expected_revision=revision,
                    action="import",
                    batch_id=report.batch_id,
                )
    except BaseException:
        staged.discard()
        raise
    staged.publish()
    report.decisions_written = len(new) + len(overwrite)
    report.image_ids = {k: v for k, v in images.items() if v is not None}
    return report

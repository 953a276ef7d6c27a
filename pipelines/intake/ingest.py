"""Ingest images into a project: a local folder, or a CSV / JSON manifest of files or URLs.

Every image goes through ``labeler.images.normalize_image`` (EXIF rotation, RGB, size limit) and is
stored content-addressed, so re-running an ingest adds nothing twice. A bad file is skipped with one
line naming it and the problem; the good ones still go in.

Manifest columns (CSV header or JSON object keys): ``file`` or ``url`` (required), ``group``
(required unless given on the command line), ``target``, ``scene``, ``source_url``, ``owner``,
``license``, ``title``. Relative ``file`` paths are relative to the manifest.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from labeler import bounded_json
from labeler.errors import ImportFormatError, InvalidImage
from labeler.images import NormalizedImage, normalize_image
from labeler.limits import InvalidText, check_text
from labeler.progress_types import Track
from labeler.project import Project
from pipelines.intake.guards import NEUTRAL_REASON, RefusedAddress, check_public_url
from pipelines.intake.staging import StagedFiles, recover

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp"}
MANIFEST_SUFFIXES = {".csv", ".json"}
MANIFEST_KEYS = {
    "file",
    "url",
    "group",
    "target",
    "scene",
    "source_url",
    "owner",
    "license",
    "title",
}
DOWNLOAD_TIMEOUT_S = 30
MAX_DOWNLOAD_BYTES = 200 * 1024 * 1024


@dataclass(frozen=True)
class IngestItem:
    """One image to ingest: where its bytes come from, which group it joins, and its provenance."""

    source: str
    group: str
    target: str = ""
    scene: str = ""
    source_url: str = ""
    owner: str = ""
    license: str = ""
    meta: dict[str, Any] = field(default_factory=dict)
    #: Returns the file's bytes; raises ``InvalidImage`` (or OSError) when they cannot be had.
    read: Callable[[], bytes] | None = None


@dataclass
class IngestReport:
    added: list[int] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.skipped

    def summary(self) -> str:
        return (
            f"{len(self.added)} added, {len(self.duplicates)} already present, "
            f"{len(self.skipped)} skipped"
        )


def _read_file(path: Path) -> Callable[[], bytes]:
    def read() -> bytes:
        if not path.is_file():
            raise InvalidImage(f"{path}: unreadable path (no such file)")
        try:
            return path.read_bytes()
        except OSError as exc:
            raise InvalidImage(f"{path}: unreadable ({exc.strerror or exc})") from exc

    return read


def _dangling(path: Path) -> Callable[[], bytes]:
    def read() -> bytes:
        raise InvalidImage(f"{path}: a symbolic link to {path.readlink()}, which does not exist")

    return read


MAX_REDIRECTS = 5


def _read_url(url: str, allow_private: bool = False) -> Callable[[], bytes]:
    """Bytes of ``url``. Unless ``allow_private``, every hop (redirects included) must resolve to a
    public address; any refusal or failure reads ``<url>: could not download`` (one neutral reason)."""

    def read() -> bytes:
        import requests

        refused = InvalidImage(f"{url}: {NEUTRAL_REASON}")
        try:
            response, hop = None, url
            for _ in range(MAX_REDIRECTS + 1):
                if not allow_private:
                    check_public_url(hop)
                response = requests.get(
                    hop, timeout=DOWNLOAD_TIMEOUT_S, stream=True, allow_redirects=False
                )
                if not response.is_redirect:
                    break
                hop = requests.compat.urljoin(hop, response.headers.get("location", ""))
                response.close()
            with response:
                if response.status_code != 200:
                    raise refused
                chunks, size = [], 0
                for chunk in response.iter_content(1 << 16):
                    size += len(chunk)
                    if size > MAX_DOWNLOAD_BYTES:
                        raise InvalidImage(f"{url}: larger than {MAX_DOWNLOAD_BYTES >> 20} MiB")
                    chunks.append(chunk)
                return b"".join(chunks)
        except (requests.RequestException, RefusedAddress) as exc:
            raise refused from exc

    return read


def folder_items(
    folder: Path, group: str | None = None, target: str = "", scene: str = ""
) -> list[IngestItem]:
    """Images of a folder. Loose images join ``group`` (default: the folder's name); each sub-folder
    becomes a group of its own, named after it."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: no such folder")
    items = []
    for path in sorted(folder.rglob("*")):
        if path.is_symlink() and not path.exists():  # dangling: report it, do not skip silently
            items.append(
                IngestItem(str(path), group or folder.resolve().name, read=_dangling(path))
            )
            continue
        if (
            not path.is_file()
            or path.suffix.lower() not in IMAGE_SUFFIXES
            or path.name.startswith(".")
        ):
            continue
        rel = path.relative_to(folder)
        name = (group or folder.resolve().name) if len(rel.parts) == 1 else rel.parts[0]
        items.append(
            IngestItem(
                str(path),
                name,
                target,
                scene,
                meta={"original_name": rel.as_posix()},
                read=_read_file(path),
            )
        )
    return items


def _manifest_rows(path: Path) -> list[dict[str, Any]]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ImportFormatError(f"{path}: cannot read manifest ({exc})") from exc
    if path.suffix.lower() == ".json":
        data = bounded_json.loads(text, str(path))
        rows = data.get("images") if isinstance(data, dict) else data
        if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
            raise ImportFormatError(f"{path}: expected a list of objects (or {{'images': [...]}})")
        return rows
    rows = list(csv.DictReader(text.splitlines()))
    if rows and not ({"file", "url"} & set(rows[0])):
        raise ImportFormatError(f"{path}: the CSV header needs a 'file' or 'url' column")
    return rows


def _manifest_name(location: str) -> str:
    """The name an image of a manifest row came with: a relative ``file`` as written, else the
    last part of the absolute path or URL (``exports.names`` makes names unique at export)."""
    if location.startswith(("http://", "https://")):
        from urllib.parse import unquote, urlparse

        return unquote(urlparse(location).path.rsplit("/", 1)[-1]) or "image"
    path = Path(location)
    return path.name if path.is_absolute() or ".." in path.parts else path.as_posix()


def manifest_items(
    manifest: Path,
    group: str | None = None,
    target: str = "",
    scene: str = "",
    *,
    allow_private_urls: bool = False,
) -> list[IngestItem]:
    """Items of a CSV / JSON manifest. A malformed row stops everything (nothing partial)."""
    manifest = Path(manifest)
    items = []
    for number, row in enumerate(_manifest_rows(manifest), start=1):
        where = f"{manifest}, row {number}"
        location = (row.get("file") or row.get("url") or "").strip()
        if not location:
            raise ImportFormatError(f"{where}: needs a 'file' or 'url'")
        name = (row.get("group") or group or "").strip()
        if not name:
            raise ImportFormatError(f"{where}: no 'group' (give one per row or --group)")
        if location.startswith(("http://", "https://")):
            read = _read_url(location, allow_private_urls)
            source_url = row.get("source_url") or location
        else:
            path = Path(location) if Path(location).is_absolute() else manifest.parent / location
            read, source_url = _read_file(path), row.get("source_url") or ""
        extra = {k: v for k, v in row.items() if k not in MANIFEST_KEYS and v not in (None, "")}
        extra.setdefault("original_name", _manifest_name(location))
        if row.get("title"):
            extra["title"] = row["title"]
        items.append(
            IngestItem(
                source=location,
                group=name,
                target=(row.get("target") or target or "").strip(),
                scene=(row.get("scene") or scene or "").strip(),
                source_url=source_url,
                owner=row.get("owner") or "",
                license=row.get("license") or "",
                meta=extra,
                read=read,
            )
        )
    return items


def source_items(
    source: str | Path,
    group: str | None = None,
    target: str = "",
    scene: str = "",
    *,
    allow_private_urls: bool = False,
) -> list[IngestItem]:
    """Items of a folder, a manifest file, or a single image file."""
    path = Path(source)
    if path.is_dir():
        return folder_items(path, group, target, scene)
    if path.suffix.lower() in MANIFEST_SUFFIXES:
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no such manifest")
        return manifest_items(path, group, target, scene, allow_private_urls=allow_private_urls)
    if path.is_file():
        return [
            IngestItem(
                str(path),
                group or path.parent.resolve().name,
                target,
                scene,
                meta={"original_name": path.name},
                read=_read_file(path),
            )
        ]
    raise FileNotFoundError(f"{path}: no such folder, manifest or image")


def store_image_file(project: Project, data: bytes, content_hash: str, extension: str) -> str:
    """Write the normalised bytes content-addressed (atomically); returns the project-relative path."""
    rel = Path("images") / content_hash[:2] / f"{content_hash}{extension}"
    target = project.root / rel
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(target.suffix + ".tmp")
        tmp.write_bytes(data)
        tmp.replace(target)
    return rel.as_posix()


def check_items(items: Iterable[IngestItem]) -> None:
    """Every text an ingest would store fits ``labeler.limits``; checked for all items before any
    is written, so a bad last row changes nothing (same on SQLite and PostgreSQL)."""
    fields = (
        ("group name", "group", False),
        ("target keyword", "target", True),
        ("scene keyword", "scene", True),
        ("source URL", "source_url", True),
        ("owner", "owner", True),
        ("license", "license", True),
    )
    for item in items:
        for field_name, attribute, allow_empty in fields:
            try:
                check_text(field_name, getattr(item, attribute) or "", allow_empty=allow_empty)
            except InvalidText as exc:
                raise ImportFormatError(f"{item.source}: {exc}") from None


@dataclass(frozen=True)
class _Stored:
    """An image file written by phase 1 of :func:`ingest_items`, its row still to write."""

    rel: str
    width: int
    height: int
    content_hash: str
    original_mode: str


def ingest_items(
    project: Project,
    items: Iterable[IngestItem],
    *,
    progress: Track | None = None,
    on_skip: Callable[[str, str], None] | None = None,
    screen: Callable[[IngestItem, NormalizedImage], str | None] | None = None,
) -> IngestReport:
    """Normalise and add every item; bad ones are reported and skipped, never fatal.

    ``screen`` (optional) sees each decoded image that is not an exact duplicate, before it is stored;
    a returned reason (e.g. "near duplicate of image 12") counts the item as a duplicate instead.
    Keys it adds to ``item.meta`` (e.g. a perceptual hash) are stored with the image.
    """
    report = IngestReport()
    store = project.store
    items = list(items)
    check_items(items)
    # Phase 1 (slow: reading, downloading, decoding) outside any transaction, image files staged.
    # Phase 2 writes every row in ONE transaction (``Store.unit``), so an ingest is all or nothing
    # on SQLite and PostgreSQL; the staged files move into place only after it commits.
    pending: list[tuple[IngestItem, _Stored]] = []  # no pixels kept: a big folder stays small
    seen: set[tuple[str, str]] = set()
    recover(project)
    staged = StagedFiles(project.root)
    try:
        for item in progress(items) if progress else items:
            try:
                data = item.read() if item.read else Path(item.source).read_bytes()
                image = normalize_image(
                    data, max_pixels=project.settings.max_image_pixels, name=item.source
                )
            except (InvalidImage, OSError) as exc:
                reason = str(exc)
                report.skipped.append((item.source, reason))
                if on_skip:
                    on_skip(item.source, reason)
                continue
            group = store.group_by_name(item.group)
            existing = group is not None and store.image_by_hash(group.id, image.content_hash)
            key = (item.group, image.content_hash)
            if existing or key in seen or (screen is not None and screen(item, image)):
                report.duplicates.append(item.source)
                continue
            seen.add(key)
            rel = staged.put(image.data, image.content_hash, image.extension)
            pending.append(
                (
                    item,
                    _Stored(
                        rel, image.width, image.height, image.content_hash, image.original_mode
                    ),
                )
            )
        groups: dict[str, int] = {}
        with store.unit():
            for item, image in pending:
                if item.group not in groups:
                    groups[item.group] = store.ensure_group(item.group, item.target, item.scene).id
                meta = {**item.meta, "original_mode": image.original_mode}
                record, added = store.add_image(
                    groups[item.group],
                    image.rel,
                    image.width,
                    image.height,
                    image.content_hash,
                    source_url=item.source_url,
                    owner=item.owner,
                    license=item.license,
                    meta=meta,
                )
                (report.added if added else report.duplicates).append(
                    record.id if added else item.source
                )
    except BaseException:
        staged.discard()
        raise
    staged.publish()
    return report

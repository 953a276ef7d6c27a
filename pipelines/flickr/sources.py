"""Photos gathered elsewhere: a saved ``flickr.photos.search`` result, or a CSV of Flickr URLs.

- Saved search (``.json``): one response (``{"photos": {...}, "stat": "ok"}``), a list of them (one per
  page), or a bare list of photo entries; a JSONP wrapper ``jsonFlickrApi(...)`` is accepted. With
  the extras ``license,owner_name,url_l,...`` in the entries, no API call (and no key) is needed.
- CSV (``.csv`` / ``.txt``): a column ``url`` (or ``photo_url`` / ``page_url`` / ``id``) of photo
  pages, ``flic.kr`` short links or static image URLs; optional ``group``, ``target``, ``scene``
  columns. A header-less file with one URL per line works too. Each photo is looked up on Flickr
  (owner, title, license, sizes), which needs the API key.
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

from labeler.errors import ImportFormatError
from pipelines.flickr.groups import ListedPhoto
from pipelines.flickr.photos import parse_photo, parse_search_page, photo_id_from_url

URL_COLUMNS = ("url", "photo_url", "page_url", "flickr_url", "id", "photo_id")


def _saved_entries(data) -> list[dict]:
    """Photo entries of a saved search in any of the accepted shapes."""
    if isinstance(data, dict) and "photos" in data:
        return (
            [dict(p) for p in data["photos"].get("photo", [])]
            if isinstance(data["photos"], dict)
            else []
        )
    if isinstance(data, list) and all(isinstance(x, dict) for x in data):
        if all("photos" in x for x in data):
            return [p for page in data for p in _saved_entries(page)]
        return list(data)
    raise ValueError(
        "expected a flickr.photos.search response, a list of them, or a list of photos"
    )


def _read_text(path: Path) -> str:
    """The file's text (a UTF-8 byte-order mark dropped); ``ImportFormatError`` if unreadable."""
    try:
        return path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ImportFormatError(f"{path}: cannot read ({exc})") from exc


def read_saved_search(
    path: Path, group: str, target: str = "", scene: str = ""
) -> list[ListedPhoto]:
    path = Path(path)
    text = _read_text(path).strip()
    if match := re.fullmatch(r"\s*\w+\((.*)\)\s*;?\s*", text, re.DOTALL):  # JSONP
        text = match.group(1)
    try:
        data = json.loads(text)
        if isinstance(data, dict) and data.get("stat") == "fail":
            raise ValueError(f"the saved answer is a Flickr error ({data.get('message', '')})")
        if isinstance(data, dict):
            parse_search_page(data)  # validates the shape
        entries = _saved_entries(data)
        photos = [parse_photo(entry) for entry in entries]
    except ValueError as exc:  # json.JSONDecodeError is a ValueError
        raise ImportFormatError(f"{path}: not a saved Flickr search ({exc})") from exc
    return [
        ListedPhoto(p.id, group, target, scene, f"{path.name} photo {n}", p)
        for n, p in enumerate(photos, start=1)
    ]


def read_url_list(path: Path, group: str, target: str = "", scene: str = "") -> list[ListedPhoto]:
    path = Path(path)
    lines = _read_text(path).splitlines()
    lines = [line for line in lines if line.strip() and not line.lstrip().startswith("#")]
    if not lines:
        raise ImportFormatError(f"{path}: no URLs in the file")
    header = [h.strip().lower() for h in next(csv.reader([lines[0]]))]
    column = next((c for c in URL_COLUMNS if c in header), None)
    if column is None and photo_id_from_url(header[0]) is None and not header[0].isdigit():
        raise ImportFormatError(
            f"{path}: the CSV header needs a column named one of {', '.join(URL_COLUMNS)}"
        )
    rows = (
        csv.DictReader(lines, fieldnames=header)
        if column
        else csv.DictReader(lines, fieldnames=["url"])
    )
    listed, start = [], 2 if column else 1
    if column:
        next(rows)  # the header line itself
    for number, row in enumerate(rows, start=start):
        value = (row.get(column or "url") or "").strip()
        photo_id = value if value.isdigit() else photo_id_from_url(value)
        if not photo_id:
            raise ImportFormatError(
                f"{path}, line {number}: {value!r} is not a Flickr photo URL or id"
            )
        listed.append(
            ListedPhoto(
                photo_id,
                (row.get("group") or group or "").strip(),
                (row.get("target") or target or "").strip(),
                (row.get("scene") or scene or "").strip(),
                f"{path.name} line {number}",
            )
        )
    if any(not entry.group for entry in listed):
        raise ImportFormatError(
            f"{path}: no group for some rows (add a 'group' column or use --group)"
        )
    return listed


def read_listed(path: Path, group: str, target: str = "", scene: str = "") -> list[ListedPhoto]:
    """The photos of a saved search (``.json``) or a URL list (any other suffix)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    if path.suffix.lower() in (".json", ".js", ".jsonp"):
        if not group:
            raise ImportFormatError(
                f"{path}: say which group the photos join (--group or --target/--scene)"
            )
        return read_saved_search(path, group, target, scene)
    return read_url_list(path, group, target, scene)

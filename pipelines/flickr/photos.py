"""Flickr photos as the API describes them: search entries, getInfo/getSizes answers, photo URLs.

Pure parsing, no I/O: ``parse_search_page`` reads a ``flickr.photos.search`` answer (also a saved
one), ``parse_photo_info`` a ``getInfo`` + ``getSizes`` pair, ``photo_id_from_url`` any Flickr URL.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

DEFAULT_STATIC_URL = "https://live.staticflickr.com"
SITE_URL = "https://www.flickr.com"
#: Sizes tried in order: Large 1024, Medium 800, Medium 640, Small 320, Small 240 (longest side).
PREFERRED_SIZES = ("l", "c", "z", "n", "m")
_SIZE_LABELS = {"Large": "l", "Medium 800": "c", "Medium 640": "z", "Small 320": "n", "Small": "m"}


@dataclass(frozen=True)
class FlickrPhoto:
    """One photo as a search (with extras) or ``getInfo`` + ``getSizes`` describes it.

    ``urls`` maps a size suffix (``l``, ``c``, ``z``, ...) to a direct image URL.
    """

    id: str
    owner: str
    owner_name: str = ""
    title: str = ""
    license_id: int = 0
    secret: str = ""
    server: str = ""
    urls: dict[str, str] = field(default_factory=dict, compare=False)

    @property
    def page_url(self) -> str:
        return f"{SITE_URL}/photos/{self.owner}/{self.id}/"

    @property
    def author_url(self) -> str:
        return f"{SITE_URL}/people/{self.owner}/"

    def image_url(self, static_url: str = DEFAULT_STATIC_URL) -> str | None:
        """The URL of the first preferred size the photo has, else one built from server and secret."""
        for size in PREFERRED_SIZES:
            if self.urls.get(size):
                return self.urls[size]
        if self.server and self.secret:
            return f"{static_url.rstrip('/')}/{self.server}/{self.id}_{self.secret}_b.jpg"
        return None


@dataclass(frozen=True)
class SearchPage:
    page: int
    pages: int
    total: int
    photos: tuple[FlickrPhoto, ...]


def as_int(value: Any, default: int = 0) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def parse_photo(row: dict[str, Any]) -> FlickrPhoto:
    """A photo from one entry of a search response's ``photos.photo`` list."""
    if not isinstance(row, dict) or not row.get("id"):
        raise ValueError(f"not a Flickr photo entry: {str(row)[:80]!r}")
    title = row.get("title")
    if isinstance(title, dict):  # getInfo style {"_content": ...}
        title = title.get("_content", "")
    urls = {size: row[f"url_{size}"] for size in (*PREFERRED_SIZES, "o") if row.get(f"url_{size}")}
    return FlickrPhoto(
        id=str(row["id"]),
        owner=str(row.get("owner") or ""),
        owner_name=str(row.get("ownername") or ""),
        title=str(title or ""),
        license_id=as_int(row.get("license")),
        secret=str(row.get("secret") or ""),
        server=str(row.get("server") or ""),
        urls=urls,
    )


def photo_row(photo: FlickrPhoto) -> dict[str, Any]:
    """A search-entry dict for ``photo`` (the inverse of ``parse_photo``), e.g. to save it as JSON."""
    row = {
        "id": photo.id,
        "owner": photo.owner,
        "ownername": photo.owner_name,
        "title": photo.title,
        "license": str(photo.license_id),
        "secret": photo.secret,
        "server": photo.server,
    }
    row.update({f"url_{size}": url for size, url in photo.urls.items()})
    return row


def parse_search_page(data: dict[str, Any]) -> SearchPage:
    """A page of a ``flickr.photos.search`` JSON response (``{"photos": {...}, "stat": "ok"}``)."""
    photos = data.get("photos") if isinstance(data, dict) else None
    if not isinstance(photos, dict) or not isinstance(photos.get("photo", []), list):
        raise ValueError(
            "not a flickr.photos.search response (no 'photos' object with a 'photo' list)"
        )
    return SearchPage(
        page=as_int(photos.get("page"), 1),
        pages=as_int(photos.get("pages"), 1),
        total=as_int(photos.get("total")),
        photos=tuple(parse_photo(p) for p in photos.get("photo", [])),
    )


def parse_photo_info(info: dict[str, Any], sizes: dict[str, Any] | None = None) -> FlickrPhoto:
    """A photo from ``flickr.photos.getInfo`` (and optionally ``getSizes``) responses."""
    photo = info.get("photo") or {}
    owner = photo.get("owner") or {}
    urls = {}
    for size in ((sizes or {}).get("sizes") or {}).get("size", []):
        suffix = _SIZE_LABELS.get(size.get("label", ""))
        if suffix and size.get("source"):
            urls[suffix] = size["source"]
    return FlickrPhoto(
        id=str(photo.get("id", "")),
        owner=str(owner.get("nsid", "")),
        owner_name=str(owner.get("realname") or owner.get("username") or ""),
        title=str((photo.get("title") or {}).get("_content", "")),
        license_id=as_int(photo.get("license")),
        secret=str(photo.get("secret", "")),
        server=str(photo.get("server", "")),
        urls=urls,
    )


_PAGE_ID = re.compile(r"flickr\.com/photos/[^/]+/(\d+)")
_SHORT_ID = re.compile(r"flic\.kr/p/([0-9A-Za-z]+)")
_STATIC_ID = re.compile(r"/(\d+)_[0-9a-f]+(?:_[a-z0-9]+)?\.(?:jpg|jpeg|png|gif)$", re.IGNORECASE)
_B58 = "123456789abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ"


def photo_id_from_url(url: str) -> str | None:
    """The photo id in a photo page, ``flic.kr/p/`` short link or static image URL; None if none."""
    url = (url or "").strip()
    if match := _PAGE_ID.search(url):
        return match.group(1)
    if match := _SHORT_ID.search(url):
        number = 0
        for char in match.group(1):
            if char not in _B58:
                return None
            number = number * 58 + _B58.index(char)
        return str(number)
    if match := _STATIC_ID.search(urlsplit(url).path):
        return match.group(1)
    return None

"""Flickr's photo licenses: the id table, short labels, and ``--license`` specs.

The table mirrors ``flickr.photos.licenses.getInfo`` (ids 0-10 since 2009; 11-16, the CC 4.0
licenses, since June 2025). ``FlickrClient.licenses()`` fetches the live one; this copy serves offline
work (saved search results) and parsing of ``--license`` before any network call.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class License:
    """One Flickr license: its id, Flickr's name and URL, a short label and a code for ``--license``."""

    id: int
    name: str
    url: str
    short: str
    code: str


_CC = re.compile(r"creativecommons\.org/licenses/([a-z-]+)/(\d\.\d)")


def license_from(id: int, name: str, url: str) -> License:
    """A ``License`` from one row of ``flickr.photos.licenses.getInfo``; short label and code from the URL."""
    url = url or ""
    if match := _CC.search(url):
        kind, version = match.groups()
        return License(id, name, url, f"CC {kind.upper()} {version}", f"cc-{kind}")
    if "publicdomain/zero" in url:
        return License(id, name, url, "CC0 1.0", "cc0")
    if "publicdomain/mark" in url:
        return License(id, name, url, "Public Domain Mark 1.0", "pdm")
    if "commons/usage" in url:
        return License(id, name, url, "No known copyright restrictions", "nkcr")
    if "usa.gov" in url:
        return License(id, name, url, "United States Government Work", "usgov")
    if id == 0:
        return License(
            0, name or "All Rights Reserved", "", "All Rights Reserved", "all-rights-reserved"
        )
    return License(id, name, url, name or f"license {id}", f"license-{id}")


_CCL = "https://creativecommons.org/licenses"
#: The table of ``flickr.photos.licenses.getInfo`` (ids 11-16: the CC 4.0 licenses added in 2025).
#: ``FlickrClient.licenses()`` fetches the live table; this one serves offline (saved searches).
LICENSES: dict[int, License] = {
    row[0]: license_from(*row)
    for row in [
        (0, "All Rights Reserved", ""),
        (1, "Attribution-NonCommercial-ShareAlike License", f"{_CCL}/by-nc-sa/2.0/"),
        (2, "Attribution-NonCommercial License", f"{_CCL}/by-nc/2.0/"),
        (3, "Attribution-NonCommercial-NoDerivs License", f"{_CCL}/by-nc-nd/2.0/"),
        (4, "Attribution License", f"{_CCL}/by/2.0/"),
        (5, "Attribution-ShareAlike License", f"{_CCL}/by-sa/2.0/"),
        (6, "Attribution-NoDerivs License", f"{_CCL}/by-nd/2.0/"),
        (7, "No known copyright restrictions", "https://www.flickr.com/commons/usage/"),
        (8, "United States Government Work", "http://www.usa.gov/copyright.shtml"),
        (9, "Public Domain Dedication (CC0)", "https://creativecommons.org/publicdomain/zero/1.0/"),
        (10, "Public Domain Mark", "https://creativecommons.org/publicdomain/mark/1.0/"),
        (11, "CC BY 4.0", f"{_CCL}/by/4.0/"),
        (12, "CC BY-SA 4.0", f"{_CCL}/by-sa/4.0/"),
        (13, "CC BY-ND 4.0", f"{_CCL}/by-nd/4.0/"),
        (14, "CC BY-NC 4.0", f"{_CCL}/by-nc/4.0/"),
        (15, "CC BY-NC-SA 4.0", f"{_CCL}/by-nc-sa/4.0/"),
        (16, "CC BY-NC-ND 4.0", f"{_CCL}/by-nc-nd/4.0/"),
    ]
}

#: Names for sets of licenses in ``--license``.
LICENSE_ALIASES = {
    # Every Creative Commons license and public-domain tool: all allow redistribution with credit.
    "cc": lambda lic: lic.code.startswith("cc") or lic.code == "pdm",
    # Free cultural works: commercial use and derivatives allowed too.
    "open": lambda lic: lic.code in {"cc-by", "cc-by-sa", "cc0", "pdm", "nkcr", "usgov"},
    "public-domain": lambda lic: lic.code in {"cc0", "pdm", "nkcr", "usgov"},
}
DEFAULT_LICENSES = "cc"


def parse_licenses(spec: str, table: dict[int, License] | None = None) -> frozenset[int]:
    """License ids named by a comma-separated spec: ids (``4``), codes (``cc-by`` = every version,
    ``cc-by-4.0`` = one), or aliases (``cc``, ``open``, ``public-domain``). Raises ``ValueError``."""
    table = table or LICENSES
    ids: set[int] = set()
    for token in (t.strip().lower() for t in (spec or DEFAULT_LICENSES).split(",")):
        if not token:
            continue
        if token.isdigit():
            found = {int(token)} & set(table)
        elif token in LICENSE_ALIASES:
            found = {i for i, lic in table.items() if LICENSE_ALIASES[token](lic)}
        else:
            found = {
                i
                for i, lic in table.items()
                if token in (lic.code, f"{lic.code}-{lic.short.rsplit(' ', 1)[-1]}".lower())
            }
        if not found:
            known = sorted({lic.code for lic in table.values()} | set(LICENSE_ALIASES))
            raise ValueError(
                f"unknown license {token!r}; use a Flickr license id or one of: {', '.join(known)}"
            )
        ids |= found
    return frozenset(ids)


def license_for(license_id: int, table: dict[int, License] | None = None) -> License:
    table = table or LICENSES
    return table.get(license_id) or license_from(license_id, "", "")

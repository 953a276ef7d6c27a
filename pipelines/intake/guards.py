"""What the server may fetch and read on a user's behalf: public URLs only, and disk paths only under
the folders a project's settings allow.

Project settings (``store.set_setting``):

- ``ingest_roots``: list of server folders the app's "From the server's disk" may read (default:
  none, so that field refuses everything until an admin allows a folder); the ``grd ingest``
  command line is trusted and not limited.
- ``allow_private_urls``: when true, URL ingest may reach loopback, link-local and private
  addresses (a lab's own image server); default false.

A refused or failed download is reported with one neutral reason, so skip reasons cannot be used to
map which internal hosts and ports answer.
"""

from __future__ import annotations

import ipaddress
import socket
from pathlib import Path
from urllib.parse import urlsplit

from labeler.accounts import PermissionDenied

INGEST_ROOTS = "ingest_roots"
ALLOW_PRIVATE_URLS = "allow_private_urls"
NEUTRAL_REASON = "could not download"


class RefusedAddress(Exception):
    """The URL's host is not a public address (or does not resolve); reported neutrally."""


def _is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def check_public_url(url: str) -> None:
    """Raise :class:`RefusedAddress` unless every address ``url``'s host resolves to is public.

    Checked before each request and each redirect hop (see ``ingest._read_url``).
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise RefusedAddress(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        infos = socket.getaddrinfo(parts.hostname, port, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as exc:
        raise RefusedAddress(url) from exc
    if not infos or not all(_is_public(info[4][0]) for info in infos):
        raise RefusedAddress(url)


def check_server_path(path: str | Path, roots: list[str]) -> Path:
    """``path`` resolved (symlinks followed) if it lies under one of ``roots``; else PermissionDenied."""
    resolved = Path(path).expanduser().resolve()
    for root in roots or []:
        if resolved.is_relative_to(Path(root).expanduser().resolve()):
            return resolved
    if not roots:
        raise PermissionDenied(
            "reading the server's disk is off for this project; an admin can allow folders "
            f"with the {INGEST_ROOTS!r} setting"
        )
    raise PermissionDenied(f"{path} is outside the folders this project may read from the server")

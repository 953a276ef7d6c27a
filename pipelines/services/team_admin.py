"""An admin's actions from the app: users (add, role, remove) and the intake settings.

Each takes the acting user and is authorized by role here, below the UI (``PermissionDenied`` for
anyone but an admin; in local single-user mode, with no users, everything is allowed as before).
The command line (``grd users ...``) is trusted and calls the store directly.
"""

from __future__ import annotations

from pathlib import Path

from labeler.errors import LabelerError
from labeler.limits import check_text
from labeler.store import Store
from pipelines.intake.guards import ALLOW_PRIVATE_URLS, INGEST_ROOTS


class InvalidSetting(LabelerError, ValueError):
    """A setting's value cannot be used (e.g. an ingest root that is not a folder on the server)."""


def intake_settings(store: Store) -> tuple[list[str], bool]:
    """(the server folders the Data page may read, whether private URLs may be fetched)."""
    return list(store.get_setting(INGEST_ROOTS, []) or []), bool(
        store.get_setting(ALLOW_PRIVATE_URLS, False)
    )


def set_intake_settings(
    store: Store, *, actor: str | None, ingest_roots: list[str], allow_private_urls: bool
) -> tuple[list[str], bool]:
    """Replace both intake settings (admins only). Every root must be an absolute path to an
    existing folder on the server; it is stored resolved (symlinks followed). All or nothing."""
    store.authorize(actor, "settings")
    roots: list[str] = []
    for raw in ingest_roots:
        text = check_text("server folder", raw.strip(), allow_empty=True)
        if not text:
            continue
        path = Path(text)
        if not path.is_absolute():
            raise InvalidSetting(f"server folder {text!r} is not an absolute path")
        if not path.is_dir():
            raise InvalidSetting(f"server folder {text!r} is not a folder on the server")
        roots.append(str(path.resolve()))
    roots = list(dict.fromkeys(roots))
    store.set_setting(INGEST_ROOTS, roots)
    store.set_setting(ALLOW_PRIVATE_URLS, bool(allow_private_urls))
    return roots, bool(allow_private_urls)


def add_user(store: Store, *, actor: str | None, name: str, role: str, password: str):
    store.authorize(actor, "manage_users")
    return store.add_user(name, role, password)


def set_role(store: Store, *, actor: str | None, name: str, role: str):
    store.authorize(actor, "manage_users")
    return store.set_role(name, role)


def remove_user(store: Store, *, actor: str | None, name: str) -> None:
    """Remove an account (admins only; not the acting admin's own). Decisions keep their author."""
    store.authorize(actor, "manage_users")
    if actor and name == actor:
        raise LabelerError("you cannot remove your own account; another admin can")
    store.remove_user(name)

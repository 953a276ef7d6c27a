"""Accounts without a database: roles and what each may do, password hashing, session tokens, throttling.

Pure logic; ``labeler/store/users.py`` keeps users in the project's database and calls into here.

    hash_password("s3cret") -> "$argon2id$..."           # argon2id via argon2-cffi
    token = issue_token(secret, "alice", epoch=0)        # "alice.0.1767225600.<hmac>"
    read_token(secret, token) -> ("alice", 0)            # or raises InvalidSession
    authorize("annotator", "ingest")                     # raises PermissionDenied
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import os
import secrets
import time
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from labeler.errors import LabelerError

ROLES = ("admin", "reviewer", "annotator")

#: Which roles may do what. The store and the services check this table; the UI only hides buttons.
PERMISSIONS: dict[str, frozenset[str]] = {
    "annotate": frozenset(
        ROLES
    ),  # save decisions, bulk-confirm, undo their batches, add expressions
    "review": frozenset({"admin", "reviewer"}),
    "ingest": frozenset({"admin"}),  # images from uploads, URLs or the server's disk
    "manage_users": frozenset({"admin"}),
    "assign": frozenset({"admin"}),
    "settings": frozenset({"admin"}),
    "models": frozenset({"admin"}),  # training, pre-labelling, rounds
    "export": frozenset({"admin"}),
    "see_all_jobs": frozenset({"admin"}),
}

#: Sign-in sessions last this long; a reload within it keeps the user signed in.
SESSION_SECONDS = 12 * 3600
#: After this many wrong passwords in a row, each further attempt waits longer (doubling, capped).
FREE_ATTEMPTS = 3
FIRST_LOCK_SECONDS = 5
MAX_LOCK_SECONDS = 15 * 60
#: Environment variable that sets the first lock's seconds (a stricter server; the browser tests).
LOCK_ENV = "GRD_SIGNIN_LOCK_S"

_hasher = PasswordHasher()


class PermissionDenied(LabelerError, PermissionError):
    """The acting user's role does not allow this action (or nobody is signed in)."""


class InvalidSession(LabelerError):
    """A session token is malformed, forged, expired, or was ended by sign-out."""


class SignInRefused(LabelerError):
    """Wrong name or password, or too many recent failures; one neutral message either way."""


def check_role(role: str) -> str:
    if role not in ROLES:
        raise LabelerError(f"unknown role {role!r}; choose one of {', '.join(ROLES)}")
    return role


def authorize(role: str | None, action: str) -> None:
    """Return if ``role`` may do ``action``; else :class:`PermissionDenied` naming both."""
    allowed = PERMISSIONS[action]
    if role not in allowed:
        who = f"role {role!r}" if role else "nobody signed in"
        raise PermissionDenied(
            f"{who} may not {action.replace('_', ' ')}; that needs {' or '.join(sorted(allowed))}"
        )


# -- passwords ---------------------------------------------------------------------------------
MIN_PASSWORD = 8


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise LabelerError(f"password is too short: at least {MIN_PASSWORD} characters")
    if len(password) > 1024:
        raise LabelerError("password is too long: at most 1,024 characters")
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


@functools.cache
def dummy_hash() -> str:
    """A hash to verify against when the name is unknown, so both failures take the same time.
    Made on first use: hashing at import cost every `grd` process 0.1 s."""
    return _hasher.hash(secrets.token_hex(8))


# -- throttling --------------------------------------------------------------------------------
def lock_after(failures: int, now: datetime) -> datetime | None:
    """When the next attempt may come after ``failures`` wrong passwords in a row (None: at once):
    the first lock lasts ``$GRD_SIGNIN_LOCK_S`` seconds (default 5), each next one twice as long."""
    if failures < FREE_ATTEMPTS:
        return None
    first = float(os.environ.get(LOCK_ENV) or FIRST_LOCK_SECONDS)
    seconds = min(MAX_LOCK_SECONDS, 2 ** (failures - FREE_ATTEMPTS) * first)
    return now + timedelta(seconds=seconds)


# -- session tokens ----------------------------------------------------------------------------
def new_secret() -> str:
    return secrets.token_urlsafe(32)


def _sign(secret: str, payload: str) -> str:
    mac = hmac.new(secret.encode(), payload.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).decode().rstrip("=")


def issue_token(
    secret: str, name: str, *, epoch: int, now: float | None = None, ttl: int = SESSION_SECONDS
) -> str:
    """A token ``<b64 name>.<epoch>.<expiry>.<hmac>``: signed with the project secret, expiring."""
    expires = int((time.time() if now is None else now) + ttl)
    who = base64.urlsafe_b64encode(name.encode()).decode().rstrip("=")
    payload = f"{who}.{epoch}.{expires}"
    return f"{payload}.{_sign(secret, payload)}"


def read_token(secret: str, token: str, *, now: float | None = None) -> tuple[str, int]:
    """``(name, epoch)`` of a valid token; :class:`InvalidSession` if forged, malformed or expired."""
    parts = (token or "").split(".")
    if len(parts) != 4:
        raise InvalidSession("malformed session token; sign in again")
    payload = ".".join(parts[:3])
    if not hmac.compare_digest(_sign(secret, payload), parts[3]):
        raise InvalidSession("session token is not valid; sign in again")
    try:
        name = base64.urlsafe_b64decode(parts[0] + "=" * (-len(parts[0]) % 4)).decode()
        epoch, expires = int(parts[1]), int(parts[2])
    except ValueError:
        raise InvalidSession("malformed session token; sign in again") from None
    if expires < (time.time() if now is None else now):
        raise InvalidSession("session expired; sign in again")
    return name, epoch

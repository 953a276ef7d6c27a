"""Users of a project, kept in its database: accounts, roles, sign-in with throttling, sessions.

A project with no users runs in *local single-user mode*: every action is allowed under any name
(the app listens on 127.0.0.1 by default). The first ``grd users add DIR NAME --role admin`` ends
that mode: from then on every write names a user whose role allows it (``authorize``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from labeler import accounts
from labeler.accounts import PermissionDenied, SignInRefused
from labeler.errors import DuplicateName, NotFound
from labeler.limits import check_text
from labeler.store import schema as t
from labeler.store.repository import CatalogMixin, utcnow

_SECRET_KEY = "session_secret"


@dataclass(frozen=True)
class User:
    id: int
    name: str
    role: str
    created_at: datetime
    #: Wrong passwords in a row since the last sign-in, and the lock they set (None: unlocked).
    failed_signins: int = 0
    locked_until: datetime | None = None


def _user(row) -> User:
    return User(
        row.id, row.name, row.role, row.created_at, row.failed_signins, _aware(row.locked_until)
    )


def _aware(moment: datetime | None) -> datetime | None:
    # SQLite hands back naive datetimes; everything written here is UTC.
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment


class UsersMixin(CatalogMixin):
    # -- accounts -------------------------------------------------------------------------------
    def add_user(self, name: str, role: str, password: str) -> User:
        name = check_text("user name", " ".join(name.split()))
        accounts.check_role(role)
        password_hash = accounts.hash_password(password)
        try:
            with self._write() as conn:
                conn.execute(
                    insert(t.users).values(
                        name=name,
                        role=role,
                        password_hash=password_hash,
                        failed_signins=0,
                        session_epoch=0,
                        created_at=utcnow(),
                    )
                )
        except IntegrityError:
            raise DuplicateName(f"a user named {name!r} already exists") from None
        return self.get_user(name)

    def get_user(self, name: str) -> User:
        user = self.find_user(name)
        if user is None:
            raise NotFound(f"no user named {name!r}")
        return user

    def find_user(self, name: str) -> User | None:
        with self._read() as conn:
            row = conn.execute(select(t.users).where(t.users.c.name == name)).first()
        return None if row is None else _user(row)

    def list_users(self) -> list[User]:
        with self._read() as conn:
            return [_user(r) for r in conn.execute(select(t.users).order_by(t.users.c.name))]

    def has_users(self) -> bool:
        with self._read() as conn:
            return bool(conn.execute(select(func.count()).select_from(t.users)).scalar())

    def set_role(self, name: str, role: str) -> User:
        accounts.check_role(role)
        self._guard_last_admin(name, role)
        with self._write() as conn:
            done = conn.execute(
                update(t.users)
                .where(t.users.c.name == name)
                .values(role=role, session_epoch=t.users.c.session_epoch + 1)
            ).rowcount
        if not done:
            raise NotFound(f"no user named {name!r}")
        return self.get_user(name)

    def set_password(self, name: str, password: str) -> None:
        password_hash = accounts.hash_password(password)
        with self._write() as conn:
            done = conn.execute(
                update(t.users)
                .where(t.users.c.name == name)
                .values(password_hash=password_hash, session_epoch=t.users.c.session_epoch + 1)
            ).rowcount
        if not done:
            raise NotFound(f"no user named {name!r}")

    def remove_user(self, name: str) -> None:
        """Delete the account; decisions keep the name as their author (they store the name)."""
        self._guard_last_admin(name, None)
        with self._write() as conn:
            done = conn.execute(delete(t.users).where(t.users.c.name == name)).rowcount
            conn.execute(delete(t.assignments).where(t.assignments.c.user_name == name))
        if not done:
            raise NotFound(f"no user named {name!r}")

    def _guard_last_admin(self, name: str, new_role: str | None) -> None:
        user = self.get_user(name)
        admins = [u for u in self.list_users() if u.role == "admin"]
        if user.role == "admin" and new_role != "admin" and len(admins) == 1:
            raise PermissionDenied(f"{name!r} is the last admin; make another admin first")

    # -- authorization --------------------------------------------------------------------------
    def role_of(self, name: str | None) -> str | None:
        """The role of ``name``; ``"admin"`` for anyone in local single-user mode (no users)."""
        if not self.has_users():
            return "admin"
        user = self.find_user(name) if name else None
        return None if user is None else user.role

    def authorize(self, actor: str | None, action: str) -> None:
        """Return if ``actor`` may do ``action`` (see ``accounts.PERMISSIONS``); else PermissionDenied."""
        if not self.has_users():
            return
        role = self.role_of(actor)
        if role is None:
            raise PermissionDenied(f"{actor or 'nobody'!r} is not a user of this project")
        accounts.authorize(role, action)

    # -- sign-in and sessions -------------------------------------------------------------------
    def session_secret(self) -> str:
        """The project's token-signing secret, made on first use and kept in its settings."""
        secret = self.get_setting(_SECRET_KEY)
        if not secret:
            secret = accounts.new_secret()
            self.set_setting(_SECRET_KEY, secret)
        return secret

    def sign_in(self, name: str, password: str, *, now: datetime | None = None) -> str:
        """A session token for ``name`` if the password is right and no lock is on; one neutral
        :class:`SignInRefused` otherwise. Wrong passwords count up and lock for longer each time."""
        now = now or utcnow()
        name = " ".join((name or "").split())
        with self._read() as conn:
            row = conn.execute(select(t.users).where(t.users.c.name == name)).first()
        if row is None:
            accounts.verify_password(accounts.dummy_hash(), password or "")  # same time either way
            raise SignInRefused("wrong name or password")
        locked = _aware(row.locked_until)
        if locked is not None and locked > now:
            wait = int((locked - now).total_seconds()) + 1
            raise SignInRefused(f"too many failed sign-ins; try again in {wait} s")
        if not accounts.verify_password(row.password_hash, password or ""):
            failures = row.failed_signins + 1
            with self._write() as conn:
                conn.execute(
                    update(t.users)
                    .where(t.users.c.id == row.id)
                    .values(
                        failed_signins=failures, locked_until=accounts.lock_after(failures, now)
                    )
                )
            raise SignInRefused("wrong name or password")
        with self._write() as conn:
            conn.execute(
                update(t.users)
                .where(t.users.c.id == row.id)
                .values(failed_signins=0, locked_until=None)
            )
        return accounts.issue_token(self.session_secret(), row.name, epoch=row.session_epoch)

    def sso_token(self, identity: str) -> str:
        """A session token for the user an identity provider vouched for (OIDC, ``st.login``):
        the user whose name is ``identity`` (an e-mail address; compared case-insensitively).
        No password is checked and no failure is counted: the provider did the authentication.
        An identity that names no user is refused; SSO never creates users (admins do)."""
        wanted = " ".join((identity or "").split()).casefold()
        user = (
            next((u for u in self.list_users() if u.name.casefold() == wanted), None)
            if wanted
            else None
        )
        if user is None:
            raise SignInRefused(
                f"{identity!r} is not a user of this project; ask an admin to add it (grd users add)"
            )
        with self._read() as conn:
            epoch = conn.execute(
                select(t.users.c.session_epoch).where(t.users.c.name == user.name)
            ).scalar_one()
        return accounts.issue_token(self.session_secret(), user.name, epoch=epoch)

    def local_token(self, name: str) -> str:
        """A session token in local single-user mode (no users): any name, no password."""
        if self.has_users():
            raise PermissionDenied("this project has accounts: sign in with a password")
        name = check_text("user name", " ".join(name.split()))
        return accounts.issue_token(self.session_secret(), name, epoch=-1)

    def user_for_token(self, token: str) -> str:
        """The name a valid, unexpired, not-signed-out token stands for; else InvalidSession."""
        name, epoch = accounts.read_token(self.session_secret(), token)
        if epoch == -1:
            if self.has_users():
                raise accounts.InvalidSession("this project now has accounts; sign in again")
            return name
        with self._read() as conn:
            row = conn.execute(select(t.users).where(t.users.c.name == name)).first()
        if row is None or row.session_epoch != epoch:
            raise accounts.InvalidSession("session ended; sign in again")
        return name

    def sign_out(self, token: str) -> None:
        """End every session of the token's user (bumps their epoch); a bad token is ignored."""
        try:
            name, epoch = accounts.read_token(self.session_secret(), token)
        except accounts.InvalidSession:
            return
        if epoch == -1:
            return
        with self._write() as conn:
            conn.execute(
                update(t.users)
                .where(t.users.c.name == name, t.users.c.session_epoch == epoch)
                .values(session_epoch=t.users.c.session_epoch + 1)
            )

"""Typed accessors for ``st.session_state``: per-annotator UI state only, never the truth.

Decisions live in the store; the session holds who is annotating, what they are looking at, the
editors with unsaved work, the undo stack of their bulk actions and one-shot messages.
"""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from labeler.image_editor import ImageEditor
from labeler.navigation import ImageOrder

_ANNOTATOR = "grd_annotator"
_TOKEN = "grd_session_token"
_GROUP = "grd_group_id"
_EXPRESSION = "grd_expression_id"
_IMAGE = "grd_image_id"
_EDITORS = "grd_editors"
_BATCHES = "grd_batches"
_FLASH = "grd_flash"
_ORDERS = "grd_image_orders"
MAX_OPEN_EDITORS = 8


def _get(key: str, default=None):
    return st.session_state.get(key, default)


# ---- who ---------------------------------------------------------------------------------------
def annotator() -> str | None:
    return _get(_ANNOTATOR)


def set_annotator(name: str | None) -> None:
    st.session_state[_ANNOTATOR] = " ".join(name.split()) if name else None


def session_token() -> str | None:
    """The signed session token (see ``labeler/accounts.py``); None in a project-less session."""
    return _get(_TOKEN)


def set_session_token(token: str | None) -> None:
    st.session_state[_TOKEN] = token


def role() -> str | None:
    """The signed-in user's role, read from the store each time (a role change applies at once)."""
    from ui import resources

    name = annotator()
    return resources.project().store.role_of(name) if name else None


# ---- what they look at ------------------------------------------------------------------------
def group_id() -> int | None:
    return _get(_GROUP)


def expression_id() -> int | None:
    return _get(_EXPRESSION)


def image_id() -> int | None:
    return _get(_IMAGE)


def focus(
    group: int | None = None, expression: int | None = None, image: int | None = None
) -> None:
    """Point the pages at a group / expression / image (None leaves that part as it is)."""
    for key, value in ((_GROUP, group), (_EXPRESSION, expression), (_IMAGE, image)):
        if value is not None:
            st.session_state[key] = int(value)


# ---- the editor's image order, fixed when a (group, expression) is opened ------------------------
def image_order(group: int, expression: int) -> ImageOrder | None:
    return _get(_ORDERS, {}).get((group, expression))


def keep_image_order(group: int, expression: int, order: ImageOrder) -> None:
    st.session_state.setdefault(_ORDERS, {})[(group, expression)] = order


# ---- open editors (unsaved work survives page switches) ---------------------------------------
def editors() -> dict[tuple[int, int], ImageEditor]:
    return st.session_state.setdefault(_EDITORS, {})


def editor(expression: int, image: int) -> ImageEditor | None:
    return editors().get((expression, image))


def keep_editor(ed: ImageEditor) -> None:
    """Remember an editor; the oldest clean ones are dropped beyond :data:`MAX_OPEN_EDITORS`."""
    open_ = editors()
    open_.pop((ed.expression_id, ed.image_id), None)
    open_[(ed.expression_id, ed.image_id)] = ed
    for key in [k for k, e in open_.items() if not e.dirty and e is not ed][
        : max(0, len(open_) - MAX_OPEN_EDITORS)
    ]:
        del open_[key]


# ---- undo stack of bulk actions ---------------------------------------------------------------
@dataclass(frozen=True)
class BatchRecord:
    expression_id: int
    batch_id: str
    label: str


def batches() -> list[BatchRecord]:
    return st.session_state.setdefault(_BATCHES, [])


def push_batch(expression: int, batch_id: str | None, label: str) -> None:
    if batch_id:
        batches().append(BatchRecord(expression, batch_id, label))


def last_batch(expression: int) -> BatchRecord | None:
    for record in reversed(batches()):
        if record.expression_id == expression:
            return record
    return None


def pop_batch(record: BatchRecord) -> None:
    if record in batches():
        batches().remove(record)


# ---- one-shot messages ------------------------------------------------------------------------
def flash(message: str, kind: str = "success") -> None:
    """A message shown once, on the next run (callbacks cannot draw)."""
    st.session_state.setdefault(_FLASH, []).append((kind, message))


def pop_flashes() -> list[tuple[str, str]]:
    return st.session_state.pop(_FLASH, [])

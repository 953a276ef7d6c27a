"""Settings (admins): the team's accounts and what the server may read or fetch for ingest.

Thin: ``pipelines/services/team_admin.py`` authorizes the acting user and validates; a refusal
shows as one line. Names are shown as plain text (a dataframe).
"""

from __future__ import annotations

from datetime import UTC, datetime

import streamlit as st

from labeler.accounts import ROLES
from labeler.errors import LabelerError
from pipelines.services import team_admin
from ui import common, resources, state
from ui.plain import md


def _do(action, message: str, **kwargs) -> None:
    """Run one admin action for the signed-in user; flash its outcome (refusals as one line)."""
    try:
        action(resources.project().store, actor=state.annotator(), **kwargs)
    except LabelerError as e:
        state.flash(md(e), "error")
    else:
        state.flash(md(message))


def _intake(store) -> None:
    st.subheader("Ingest")
    roots, private = team_admin.intake_settings(store)
    with st.form("intake_settings"):
        text = st.text_area(
            "Server folders the Data page may read (one absolute path a line; none: off)",
            "\n".join(roots),
            key="ingest_roots",
        )
        allow = st.checkbox(
            "Allow URLs on loopback, link-local and private addresses (a lab's own image server)",
            private,
            key="allow_private_urls",
        )
        if st.form_submit_button("Save ingest settings"):
            _do(
                team_admin.set_intake_settings,
                "Ingest settings saved.",
                ingest_roots=text.splitlines(),
                allow_private_urls=allow,
            )
            st.rerun()


def _lock_text(locked_until) -> str:
    """'' when a user may sign in now; else the UTC time their sign-in lock ends."""
    if locked_until is None or locked_until <= datetime.now(UTC):
        return ""
    return locked_until.strftime("%H:%M:%S UTC")


def _users(store) -> None:
    st.subheader("Users")
    users = store.list_users()
    if not users:
        st.text(
            "Local single-user mode: no accounts. Add the first admin with "
            "`grd users add DIR NAME --role admin`; from then on everyone signs in."
        )
        return
    st.dataframe(
        [
            {"name": u.name, "role": u.role, "sign-in locked until": _lock_text(u.locked_until)}
            for u in users
        ],
        hide_index=True,
        key="users_table",
    )
    names = [u.name for u in users]
    with st.form("add_user", clear_on_submit=True):
        name = st.text_input("Name (or the e-mail single sign-on reports)", key="new_user_name")
        role = st.selectbox("Role", ROLES, index=len(ROLES) - 1, key="new_user_role")
        password = st.text_input("Password", type="password", key="new_user_password")
        if st.form_submit_button("Add user"):
            _do(team_admin.add_user, f"Added {name}.", name=name, role=role, password=password)
            st.rerun()
    who = st.selectbox("User", names, key="edit_user")
    new_role = st.selectbox("New role", ROLES, key="edit_user_role")
    change, remove = st.columns(2)
    if change.button("Change role", key="change_role"):
        _do(team_admin.set_role, f"{who} is now {new_role}.", name=who, role=new_role)
        st.rerun()
    if remove.button("Remove user (their decisions stay)", key="remove_user"):
        _do(team_admin.remove_user, f"Removed {who}.", name=who)
        st.rerun()


def render() -> None:
    st.title("Settings")
    store = resources.project().store
    if store.has_users() and state.role() != "admin":
        st.info("Settings are for admins.")
        return
    common.show_flashes()
    _users(store)
    _intake(store)

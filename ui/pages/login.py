"""Sign-in: a name and password checked by the store (or a name alone in local single-user mode).

The session rides in the URL as a signed, expiring token (``?session=...``), never as the bare name,
so a reload keeps the user signed in and ``?annotator=alice`` signs nobody in. All checks live in
``labeler/store/users.py``; this page only renders and dispatches.
"""

from __future__ import annotations

import streamlit as st

from labeler.accounts import InvalidSession, SignInRefused
from labeler.errors import LabelerError, ProjectError
from ui import resources, sso, state
from ui.plain import md

TOKEN_PARAM = "session"


def _store():
    try:
        return resources.project().store
    except ProjectError:
        return None


def render() -> None:
    st.title("GRES labeler")
    store = _store()
    accounts = store is not None and store.has_users()
    if accounts:
        st.write("Sign in with the name and password your project admin gave you.")
        if sso.configured() and _sign_in_with_provider(store):
            return
    else:
        st.write("Local single-user mode: your name is saved with every decision you make.")
    with st.form("login"):
        name = st.text_input("Your name", key="login_name", max_chars=200)
        password = (
            st.text_input("Password", key="login_password", type="password", max_chars=1024)
            if accounts
            else ""
        )
        if st.form_submit_button("Sign in" if accounts else "Start annotating", type="primary"):
            try:
                if accounts:
                    token = store.sign_in(name, password)
                elif store is not None:
                    token = store.local_token(name)
                else:
                    token = None
                    if not name.strip():
                        raise LabelerError("type a name first")
                signed_in = store.user_for_token(token) if token else name
            except LabelerError as exc:  # SignInRefused: one neutral reason
                st.error(md(exc))
                return
            state.set_annotator(signed_in)
            state.set_session_token(token)
            if token:
                st.query_params[TOKEN_PARAM] = token
            st.rerun()


def _sign_in_with_provider(store) -> bool:
    """Single sign-on: back from the provider, map its identity onto a user (ui/sso.py); else offer
    the provider's button. True when the run was handed on (signed in, or refused with a reason)."""
    identity = sso.identity()
    if identity is None:
        st.button("Sign in with your organisation", key="sso_login", on_click=sso.login)
        return False
    try:
        token = store.sso_token(identity)
    except LabelerError as exc:
        st.error(md(exc))
        st.button("Use another account", key="sso_logout", on_click=sso.logout)
        return True
    state.set_annotator(store.user_for_token(token))
    state.set_session_token(token)
    st.query_params[TOKEN_PARAM] = token
    st.rerun()
    return True


def sidebar() -> None:
    """Who is signed in, and a way out; on every page. The name is shown as text, never Markdown."""
    with st.sidebar:
        st.text(f"Signed in as {state.annotator()}")
        if st.button("Sign out", key="logout"):
            store, token = _store(), state.session_token()
            if store is not None and token:
                store.sign_out(token)
            state.set_annotator(None)
            state.set_session_token(None)
            st.query_params.pop(TOKEN_PARAM, None)
            if sso.identity() is not None:
                sso.logout()  # else the provider's session signs them straight back in
            st.rerun()


def restore_from_url() -> None:
    """Check the session on every run: a reload brings the token back from the URL; a token that
    expired or was signed out (here or in another tab) signs the session out."""
    st.query_params.pop("annotator", None)  # the old name-in-URL sign-in means nothing now
    store = _store()
    token = st.query_params.get(TOKEN_PARAM) or state.session_token()
    if store is None:
        return  # no project yet: the name-only session of the demo-building page
    if not token:
        if state.annotator() and store.has_users():
            state.set_annotator(None)  # accounts began while this session was open
        return
    try:
        name = store.user_for_token(token)
    except (InvalidSession, SignInRefused):
        state.set_annotator(None)
        state.set_session_token(None)
        st.query_params.pop(TOKEN_PARAM, None)
        return
    state.set_annotator(name)
    state.set_session_token(token)

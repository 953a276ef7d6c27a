"""Sign in with a name: every decision is stamped with it (no passwords; this is not security)."""

from __future__ import annotations

import streamlit as st

from ui import state


def render() -> None:
    st.title("GRES labeler")
    st.write("Who is annotating? Your name is saved with every decision you make.")
    with st.form("login"):
        name = st.text_input("Your name", key="login_name", max_chars=64)
        if st.form_submit_button("Start annotating", type="primary"):
            if name.strip():
                state.set_annotator(name)
                st.query_params["annotator"] = state.annotator()
                st.rerun()
            st.error("Type a name first.")


def sidebar() -> None:
    """Who is signed in, and a way out; on every page."""
    with st.sidebar:
        st.caption(f"Signed in as **{state.annotator()}**")
        if st.button("Sign out", key="logout"):
            state.set_annotator(None)
            st.query_params.pop("annotator", None)
            st.rerun()


def restore_from_url() -> None:
    """Keep the annotator across a browser reload (the name rides in the URL)."""
    if not state.annotator() and st.query_params.get("annotator"):
        state.set_annotator(st.query_params["annotator"])

"""Custom Streamlit components (v2): the mask canvas and the sweep's tile grid."""

from __future__ import annotations

from typing import Any

import streamlit as st


def trigger_value(key: str, name: str = "event") -> Any:
    """The trigger value ``name`` of the component called ``key``, None when it has none; its
    session state is read as a mapping or by attribute, whichever it offers."""
    state = st.session_state.get(key)
    return state.get(name) if hasattr(state, "get") else getattr(state, name, None)

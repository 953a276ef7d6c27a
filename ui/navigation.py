"""Switching pages from a page body: :func:`go`. The page table lives in :mod:`ui.pages`, which
imports every page; it installs its page factory here, so a page can switch to another without
importing the table that imports it (no import cycle)."""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

_page_of: Callable[[str], st.Page] | None = None


def install(page_of: Callable[[str], st.Page]) -> None:
    """Called once by :mod:`ui.pages`: ``page_of(name)`` builds the ``st.Page`` named ``name``."""
    global _page_of
    _page_of = page_of


def go(name: str) -> None:
    """Switch to page ``name``, keeping the URL's query (the annotator); call from a page body."""
    if _page_of is None:
        raise RuntimeError("ui.pages is not imported: there is no page table to switch in")
    st.switch_page(_page_of(name), query_params=st.query_params.to_dict())

"""The Data page's Export tab: pick a format, see what it writes and leaves out, download it.

Every format of ``exports.registry.FORMATS`` is offered. The summary (``exports.summary``) shows
before anything is built; "Prepare export" builds the files and the download buttons appear right
below it, on this tab.
"""

from __future__ import annotations

import streamlit as st

from exports.registry import FORMATS
from labeler.accounts import PermissionDenied
from pipelines.intake import downloads
from ui import state
from ui.plain import md

_PREPARED = "export_prepared"


def _summary(summary) -> None:
    (st.warning if summary.empty else st.info)(summary.written())
    st.caption(summary.left_out())


def render(project, *, active: bool) -> None:
    """``active``: the tab is the one on screen (the preview reads the whole project)."""
    st.write("Download what is decided so far. Model proposals are never exported as truth.")
    fmt = st.radio(
        "Format",
        list(FORMATS),
        format_func=lambda name: f"{name}: {FORMATS[name].title}",
        key="export_format",
        horizontal=True,
    )
    incomplete = st.radio(
        "Expressions that are not complete",
        list(downloads.INCOMPLETE_CHOICES),
        format_func=downloads.INCOMPLETE_CHOICES.get,
        key="export_incomplete",
        horizontal=True,
    )
    images = st.checkbox(
        "Include the image files (under the names they came with)", key="export_images"
    )
    prepared = st.session_state.get(_PREPARED)
    current = (fmt, incomplete, images)
    if prepared is not None and prepared[0] != current:
        prepared = None  # the choices changed since: the files would not match them
    if prepared is None and active:
        _summary(downloads.export_preview(project, fmt, incomplete=incomplete))
    if st.button("Prepare export", key="prepare_export", type="primary"):
        try:
            with st.spinner("Building the export ..."):
                built = downloads.build_downloads(
                    project, fmt=fmt, incomplete=incomplete, images=images, actor=state.annotator()
                )
        except PermissionDenied as exc:  # the store refused: exports are for admins
            st.error(md(exc))
            return
        prepared = st.session_state[_PREPARED] = (current, built)
        st.session_state["export_files"] = built.files
    if prepared is not None:
        built = prepared[1]
        _summary(built.summary)
        with st.container(horizontal=True, key="export_downloads"):
            for f in built.files:
                st.download_button(
                    f.label, f.data, file_name=f.file_name, mime=f.mime, key=f"dl-{f.file_name}"
                )

"""Data: ingest images, write the expressions of each group, download exports."""

from __future__ import annotations

import streamlit as st

from labeler.errors import LabelerError
from pipelines.intake import uploads
from ui import common, resources, state
from ui.jobs_panel import jobs_panel
from ui.plain import md


def render() -> None:
    project = common.require_project()
    st.title("Data")
    common.show_flashes()
    ingest, expressions, export = st.tabs(["Ingest", "Expressions", "Export"])
    with ingest:
        _ingest(project)
    with expressions:
        _expressions(project)
    with export:
        _export(project)


# ---- ingest ---------------------------------------------------------------------------------------
def _ingest(project) -> None:
    st.subheader("Upload")
    files = st.file_uploader(
        "Images, or a CSV / JSON manifest (rows with `url` or absolute `file`)",
        accept_multiple_files=True,
        key="upload_files",
        type=sorted(s.lstrip(".") for s in uploads.IMAGE_SUFFIXES | uploads.MANIFEST_SUFFIXES),
    )
    c = st.columns(3)
    group = c[0].text_input("Group", key="upload_group", placeholder="e.g. dog x beach")
    target = c[1].text_input("Target keyword", key="upload_target")
    scene = c[2].text_input("Scene keyword", key="upload_scene")
    if st.button("Ingest uploads", key="ingest_uploads", disabled=not files, type="primary"):
        payload = [(f.name, f.getvalue()) for f in files]
        resources.job_runner().submit_as(
            state.annotator(),
            f"ingest {len(payload)} upload(s)",
            uploads.ingest_uploads_job,
            project,
            payload,
            group,
            target,
            scene,
            actor=state.annotator(),  # checked by the job: admins only when the project has users
        )
    st.subheader("From the server's disk")
    path = st.text_input("Folder, manifest or image path", key="ingest_path")
    if st.button("Ingest path", key="ingest_path_go", disabled=not path.strip()):
        resources.job_runner().submit_as(
            state.annotator(),
            f"ingest {path}",
            uploads.ingest_path_job,
            project,
            path.strip(),
            group or None,
            target,
            scene,
            actor=state.annotator(),  # admins only, and only under the project's ingest_roots
        )
    st.subheader("Jobs")
    jobs_panel()


# ---- expressions ----------------------------------------------------------------------------------
def _add_expression(group_id: int) -> None:
    text = st.session_state.get("new_expression", "")
    try:
        resources.project().store.add_expression(group_id, text, created_by=state.annotator())
    except (LabelerError, ValueError) as exc:
        state.flash(md(exc), "error")
        return
    st.session_state["new_expression"] = ""
    state.flash(f"Added “{md(text)}”.")


def _edit_expression(expression_id: int) -> None:
    text = st.session_state.get(f"expr-text-{expression_id}", "")
    try:
        resources.project().store.edit_expression(expression_id, text, state.annotator())
    except (LabelerError, ValueError) as exc:
        state.flash(md(exc), "error")
        return
    state.flash("Expression saved (the old wording stays in the audit log).")


def _expressions(project) -> None:
    group = common.pick_group(project, "data_group")
    if group is None:
        return
    for expr in project.store.list_expressions(group.id):
        with st.container(horizontal=True, vertical_alignment="bottom", key=f"expr-row-{expr.id}"):
            st.text_input(f"Expression {expr.id}", value=expr.text, key=f"expr-text-{expr.id}")
            st.button(
                "Save", key=f"expr-save-{expr.id}", on_click=_edit_expression, args=(expr.id,)
            )
    with st.container(horizontal=True, vertical_alignment="bottom"):
        st.text_input(
            "New expression", key="new_expression", placeholder="e.g. the dog lying on the sand"
        )
        st.button(
            "Add", key="add_expression", type="primary", on_click=_add_expression, args=(group.id,)
        )


# ---- export ---------------------------------------------------------------------------------------
def _export(project) -> None:
    from pipelines.intake import downloads

    st.write("Download what is decided so far. Model proposals are never exported as truth.")
    incomplete = st.radio(
        "Expressions that are not complete",
        list(downloads.INCOMPLETE_CHOICES),
        format_func=downloads.INCOMPLETE_CHOICES.get,
        key="export_incomplete",
        horizontal=True,
    )
    if st.button("Prepare export", key="prepare_export", type="primary"):
        with st.spinner("Building the export ..."):
            st.session_state["export_files"] = downloads.build_downloads(
                project, incomplete=incomplete
            )
    files = st.session_state.get("export_files")
    if files:
        with st.container(horizontal=True):
            for f in files:
                st.download_button(
                    f.label, f.data, file_name=f.file_name, mime=f.mime, key=f"dl-{f.file_name}"
                )

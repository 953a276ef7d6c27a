"""Data: ingest images, write the expressions of each group, download exports."""

from __future__ import annotations

import streamlit as st

from labeler.errors import LabelerError
from pipelines.intake import uploads
from pipelines.services.job_kinds import IngestPathParams
from ui import common, data_export, data_expressions, resources, state
from ui.jobs_panel import jobs_panel
from ui.plain import md

#: The tabs keep their place across reruns (an added expression, an error, a prepared export).
TABS = ("Ingest", "Expressions", "Export")


def render() -> None:
    project = common.require_project()
    st.title("Data")
    common.show_flashes()
    ingest, expressions, export = st.tabs(TABS, key="data_tab", on_change="rerun")
    with ingest:
        _ingest(project)
    with expressions:
        data_expressions.render(project)
    with export:
        data_export.render(project, active=export.open is True)


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
        resources.job_runner().submit(
            f"ingest {len(payload)} upload(s)",
            uploads.ingest_uploads_job,
            project,
            payload,
            group,
            target,
            scene,
            author=state.annotator(),
            actor=state.annotator(),  # checked by the job: admins only when the project has users
        )
    st.subheader("From the server's disk")
    path = st.text_input("Folder, manifest or image path", key="ingest_path")
    if st.button("Ingest path", key="ingest_path_go", disabled=not path.strip()):
        try:  # the runner checks the role (admins) before anything starts
            resources.job_runner().start(
                project,
                IngestPathParams(path.strip(), group or None, target, scene),
                author=state.annotator(),
            )
        except LabelerError as exc:
            st.error(md(exc))
    st.subheader("Jobs")
    jobs_panel()

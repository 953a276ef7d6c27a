"""Admin actions refused by the services themselves (not by hidden buttons): exports, model jobs,
ingest jobs; and each user sees only their own jobs."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from labeler.accounts import PermissionDenied
from labeler.project import Project
from pipelines.intake.downloads import build_downloads
from pipelines.services.job_kinds import EmbedParams, IngestPathParams
from pipelines.services.jobs import JobRunner
from ui.jobs_panel import visible_jobs

PASSWORD = "correct horse"


@pytest.fixture
def project(tmp_path):
    project = Project.init(tmp_path / "proj")
    project.store.add_user("root", "admin", PASSWORD)
    project.store.add_user("ann", "annotator", PASSWORD)
    yield project
    project.close()


def test_annotators_cannot_export(project):
    with pytest.raises(PermissionDenied, match="export"):
        build_downloads(project, actor="ann")
    assert build_downloads(project, actor="root").files


def test_annotators_cannot_start_model_or_ingest_jobs(project, tmp_path):
    runner = JobRunner(project.store)
    try:
        with pytest.raises(PermissionDenied, match="models"):
            runner.start(project, EmbedParams(), author="ann")
        with pytest.raises(PermissionDenied, match="ingest"):
            runner.start(project, IngestPathParams(str(tmp_path)), author="ann")
        with pytest.raises(PermissionDenied, match="not a user"):
            runner.start(project, EmbedParams(), author="")  # started by nobody
        assert runner.jobs() == []  # refused before anything was recorded
    finally:
        runner.shutdown()


@dataclass
class _Job:
    author: str


def test_each_user_sees_their_own_jobs_admins_all():
    jobs = [_Job("ann"), _Job("bob"), _Job("")]
    assert visible_jobs(jobs, "ann", "annotator") == [jobs[0]]
    assert visible_jobs(jobs, "ann", "reviewer") == [jobs[0]]
    assert visible_jobs(jobs, "root", "admin") == jobs
    assert visible_jobs(jobs, None, None) == []

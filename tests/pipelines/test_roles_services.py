"""Admin actions refused by the services themselves (not by hidden buttons): exports, model jobs,
ingest; and each user sees only their own jobs."""

from __future__ import annotations

import pytest

from labeler.accounts import PermissionDenied
from labeler.project import Project
from pipelines.intake.downloads import build_downloads
from pipelines.services.jobs import JobRunner
from pipelines.services.model_jobs import embed_group_job, offers

PASSWORD = "correct horse"


@pytest.fixture
def project(tmp_path):
    project = Project.init(tmp_path / "proj")
    project.store.add_user("root", "admin", PASSWORD)
    project.store.add_user("ann", "annotator", PASSWORD)
    yield project
    project.close()


def _progress(*_args, **_kwargs) -> None:
    pass


def test_annotators_cannot_export_or_start_model_jobs(project):
    with pytest.raises(PermissionDenied, match="export"):
        build_downloads(project, actor="ann")
    with pytest.raises(PermissionDenied, match="models"):
        embed_group_job(_progress, project, actor="ann")
    with pytest.raises(PermissionDenied, match="not a user"):
        embed_group_job(_progress, project, actor=None)  # a job started by nobody
    feedback = next(o for o in offers(project) if o.key == "feedback")
    with pytest.raises(PermissionDenied, match="models"):
        feedback.fn(_progress, project, actor="ann")
    assert build_downloads(project, actor="root").files


def test_jobs_are_listed_per_owner():
    runner = JobRunner()
    mine = runner.submit_as("ann", "a", lambda progress: 1)
    theirs = runner.submit_as("bob", "b", lambda progress: 2)
    runner.wait(mine, 10)
    runner.wait(theirs, 10)
    assert [j.id for j in runner.jobs(owner="ann")] == [mine]
    assert {j.id for j in runner.jobs()} == {mine, theirs}
    runner.shutdown()

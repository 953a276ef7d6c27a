"""`grd stack`: one command starts a private Redis, a worker and an app replica on 127.0.0.1 over
the project's database; a job started here runs on its worker; stopping ends every process."""

from __future__ import annotations

import shutil
import urllib.request

import pytest

from labeler.project import Project
from labeler.store import JobState


@pytest.mark.skipif(shutil.which("redis-server") is None, reason="no redis-server on PATH")
def test_the_local_stack_runs_jobs_on_its_worker_and_serves_the_app(tmp_path):
    from pipelines.services.job_kinds import EmbedParams
    from pipelines.services.jobs import JobRunner
    from pipelines.services.queue import RedisQueue, queue_prefix
    from pipelines.services.stack import start_stack
    from pipelines.services.ui_server import free_port
    from pipelines.training.synth import make_group
    from pipelines.training.synth_project import write_project

    groups = (make_group(2, i, images_per_group=3, image_size=64, level=1) for i in range(2))
    root = write_project(tmp_path / "p", groups, 2, truth=False)
    lines: list[str] = []
    stack = start_stack(root, replicas=1, workers=1, port=free_port(), echo=lines.append)
    try:
        with urllib.request.urlopen(f"{stack.app_urls[0]}/_stcore/health", timeout=10) as r:
            assert r.status == 200
        assert any(stack.redis_url in line for line in lines)
        with Project.open(root) as project:
            queue = RedisQueue(stack.redis_url, queue_prefix(project))
            runner = JobRunner(project.store, queue=queue)
            job = runner.wait(runner.start(project, EmbedParams(), author="ann"), timeout=180)
            children = project.store.list_jobs(parent_id=job.id)
        assert job.state is JobState.DONE and job.children == 2, job
        assert all(c.worker and "embeddings ready" in c.summary for c in children)
    finally:
        stack.stop()
    assert all(p.poll() is not None for p in stack.procs)

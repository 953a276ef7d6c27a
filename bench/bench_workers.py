"""Pre-labeling throughput with 1 and 2 `grd worker` processes on the machine's Redis.

    python bench/bench_workers.py [--groups 8] [--images 12] [--repeats 2]
        [--db-url postgresql+psycopg://postgres@127.0.0.1:5432/test] [--redis-url redis://127.0.0.1:6379/0]

Protocol: a synthetic project (``--groups`` groups of ``--images`` 96 px images, 2 expressions
each, every pair unseen) in a fresh PostgreSQL schema per run; the bundled tiny demo GRSer
(``pipelines/assets/demo_grser_tiny.pt``, N = 4 per GRSer group, batch 1) on CPU. The workers are
started and registered first; the clock runs from starting the project-wide job (one job per group)
to the last group's record finished, so worker start-up (Python, torch) is not counted. Runs
alternate 1, 2, 1, 2, ...; each prints its pairs/s; the summary is the median per worker count.
Every worker is a process with one torch thread; on a machine with fewer free cores than
workers, two cannot be twice one.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def _project(root: Path, url: str, groups: int, images: int):
    from labeler.project import Project
    from pipelines.loop.prelabel import resolve_checkpoint
    from pipelines.services.demo import DEMO_CHECKPOINT
    from pipelines.training.synth import make_group
    from pipelines.training.synth_project import write_project

    made = (
        make_group(11, i, images_per_group=images, image_size=96, expressions_per_group=2, level=1)
        for i in range(groups)
    )
    write_project(root, made, 11, truth=False, database_url=url)
    project = Project.open(root)
    project.settings.grser_checkpoint = str(DEMO_CHECKPOINT)
    project.save_settings()
    resolve_checkpoint(project)
    return project


def run_once(workers: int, args, db_url: str) -> dict:
    import sqlalchemy as sa

    schema = f"bench_{uuid.uuid4().hex[:10]}"
    engine = sa.create_engine(db_url)
    with engine.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        return _measure(workers, args, db_url, schema)
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()


def _measure(workers: int, args, db_url: str, schema: str) -> dict:
    from rq import Worker

    from pipelines.services.job_kinds import PrelabelParams
    from pipelines.services.jobs import JobRunner
    from pipelines.services.queue import PREFIX_ENV, REDIS_ENV, RedisQueue

    prefix = f"grdbench-{uuid.uuid4().hex[:8]}"
    queue = RedisQueue(args.redis_url, prefix)
    procs = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "p"
        project = _project(
            root, f"{db_url}?options=-csearch_path%3D{schema}", args.groups, args.images
        )
        env = {
            **os.environ,
            REDIS_ENV: args.redis_url,
            PREFIX_ENV: prefix,
            "PYTHONPATH": str(REPO),
            "OMP_NUM_THREADS": "1",
        }
        try:
            for k in range(workers):
                procs.append(
                    subprocess.Popen(
                        [sys.executable, "-m", "pipelines.cli", "worker", str(root)]
                        + ["--queues", "prelabel"],
                        env=env,
                        cwd=REPO,
                        stdout=open(Path(tmp) / f"w{k}.log", "w"),  # noqa: SIM115
                        stderr=subprocess.STDOUT,
                    )
                )
            while len(Worker.all(queue=queue.rq_queue("prelabel"))) < workers:
                time.sleep(0.1)
            runner = JobRunner(project.store, queue=queue)
            start = time.perf_counter()
            job_id = runner.start(project, PrelabelParams(group_size=4, batch_size=1))
            record = runner.wait(job_id, timeout=3600, poll_s=0.05)
            seconds = time.perf_counter() - start
            children = project.store.list_jobs(parent_id=job_id, limit=10_000)
            pairs = sum(c.result["proposed"] for c in children if c.result)
            images = sum(c.result["images"] for c in children if c.result)
            used = len({c.worker for c in children})
        finally:
            for proc in procs:
                proc.send_signal(signal.SIGINT)
            for proc in procs:
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    proc.kill()
            queue.delete()
            project.close()
    assert record.state.value == "done", record
    return {
        "workers": workers,
        "workers_used": used,
        "seconds": round(seconds, 2),
        "pairs": pairs,
        "pairs_per_s": round(pairs / seconds, 2),
        "images_per_s": round(images / seconds, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--groups", type=int, default=8)
    parser.add_argument("--images", type=int, default=12)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--db-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    args = parser.parse_args()
    runs = []
    for _ in range(args.repeats):
        for workers in (1, 2):
            run = run_once(workers, args, args.db_url)
            print(json.dumps(run))
            runs.append(run)
    summary = {
        "bench": "workers",
        "groups": args.groups,
        "images_per_group": args.images,
        "pairs": runs[0]["pairs"],
        "repeats": args.repeats,
        "cpus": os.cpu_count(),
        "load_avg_1m": round(os.getloadavg()[0], 2),
    }
    for workers in (1, 2):
        rates = [r["pairs_per_s"] for r in runs if r["workers"] == workers]
        summary[f"pairs_per_s_{workers}w_median"] = statistics.median(rates)
        summary[f"pairs_per_s_{workers}w_runs"] = rates
    summary["speedup_2w"] = round(
        summary["pairs_per_s_2w_median"] / summary["pairs_per_s_1w_median"], 2
    )
    print(json.dumps(summary))


if __name__ == "__main__":
    main()

"""A whole deployment on one machine, for trying it: Redis, queue workers and app replicas.

    grd stack DIR --replicas 2 --workers 2     # Ctrl+C stops every process it started

Every process listens on 127.0.0.1 only; nothing runs in a container. The database is the
project's (``database_url`` in project.json or ``GRD_DATABASE_URL``: point it at PostgreSQL to try
what a team runs; SQLite works for processes on one machine). Redis is ``--redis-url`` when given,
else a private ``redis-server`` on a free port that keeps nothing on disk. The replicas share the
project folder and the database exactly as replicas on several machines share a network folder.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from labeler.errors import ProjectError
from labeler.project import Project
from pipelines.services.queue import PREFIX_ENV, REDIS_ENV, queue_prefix
from pipelines.services.ui_server import free_port, streamlit_command, wait_healthy


@dataclass
class Stack:
    redis_url: str
    app_urls: list[str]
    procs: list[subprocess.Popen] = field(default_factory=list)

    def stop(self, timeout: float = 15) -> None:
        """SIGINT to every process (workers finish their job; RQ's warm shutdown), then kill."""
        for proc in reversed(self.procs):
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
        deadline = time.monotonic() + timeout
        for proc in reversed(self.procs):
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _redis(log_dir: Path) -> tuple[str, subprocess.Popen]:
    server = shutil.which("redis-server")
    if server is None:
        raise ProjectError("no redis-server on PATH: install Redis or pass --redis-url")
    port = free_port()
    proc = subprocess.Popen(
        [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=open(log_dir / "redis.log", "w"),  # noqa: SIM115 - lives as long as the process
        stderr=subprocess.STDOUT,
    )
    url = f"redis://127.0.0.1:{port}/0"
    from redis import Redis

    deadline = time.monotonic() + 20
    while True:
        try:
            if Redis.from_url(url, socket_connect_timeout=1).ping():
                return url, proc
        except Exception:  # noqa: BLE001 - not listening yet
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                log = log_dir / "redis.log"
                raise ProjectError(f"redis-server did not start; see {log}") from None
            time.sleep(0.1)


def start_stack(
    directory: str | os.PathLike,
    *,
    replicas: int = 2,
    workers: int = 1,
    redis_url: str = "",
    port: int = 8501,
    queues: str = "embed,prelabel,train,io",
    echo: Callable[[str], None] = print,
) -> Stack:
    """Start the processes (see the module docstring) and wait until every app answers."""
    root = Path(directory).resolve()
    project = Project.open(root)  # a clear error for a folder that is not a project
    prefix = queue_prefix(project)
    project.close()
    log_dir = root / "cache" / "stack"
    log_dir.mkdir(parents=True, exist_ok=True)
    procs: list[subprocess.Popen] = []
    if not redis_url:
        redis_url, redis_proc = _redis(log_dir)
        procs.append(redis_proc)
    env = {**os.environ, REDIS_ENV: redis_url, PREFIX_ENV: prefix, "GRD_PROJECT": str(root)}
    stack = Stack(redis_url, [], procs)
    try:
        for k in range(workers):
            procs.append(
                subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "pipelines.cli",
                        "worker",
                        str(root),
                        "--queues",
                        queues,
                    ],
                    env=env,
                    stdout=open(log_dir / f"worker{k}.log", "w"),  # noqa: SIM115
                    stderr=subprocess.STDOUT,
                )
            )
        apps = []
        for k in range(replicas):
            command = streamlit_command(port + k)
            app = subprocess.Popen(
                command,
                env=env,
                cwd=Path(command[4]).parent,
                stdout=open(log_dir / f"ui{k}.log", "w"),  # noqa: SIM115
                stderr=subprocess.STDOUT,
            )
            procs.append(app)
            apps.append((f"http://127.0.0.1:{port + k}", app))
        for url, app in apps:
            wait_healthy(url, app, timeout=120)
            stack.app_urls.append(url)
    except BaseException:
        stack.stop()
        raise
    echo(f"Redis: {redis_url} (queues {prefix}-*); {workers} worker(s); logs in {log_dir}")
    for url in stack.app_urls:
        echo(f"app replica: {url}")
    return stack

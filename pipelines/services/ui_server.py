"""Start the Streamlit app as a child process (``grd ui``, browser tests, ``bench/``).

    with running_app("demo_project") as app:      # a free port, waits for /_stcore/health
        print(app.url)

The project folder travels in the ``GRD_PROJECT`` environment variable (``ui.resources`` reads it,
or ``-- --project DIR``). Never imports Streamlit: it runs ``python -m streamlit``.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

APP = Path(__file__).resolve().parents[2] / "streamlit_app.py"
CHROMIUM = Path("/usr/bin/chromium")  # Debian's package; never ``playwright install``
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-quic",
    "--disable-sync",
]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def streamlit_command(port: int, *, headless: bool = True, address: str = "127.0.0.1") -> list[str]:
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(APP),
        "--server.headless",
        "true" if headless else "false",
        "--server.address",
        address,
        "--server.port",
        str(port),
        "--browser.gatherUsageStats",
        "false",
        "--server.fileWatcherType",
        "none",
    ]


def launch_chromium(playwright):
    """Headless Chromium (``CHROMIUM``, ``CHROMIUM_ARGS``) from a Playwright sync API instance."""
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)


@dataclass
class RunningApp:
    url: str
    process: subprocess.Popen
    log_path: Path
    project_dir: Path | None = None  # the project it serves (tests sign in with its secret)


def wait_healthy(url: str, process: subprocess.Popen, timeout: float) -> float:
    """Seconds until ``/_stcore/health`` answered; raises RuntimeError if the app died or hung."""
    start = time.perf_counter()
    while time.perf_counter() - start < timeout:
        if process.poll() is not None:
            raise RuntimeError(f"streamlit exited with code {process.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=1) as response:
                if response.status == 200:
                    return time.perf_counter() - start
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"streamlit did not answer on {url} within {timeout:.0f} s")


@contextlib.contextmanager
def running_app(
    project_dir: str | Path,
    *,
    port: int | None = None,
    log_dir: str | Path | None = None,
    timeout: float = 60,
    env: dict[str, str] | None = None,
) -> Iterator[RunningApp]:
    """Run the app on ``project_dir`` until the block ends (the process is terminated after)."""
    port = port or free_port()
    log_path = Path(log_dir or project_dir) / f"streamlit-{port}.log"
    child_env = {**os.environ, "GRD_PROJECT": str(Path(project_dir).resolve()), **(env or {})}
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            streamlit_command(port),
            stdout=log,
            stderr=subprocess.STDOUT,
            env=child_env,
            cwd=APP.parent,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            wait_healthy(url, process, timeout)
            yield RunningApp(url, process, log_path, Path(project_dir).resolve())
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

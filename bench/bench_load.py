"""How many annotators one app process holds: k real browser sessions at once, one process vs two.

    .venv/bin/python bench/bench_load.py [--ks 1,4,8] [--decisions 10] [--clicks 10]
        [--segmenter auto|classic|...] [--warm [--settle S]] [--db-url postgresql+psycopg://postgres@127.0.0.1:5432/test]
    .venv/bin/python bench/bench_load.py --quick      # smoke run: k = 1, 2, few actions

For each k, k headless Chromium sessions (Debian's, one browser per session, each driven from its
own thread) work at the same time on one 100-image group (``bench_ui.build_group_project``, built
fresh for every run in a new PostgreSQL schema, dropped after):

1. each opens the sweep page and, once all are ready, clicks "not in image" on its own slice of
   the undecided tiles (no two sessions touch one pair), timing pointer-down -> the tile's badge
   (shown) and -> the server's redraw of the stored state (saved), in the page as bench_ui does;
2. each opens the editor (the first visit computes the image embedding) and, once all are ready,
   clicks on the canvas, timing pointer-down -> the refined mask on screen.

Setups: one ``grd ui`` process (``running_app``), and two replicas started as ``grd stack`` does
(``start_stack``: private Redis, no workers), session i on replica i mod 2. Both use the same
PostgreSQL database (replicas need it to share state). The browsers run on the same machine as the
app and take CPU from it: the figures are for annotators whose browsers compete with the server.

Without ``--warm`` each k starts on freshly started processes, so the first timed actions share
the CPU with the process importing its pages and loading the click model (paid once per server
start); ``--warm`` makes one untimed visit per process first and waits for the jobs it started.

Prints p50/p95 per action for each k and setup, the largest k for which grid decisions (saved)
stay under 200 ms and editor clicks under 250 ms at p95 (every smaller tested k passing too), and
as its last line one JSON object.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import bench_ui
from bench.bench_ui import _pct, _watch, _watched, build_group_project, idle, time_clicks
from bench.grd_size import postgres_schema
from pipelines.services.ui_server import free_port, launch_chromium, running_app

DECISION_P95_MS = 200.0
CLICK_P95_MS = 250.0
ACTIONS = ("decision_shown", "decision_saved", "click")


def percentiles(seconds: list[float]) -> dict[str, float | int | None]:
    """p50 and p95 in ms (nearest rank, as bench_ui) and the sample count."""
    ms = [s * 1000 for s in seconds if s is not None]
    if not ms:
        return {"p50_ms": None, "p95_ms": None, "n": 0}
    return {"p50_ms": round(_pct(ms, 0.5), 1), "p95_ms": round(_pct(ms, 0.95), 1), "n": len(ms)}


def passes(figures: dict) -> bool:
    """Grid decisions (saved) under 200 ms and editor clicks under 250 ms at p95."""
    decision, click = figures["decision_saved"]["p95_ms"], figures["click"]["p95_ms"]
    return (
        decision is not None
        and click is not None
        and decision < DECISION_P95_MS
        and click < CLICK_P95_MS
    )


def largest_k(by_k: dict[int, dict]) -> int | None:
    """The largest tested k that passes with every smaller tested k passing too (None: k = 1 fails)."""
    best = None
    for k in sorted(by_k):
        if not passes(by_k[k]):
            break
        best = k
    return best


def _load() -> list[float]:
    return [round(v, 2) for v in os.getloadavg()]


@contextlib.contextmanager
def served(setup: str, root: Path, log_dir: Path) -> Iterator[list[str]]:
    """The app's URLs: one ``grd ui`` process, or two replicas as ``grd stack`` starts them."""
    if setup == "one_process":
        with running_app(root, log_dir=log_dir, timeout=120) as app:
            yield [app.url]
        return
    from pipelines.services.stack import start_stack

    stack = start_stack(root, replicas=2, workers=0, port=free_port(), echo=lambda _line: None)
    try:
        yield stack.app_urls
    finally:
        stack.stop()


def _undecided_tiles(page) -> list[str]:
    return page.evaluate(
        """() => [...document.querySelectorAll('.grd-tile')]
                 .filter(t => !t.querySelector('[data-act="negative"]').hidden)
                 .map(t => t.dataset.id)"""
    )


def _session(index: int, url: str, args, barrier: threading.Barrier, out: dict) -> None:
    """One annotator: its own Chromium; decisions on its slice of tiles, then editor clicks."""
    from playwright.sync_api import sync_playwright

    try:
        with sync_playwright() as p:
            browser = launch_chromium(p)
            page = browser.new_page(viewport={"width": 1500, "height": 1000})
            page.set_default_timeout(300_000)
            page.goto(f"{url}/sweep?session={args.tokens[index]}")
            page.wait_for_selector(".grd-tile img")
            page.locator(".st-key-remaining button").first.wait_for()
            idle(page)
            mine = _undecided_tiles(page)[index * args.decisions : (index + 1) * args.decisions]
            barrier.wait()
            for image_id in mine:
                tile = f".grd-tile[data-id='{image_id}']"
                idle(page)
                _watch(page, ".grd-grid-root", tile)
                page.locator(tile).locator("button[data-act='negative']").click()
                t = _watched(page, 120_000)
                out["decision_shown"].append(t["shown"])
                out["decision_saved"].append(t["saved"])
            barrier.wait()
            out["click"] = time_clicks(page, url, args.clicks, mark=barrier.wait)
            browser.close()
    except BaseException as error:  # noqa: BLE001 - reported by the caller, others released
        out["error"] = f"{type(error).__name__}: {error}"
        barrier.abort()


def warm_up(urls: list[str], token: str, root: Path, settle_s: float = 900) -> tuple[float, int]:
    """One untimed annotator visit per app process before the timed sessions (a negative on the
    group's last tile, then an editor click), so each process has imported its pages and loaded
    the click model, as a server that has been up a while has; then wait (up to ``settle_s``)
    for the background jobs that visit started (embedding the group's 100 images takes minutes
    on 2 cores; a job still running would take CPU from the timed sessions). Returns the seconds
    it took and how many jobs were still running when it gave up waiting."""
    from playwright.sync_api import sync_playwright

    from labeler.project import Project

    start = time.perf_counter()
    with sync_playwright() as p:
        browser = launch_chromium(p)
        for url in urls:
            page = browser.new_page(viewport={"width": 1500, "height": 1000})
            page.set_default_timeout(300_000)
            page.goto(f"{url}/sweep?session={token}")
            page.wait_for_selector(".grd-tile img")
            idle(page)
            last = _undecided_tiles(page)[-1]
            page.locator(f".grd-tile[data-id='{last}'] button[data-act='negative']").click()
            idle(page)
            time_clicks(page, url, 1)
            page.close()
        browser.close()
    with Project.open(root) as project:
        while project.store.list_jobs(active=True) and time.perf_counter() - start < settle_s:
            time.sleep(1)
        running = len(project.store.list_jobs(active=True))
    return time.perf_counter() - start, running


def run_k(urls: list[str], k: int, args) -> dict:
    """k sessions at once over ``urls`` (session i on urls[i % len]); pooled percentiles."""
    barrier = threading.Barrier(k, timeout=900)
    outs = [{"decision_shown": [], "decision_saved": [], "click": []} for _ in range(k)]
    threads = [
        threading.Thread(target=_session, args=(i, urls[i % len(urls)], args, barrier, outs[i]))
        for i in range(k)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    errors = [o["error"] for o in outs if "error" in o]
    figures = {action: percentiles([s for o in outs for s in o[action]]) for action in ACTIONS}
    if errors:
        figures["errors"] = errors[:3]
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ks", default="1,4,8", help="comma-separated session counts")
    parser.add_argument("--decisions", type=int, default=10, help="grid decisions per session")
    parser.add_argument("--clicks", type=int, default=10, help="editor clicks per session")
    parser.add_argument("--segmenter", default="auto", help="editor click model (as grd ui)")
    parser.add_argument("--db-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--setups", default="one_process,two_replicas")
    parser.add_argument("--quick", action="store_true", help="smoke run: k = 1, 2; 3 actions")
    parser.add_argument(
        "--warm",
        action="store_true",
        help="one untimed visit per app process first (pages imported, click model loaded)",
    )
    parser.add_argument(
        "--settle",
        type=float,
        default=900,
        help="with --warm: the most seconds to wait for the visit's background jobs",
    )
    args = parser.parse_args()
    if args.quick:
        args.ks, args.decisions, args.clicks = "1,2", 3, 3
    ks = [int(k) for k in args.ks.split(",")]
    if max(ks) * args.decisions > 100 - args.warm:
        parser.error("k x --decisions must fit the group's 100 tiles (99 with --warm)")
    setups = args.setups.split(",")
    result = {
        "cores": os.cpu_count(),
        "load_average_start": _load(),
        "segmenter": args.segmenter,
        "backend": "postgresql",
        "warm": args.warm,
        "decisions_per_session": args.decisions,
        "clicks_per_session": args.clicks,
        "limits_ms": {"decision_saved_p95": DECISION_P95_MS, "click_p95": CLICK_P95_MS},
        "runs": {setup: {} for setup in setups},
    }
    print(f"machine: {os.cpu_count()} cores, load average {result['load_average_start']}")
    from labeler.project import Project

    for setup in setups:
        for k in ks:
            with tempfile.TemporaryDirectory() as tmp, postgres_schema(args.db_url) as url:
                os.environ["GRD_DATABASE_URL"] = url  # the build and the app processes
                root = Path(tmp) / "bench"
                build_group_project(root).close()
                with Project.open(root) as project:
                    project.settings.segmenter = args.segmenter
                    project.save_settings()
                    # signed local-mode sessions: one name per session on the sweep page; the
                    # editor visit (bench_ui.time_clicks) signs in through bench_ui.SIGN_IN
                    args.tokens = [project.store.local_token(f"load{i}") for i in range(k)]
                    bench_ui.SIGN_IN = f"session={project.store.local_token('bench')}"
                    warm_token = project.store.local_token("warm")
                with served(setup, root, Path(tmp)) as urls:
                    warm_s, running = (
                        warm_up(urls, warm_token, root, args.settle) if args.warm else (None, 0)
                    )
                    print(f"{setup} k={k}: timed sessions start", flush=True)
                    load_before = _load()
                    start = time.perf_counter()
                    figures = run_k(urls, k, args)
                    figures["wall_s"] = round(time.perf_counter() - start, 1)
                    figures["load_average"] = [load_before, _load()]
                    figures["passes"] = passes(figures)
                    if warm_s is not None:
                        figures["warm_up_s"] = round(warm_s, 1)
                        figures["jobs_running_after_warm_up"] = running
                del os.environ["GRD_DATABASE_URL"]
            result["runs"][setup][k] = figures
            line = ", ".join(
                f"{a} p50 {figures[a]['p50_ms']} / p95 {figures[a]['p95_ms']} ms "
                f"(n={figures[a]['n']})"
                for a in ACTIONS
            )
            print(
                f"{setup} k={k}: {line}; load {figures['load_average'][0][0]} -> "
                f"{figures['load_average'][1][0]}" + (" ERRORS" if "errors" in figures else "")
            )
            for error in figures.get("errors", []):
                print(f"  error: {error}")
    result["largest_k"] = {setup: largest_k(result["runs"][setup]) for setup in setups}
    for setup in setups:
        print(
            f"largest k with decisions p95 < {DECISION_P95_MS:.0f} ms and clicks p95 < "
            f"{CLICK_P95_MS:.0f} ms, {setup}: {result['largest_k'][setup]}"
        )
    result["load_average_end"] = _load()
    print(json.dumps(result))


if __name__ == "__main__":
    main()

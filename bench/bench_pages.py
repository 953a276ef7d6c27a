"""The overview and a 100-image group page from a cold browser, on a GRD-size project (or 10x).

    .venv/bin/python bench/bench_pages.py --scale 10 \
        --db-url postgresql+psycopg://postgres@127.0.0.1:5432/test [--loads 3] [--keep DIR]

``--keep DIR`` keeps the project (and its schema); run again with the same ``--keep DIR`` to time
the pages once more without building (e.g. before and after a change to a page).

Builds ``bench/grd_size.py``'s project (``--scale 10``: 1,060 groups, 105,780 images, 3,160
expressions, ~250k decisions) in a fresh PostgreSQL schema (SQLite without ``--db-url``), with one
extra group added first: 100 real photos (``bench_ui.add_photo_group``) that the sweep opens by
default, since the generated groups are rows without image files. Then serves it with one
``grd ui`` process and, in Debian's Chromium, times ``--loads`` cold loads (a new browser context
each: empty cache) of:

- the overview: until the page's script run has finished and the totals, the groups table, the
  expression chart and the annotators table are all on screen;
- the group page: until all 100 tile images are loaded and the toolbar is live (as bench_ui).

The first load after the server starts imports the app and is reported apart. Target (issue #21):
both usable in under 3 s from a cold browser. The last line is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import bench_ui  # noqa: E402
from bench.bench_ui import _load, add_photo_group, idle, time_group_page  # noqa: E402
from bench.grd_size import analyze, make_grd_size_project, postgres_schema  # noqa: E402
from labeler.project import Project  # noqa: E402
from pipelines.services.ui_server import launch_chromium, running_app  # noqa: E402

PAGE_TARGET_S = 3.0

#: Everything the overview draws, present at once (the script run finished, nothing stale).
_OVERVIEW_READY = """() => {
    const app = document.querySelector('[data-testid="stApp"]');
    if (!app || app.getAttribute('data-test-script-state') !== 'notRunning') return false;
    const text = document.body.innerText;
    const tables = document.querySelectorAll('[data-testid="stDataFrame"]').length;
    const chart = document.querySelector('.vega-embed canvas, .vega-embed svg');
    return text.includes('Pairs decided') && text.includes('Annotators') && tables >= 3 && !!chart;
}"""


def time_overview(browser, url: str) -> float:
    """Cold overview (new context) until everything it draws is on screen."""
    context = browser.new_context(viewport={"width": 1500, "height": 1000})
    page = context.new_page()
    start = time.perf_counter()
    page.goto(f"{url}/overview?{bench_ui.SIGN_IN}")
    page.wait_for_function(_OVERVIEW_READY, timeout=120_000, polling=50)
    elapsed = time.perf_counter() - start
    idle(page)
    context.close()
    return elapsed


def measure(figures: dict, project: Project, root: Path, tmp: Path, loads: int) -> None:
    """Serve ``project`` (closed here) and time ``loads`` cold loads of each page into ``figures``."""
    from playwright.sync_api import sync_playwright

    store = project.store
    figures["groups"] = len(store.list_groups())
    figures["expressions"] = len(store.expression_progress())
    bench_ui.SIGN_IN = f"session={store.local_token('bench')}"
    project.close()
    print(f"built in {figures['build_s']} s: {figures['groups']} groups")
    with running_app(root, log_dir=tmp, timeout=120) as app, sync_playwright() as p:
        browser = launch_chromium(p)
        figures["load_before"] = _load()
        figures["overview_first_s"] = round(time_overview(browser, app.url), 2)
        overview = [time_overview(browser, app.url) for _ in range(loads)]
        group = [time_group_page(browser, app.url, 100) for _ in range(loads)]
        figures["load_after"] = _load()
        browser.close()
    for name, values in (("overview", overview), ("group_page", group)):
        figures[f"{name}_cold_s"] = [round(v, 2) for v in values]
        figures[f"{name}_cold_s_median"] = round(statistics.median(values), 2)
        print(
            f"{name} from a cold browser: {', '.join(f'{v:.2f} s' for v in values)} "
            f"(target < {PAGE_TARGET_S:.0f} s)"
        )
    print(f"machine: {os.cpu_count()} cores, {figures['load_before']} -> {figures['load_after']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scale", type=int, default=10)
    parser.add_argument("--db-url", default="", help="PostgreSQL URL (default: SQLite)")
    parser.add_argument("--loads", type=int, default=3, help="cold loads of each page")
    parser.add_argument("--keep", type=Path, help="build the project here and keep it")
    args = parser.parse_args()

    figures: dict = {"bench": "pages", "scale": args.scale}
    reuse = bool(args.keep and (args.keep / "project.json").exists())
    figures["backend"] = "postgresql" if args.db_url else "sqlite"
    tmp = Path(tempfile.mkdtemp(prefix="grd-pages-"))
    root = args.keep or tmp / "grd"
    try:
        with postgres_schema("" if reuse else args.db_url, keep=bool(args.keep)) as url:
            start = time.perf_counter()
            if reuse:
                project = Project.open(root)
            else:
                project = make_grd_size_project(
                    root, scale=args.scale, database_url=url, first=add_photo_group
                )
                analyze(project)
            figures["build_s"] = round(time.perf_counter() - start, 1)
            measure(figures, project, root, tmp, args.loads)
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()

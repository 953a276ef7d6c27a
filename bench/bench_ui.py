"""UI latency in a real browser (Debian Chromium via Playwright), on a 100-image group.

    .venv/bin/python bench/bench_ui.py [--clicks 20] [--keep DIR]

Prints, for a group of 100 photos (variants of the scikit-image samples, ~640 px, with model
proposals on half of them):

- time to interactive of the group page from a cold browser (every tile image loaded, toolbar live);
- grid decision latency: a tile's "not in image" click until its badge shows the new state (drawn
  at once by the browser, marked pending) and until the server's redraw of the stored state;
- bulk "all remaining negative" until the grid shows it;
- click -> refined mask on screen in the editor (embedding cached), median and p95 over N clicks.

Targets on a 2-core machine: grid decision < 200 ms, group page < 3 s, click -> mask p95 < 250 ms.
The editor's click model: ``--segmenter`` as ``grd ui --segmenter`` takes it (default ``auto``:
MobileSAM from the installed package), ``classic`` for the weight-free fallback, or ``sam-random``:
SAM ViT-B with random weights made here (weights do not change speed), or ``--sam-checkpoint``. The first editor
visit computes the image embedding (cached, as in the app); clicks are timed after that.
Latencies are taken inside the page (pointer-down -> the DOM change), excluding Playwright's own
round trips to the browser.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageEnhance, ImageOps

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from labeler import rle
from labeler.project import Project
from pipelines.intake.ingest import IngestItem, ingest_items
from pipelines.services.demo import skimage_data_dir
from pipelines.services.ui_server import launch_chromium, running_app

PHOTOS = [
    "astronaut.png",
    "chelsea.png",
    "coffee.png",
    "rocket.jpg",
    "motorcycle_left.png",
    "motorcycle_right.png",
    "hubble_deep_field.jpg",
    "retina.jpg",
    "color.png",
    "ihc.png",
]


def _variant(photo: Image.Image, k: int, rng: np.random.Generator) -> bytes:
    w, h = photo.size
    cw, ch = int(w * rng.uniform(0.6, 1.0)), int(h * rng.uniform(0.6, 1.0))
    x, y = int(rng.integers(0, w - cw + 1)), int(rng.integers(0, h - ch + 1))
    img = photo.crop((x, y, x + cw, y + ch))
    if k % 2:
        img = ImageOps.mirror(img)
    img = ImageEnhance.Brightness(img).enhance(rng.uniform(0.8, 1.2))
    img.thumbnail((640, 640))
    buffer = io.BytesIO()
    img.save(buffer, format="JPEG", quality=88)
    return buffer.getvalue()


#: The sign-in query of the served project (set once it exists): ``session=<signed token>``.
SIGN_IN = ""


def build_group_project(root: Path, n: int = 100, seed: int = 0) -> Project:
    """A new project holding :func:`add_photo_group`'s group."""
    project = Project.init(root, name="UI bench")
    add_photo_group(project, n, seed)
    return project


def add_photo_group(project: Project, n: int = 100, seed: int = 0) -> None:
    """Add one group of ``n`` photos with one expression; proposals (with scores) on every image."""
    rng = np.random.default_rng(seed)
    data = skimage_data_dir()
    photos = [Image.open(data / name).convert("RGB") for name in PHOTOS]
    items = []
    for k in range(n):
        content = _variant(photos[k % len(photos)], k, rng)
        items.append(
            IngestItem(
                source=f"variant-{k}.jpg",
                group="bench x 100",
                target="thing",
                scene="anywhere",
                read=lambda c=content: c,
            )
        )
    ingest_items(project, items)
    store = project.store
    group = store.group_by_name("bench x 100")
    expr = store.ensure_expression(group.id, "the main object", created_by="bench")
    for image in store.list_images(group.id):
        score = float(rng.uniform())
        instances = []
        if score > 0.5:
            m = np.zeros((image.height, image.width), dtype=bool)
            m[
                image.height // 4 : 3 * image.height // 4, image.width // 4 : 3 * image.width // 4
            ] = True
            instances = [rle.encode(m)]
        store.propose(expr.id, image.id, instances, score=score, model_version="bench")


def idle(page) -> None:
    """Wait until no script run is in flight (stale elements are gone)."""
    page.wait_for_selector(
        '[data-testid="stApp"][data-test-script-state="notRunning"]', timeout=60_000
    )


def random_sam_checkpoint(path: Path) -> Path:
    """SAM ViT-B with seeded random weights, saved like a real checkpoint (for timing only)."""
    if not path.exists():
        import torch

        from model.sam_segmenter import build_sam_module

        path.parent.mkdir(parents=True, exist_ok=True)
        torch.save(build_sam_module("vit_b", None).state_dict(), path)
    return path


# In-page clocks: the pointer-down of the input and the DOM change that shows its result, both
# with performance.now() in the page, so the figures exclude Playwright's own round trips.
_WATCH = """([rootSel, tileSel]) => {
  const t = window.__grd = {down: null, shown: null, saved: null};
  document.addEventListener('pointerdown', () => { if (t.down === null) t.down = performance.now(); },
                            {capture: true, once: true});
  const check = () => {
    if (t.down === null) return;
    const now = performance.now();
    // Looked up at each change: a rerun may mount the component anew (a detached root never settles).
    const root = document.querySelector(rootSel);
    if (!root) return;
    const tile = tileSel && document.querySelector(tileSel);
    if (tile && t.shown === null && tile.dataset.kind === 'negative') t.shown = now;
    const drawn = root.dataset.last && root.dataset.seq === root.dataset.last;
    if (drawn && t.saved === null && (!tile || (tile.dataset.kind === 'negative'
        && !tile.classList.contains('grd-pending')))) t.saved = now;
  };
  const mo = new MutationObserver(check);
  mo.observe(document.body, {attributes: true, subtree: true, attributeFilter: ['data-seq', 'data-last', 'data-kind', 'class']});
  t.stop = () => mo.disconnect();
}"""


def _watch(page, root: str, tile: str = "") -> None:
    page.evaluate(_WATCH, [root, tile])


def _watched(page, timeout_ms: int) -> dict:
    """Wait until the watched input's result is drawn; its latencies in seconds."""
    page.wait_for_function("() => window.__grd.saved !== null", timeout=timeout_ms)
    return page.evaluate(
        "() => { const t = window.__grd; t.stop(); "
        "return {shown: t.shown === null ? null : (t.shown - t.down) / 1000, "
        "saved: t.saved === null ? null : (t.saved - t.down) / 1000}; }"
    )


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system, all threads) a process has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _load() -> str:
    return "load average " + " / ".join(f"{v:.1f}" for v in os.getloadavg())


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _summary(name: str, seconds: list[float]) -> str:
    ms = [s * 1000 for s in seconds]
    return (
        f"{name}: median {statistics.median(ms):.0f} ms, p95 {_pct(ms, 0.95):.0f} ms, "
        f"min {min(ms):.0f}, max {max(ms):.0f} (n={len(ms)})"
    )


def time_group_page(browser, url: str, tiles: int) -> float:
    """Cold page (new context: empty cache) until every tile image is loaded and the toolbar is live."""
    context = browser.new_context(viewport={"width": 1500, "height": 1000})
    page = context.new_page()
    start = time.perf_counter()
    page.goto(f"{url}/sweep?{SIGN_IN}")
    page.wait_for_function(
        """n => { const imgs = [...document.querySelectorAll('.grd-tile img')];
                  return imgs.length >= n && imgs.every(i => i.complete && i.naturalWidth > 0); }""",
        arg=tiles,
        timeout=60_000,
    )
    page.locator(".st-key-remaining button").first.wait_for(state="visible")
    elapsed = time.perf_counter() - start
    context.close()
    return elapsed


def time_grid_decisions(page, n: int) -> tuple[list[float], list[float]]:
    """Click a tile's "not in image" button; time until that tile shows the negative badge (drawn
    by the browser at once, marked pending) and until the server's redraw of the saved state."""
    page.wait_for_selector(".grd-tile img")
    idle(page)
    ids = page.evaluate(
        """n => [...document.querySelectorAll('.grd-tile')]
                 .filter(t => !t.querySelector('[data-act="negative"]').hidden)
                 .slice(0, n).map(t => t.dataset.id)""",
        n,
    )
    shown, saved = [], []
    for image_id in ids:
        tile = page.locator(f".grd-tile[data-id='{image_id}']")
        idle(page)
        _watch(page, ".grd-grid-root", f".grd-tile[data-id='{image_id}']")
        tile.locator("button[data-act='negative']").click()
        t = _watched(page, 10_000)
        shown.append(t["shown"])
        saved.append(t["saved"])
    return shown, saved


def time_bulk_remaining(page) -> float:
    idle(page)
    start = time.perf_counter()
    page.locator(".st-key-remaining button").first.click()
    page.wait_for_function(
        "() => document.querySelectorAll(\".grd-tile[data-kind='negative']\").length >= 100",
        timeout=60_000,
    )
    return time.perf_counter() - start


def time_clicks(page, url: str, n: int, mark=lambda: None) -> list[float]:
    """Clicks on the editor canvas (every 5th starts a new object, every 5th+3 is a right click);
    ``mark()`` is called before the first and after the last timed click."""
    page.goto(f"{url}/editor?{SIGN_IN}")
    canvas = page.locator(".grd-canvas-root canvas.grd-ui")
    canvas.wait_for(timeout=600_000)  # the first visit computes the embedding (SAM: ~20 s+)
    page.wait_for_timeout(500)
    rng = np.random.default_rng(1)
    times = []
    mark()
    for k in range(n):
        if k % 5 == 0:
            idle(page)
            page.locator(".st-key-new_object button").first.click()
            page.wait_for_timeout(300)
            idle(page)
        # The panel beside the canvas grows with every object and clicking its buttons scrolls
        # the page: a click at a stale position would miss the canvas (and wait for nothing).
        canvas.scroll_into_view_if_needed()
        box = canvas.bounding_box()
        x = box["x"] + box["width"] * rng.uniform(0.2, 0.8)
        y = box["y"] + box["height"] * rng.uniform(0.2, 0.8)
        _watch(page, ".grd-canvas-root")
        page.mouse.click(x, y, button="left" if k % 5 != 3 else "right")
        times.append(_watched(page, 30_000)["saved"])
    mark()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clicks", type=int, default=20)
    parser.add_argument("--decisions", type=int, default=20)
    parser.add_argument("--keep", type=Path, help="build the bench project here once and reuse it")
    parser.add_argument(
        "--segmenter",
        default="auto",
        help="click model (auto, mobile_sam, sam_vit_b, classic, ...) or sam-random",
    )
    parser.add_argument("--sam-checkpoint", type=Path, help="a SAM ViT-B checkpoint file")
    parser.add_argument("--screenshots", type=Path, default=Path("artifacts"))
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        template = args.keep or Path(tmp) / "template"
        if not (template / "project.json").exists():
            t = time.perf_counter()
            build_group_project(template).close()
            print(f"built a 100-image group in {time.perf_counter() - t:.1f} s ({template})")
        root = Path(tmp) / "bench"  # every run starts from the untouched template
        shutil.copytree(template, root)
        setting = args.segmenter
        if args.sam_checkpoint:
            setting = str(args.sam_checkpoint)
        elif setting == "sam-random":
            setting = str(random_sam_checkpoint(template.parent / "sam_vit_b_random.pth"))
        global SIGN_IN
        with Project.open(root) as project:
            project.settings.segmenter = setting
            project.settings.sam_model_type = "vit_b"
            project.save_settings()
            SIGN_IN = f"session={project.store.local_token('bench')}"  # a signed local-mode session
            from pipelines.click_models.segmenters import project_click_model

            print(f"editor click model: {project_click_model(project).label} ({setting})")
        args.screenshots.mkdir(parents=True, exist_ok=True)
        with running_app(root, log_dir=tmp) as app, sync_playwright() as p:
            pid = app.process.pid
            print(f"machine: {os.cpu_count()} cores, {_load()}")
            browser = launch_chromium(p)
            warm = time_group_page(browser, app.url, 100)  # first script run imports everything
            cold = [time_group_page(browser, app.url, 100) for _ in range(3)]
            print(
                f"group page (100 tiles), cold browser: {', '.join(f'{c:.2f} s' for c in cold)}"
                f" (first load after server start {warm:.2f} s)"
            )
            page = browser.new_page(viewport={"width": 1500, "height": 1000})
            page.goto(f"{app.url}/sweep?{SIGN_IN}")
            page.locator(".st-key-remaining button").first.wait_for()
            cpu = cpu_seconds(pid)
            shown, saved = time_grid_decisions(page, args.decisions)
            per = (cpu_seconds(pid) - cpu) / len(saved) * 1000
            print(_summary("grid decision shown (tile 'not in image' -> badge, pending)", shown))
            print(
                _summary("grid decision saved (-> the server's redraw of the stored state)", saved)
                + f"; server CPU {per:.0f} ms each"
            )
            page.screenshot(path=str(args.screenshots / "bench_sweep.png"))
            bulk_s = time_bulk_remaining(page)
            print(
                f"all remaining negative (bulk, ~{100 - args.decisions} images): "
                f"{bulk_s * 1000:.0f} ms"
            )
            cpu_clicks: list[float] = []
            clicks = time_clicks(
                page, app.url, args.clicks, lambda: cpu_clicks.append(cpu_seconds(pid))
            )
            per = (cpu_clicks[-1] - cpu_clicks[0]) / max(len(clicks), 1) * 1000
            print(
                _summary("editor click -> mask on screen", clicks)
                + f"; server CPU {per:.0f} ms each"
            )
            page.screenshot(path=str(args.screenshots / "bench_editor.png"))
            print(f"machine after: {_load()}")
            browser.close()

        def ms(values: list[float], q: float) -> float:
            return round(_pct([v * 1000 for v in values], q), 1)

        print(
            json.dumps(
                {
                    "group_page_cold_s": [round(c, 2) for c in cold],
                    "grid_shown_ms_median": ms(shown, 0.5),
                    "grid_shown_ms_p95": ms(shown, 0.95),
                    "grid_saved_ms_median": ms(saved, 0.5),
                    "grid_saved_ms_p95": ms(saved, 0.95),
                    "bulk_remaining_ms": round(bulk_s * 1000),
                    "click_ms_median": ms(clicks, 0.5),
                    "click_ms_p95": ms(clicks, 0.95),
                    "load_after": _load(),
                }
            )
        )


if __name__ == "__main__":
    main()

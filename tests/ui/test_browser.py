"""Real-browser tests: the app served headless on a demo project, driven with Debian's Chromium.

Run with ``pytest -m browser tests/ui/test_browser.py``. Needs ``/usr/bin/chromium``
(``apt-get install -y chromium``; never ``playwright install``). Screenshots go to ``artifacts/``.
"""

from __future__ import annotations

import numpy as np
import pytest

from labeler.domain import DecisionStatus
from labeler.project import Project
from pipelines.services.ui_server import CHROMIUM, launch_chromium, running_app
from tests.ui.conftest import ARTIFACTS

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,  # builds the pre-labeled demo and serves it: ~30-60 s on 2 cores
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="needs Debian's Chromium at /usr/bin/chromium (apt-get install -y chromium)",
    ),
]


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """The demo project as ``grd demo`` makes it (pre-labeled by the bundled model), served by a
    real Streamlit process, and a Chromium."""
    from playwright.sync_api import sync_playwright

    from pipelines.services.demo import build_demo

    root = tmp_path_factory.mktemp("browser") / "demo"
    build_demo(root).close()
    ARTIFACTS.mkdir(exist_ok=True)
    with running_app(root, log_dir=root.parent) as app, sync_playwright() as p:
        browser = launch_chromium(p)
        page = browser.new_page(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
        page.set_default_timeout(60_000)
        yield app, page, root
        browser.close()


def idle(page) -> None:
    page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]')


def session_token(root, name: str = "ann") -> str:
    """A local-mode session token, as the sign-in form would put in the URL."""
    with Project.open(root) as project:
        return project.store.local_token(name)


def open_page(page, app, name: str) -> None:
    """Open page ``name`` of the served ``app``, signed in as ``ann`` (a local-mode token)."""
    page.goto(f"{app.url}/{name}?session={session_token(app.project_dir)}")
    page.get_by_text("Signed in as").wait_for()
    idle(page)


def overlay_pixels(page) -> int:
    """Non-transparent pixels on the canvas's mask layer."""
    return page.evaluate(
        """() => { const c = document.querySelector('.grd-canvas-root canvas.grd-overlay');
                   const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
                   let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i]) n++; return n; }"""
    )


def first_group(root):
    with Project.open(root) as project:
        store = project.store
        group = store.list_groups()[0]
        expr = store.list_expressions(group.id)[0]
        return group, expr, [im.id for im in store.list_images(group.id)]


def decisions(root, expression_id):
    with Project.open(root) as project:
        return project.store.decisions_for_expression(expression_id)


def test_click_on_an_image_shows_a_mask_and_confirm_saves_it(served):
    app, page, root = served
    _group, expr, images = first_group(root)
    open_page(page, app, "sweep")
    tile = page.locator(f".grd-tile[data-id='{images[0]}']")
    tile.locator("img").wait_for()
    page.screenshot(path=str(ARTIFACTS / "browser_sweep_start.png"), full_page=True)
    tile.locator("button[data-act='open']").click()
    canvas = page.locator(".grd-canvas-root canvas.grd-ui")
    canvas.wait_for()
    idle(page)
    assert page.get_by_text(f"(id {images[0]})").count() == 1
    before = overlay_pixels(page)
    box = canvas.bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.5)
    page.wait_for_function(
        "() => { const r = document.querySelector('.grd-canvas-root');"
        " return r.dataset.last && r.dataset.seq === r.dataset.last; }"
    )
    assert overlay_pixels(page) > max(before, 100)
    idle(page)
    page.screenshot(path=str(ARTIFACTS / "browser_editor_mask.png"), full_page=True)
    page.locator(".st-key-confirm button").first.click()
    # Generous: on 2 loaded cores the app process also embeds the group in the background
    # (MobileSAM) while it saves and redraws; CI once took over 60 s here.
    page.get_by_text("Saved as positive").first.wait_for(timeout=180_000)
    saved = decisions(root, expr.id)[images[0]]
    assert saved.status is DecisionStatus.POSITIVE and saved.author == "ann"
    assert len(saved.instances) >= 1 and saved.instances[-1].area > 100


def test_box_then_brush_and_eraser_make_a_second_object_with_a_hole(served):
    from labeler import rle

    app, page, root = served
    _group, expr, images = first_group(root)
    with Project.open(root) as project:
        image = project.store.get_image(images[1])
    open_page(page, app, "sweep")
    page.locator(f".grd-tile[data-id='{images[1]}'] button[data-act='open']").click()
    canvas = page.locator(".grd-canvas-root canvas.grd-ui")
    canvas.wait_for()
    idle(page)
    box = canvas.bounding_box()

    def at(fx, fy):
        return box["x"] + box["width"] * fx, box["y"] + box["height"] * fy

    def drag(*points):
        page.mouse.move(*at(*points[0]))
        page.mouse.down()
        for p in points[1:]:
            page.mouse.move(*at(*p), steps=6)
        page.mouse.up()
        page.wait_for_function(
            "() => { const r = document.querySelector('.grd-canvas-root');"
            " return r.dataset.last && r.dataset.seq === r.dataset.last; }"
        )
        idle(page)

    def tool(name):
        page.locator(".st-key-editor_tool button", has_text=name).click()
        idle(page)

    page.locator(".st-key-new_object button").first.click()
    idle(page)
    tool("Box")
    drag((0.25, 0.1), (0.8, 0.7))  # around the cup
    assert overlay_pixels(page) > 100  # the segmenter's mask for the box
    page.locator(".st-key-new_object button").first.click()
    idle(page)
    tool("Brush")
    drag((0.55, 0.88), (0.9, 0.88))  # a thick horizontal stroke: object 2
    tool("Eraser")
    drag((0.725, 0.8), (0.725, 0.96))  # cut it in two
    page.screenshot(path=str(ARTIFACTS / "browser_editor_brush_hole.png"), full_page=True)
    page.locator(".st-key-confirm button").first.click()
    page.get_by_text("Saved as positive").first.wait_for()
    saved = decisions(root, expr.id)[images[1]]
    assert saved.status is DecisionStatus.POSITIVE and saved.author == "ann"
    painted = rle.decode(saved.instances[-1].rle)
    assert painted.shape == (image.height, image.width)
    y = int(image.height * 0.88)
    assert painted[y, int(image.width * 0.6)] and painted[y, int(image.width * 0.85)]
    assert not painted[y, int(image.width * 0.725)], "the eraser cut is kept in the saved mask"
    assert not painted[int(image.height * 0.3), int(image.width * 0.3)]  # nothing spilt elsewhere


def test_a_click_after_wheel_zoom_lands_under_the_pointer_and_enter_confirms(served):
    """Zoom in with the wheel about the canvas centre, click off-centre: the mask is made at the
    image pixel under the pointer (not where the unzoomed click would be). Then Enter, with the
    focus left on a tool button by the mouse, confirms (it used to re-press the tool)."""
    from labeler import rle

    app, page, root = served
    _group, expr, images = first_group(root)
    with Project.open(root) as project:
        image = project.store.get_image(images[2])
    open_page(page, app, "sweep")
    page.locator(f".grd-tile[data-id='{images[2]}'] button[data-act='open']").click()
    canvas = page.locator(".grd-canvas-root canvas.grd-ui")
    canvas.wait_for()
    idle(page)
    page.locator(".st-key-new_object button").first.click()
    idle(page)
    page.locator(".st-key-editor_tool button", has_text="Point").click()  # focus on a tool
    idle(page)
    box = canvas.bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.5)
    page.mouse.wheel(0, -600)
    page.wait_for_function("() => document.querySelector('.grd-canvas-root').dataset.view")
    view = page.evaluate("document.querySelector('.grd-canvas-root').dataset.view")
    zoom = float(view.split(",")[0])
    assert zoom > 2  # exp(600 * 0.0015) = 2.46
    page.mouse.click(box["x"] + box["width"] * 0.62, box["y"] + box["height"] * 0.62)
    page.wait_for_function(
        "() => { const r = document.querySelector('.grd-canvas-root');"
        " return r.dataset.last && r.dataset.seq === r.dataset.last; }"
    )
    idle(page)
    page.keyboard.press("Enter")
    page.get_by_text("Saved as positive").first.wait_for()
    saved = decisions(root, expr.id)[images[2]]
    assert saved.status is DecisionStatus.POSITIVE and saved.author == "ann"
    mask = rle.decode(saved.instances[-1].rle)
    under = 0.5 + 0.12 / zoom  # the image fraction under the pointer at this zoom
    assert mask[int(image.height * under), int(image.width * under)]


def test_select_tiles_then_n_certifies_them_and_undo_restores(served):
    app, page, root = served
    _group, expr, images = first_group(root)
    before = decisions(root, expr.id)
    targets = [i for i in images if not before[i].is_human][:2]
    open_page(page, app, "sweep")
    for image_id in targets:
        page.locator(f".grd-tile[data-id='{image_id}'] img").click()
    assert page.locator(".grd-tile.grd-selected").count() == 2
    page.keyboard.press("n")
    page.get_by_text("Confirmed negative: 2 images").first.wait_for()
    for image_id in targets:
        page.wait_for_selector(f".grd-tile[data-id='{image_id}'][data-kind='negative']")
    # the at-once "pending" look is replaced by the server's redraw of what was stored
    page.wait_for_function("() => !document.querySelector('.grd-tile.grd-pending')")
    after = decisions(root, expr.id)
    assert all(
        after[i].status is DecisionStatus.NEGATIVE and after[i].author == "ann" for i in targets
    )
    idle(page)
    page.locator(".st-key-undo button").first.click()
    page.get_by_text("Undone").first.wait_for()
    restored = decisions(root, expr.id)
    assert all(restored[i].status is before[i].status for i in targets)


def test_confirm_remaining_negatives_from_the_grid(served):
    app, page, root = served
    _group, expr, _images = first_group(root)
    before = decisions(root, expr.id)
    open_page(page, app, "sweep")
    undecided = sum(not d.is_human for d in before.values())
    button = page.locator(".st-key-remaining button").first
    assert f"All remaining negative ({undecided})" in button.inner_text()
    button.click()
    page.get_by_text("Confirmed all remaining as negative").first.wait_for()
    idle(page)
    page.screenshot(path=str(ARTIFACTS / "browser_sweep_done.png"), full_page=True)
    after = decisions(root, expr.id)
    assert all(d.is_human for d in after.values())
    for image_id, d in before.items():
        if d.is_human:  # what a person decided stays exactly as it was
            assert after[image_id].revision == d.revision
        else:
            assert (
                after[image_id].status is DecisionStatus.NEGATIVE
                and after[image_id].author == "ann"
            )
    page.wait_for_function(
        "n => document.querySelectorAll(\".grd-tile[data-kind='negative']\").length >= n",
        arg=sum(d.status is DecisionStatus.NEGATIVE for d in after.values()),
    )


def test_download_the_coco_export_and_load_it_with_pycocotools(served, tmp_path):
    from pycocotools.coco import COCO

    app, page, root = served
    _group, expr, images = first_group(root)
    open_page(page, app, "data")
    page.get_by_role("tab", name="Export").click()
    # Decided pairs of incomplete expressions too: the test must not depend on another test
    # having completed an expression.
    page.get_by_text("include them, marked incomplete").click()
    page.locator(".st-key-prepare_export button").first.click()
    link = page.locator("[class*='st-key-dl-'][class*='_instances'] button").first
    link.wait_for(timeout=120_000)  # building the export on a loaded 2-core machine
    page.screenshot(path=str(ARTIFACTS / "browser_export.png"), full_page=True)
    with page.expect_download() as info:
        link.click()
    path = tmp_path / info.value.suggested_filename
    info.value.save_as(path)
    coco = COCO(str(path))
    assert len(coco.getImgIds()) >= len(images)
    positives = [
        i for i, d in decisions(root, expr.id).items() if d.status is DecisionStatus.POSITIVE
    ]
    anns = coco.loadAnns(coco.getAnnIds(imgIds=positives))
    assert anns, "the confirmed mask is in the export"
    mask = coco.annToMask(anns[0])
    assert mask.sum() == anns[0]["area"] and np.asarray(mask).shape[:2] == (
        coco.imgs[anns[0]["image_id"]]["height"],
        coco.imgs[anns[0]["image_id"]]["width"],
    )


def test_every_page_has_its_own_url_and_the_root_opens_the_overview(served):
    """A kept link to any page opens that page (signed in through the URL); "/" forwards to
    the overview with the annotator kept."""
    app, page, root = served
    with Project.open(root) as project:
        title = project.settings.name
    for name, marker in [
        ("overview", "text=Annotators"),
        ("sweep", ".st-key-remaining"),
        ("editor", ".grd-canvas-root"),
        ("data", "text=Upload"),
        ("model", "h1:has-text('Model')"),
    ]:
        open_page(page, app, name)
        page.locator(marker).first.wait_for()
        assert page.get_by_text("Page not found").count() == 0, name
    token = session_token(root)
    page.goto(f"{app.url}/?session={token}")
    page.wait_for_url(f"**/overview?session={token}")
    page.get_by_role("heading", name=title).wait_for()
    page.get_by_text("Signed in as").wait_for()
    idle(page)
    page.screenshot(path=str(ARTIFACTS / "browser_overview.png"))

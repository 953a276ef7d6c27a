"""Real-browser checks of what a first day with the tool showed (issue "first day"): the sweep's
order holds while deciding and re-sorts on request, small images fill their tiles, Space opens a
large preview with the proposal outlined, the Data page keeps its tab, and the export says what it
writes before the download. Screenshots go to ``artifacts/``.

Run with ``pytest -m browser tests/ui/test_browser_first_day.py`` (needs ``/usr/bin/chromium``).
"""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from labeler.project import Project
from labeler.sweep_order import fresh_order
from pipelines.services.ui_server import CHROMIUM, launch_chromium, running_app
from tests.ui.conftest import ARTIFACTS, add_proposals
from tests.ui.test_browser import decisions, first_group, idle, open_page

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="needs Debian's Chromium at /usr/bin/chromium (apt-get install -y chromium)",
    ),
]
SMALL = "small things x table"


def _small_group(root) -> None:
    """Six 96 x 72 images (a red square on grey) with an expression and model proposals."""
    from pipelines.intake.ingest import folder_items, ingest_items

    folder = root.parent / "small" / SMALL
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for k in range(6):
        rgb = np.full((72, 96, 3), 128, np.uint8) + rng.integers(0, 20, (72, 96, 3), np.uint8)
        rgb[20 + k : 44 + k, 30 : 54 + k] = (220, 30, 30)
        buffer = io.BytesIO()
        Image.fromarray(rgb).save(buffer, "PNG")
        (folder / f"thing_{k}.png").write_bytes(buffer.getvalue())
    with Project.open(root) as project:
        ingest_items(project, folder_items(folder.parent))
        group = project.store.group_by_name(SMALL)
        expr = project.store.add_expression(group.id, "the red square")
        ids = [i.id for i in project.store.list_images(group.id)]
        add_proposals(
            project,
            expr.id,
            present={i: 1.6 - 0.1 * k for k, i in enumerate(ids[:4])},
            absent={i: 0.4 for i in ids[4:]},
        )


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    from playwright.sync_api import sync_playwright

    from pipelines.services.demo import build_demo

    root = tmp_path_factory.mktemp("first_day") / "demo"
    build_demo(root).close()
    _small_group(root)
    ARTIFACTS.mkdir(exist_ok=True)
    with running_app(root, log_dir=root.parent) as app, sync_playwright() as p:
        browser = launch_chromium(p)
        page = browser.new_page(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
        page.set_default_timeout(60_000)
        yield app, page, root
        browser.close()


def _order(page) -> list[int]:
    return [
        int(i) for i in page.locator(".grd-tile").evaluate_all("ns => ns.map(n => n.dataset.id)")
    ]


def _pick(page, key: str, option: str) -> None:
    """Choose ``option`` in a selectbox (a combobox) by typing it, as a keyboard user would."""
    idle(page)
    box = page.locator(f".st-key-{key} input[role='combobox']")
    box.click()
    box.fill(option)
    page.get_by_role("option", name=option).click()
    page.wait_for_function(
        "([sel, want]) => document.querySelector(sel).value === want",
        arg=[f".st-key-{key} input[role='combobox']", option],
    )
    idle(page)


def test_a_decision_does_not_move_tiles_until_re_sort(served):
    app, page, root = served
    _group, expr, _images = first_group(root)
    open_page(page, app, "sweep")
    page.locator(".grd-tile img").first.wait_for()
    page.screenshot(path=str(ARTIFACTS / "browser_sweep_large_images.png"), full_page=True)
    before = _order(page)
    first = before[0]
    page.locator(f".grd-tile[data-id='{first}'] button[data-act='negative']").click()
    page.wait_for_selector(f".grd-tile[data-id='{first}'][data-kind='negative']")
    page.wait_for_function("() => !document.querySelector('.grd-tile.grd-pending')")
    idle(page)
    assert _order(page) == before, "a decision moved the tiles"
    page.locator(".st-key-resort button").first.click()
    idle(page)
    expected = fresh_order(decisions(root, expr.id), "score", "all")
    page.wait_for_function(
        "ids => [...document.querySelectorAll('.grd-tile')].map(n => +n.dataset.id).join() "
        "=== ids.join()",
        arg=expected,
    )
    assert _order(page) == expected


def test_small_images_fill_their_tiles_and_space_previews_with_the_outline(served):
    app, page, root = served
    open_page(page, app, "sweep")
    _pick(page, "sweep_group", SMALL)
    # the grid may still show the previous group's tiles for a moment: wait for this group's
    with Project.open(root) as project:
        small_ids = [i.id for i in project.store.list_images(project.store.group_by_name(SMALL).id)]
    page.wait_for_function(
        "ids => { const t = document.querySelectorAll('.grd-tile');"
        " return t.length > 0 && [...t].every(n => ids.includes(+n.dataset.id)); }",
        arg=small_ids,
    )
    page.locator(".grd-tile img").first.wait_for()
    # the 96-pixel image is scaled up on the server (nearest-neighbour) and drawn across the tile
    natural_w, shown_w, tile_w = page.locator(".grd-tile img").first.evaluate(
        """img => [img.naturalWidth, img.getBoundingClientRect().width,
                   img.closest('.grd-tile').getBoundingClientRect().width]"""
    )
    assert natural_w >= 2 * 96, f"the picture is {natural_w} px wide: not scaled up"
    assert shown_w >= 0.8 * tile_w, f"the picture covers {shown_w:.0f} of {tile_w:.0f} px"
    badge = page.locator(".grd-tile .grd-badge").first
    assert "present above 1.00" in badge.inner_text()
    assert "Presence score" in badge.get_attribute("title")
    page.screenshot(path=str(ARTIFACTS / "browser_sweep_small_images.png"), full_page=True)
    page.locator(".grd-tile img").first.click()  # focus leaves the group picker
    page.locator(".grd-tile img").nth(1).hover()
    page.keyboard.press(" ")
    dialog = page.locator("[data-testid='stDialog']")
    dialog.locator("img").first.wait_for()
    idle(page)
    shown = dialog.locator("img").first.evaluate("img => img.naturalWidth")
    assert shown >= 600, "the preview is large"
    assert "model: present" in dialog.inner_text()
    page.screenshot(path=str(ARTIFACTS / "browser_sweep_preview.png"))
    page.keyboard.press("Escape")
    dialog.wait_for(state="detached")


def _selected_tab(page) -> str:
    return page.locator("[role='tab'][aria-selected='true']").first.inner_text().strip()


def test_the_data_page_keeps_its_tab_and_the_export_says_what_it_writes(served):
    app, page, root = served
    open_page(page, app, "data")
    page.get_by_role("tab", name="Expressions").click()
    idle(page)
    page.locator(".st-key-new_expression input").fill("the striped mug on the left")
    page.locator(".st-key-add_expression button").click()
    page.get_by_text("Added “the striped mug on the left”").first.wait_for()
    idle(page)
    assert _selected_tab(page) == "Expressions"
    page.locator(".st-key-new_expression input").fill("the striped mug on the left")
    page.locator(".st-key-add_expression button").click()
    page.get_by_text("already has the expression").first.wait_for()
    idle(page)
    assert _selected_tab(page) == "Expressions"

    page.get_by_role("tab", name="Export").click()
    idle(page)
    page.get_by_text("coco writes").first.wait_for()
    page.get_by_text("d3: D³ (GRD) pickles").click()
    idle(page)
    summary = page.get_by_text("d3 writes").first
    summary.wait_for()
    assert "images" in summary.inner_text()
    page.get_by_text("Leaves out").first.wait_for()
    page.screenshot(path=str(ARTIFACTS / "browser_export_summary.png"), full_page=True)
    page.locator(".st-key-prepare_export button").first.click()
    button = page.locator("[class*='st-key-dl-'][class*='_d3'] button").first
    button.wait_for()
    idle(page)
    assert _selected_tab(page) == "Export" and button.is_visible()
    page.screenshot(path=str(ARTIFACTS / "browser_export_ready.png"), full_page=True)

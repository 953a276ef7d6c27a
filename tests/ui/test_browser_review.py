"""Real-browser review round trip: strangers get the sign-in form on the team pages; a reviewer
rejects a pair with a reason on the Review page and accepts the next with the A key; the annotator
then sees the rejected one, with the reason.

Run with ``pytest -m browser tests/ui/test_browser_review.py`` (Debian's Chromium).
"""

from __future__ import annotations

import pytest

from labeler.project import Project
from pipelines.services.ui_server import CHROMIUM, launch_chromium, running_app
from tests.ui.test_browser import idle

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="needs Debian's Chromium at /usr/bin/chromium"
    ),
]

PASSWORD = "correct horse"
REASON = "the dog on the left is missing"


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    from playwright.sync_api import sync_playwright

    from pipelines.services.demo import build_demo

    root = tmp_path_factory.mktemp("review") / "demo"
    build_demo(root, prelabel=False).close()
    with Project.open(root) as project:
        store = project.store
        store.add_user("root", "admin", PASSWORD)
        store.add_user("bob", "annotator", PASSWORD)
        store.add_user("rita", "reviewer", PASSWORD)
        group = store.list_groups()[0]
        expr = store.list_expressions(group.id)[0]
        image, second = store.list_images(group.id)[:2]
        for pair_image in (image, second):
            store.save_decision(
                expr.id, pair_image.id, "negative", author="bob", expected_revision=0
            )
    with running_app(root, log_dir=root.parent) as app, sync_playwright() as p:
        browser = launch_chromium(p)
        context = browser.new_context(viewport={"width": 1300, "height": 900})
        page = context.new_page()
        page.set_default_timeout(60_000)
        yield app, page, root, (expr.id, image.id, second.id)
        browser.close()


def _sign_in(page, url: str, name: str) -> None:
    page.goto(url)
    page.get_by_role("textbox", name="Password").wait_for()
    page.get_by_label("Your name").fill(name)
    page.get_by_role("textbox", name="Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_text(f"Signed in as {name}").wait_for()
    idle(page)


def test_strangers_get_the_form_on_the_team_pages(served):
    app, page, *_ = served
    for path in ("/review", "/agreement", "/settings"):
        page.goto(f"{app.url}{path}")
        page.get_by_role("textbox", name="Password").wait_for()
        idle(page)
        assert page.get_by_text("Signed in as").count() == 0, path
        assert page.get_by_role("button", name="Reject").count() == 0, path


def test_a_rejection_reaches_the_annotator_with_its_reason(served):
    app, page, root, (eid, iid, second) = served
    _sign_in(page, app.url, "rita")
    page.get_by_role("link", name="Review").click()
    page.get_by_text("wait for a verdict").wait_for()
    idle(page)
    page.get_by_label("Reason (needed to reject)").first.fill(REASON)  # the large, first pair
    page.get_by_label("Reason (needed to reject)").first.press("Enter")
    idle(page)
    page.get_by_role("button", name="Reject").first.click()
    page.get_by_text(f"Image {iid}: rejected").wait_for()
    idle(page)
    page.get_by_text(f"image {second}: negative, by bob").first.click()  # leave the reason field
    page.keyboard.press("a")  # keyboard first: A accepts the pair now shown first
    page.get_by_text(f"Image {second}: accepted").wait_for()
    idle(page)
    with Project.open(root) as project:
        assert project.store.reviewed_pairs() == {(eid, second)}
    page.get_by_role("button", name="Sign out").click()
    page.get_by_role("textbox", name="Password").wait_for()

    _sign_in(page, app.url, "bob")
    page.get_by_text("Sent back by reviewers (1)").wait_for()  # the accepted one is not
    assert page.get_by_text(f"{REASON} (by rita)").count() == 1
    assert page.get_by_role("link", name="Review").count() == 1  # listed, but not theirs:
    page.get_by_role("link", name="Review").click()
    page.get_by_text("Review is for reviewers and admins.").wait_for()

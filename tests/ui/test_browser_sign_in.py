"""Real-browser sign-in on a project with accounts: strangers get the form on every URL, a wrong
password is refused, repeated wrong passwords are slowed, a reload keeps the session, sign-out
ends it.

Run with ``pytest -m browser tests/ui/test_browser_sign_in.py`` (Debian's Chromium).
"""

from __future__ import annotations

import re
import time

import pytest

from labeler.accounts import LOCK_ENV
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


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    from playwright.sync_api import sync_playwright

    from pipelines.services.demo import build_demo

    root = tmp_path_factory.mktemp("sign_in") / "demo"
    build_demo(root, prelabel=False).close()
    with Project.open(root) as project:
        project.store.add_user("alice", "annotator", PASSWORD)
        project.store.add_user("carol", "annotator", PASSWORD)  # for the throttling test
    lock = {LOCK_ENV: "120"}  # the first lock; see test_repeated_wrong_passwords_are_slowed
    with running_app(root, log_dir=root.parent, env=lock) as app, sync_playwright() as p:
        browser = launch_chromium(p)
        context = browser.new_context(viewport={"width": 1300, "height": 900})
        page = context.new_page()
        page.set_default_timeout(60_000)
        yield app, page
        browser.close()


def _form_shown(page) -> None:
    page.get_by_role("textbox", name="Password").wait_for()
    idle(page)
    assert page.get_by_text("Signed in as").count() == 0


def _wait_for_failures(root, name: str, count: int, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        with Project.open(root) as project:
            failures = project.store.get_user(name).failed_signins
        if failures >= count:
            assert failures == count, f"{failures} failures counted, {count} attempts made"
            return
        assert time.monotonic() < deadline, f"attempt {count} was not counted ({failures})"
        time.sleep(0.2)


def test_strangers_see_the_sign_in_form_on_every_url(served):
    app, page = served
    for path in ("/?annotator=alice", "/overview?annotator=alice", "/sweep", "/editor", "/data"):
        page.goto(f"{app.url}{path}")
        _form_shown(page)
        assert page.get_by_text("Next up").count() == 0, path


def test_wrong_password_then_sign_in_reload_and_sign_out(served):
    app, page = served
    page.goto(app.url)
    _form_shown(page)
    page.get_by_label("Your name").fill("alice")
    page.get_by_role("textbox", name="Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    page.get_by_text("wrong name or password").wait_for()
    assert page.get_by_text("Signed in as").count() == 0

    page.get_by_role("textbox", name="Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_text("Signed in as alice").wait_for()
    idle(page)
    assert "alice" not in page.url.split("session=")[0]
    assert "session=" in page.url and "annotator=" not in page.url

    page.reload()
    page.get_by_text("Signed in as alice").wait_for()  # the signed token in the URL survives
    idle(page)
    signed_in_url = page.url

    page.get_by_role("button", name="Sign out").click()
    _form_shown(page)
    page.goto(signed_in_url)  # the old token no longer opens anything
    _form_shown(page)


def test_repeated_wrong_passwords_are_slowed(served):
    """After 3 wrong passwords in a row the name is locked, and the right password is refused
    while the lock lasts. The served app's first lock is 120 s (``$GRD_SIGNIN_LOCK_S``), so the
    attempt falls inside it however slowly a loaded machine serves each rerun (the default 5 s
    lock expired between two reruns on CI)."""
    app, page = served
    page.goto(app.url)
    _form_shown(page)
    page.get_by_label("Your name").fill("carol")
    for attempt in range(1, 4):
        page.get_by_role("textbox", name="Password").fill("not the password")
        page.get_by_role("button", name="Sign in").click()
        # The message stays on screen from the first attempt, so wait for the store to count
        # this one: a click made while the last rerun was still running could be lost.
        _wait_for_failures(app.project_dir, "carol", attempt)
        idle(page)
        page.get_by_text("wrong name or password").wait_for()
    assert page.get_by_text("too many failed sign-ins").count() == 0
    page.get_by_role("textbox", name="Password").fill(PASSWORD)  # right, but locked
    page.get_by_role("button", name="Sign in").click()
    locked = page.get_by_text("too many failed sign-ins; try again in")
    locked.wait_for()
    idle(page)
    assert int(re.search(r"try again in (\d+) s", locked.inner_text()).group(1)) > 60
    assert page.get_by_text("Signed in as").count() == 0

"""Sign-in through the whole app (AppTest): strangers get the form, passwords are checked by the
store, the signed token survives a reload and sign-out ends it."""

from __future__ import annotations

import pytest

from tests.ui.conftest import APP_FILE

PASSWORD = "correct horse"


@pytest.fixture
def team_app(demo_project):
    from streamlit.testing.v1 import AppTest

    from ui import resources

    demo_project.store.add_user("alice", "annotator", PASSWORD)
    resources.forget_project()
    return lambda: AppTest.from_file(APP_FILE, default_timeout=60)


def _sign_in(at, name, password):
    at.text_input(key="login_name").input(name)
    at.text_input(key="login_password").input(password)
    at.button[0].click().run()


def test_a_name_in_the_url_signs_nobody_in(team_app):
    at = team_app()
    at.query_params["annotator"] = "alice"
    at.run()
    assert not at.exception
    signed = at.session_state["grd_annotator"] if "grd_annotator" in at.session_state else None
    assert signed is None
    assert at.text_input(key="login_password") is not None  # the sign-in form, not the pages
    assert not any("Next up" in m.value for m in at.markdown)


def test_wrong_password_is_refused(team_app):
    at = team_app().run()
    _sign_in(at, "alice", "not the password")
    assert [e.value for e in at.error] == ["wrong name or password"]
    assert not any("Next up" in m.value for m in at.markdown)


def test_sign_in_survives_a_reload_and_sign_out_ends_it(team_app, demo_project):
    at = team_app().run()
    _sign_in(at, "alice", PASSWORD)
    assert not at.exception
    assert at.session_state["grd_annotator"] == "alice"
    token = at.query_params["session"]
    token = token[0] if isinstance(token, list) else token
    assert "alice" not in token  # the name is not in the URL in clear
    reloaded = team_app()
    reloaded.query_params["session"] = token
    reloaded.run()
    assert reloaded.session_state["grd_annotator"] == "alice"
    assert any("Next up" in m.value for m in reloaded.markdown)
    reloaded.button(key="logout").click().run()
    assert reloaded.session_state["grd_annotator"] is None
    again = team_app()
    again.query_params["session"] = token  # the old URL no longer signs in
    again.run()
    assert again.session_state["grd_annotator"] is None
    assert again.text_input(key="login_password") is not None

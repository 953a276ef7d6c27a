"""Single sign-on in the app (AppTest), with a stand-in for the identity provider (``ui.sso`` is the
one place that reads ``st.user``): a known e-mail signs in as that user, a stranger is refused with
a reason, and without an ``[auth]`` configuration the button is not offered."""

from __future__ import annotations

import pytest

from tests.ui.conftest import APP_FILE


def _signed_in(at) -> str | None:
    return at.session_state["grd_annotator"] if "grd_annotator" in at.session_state else None


PASSWORD = "correct horse"


@pytest.fixture
def sso_app(demo_project, monkeypatch):
    from streamlit.testing.v1 import AppTest

    from ui import resources, sso

    demo_project.store.add_user("alice@example.org", "annotator", PASSWORD)
    resources.forget_project()
    provider = {"email": None}
    logins = []
    monkeypatch.setattr(sso, "configured", lambda: True)
    monkeypatch.setattr(sso, "identity", lambda: provider["email"])
    monkeypatch.setattr(sso, "login", lambda: logins.append(True))
    monkeypatch.setattr(sso, "logout", lambda: provider.update(email=None))
    return provider, logins, lambda: AppTest.from_file(APP_FILE, default_timeout=60)


def test_the_provider_button_then_its_identity_signs_in(sso_app):
    provider, logins, make = sso_app
    at = make().run()
    assert not at.exception
    at.button(key="sso_login").click().run()
    assert logins == [True] and _signed_in(at) is None
    provider["email"] = "ALICE@example.org"  # back from the provider
    at = make().run()
    assert not at.exception
    assert _signed_in(at) == "alice@example.org"
    assert at.query_params["session"]
    at.button(key="logout").click().run()
    assert provider["email"] is None  # signing out ends the provider's session too
    assert _signed_in(at) is None


def test_a_stranger_from_the_provider_is_refused(sso_app):
    provider, _, make = sso_app
    provider["email"] = "mallory@example.org"
    at = make().run()
    assert not at.exception
    assert _signed_in(at) is None
    assert any("not a user of this project" in e.value for e in at.error)
    assert not any("Next up" in m.value for m in at.markdown)


def test_no_provider_button_without_auth_secrets(demo_project):
    from streamlit.testing.v1 import AppTest

    from ui import resources, sso

    demo_project.store.add_user("alice", "annotator", PASSWORD)
    resources.forget_project()
    assert sso.configured() is False  # no .streamlit/secrets.toml with [auth] here
    at = AppTest.from_file(APP_FILE, default_timeout=60).run()
    assert not at.exception
    assert not [b for b in at.button if b.key == "sso_login"]

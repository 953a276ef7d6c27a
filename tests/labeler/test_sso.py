"""Single sign-on mapped onto users (SQLite and PostgreSQL): the provider's e-mail names a user,
case-insensitively; strangers are refused and never created; sign-out ends the SSO session too."""

from __future__ import annotations

import pytest

from labeler.accounts import InvalidSession, SignInRefused

PASSWORD = "correct horse"


def test_sso_identity_maps_onto_an_existing_user(store):
    store.add_user("alice@example.org", "reviewer", PASSWORD)
    token = store.sso_token("Alice@Example.org ")
    assert store.user_for_token(token) == "alice@example.org"
    assert store.role_of(store.user_for_token(token)) == "reviewer"
    store.sign_out(token)
    with pytest.raises(InvalidSession):
        store.user_for_token(token)


def test_sso_refuses_identities_that_name_no_user(store):
    store.add_user("alice@example.org", "admin", PASSWORD)
    for stranger in ("mallory@example.org", "", "alice"):
        with pytest.raises(SignInRefused, match="not a user of this project"):
            store.sso_token(stranger)
    assert [u.name for u in store.list_users()] == ["alice@example.org"]


def test_a_removed_user_loses_the_sso_session(store):
    store.add_user("root@example.org", "admin", PASSWORD)
    store.add_user("bob@example.org", "annotator", PASSWORD)
    token = store.sso_token("bob@example.org")
    store.remove_user("bob@example.org")
    with pytest.raises(InvalidSession):
        store.user_for_token(token)
    with pytest.raises(SignInRefused):
        store.sso_token("bob@example.org")

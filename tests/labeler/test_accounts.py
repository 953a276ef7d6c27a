"""Accounts: hashing, tokens, throttling, roles enforced by the store on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest

from labeler import accounts
from labeler.accounts import InvalidSession, PermissionDenied, SignInRefused
from labeler.errors import DuplicateName
from labeler.limits import InvalidText
from labeler.store.repository import utcnow

PASSWORD = "correct horse"


def test_passwords_are_argon2_hashes_not_plain_text():
    h = accounts.hash_password(PASSWORD)
    assert h.startswith("$argon2id$") and PASSWORD not in h
    assert accounts.verify_password(h, PASSWORD)
    assert not accounts.verify_password(h, "wrong password")
    with pytest.raises(accounts.LabelerError, match="too short"):
        accounts.hash_password("short")


def test_tokens_are_signed_and_expire():
    token = accounts.issue_token("s1", "alice", epoch=3, now=1000, ttl=60)
    assert accounts.read_token("s1", token, now=1030) == ("alice", 3)
    with pytest.raises(InvalidSession, match="expired"):
        accounts.read_token("s1", token, now=1061)
    with pytest.raises(InvalidSession, match="not valid"):
        accounts.read_token("other secret", token, now=1030)
    forged = accounts.issue_token("s1", "mallory", epoch=3, now=1000).split(".")
    tampered = ".".join([forged[0], *token.split(".")[1:]])  # alice's signature, mallory's name
    with pytest.raises(InvalidSession):
        accounts.read_token("s1", tampered, now=1030)
    with pytest.raises(InvalidSession, match="malformed"):
        accounts.read_token("s1", "alice")  # the bare name is never a session


def test_roles_table():
    accounts.authorize("annotator", "annotate")
    with pytest.raises(PermissionDenied, match="annotator.*ingest"):
        accounts.authorize("annotator", "ingest")
    with pytest.raises(PermissionDenied, match="nobody"):
        accounts.authorize(None, "annotate")
    accounts.authorize("reviewer", "review")


def test_sign_in_sign_out_and_reload(store):
    store.add_user("alice", "annotator", PASSWORD)
    token = store.sign_in("alice", PASSWORD)
    assert store.user_for_token(token) == "alice"  # a reload presents the token again
    assert store.user_for_token(token) == "alice"
    store.sign_out(token)
    with pytest.raises(InvalidSession, match="ended"):
        store.user_for_token(token)
    with pytest.raises(SignInRefused, match="wrong name or password"):
        store.sign_in("alice", "not it at all")
    with pytest.raises(SignInRefused, match="wrong name or password"):
        store.sign_in("nobody", PASSWORD)  # the same reason for an unknown name


def test_repeated_failures_are_throttled(store):
    store.add_user("alice", "annotator", PASSWORD)
    now = utcnow()
    for _ in range(accounts.FREE_ATTEMPTS):
        with pytest.raises(SignInRefused, match="wrong"):
            store.sign_in("alice", "guess guess", now=now)
    # Locked now: even the right password waits.
    with pytest.raises(SignInRefused, match="try again in"):
        store.sign_in("alice", PASSWORD, now=now)
    locked = store.get_user("alice")  # what admins see (Settings, grd users list)
    assert locked.failed_signins == accounts.FREE_ATTEMPTS
    assert locked.locked_until == now + timedelta(seconds=accounts.FIRST_LOCK_SECONDS)
    later = now + timedelta(seconds=accounts.MAX_LOCK_SECONDS + 1)
    assert store.user_for_token(store.sign_in("alice", PASSWORD, now=later)) == "alice"
    unlocked = store.get_user("alice")
    assert (unlocked.failed_signins, unlocked.locked_until) == (0, None)


def test_local_mode_until_the_first_user(store, populated_ids):
    expr, image = populated_ids
    # No users: local single-user mode, any name may annotate (as before this change).
    store.save_decision(expr, image, "negative", author="old-name", expected_revision=0)
    token = store.local_token("bob")
    assert store.user_for_token(token) == "bob"
    store.add_user("root", "admin", PASSWORD)
    with pytest.raises(InvalidSession):
        store.user_for_token(token)  # local tokens end when accounts begin
    with pytest.raises(PermissionDenied, match="not a user"):
        store.save_decision(expr, image, "unseen", author="stranger", expected_revision=1)
    assert store.get_decision(expr, image).author == "old-name"  # existing attribution kept


def test_roles_enforced_in_the_store(store, populated_ids):
    expr, image = populated_ids
    store.add_user("root", "admin", PASSWORD)
    store.add_user("ann", "annotator", PASSWORD)
    store.save_decision(expr, image, "negative", author="ann", expected_revision=0)
    with pytest.raises(PermissionDenied, match="annotator.* may not ingest"):
        store.authorize("ann", "ingest")
    store.authorize("root", "ingest")
    store.set_role("ann", "reviewer")
    store.authorize("ann", "review")
    store.remove_user("ann")
    assert store.get_decision(expr, image).author == "ann"  # decisions stay attributed
    with pytest.raises(PermissionDenied, match="last admin"):
        store.remove_user("root")
    with pytest.raises(DuplicateName):
        store.add_user("root", "admin", PASSWORD)


@pytest.mark.parametrize("bad", ["x" * 5000, "ann\x00ie"])
def test_bad_user_names_are_one_line_errors(store, bad):
    with pytest.raises(InvalidText) as info:
        store.add_user(bad, "annotator", PASSWORD)
    assert "\n" not in str(info.value)
    assert store.list_users() == []


@pytest.fixture
def populated_ids(store):
    group = store.create_group("dogs", "dog", "beach")
    image, _ = store.add_image(group.id, "a.png", 8, 6, "h1")
    expr = store.add_expression(group.id, "the dog")
    return expr.id, image.id

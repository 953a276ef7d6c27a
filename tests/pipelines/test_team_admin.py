"""An admin's actions from the app, authorized below the UI (SQLite and PostgreSQL): users and the
intake settings; annotators and reviewers are refused and nothing changes."""

from __future__ import annotations

import pytest

from labeler.accounts import PermissionDenied
from labeler.errors import LabelerError
from labeler.limits import InvalidText
from pipelines.services import team_admin

PASSWORD = "correct horse"


@pytest.fixture
def team(store):
    store.add_user("root", "admin", PASSWORD)
    store.add_user("ann", "annotator", PASSWORD)
    store.add_user("rev", "reviewer", PASSWORD)
    return store


def test_only_admins_change_the_intake_settings(team, tmp_path):
    for actor in ("ann", "rev", None, "stranger"):
        with pytest.raises(PermissionDenied):
            team_admin.set_intake_settings(
                team, actor=actor, ingest_roots=[str(tmp_path)], allow_private_urls=True
            )
    assert team_admin.intake_settings(team) == ([], False)
    saved = team_admin.set_intake_settings(
        team, actor="root", ingest_roots=[str(tmp_path), "", str(tmp_path)], allow_private_urls=True
    )
    assert saved == ([str(tmp_path.resolve())], True)
    assert team_admin.intake_settings(team) == saved


def test_bad_ingest_roots_are_refused_whole(team, tmp_path):
    team_admin.set_intake_settings(
        team, actor="root", ingest_roots=[str(tmp_path)], allow_private_urls=False
    )
    for bad, match in (
        ("relative/folder", "not an absolute path"),
        (str(tmp_path / "missing"), "not a folder on the server"),
        ("/" + "x" * 5000, "server folder"),
        ("/data\x00/x", "server folder"),
    ):
        with pytest.raises((LabelerError, InvalidText), match=match):
            team_admin.set_intake_settings(
                team, actor="root", ingest_roots=[str(tmp_path), bad], allow_private_urls=True
            )
    assert team_admin.intake_settings(team) == ([str(tmp_path.resolve())], False)  # unchanged


def test_only_admins_manage_users(team):
    with pytest.raises(PermissionDenied):
        team_admin.add_user(team, actor="ann", name="eve", role="admin", password=PASSWORD)
    with pytest.raises(PermissionDenied):
        team_admin.set_role(team, actor="rev", name="rev", role="admin")
    with pytest.raises(PermissionDenied):
        team_admin.remove_user(team, actor="ann", name="root")
    assert {u.name: u.role for u in team.list_users()} == {
        "root": "admin",
        "ann": "annotator",
        "rev": "reviewer",
    }
    team_admin.add_user(team, actor="root", name="bea", role="annotator", password=PASSWORD)
    team_admin.set_role(team, actor="root", name="bea", role="reviewer")
    with pytest.raises(LabelerError, match="your own account"):
        team_admin.remove_user(team, actor="root", name="root")
    team_admin.remove_user(team, actor="root", name="bea")
    assert sorted(u.name for u in team.list_users()) == ["ann", "rev", "root"]

"""The Settings page: an admin adds a user, changes a role and sets the ingest folders; a bad folder
is one line of error and changes nothing; annotators do not get the page."""

from __future__ import annotations

from pipelines.services import team_admin

PASSWORD = "correct horse"


def _team(store):
    store.add_user("ann", "admin", PASSWORD)  # the page tests sign in as "ann"
    store.add_user("bob", "annotator", PASSWORD)


def test_admin_manages_users_and_ingest_folders(page_app, demo_project, tmp_path):
    store = demo_project.store
    _team(store)
    at = page_app("settings").run()
    assert not at.exception
    at.text_input(key="new_user_name").input("cy")
    at.selectbox(key="new_user_role").set_value("reviewer")
    at.text_input(key="new_user_password").input(PASSWORD)
    at.button(key="FormSubmitter:add_user-Add user").click().run()
    assert not at.exception
    assert store.role_of("cy") == "reviewer"
    at.selectbox(key="edit_user").set_value("bob")
    at.selectbox(key="edit_user_role").set_value("reviewer")
    at.button(key="change_role").click().run()
    assert store.role_of("bob") == "reviewer"
    at.text_area(key="ingest_roots").input(str(tmp_path))
    at.button(key="FormSubmitter:intake_settings-Save ingest settings").click().run()
    assert team_admin.intake_settings(store) == ([str(tmp_path.resolve())], False)
    at.text_area(key="ingest_roots").input("not/absolute")
    at.button(key="FormSubmitter:intake_settings-Save ingest settings").click().run()
    assert any("not an absolute path" in e.value for e in at.error)
    assert team_admin.intake_settings(store) == ([str(tmp_path.resolve())], False)


def test_annotators_do_not_get_settings(page_app, demo_project):
    store = demo_project.store
    _team(store)
    store.add_user("root", "admin", PASSWORD)
    store.set_role("ann", "annotator")
    at = page_app("settings").run()
    assert not at.exception
    assert not at.text_area and any("for admins" in i.value for i in at.info)

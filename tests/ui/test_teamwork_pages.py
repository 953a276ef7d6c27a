"""Team work in the app: Next up offers assigned work first; a reviewer's rejection shows in its
annotator's overview with the reason."""

from __future__ import annotations

from tests.ui.conftest import APP_FILE
from ui.plain import md

PASSWORD = "correct horse"


def _signed_in(project, name):
    from streamlit.testing.v1 import AppTest

    from ui import resources

    resources.forget_project()
    at = AppTest.from_file(APP_FILE, default_timeout=60)
    at.query_params["session"] = project.store.sign_in(name, PASSWORD)
    return at.run()


def test_assigned_work_first_and_rejections_come_back(demo_project):
    store = demo_project.store
    for name, role in (("root", "admin"), ("ann", "annotator"), ("rev", "reviewer")):
        store.add_user(name, role, PASSWORD)
    *_, last_group = store.list_groups()
    expr = store.list_expressions(last_group.id)[-1]
    image = store.list_images(last_group.id)[0]
    store.assign(last_group.id, "ann", actor="root", expression_id=expr.id)
    store.save_decision(expr.id, image.id, "negative", author="ann", expected_revision=0)
    store.review(expr.id, image.id, "rejected", reviewer="rev", reason="a dog hides left")
    at = _signed_in(demo_project, "ann")
    assert not at.exception
    next_up = next(m.value for m in at.markdown if "Next up" in m.value)
    first = store.list_expressions(store.list_groups()[0].id)[0]
    assert first.id != expr.id
    assert md(expr.text) in next_up and md(first.text) not in next_up  # assigned work first
    assert any("a dog hides left (by rev)" in t.value for t in at.text)
    other = _signed_in(demo_project, "rev")
    assert not any("a dog hides left" in t.value for t in other.text)

"""Sign-in, overview and group sweep driven through AppTest; the store is checked after each action."""

from __future__ import annotations

from labeler.domain import DecisionStatus
from tests.ui.conftest import add_proposals


def _group_and_expression(project, text="the cat"):
    store = project.store
    expr = next(e for e in store.list_expressions() if e.text == text)
    images = [im.id for im in store.list_images(expr.group_id)]
    return expr, images


def _statuses(project, expr):
    return {i: d.status for i, d in project.store.decisions_for_expression(expr.id).items()}


def _go_sweep(app, expr):
    """Open the sweep page through the app's own navigation (the overview's next-up button)."""
    app.run()
    assert not app.exception
    app.button(key="next_up").click().run()
    assert not app.exception
    assert app.selectbox(key="sweep_expression").value == expr.id
    return app


def test_sign_in_is_required_and_names_the_annotator(demo_project):
    from streamlit.testing.v1 import AppTest

    from tests.ui.conftest import APP_FILE

    at = AppTest.from_file(APP_FILE, default_timeout=60).run()
    assert [t.value for t in at.title] == ["GRES labeler"]
    at.text_input(key="login_name").input("  Ann  Lee ")
    at.button[0].click().run()
    assert at.session_state["grd_annotator"] == "Ann Lee"
    assert not at.exception
    assert any("Next up" in m.value for m in at.markdown)


def test_overview_shows_progress_and_next_up_opens_the_sweep(app, demo_project):
    expr, images = _group_and_expression(demo_project)
    demo_project.store.save_decision(expr.id, images[0], "negative", author="bob", expected_revision=0)
    app.run()
    assert not app.exception
    next_up = next(m.value for m in app.markdown if "Next up" in m.value)
    assert "the cat" in next_up and "4 of 5 images" in next_up
    metric = next(m for m in app.metric if m.label == "Pairs decided")
    assert metric.value == "1 / 25"
    _go_sweep(app, expr)
    assert len([c for c in app.checkbox if c.key.startswith(f"sel-{expr.id}-")]) == 5


def test_accept_selected_proposals_then_undo(app, demo_project):
    expr, images = _group_and_expression(demo_project)
    add_proposals(demo_project, expr.id, present={images[0]: 0.9}, absent={images[1]: 0.2})
    _go_sweep(app, expr)
    for i in images[:3]:
        app.checkbox(key=f"sel-{expr.id}-{i}").check()
    app.run()
    assert app.button(key="accept").label == "Accept proposals (3)"
    app.button(key="accept").click().run()
    assert not app.exception
    st = _statuses(demo_project, expr)
    assert st[images[0]] is DecisionStatus.POSITIVE and st[images[1]] is DecisionStatus.NEGATIVE
    assert st[images[2]] is DecisionStatus.UNSEEN  # no proposal: left alone
    decision = demo_project.store.get_decision(expr.id, images[0])
    assert decision.author == "ann" and len(decision.instances) == 1
    assert any("Accepted proposals: 2 images" in s.value for s in app.success)
    assert not app.checkbox(key=f"sel-{expr.id}-{images[0]}").value  # selection cleared
    app.button(key="undo").click().run()
    st = _statuses(demo_project, expr)
    assert st[images[0]] is DecisionStatus.PROPOSED and st[images[1]] is DecisionStatus.PROPOSED


def test_confirm_all_remaining_negative_is_one_batch_and_spares_human_decisions(app, demo_project):
    expr, images = _group_and_expression(demo_project)
    pos = demo_project.store.save_decision(
        expr.id, images[0], "positive", [add_mask(demo_project, images[0])], author="bob",
        expected_revision=0)
    add_proposals(demo_project, expr.id, present={images[1]: 0.7}, absent={})
    _go_sweep(app, expr)
    assert app.button(key="remaining").label == "All remaining negative (4)"
    app.button(key="remaining").click().run()
    assert not app.exception
    st = _statuses(demo_project, expr)
    assert st[images[0]] is DecisionStatus.POSITIVE
    assert all(st[i] is DecisionStatus.NEGATIVE for i in images[1:])
    assert demo_project.store.get_decision(expr.id, images[0]).revision == pos.revision
    entries = [e for e in demo_project.store.audit(expression_id=expr.id) if e.action == "confirm_negative"]
    assert len(entries) == 4 and len({e.batch_id for e in entries}) == 1 and entries[0].author == "ann"
    progress = next(p for p in demo_project.store.expression_progress() if p.expression_id == expr.id)
    assert progress.complete
    app.button(key="undo").click().run()
    st = _statuses(demo_project, expr)
    assert st[images[1]] is DecisionStatus.PROPOSED and st[images[2]] is DecisionStatus.UNSEEN


def add_mask(project, image_id):
    from tests.ui.conftest import centre_box_rle

    return centre_box_rle(project.store.get_image(image_id), 0.2)


def test_tile_negative_button_decides_one_image(app, demo_project):
    expr, images = _group_and_expression(demo_project)
    _go_sweep(app, expr)
    app.button(key=f"neg-{expr.id}-{images[2]}").click().run()
    assert not app.exception
    st = _statuses(demo_project, expr)
    assert st[images[2]] is DecisionStatus.NEGATIVE
    assert sum(s is DecisionStatus.NEGATIVE for s in st.values()) == 1
    assert demo_project.store.get_decision(expr.id, images[2]).author == "ann"


def test_negative_on_a_pair_someone_changed_meanwhile_keeps_their_decision(app, demo_project):
    expr, images = _group_and_expression(demo_project)
    _go_sweep(app, expr)
    for i in images[:2]:
        app.checkbox(key=f"sel-{expr.id}-{i}").check()
    app.run()
    # bob decides image 1 after ann's grid was drawn
    demo_project.store.save_decision(expr.id, images[1], "positive", [add_mask(demo_project, images[1])],
                                     author="bob", expected_revision=0)
    app.button(key="negative").click().run()
    assert not app.exception
    st = _statuses(demo_project, expr)
    assert st[images[0]] is DecisionStatus.NEGATIVE
    assert st[images[1]] is DecisionStatus.POSITIVE
    assert demo_project.store.get_decision(expr.id, images[1]).author == "bob"
    assert any("changed meanwhile by bob" in w.value for w in app.warning)


def test_filters_and_order_follow_the_presence_score(app, demo_project):
    expr, images = _group_and_expression(demo_project)
    add_proposals(demo_project, expr.id, present={images[3]: 0.95, images[1]: 0.6}, absent={images[0]: 0.1})
    _go_sweep(app, expr)
    tiles = [c.key for c in app.checkbox if c.key.startswith("sel-")]
    assert tiles[:3] == [f"sel-{expr.id}-{i}" for i in (images[3], images[1], images[0])]
    app.selectbox(key="sweep_show").select("proposed").run()
    tiles = [c.key for c in app.checkbox if c.key.startswith("sel-")]
    assert len(tiles) == 3

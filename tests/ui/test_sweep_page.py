"""Sign-in, overview and group sweep driven through AppTest; the store is checked after each action.

The grid is a custom component (an ``UnknownElement`` to AppTest): these tests read what it shows
from its data and apply its events through :func:`ui.pages.sweep.apply_grid_event`, the function its
callback calls. Clicking the real component is ``test_browser.py``'s job.
"""

from __future__ import annotations

import json

from labeler.domain import DecisionStatus
from tests.ui.conftest import add_proposals, centre_box_rle
from ui.components.tile_grid import GridEvent
from ui.pages.sweep import apply_grid_event


def _group_and_expression(project, text="the cat"):
    store = project.store
    expr = next(e for e in store.list_expressions() if e.text == text)
    images = [im.id for im in store.list_images(expr.group_id)]
    return expr, images


def _statuses(project, expr):
    return {i: d.status for i, d in project.store.decisions_for_expression(expr.id).items()}


def _tiles(app) -> list[dict]:
    """What the grid component was asked to draw, in order."""
    grids = [
        e
        for e in app.get("bidi_component")
        if e.proto.id.endswith("-grid-" + str(app.session_state["grd_expression_id"]))
    ]
    assert len(grids) == 1
    return json.loads(grids[0].proto.json)["tiles"]


def _go_sweep(app, expr):
    """Open the sweep page through the app's own navigation (the overview's next-up button)."""
    app.run()
    assert not app.exception
    app.button(key="next_up").click().run()
    assert not app.exception
    assert app.selectbox(key="sweep_expression").value == expr.id
    return app


def _decide(app, project, expr, action, tiles):
    """A grid action as the browser sends it: ids and the revisions their tiles showed."""
    event = GridEvent(
        "decide", "e1", action, tuple(t["id"] for t in tiles), tuple(t["rev"] for t in tiles)
    )
    outcome = apply_grid_event(project.store, expr.id, event, author="ann")
    app.run()
    assert not app.exception
    return outcome


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
    demo_project.store.save_decision(
        expr.id, images[0], "negative", author="bob", expected_revision=0
    )
    app.run()
    assert not app.exception
    next_up = next(m.value for m in app.markdown if "Next up" in m.value)
    assert "the cat" in next_up and "4 of 5 images" in next_up
    pairs = sum(g.pairs for g in demo_project.store.group_progress())
    metric = next(m for m in app.metric if m.label == "Pairs decided")
    assert metric.value == f"1 / {pairs}"
    _go_sweep(app, expr)
    tiles = _tiles(app)
    assert sorted(t["id"] for t in tiles) == sorted(images)
    assert {t["id"]: t["kind"] for t in tiles}[images[0]] == "negative"
    assert all(t["url"] for t in tiles)


def test_grid_accept_turns_proposals_into_decisions(app, demo_project):
    expr, images = _group_and_expression(demo_project)
    add_proposals(demo_project, expr.id, present={images[0]: 0.9}, absent={images[1]: 0.2})
    _go_sweep(app, expr)
    tiles = _tiles(app)
    assert [t["id"] for t in tiles[:2]] == [images[0], images[1]]  # by presence score
    assert tiles[0]["kind"] == "proposed-present" and tiles[0]["proposed"]
    outcome = _decide(app, demo_project, expr, "accept", tiles[:3])
    assert outcome.count == 2
    st = _statuses(demo_project, expr)
    assert st[images[0]] is DecisionStatus.POSITIVE and st[images[1]] is DecisionStatus.NEGATIVE
    assert st[images[2]] is DecisionStatus.UNSEEN  # no proposal: left alone
    decision = demo_project.store.get_decision(expr.id, images[0])
    assert decision.author == "ann" and len(decision.instances) == 1
    shown = {t["id"]: t["kind"] for t in _tiles(app)}
    assert shown[images[0]] == "positive" and shown[images[1]] == "negative"


def test_confirm_all_remaining_negative_is_one_batch_and_undo_restores(app, demo_project):
    expr, images = _group_and_expression(demo_project)
    pos = demo_project.store.save_decision(
        expr.id,
        images[0],
        "positive",
        [centre_box_rle(demo_project.store.get_image(images[0]), 0.2)],
        author="bob",
        expected_revision=0,
    )
    add_proposals(demo_project, expr.id, present={images[1]: 0.7}, absent={})
    _go_sweep(app, expr)
    assert app.button(key="remaining").label == "All remaining negative (4)"
    app.button(key="remaining").click().run()
    assert not app.exception
    st = _statuses(demo_project, expr)
    assert st[images[0]] is DecisionStatus.POSITIVE
    assert all(st[i] is DecisionStatus.NEGATIVE for i in images[1:])
    assert demo_project.store.get_decision(expr.id, images[0]).revision == pos.revision
    entries = [
        e for e in demo_project.store.audit(expression_id=expr.id) if e.action == "confirm_negative"
    ]
    assert (
        len(entries) == 4 and len({e.batch_id for e in entries}) == 1 and entries[0].author == "ann"
    )
    progress = next(
        p for p in demo_project.store.expression_progress() if p.expression_id == expr.id
    )
    assert progress.complete
    assert any("Confirmed all remaining as negative: 4 images" in s.value for s in app.success)
    assert sum(t["kind"] == "negative" for t in _tiles(app)) == 4
    app.button(key="undo").click().run()
    st = _statuses(demo_project, expr)
    assert st[images[1]] is DecisionStatus.PROPOSED and st[images[2]] is DecisionStatus.UNSEEN
    assert st[images[0]] is DecisionStatus.POSITIVE
    assert app.button(key="undo").disabled


def test_grid_negative_on_a_pair_someone_changed_meanwhile_keeps_their_decision(app, demo_project):
    expr, images = _group_and_expression(demo_project)
    _go_sweep(app, expr)
    tiles = [t for t in _tiles(app) if t["id"] in images[:2]]
    # bob decides the second image after ann's grid was drawn
    demo_project.store.save_decision(
        expr.id,
        images[1],
        "positive",
        [centre_box_rle(demo_project.store.get_image(images[1]))],
        author="bob",
        expected_revision=0,
    )
    outcome = _decide(app, demo_project, expr, "negative", tiles)
    assert [c.author for c in outcome.conflicts] == ["bob"]
    st = _statuses(demo_project, expr)
    assert (
        st[images[1]] is DecisionStatus.POSITIVE
        and demo_project.store.get_decision(expr.id, images[1]).author == "bob"
    )
    assert {t["id"]: t["kind"] for t in _tiles(app)}[images[1]] == "positive"


def test_filters_and_order_follow_the_presence_score(app, demo_project):
    expr, images = _group_and_expression(demo_project)
    add_proposals(
        demo_project, expr.id, present={images[3]: 0.95, images[1]: 0.6}, absent={images[0]: 0.1}
    )
    _go_sweep(app, expr)
    assert [t["id"] for t in _tiles(app)][:3] == [images[3], images[1], images[0]]
    app.selectbox(key="sweep_show").select("proposed").run()
    assert [t["id"] for t in _tiles(app)] == [images[3], images[1], images[0]]
    app.selectbox(key="sweep_show").select("undecided").run()
    assert len(_tiles(app)) == 5

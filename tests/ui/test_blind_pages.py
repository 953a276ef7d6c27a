"""Blind double assignment on the pages: the second annotator (the tests sign in as ``ann``) finds
their blind pairs on the overview, sees them undecided in the sweep and the editor although bob
decided them, and saves their own judgement without touching bob's decision; renderings are kept
per viewer."""

from __future__ import annotations

import json

from labeler.domain import DecisionStatus, ExpressionDecision, Instance
from tests.ui.conftest import centre_box_rle
from ui.components.tile_grid import GridEvent
from ui.pages.sweep import apply_grid_event


def _blind_setup(project):
    """Image 0 of the first expression is blind (bob first, ann second); bob decided it positive
    and image 1 (not blind) negative."""
    store = project.store
    group = store.list_groups()[0]
    expr = store.list_expressions(group.id)[0]
    blind, other = store.list_images(group.id)[:2]
    assert store.assign_blind([(expr.id, blind.id)], "bob", "ann", actor="") == (1, 0)
    store.save_decision(
        expr.id, blind.id, "positive", [centre_box_rle(blind)], author="bob", expected_revision=0
    )
    store.save_decision(expr.id, other.id, "negative", author="bob", expected_revision=0)
    return expr, blind, other


def _tiles(app, expr) -> dict[int, dict]:
    [grid] = [e for e in app.get("bidi_component") if e.proto.id.endswith(f"-grid-{expr.id}")]
    return {t["id"]: t for t in json.loads(grid.proto.json)["tiles"]}


def test_the_second_annotator_sweeps_their_blind_pair_undecided(app, demo_project):
    store = demo_project.store
    expr, blind, other = _blind_setup(demo_project)
    app.run()
    assert not app.exception
    assert any(s.value == "Blind pairs to do (1)" for s in app.subheader)
    assert any("pair to judge" in t.value and expr.text in t.value for t in app.text)
    app.button(key="blind_next").click().run()
    assert not app.exception
    tiles = _tiles(app, expr)
    assert (tiles[blind.id]["kind"], tiles[blind.id]["rev"]) == ("unseen", 0)  # bob's + hidden
    assert tiles[blind.id]["label"] == "blind · unseen" and tiles[other.id]["label"].startswith(
        "neg"
    )
    assert tiles[other.id]["kind"] == "negative"  # not blind: shown as it is
    progress = app.get("progress")[0].proto.text
    assert "**1 / " in progress and "0 positive · 1 negative" in progress  # no hidden count

    event = GridEvent("decide", "e1", "negative", (blind.id,), (tiles[blind.id]["rev"],))
    outcome = apply_grid_event(store, expr.id, event, author="ann")
    assert outcome.count == 1
    app.run()
    assert not app.exception
    tiles = _tiles(app, expr)
    assert (tiles[blind.id]["kind"], tiles[blind.id]["rev"]) == ("negative", 1)  # hers
    main = store.get_decision(expr.id, blind.id)
    assert (main.status, main.author, main.revision) == (DecisionStatus.POSITIVE, "bob", 1)
    assert store.blind_todo("ann") == {}
    assert store.blind_judgements()[(expr.id, blind.id)]["ann"] == ("negative", [])


def test_the_editor_shows_the_second_annotator_only_their_own_judgement(app, demo_project):
    store = demo_project.store
    expr, blind, _ = _blind_setup(demo_project)
    app.run()
    app.button(key="blind_next").click().run()
    app.button(key="edit_next").click().run()
    app.session_state["grd_image_id"] = blind.id
    app.run()
    assert not app.exception
    assert any(m.value.startswith("Saved: :gray-badge[unseen] (rev. 0)") for m in app.markdown)
    assert any(m.value == "**Objects (0)**" for m in app.markdown)  # bob's mask is not loaded
    app.button(key="mark_negative").click().run()
    assert not app.exception
    assert any("Saved as negative (revision 1)" in s.value for s in app.success)
    assert store.get_decision(expr.id, blind.id).author == "bob"
    mine = store.get_decision(expr.id, blind.id, viewer="ann")
    assert (mine.status, mine.author) == (DecisionStatus.NEGATIVE, "ann")


def test_renderings_are_kept_per_viewer(demo_project):
    """Bob's tile of a pair and ann's blind view of it share expression, revision and time: the
    cache must still not hand ann bob's picture."""
    from datetime import UTC, datetime

    from ui import resources

    store = demo_project.store
    group = store.list_groups()[0]
    expr = store.list_expressions(group.id)[0]
    image = store.list_images(group.id)[0]
    path = str(demo_project.image_path(image))
    at = datetime(2026, 1, 1, tzinfo=UTC)
    bobs = ExpressionDecision(
        expr.id, image.id, DecisionStatus.POSITIVE, (Instance(centre_box_rle(image)),), 1, "bob", at
    )
    anns = ExpressionDecision(expr.id, image.id, DecisionStatus.NEGATIVE, (), 1, "ann", at)
    cache = resources._Renderings(16)
    assert resources.tile_jpeg(path, bobs, cache, viewer="bob") != resources.tile_jpeg(
        path, anns, cache, viewer="ann"
    )
    fresh = resources.tile_jpeg(path, anns, resources._Renderings(1), viewer="ann")
    assert resources.tile_jpeg(path, anns, cache, viewer="ann") == fresh


def test_all_remaining_negative_covers_only_the_blind_pairs_of_a_second_annotator(
    app, demo_project
):
    store = demo_project.store
    expr, blind, other = _blind_setup(demo_project)
    before = {i: d.revision for i, d in store.decisions_for_expression(expr.id).items()}
    app.run()
    app.button(key="blind_next").click().run()
    remaining = app.button(key="remaining")
    assert remaining.label == "All remaining negative (1)"  # her one blind pair, not the group
    remaining.click().run()
    assert not app.exception
    assert {i: d.revision for i, d in store.decisions_for_expression(expr.id).items()} == before
    mine = store.get_decision(expr.id, blind.id, viewer="ann")
    assert (mine.status, mine.author) == (DecisionStatus.NEGATIVE, "ann")
    assert app.button(key="remaining").label == "All remaining negative (0)"

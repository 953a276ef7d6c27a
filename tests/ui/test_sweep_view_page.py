"""The sweep holds its order while the annotator decides, re-sorts on request, scales tiles, says
what scores mean, and previews a tile large (AppTest; the real keys are test_browser.py's job)."""

from __future__ import annotations

from tests.ui.conftest import add_proposals
from tests.ui.test_sweep_page import _decide, _go_sweep, _group_and_expression, _tiles


def test_a_decision_keeps_the_order_until_re_sort(app, demo_project):
    expr, images = _group_and_expression(demo_project)
    add_proposals(
        demo_project, expr.id, present={images[3]: 1.4, images[1]: 1.1}, absent={images[0]: 0.3}
    )
    _go_sweep(app, expr)
    before = [t["id"] for t in _tiles(app)]
    assert before[:3] == [images[3], images[1], images[0]]
    first = _tiles(app)[0]
    _decide(app, demo_project, expr, "negative", [first])  # its score goes: it would sort last
    after = _tiles(app)
    assert [t["id"] for t in after] == before
    assert after[0]["kind"] == "negative"
    app.button(key="resort").click().run()
    assert not app.exception
    assert [t["id"] for t in _tiles(app)] != before
    assert [t["id"] for t in _tiles(app)][:2] == [images[1], images[0]]


def test_scores_say_what_they_mean_and_tiles_follow_the_size(app, demo_project):
    expr, images = _group_and_expression(demo_project)
    add_proposals(demo_project, expr.id, present={images[0]: 1.25}, absent={images[1]: 0.4})
    _go_sweep(app, expr)
    tile = next(t for t in _tiles(app) if t["id"] == images[0])
    assert tile["label"] == "model: present · score 1.25 (present above 1.00)"
    assert "above 1.00" in tile["help"]
    assert any("Model scores" in c.value for c in app.caption)
    app.selectbox(key="sweep_tile_size").select("large").run()
    assert not app.exception
    assert len(_tiles(app)) == len(images)


def test_preview_opens_large_with_the_badge(app, demo_project):
    expr, images = _group_and_expression(demo_project)
    add_proposals(demo_project, expr.id, present={images[0]: 1.25}, absent={})
    _go_sweep(app, expr)
    app.session_state["grd_sweep_preview"] = (expr.id, images[0])
    app.run()
    assert not app.exception
    assert any("model: present · score 1.25" in m.value for m in app.markdown)
    assert app.button(key="preview_open")

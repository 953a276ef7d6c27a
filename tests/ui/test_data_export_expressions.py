"""The Data page through AppTest: the Export tab offers every format and says what it writes and
leaves out before the download; expressions are labelled by position, deleted only after a
confirmation when people decided them; the page keeps its tab."""

from __future__ import annotations

import zipfile
from io import BytesIO

from exports.registry import FORMATS


def _decide_one_expression(store):
    group = store.list_groups()[0]
    expr = store.list_expressions(group.id)[0]
    for image in store.list_images(group.id):
        store.save_decision(expr.id, image.id, "negative", author="ann", expected_revision=0)
    return group, expr


def test_export_tab_offers_every_format_with_a_summary_first(page_app, demo_project):
    _decide_one_expression(demo_project.store)
    at = page_app("data")
    at.session_state["data_tab"] = "Export"
    at.run()
    assert not at.exception
    assert [o.split(":")[0] for o in at.radio(key="export_format").options] == list(FORMATS)
    before = [i.value for i in at.info]
    assert any(v.startswith("coco writes") and "1 complete expression" in v for v in before)
    assert any("incomplete expression" in c.value for c in at.caption)
    for fmt in FORMATS:
        at.radio(key="export_format").set_value(fmt).run()
        shown = [*at.info, *at.warning]  # a warning when nothing decided would be written
        assert any(i.value.startswith(f"{fmt} writes") for i in shown), fmt
        at.button(key="prepare_export").click().run()
        assert not at.exception
        files = at.session_state["export_files"]
        bundle = next(f for f in files if f.file_name.endswith(f"_{fmt}.zip"))
        names = zipfile.ZipFile(BytesIO(bundle.data)).namelist()
        assert "attribution.json" in names, (fmt, names)
        assert at.session_state["data_tab"] == "Export"


def test_expressions_by_position_and_delete_after_confirmation(page_app, demo_project):
    store = demo_project.store
    group, expr = _decide_one_expression(store)
    at = page_app("data")
    at.session_state["data_tab"] = "Expressions"
    at.run()
    labels = [t.label for t in at.text_input if t.key.startswith("expr-text-")]
    assert labels == [f"Expression {k}" for k in range(1, len(labels) + 1)]
    at.button(key=f"expr-delete-{expr.id}").click().run()
    assert any("human decisions; delete it with force" in w.value for w in at.warning)
    assert store.get_expression(expr.id)
    at.button(key=f"expr-delete-force-{expr.id}").click().run()
    assert expr.id not in {e.id for e in store.list_expressions(group.id)}
    assert any("kept in the audit log" in s.value for s in at.success)
    assert at.session_state["data_tab"] == "Expressions"
    at.text_input(key="new_expression").input("x" * 600).run()
    at.button(key="add_expression").click().run()
    assert at.session_state["data_tab"] == "Expressions"

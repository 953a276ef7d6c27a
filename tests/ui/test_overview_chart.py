"""The overview chart lists expressions in the table's order with whole labels, and a table of
eleven expressions is drawn whole (no scroll bar of its own)."""

import pandas as pd

from ui.overview_chart import (
    LABEL_LIMIT,
    page_count,
    page_order,
    page_slice,
    progress_chart,
    table_height,
)


def test_chart_follows_the_table_order_with_whole_labels():
    labels = ["zebra on grass · g1", "a dog · g1", "the " + "long " * 20 + "one · g2"]
    table = pd.DataFrame(
        {"positive": [1, 0, 2], "negative": [0, 3, 1], "proposed": [2, 0, 0], "unseen": [1, 1, 1]}
    )
    spec = progress_chart(table, labels).to_dict()
    assert spec["encoding"]["y"]["sort"] == labels  # not alphabetical
    assert spec["encoding"]["y"]["axis"]["labelLimit"] == LABEL_LIMIT
    assert spec["encoding"]["color"]["scale"]["domain"] == [
        "positive",
        "negative",
        "proposed",
        "unseen",
    ]


def test_a_usual_table_has_no_scroll_bar_of_its_own():
    assert table_height(11) == "content"
    assert isinstance(table_height(500), int)


def test_pages_cover_every_row_once_and_clamp_at_the_ends():
    rows = 85
    assert page_count(rows, 40) == 3 and page_count(0, 40) == 1
    seen = [k for page in range(1, 4) for k in range(rows)[page_slice(rows, page, 40)]]
    assert seen == list(range(rows))
    assert page_slice(rows, 0, 40) == page_slice(rows, 1, 40)  # before the first: the first
    assert page_slice(rows, 9, 40) == slice(80, 85)  # past the last: the last


def test_least_done_first_sorts_by_fraction_and_keeps_ties_in_table_order():
    fractions = [0.5, 0.0, 1.0, 0.0, 0.25]
    assert page_order(fractions, "group") == [0, 1, 2, 3, 4]
    assert page_order(fractions, "least done first") == [1, 3, 4, 0, 2]


def test_a_large_project_shows_one_page_of_expressions(demo_project, app):
    """45 expressions: the chart and the table draw 40, the next page the other 5, and "least done
    first" puts the expression with a decision last."""
    store = demo_project.store
    group = store.list_groups()[0]
    image = store.list_images(group.id)[0]
    while len(store.list_expressions()) < 45:
        store.add_expression(group.id, f"thing number {len(store.list_expressions())}")
    first = store.expression_progress()[0]
    store.save_decision(
        first.expression_id, image.id, "negative", author="ann", expected_revision=0
    )

    def shown(at) -> list[str]:
        table = next(d for d in at.dataframe if "expression" in d.value.columns)
        return list(table.value["expression"])

    app.run()
    assert not app.exception
    assert len(shown(app)) == 40 and shown(app)[0] == first.text
    app.number_input(key="overview_page").set_value(2).run()
    assert len(shown(app)) == 5
    app.number_input(key="overview_page").set_value(1).run()
    app.selectbox(key="overview_order").select("least done first").run()
    assert first.text not in shown(app)  # it is the most complete: on the last page now
    app.number_input(key="overview_page").set_value(2).run()
    assert shown(app)[-1] == first.text

"""The overview chart lists expressions in the table's order with whole labels, and a table of
eleven expressions is drawn whole (no scroll bar of its own)."""

import pandas as pd

from ui.overview_chart import LABEL_LIMIT, progress_chart, table_height


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

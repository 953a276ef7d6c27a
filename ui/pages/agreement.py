"""Agreement between annotators, overall and per expression, and accuracy on gold pairs.

Thin: the numbers come from ``labeler/agreement.py`` over ``store.judgements()`` (each person's last
own save of each pair); reviewers and admins see this page, annotators are told it is not theirs
(they stay blind to one another's judgements). All names and texts are shown as plain text.
"""

from __future__ import annotations

import math

import pandas as pd
import streamlit as st

from labeler.agreement import agreement_by_expression, annotator_agreement, gold_accuracy
from ui import resources, state

#: Roles that see the page; in local single-user mode (no users) there is no role and it shows.
_VIEWERS = ("admin", "reviewer")


def _number(x: float) -> float | None:
    return None if math.isnan(x) else round(x, 3)


def _pair_rows(pairs) -> list[dict]:
    return [
        {
            "annotator A": p.annotator_a,
            "annotator B": p.annotator_b,
            "shared pairs": p.shared,
            "kappa": _number(p.kappa),
            "both positive": p.both_positive,
            "mean IoU": _number(p.mean_iou),
        }
        for p in pairs
    ]


def render() -> None:
    st.title("Agreement")
    store = resources.project().store
    if store.has_users() and state.role() not in _VIEWERS:
        st.info("Agreement is shown to reviewers and admins.")
        return
    judgements = store.judgements()
    pairs = annotator_agreement(judgements)
    if not pairs:
        st.info("No pair was judged by two annotators yet.")
        return
    st.caption(
        "Cohen's kappa on presence over the pairs both annotators judged; mean IoU of the union "
        "masks on the pairs both called positive."
    )
    overall = pd.DataFrame(_pair_rows(pairs))
    st.dataframe(overall, hide_index=True, key="agreement_pairs")
    chart = overall.assign(pair=overall["annotator A"] + " / " + overall["annotator B"])
    st.bar_chart(chart.set_index("pair")[["kappa", "mean IoU"]], stack=False)

    st.subheader("Per expression")
    rows = []
    for expression_id, by in agreement_by_expression(judgements).items():
        text = store.get_expression(expression_id).text
        rows += [{"expression": text, **row} for row in _pair_rows(by)]
    st.dataframe(pd.DataFrame(rows), hide_index=True, key="agreement_expressions")

    gold = gold_accuracy(judgements, store.gold())
    st.subheader("Gold")
    if not gold:
        st.text("No gold pair was judged yet (an admin marks gold with `grd gold`).")
        return
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "annotator": g.annotator,
                    "gold judged": g.judged,
                    "correct": g.correct,
                    "accuracy": _number(g.accuracy),
                }
                for g in gold
            ]
        ),
        hide_index=True,
        key="agreement_gold",
    )

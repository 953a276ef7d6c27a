"""Agreement between annotators, overall, per expression and per annotator, and accuracy on gold.

Thin: the numbers come from ``labeler/agreement.py`` over ``store.agreement_judgements()``: the
blind pairs (each pair's decision against its second annotator's blind judgement) once any is
assigned, else each person's last own save of each pair; the page says which. Gold accuracy counts
every judgement a person made (``store.all_judgements()``). Reviewers and admins see this page,
annotators are told it is not theirs (they stay blind to one another's judgements). All names and
texts are shown as plain text.
"""

from __future__ import annotations

import math

import pandas as pd
import streamlit as st

from labeler.agreement import (
    agreement_by_expression,
    annotator_agreement,
    gold_accuracy,
    per_annotator,
)
from labeler.store.blind import BLIND_SOURCE
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
    source, judgements = store.agreement_judgements()
    st.text(
        "Source: blind pairs (each pair's decision against its second annotator's blind judgement)"
        if source == BLIND_SOURCE
        else "Source: each annotator's last own save of each pair (no blind pairs are assigned; "
        "the later of two saves may have seen the earlier)"
    )
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

    everything, gold_pairs = store.all_judgements(), store.gold()
    st.subheader("Per annotator")
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "annotator": a.annotator,
                    "pairs judged": a.judged,
                    "compared": a.compared,
                    "agreement": _number(a.agreement),
                    "gold accuracy": _number(a.gold_accuracy),
                }
                for a in per_annotator(judgements, gold_pairs, everything)
            ]
        ),
        hide_index=True,
        key="agreement_annotators",
    )
    st.caption(
        "Agreement: the share of comparisons (one per other annotator of a pair) with the same "
        "presence call. Gold accuracy counts every judgement of the annotator, blind or not."
    )
    gold = gold_accuracy(everything, gold_pairs)
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

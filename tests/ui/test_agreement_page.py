"""The Agreement page: hand-computed kappa and IoU for reviewers and admins (and in local mode);
annotators are not shown one another's judgements."""

from __future__ import annotations

import pytest

from tests.ui.conftest import centre_box_rle

PASSWORD = "correct horse"


def _two_annotators(store):
    """ann: + + - -, bea: + - - - on one expression's first four images (same mask where both +).
    p_o = 3/4, p_e = .5 * .25 + .5 * .75 = .5, kappa = (.75 - .5) / (1 - .5) = .5; IoU 1.0."""
    group = store.list_groups()[0]
    expr = store.list_expressions(group.id)[0]
    images = store.list_images(group.id)[:4]
    plans = {"ann": "++--", "bea": "+---"}
    for author, plan in plans.items():
        for image, sign in zip(images, plan, strict=True):
            masks = [centre_box_rle(image)] if sign == "+" else []
            status = "positive" if sign == "+" else "negative"
            revision = store.get_decision(expr.id, image.id).revision
            store.save_decision(
                expr.id, image.id, status, masks, author=author, expected_revision=revision
            )
    return expr


def test_agreement_page_shows_hand_computed_kappa_and_iou(page_app, demo_project):
    expr = _two_annotators(demo_project.store)
    at = page_app("agreement").run()
    assert not at.exception
    overall, per_expression, *_ = (d.value for d in at.dataframe)
    [row] = overall.to_dict("records")
    assert (row["annotator A"], row["annotator B"], row["shared pairs"]) == ("ann", "bea", 4)
    assert row["kappa"] == pytest.approx(0.5)
    assert (row["both positive"], row["mean IoU"]) == (1, pytest.approx(1.0))
    [by_expr] = per_expression.to_dict("records")
    assert by_expr["expression"] == expr.text and by_expr["kappa"] == pytest.approx(0.5)
    assert any("No gold pair" in t.value for t in at.text)


def test_gold_accuracy_on_the_page(page_app, demo_project):
    store = demo_project.store
    expr = _two_annotators(store)
    image = store.list_images(store.list_groups()[0].id)[1]  # bea saved last: "negative"
    store.mark_gold(expr.id, image.id, actor="")
    at = page_app("agreement").run()
    assert not at.exception
    gold = at.dataframe[-1].value.to_dict("records")
    assert [(g["annotator"], g["gold judged"], g["correct"]) for g in gold] == [
        ("ann", 1, 0),
        ("bea", 1, 1),
    ]


def test_annotators_do_not_see_agreement(page_app, demo_project):
    store = demo_project.store
    _two_annotators(store)  # saved in local mode, before accounts
    store.add_user("root", "admin", PASSWORD)
    store.add_user("ann", "annotator", PASSWORD)
    at = page_app("agreement").run()  # signed in as ann
    assert not at.exception
    assert not at.dataframe
    assert any("reviewers and admins" in i.value for i in at.info)
    store.set_role("ann", "reviewer")
    at = page_app("agreement").run()
    assert at.dataframe and not at.info


def test_agreement_page_compares_blind_pairs_once_assigned(page_app, demo_project):
    """Four blind pairs, ann first and bea second: ann + + - -, bea + - - - (same mask where both
    are positive): kappa .5, IoU 1.0 as above. ann's and bob's saves of an open pair (which the
    last-saves source would compare) are left out."""
    store = demo_project.store
    group = store.list_groups()[0]
    expr = store.list_expressions(group.id)[0]
    images = store.list_images(group.id)[:5]
    store.assign_blind([(expr.id, i.id) for i in images[:4]], "ann", "bea", actor="")
    for author, plan in {"ann": "++--", "bea": "+---"}.items():
        for image, sign in zip(images, plan, strict=False):
            masks = [centre_box_rle(image)] if sign == "+" else []
            status = "positive" if sign == "+" else "negative"
            store.save_decision(
                expr.id, image.id, status, masks, author=author, expected_revision=0
            )
    store.save_decision(expr.id, images[4].id, "negative", author="ann", expected_revision=0)
    store.save_decision(expr.id, images[4].id, "negative", author="bob", expected_revision=1)
    at = page_app("agreement").run()
    assert not at.exception
    assert any(t.value.startswith("Source: blind pairs") for t in at.text)
    overall, per_expression, people, *_ = (d.value for d in at.dataframe)
    [row] = overall.to_dict("records")
    assert (row["annotator A"], row["annotator B"], row["shared pairs"]) == ("ann", "bea", 4)
    assert row["kappa"] == pytest.approx(0.5) and row["mean IoU"] == pytest.approx(1.0)
    assert [r["kappa"] for r in per_expression.to_dict("records")] == [pytest.approx(0.5)]
    by_name = {r["annotator"]: r for r in people.to_dict("records")}
    assert set(by_name) == {"ann", "bea"}  # bob judged no blind pair
    assert (by_name["ann"]["pairs judged"], by_name["ann"]["agreement"]) == (4, 0.75)

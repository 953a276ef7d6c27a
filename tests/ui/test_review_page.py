"""The Review page: a reviewer accepts and rejects decided pairs; the rejection (with its reason)
reaches the annotator's queue; a reject without a reason is refused and nothing is written;
annotators do not get the page."""

from __future__ import annotations

PASSWORD = "correct horse"


def _decided(store, author: str, n: int = 2):
    group = store.list_groups()[0]
    expr = store.list_expressions(group.id)[0]
    images = store.list_images(group.id)[:n]
    for image in images:
        store.save_decision(expr.id, image.id, "negative", author=author, expected_revision=0)
    return expr, images


def _team(store):
    store.add_user("root", "admin", PASSWORD)
    store.add_user("ann", "reviewer", PASSWORD)  # the page tests sign in as "ann"
    store.add_user("bob", "annotator", PASSWORD)


def test_reviewer_accepts_and_rejects_with_a_reason(page_app, demo_project):
    store = demo_project.store
    _team(store)
    expr, (first, second) = _decided(store, "bob")
    at = page_app("review").run()
    assert not at.exception
    assert at.selectbox(key="review_expression").value == expr.id
    assert any("2 decided pairs" in t.value for t in at.text)
    assert {b.key for b in at.button} >= {
        "accept_first",
        "reject_first",
        f"reject_{expr.id}_{second.id}",
    }
    at.text_input(key="review_reason_first").input("the dog is on the left")  # the first, large
    at.button(key="reject_first").click().run()
    assert not at.exception
    [back] = store.rejections_for("bob")
    assert (back.image_id, back.reason, back.reviewer) == (
        first.id,
        "the dog is on the left",
        "ann",
    )
    at.button(key="accept_first").click().run()  # the next pair took its place
    assert store.reviewed_pairs() == {(expr.id, second.id)}
    assert any("Nothing waits for review" in i.value for i in at.info)


def test_reject_without_a_reason_is_refused(page_app, demo_project):
    store = demo_project.store
    _team(store)
    expr, (_, second) = _decided(store, "bob")
    at = page_app("review").run()
    at.button(key=f"reject_{expr.id}_{second.id}").click().run()  # in the grid
    assert not at.exception
    assert any("reason" in e.value for e in at.error)
    at.button(key="reject_first").click().run()
    assert any("reason" in e.value for e in at.error)
    assert store.latest_reviews(expr.id) == {}


def test_annotators_do_not_get_the_review_page(page_app, demo_project):
    store = demo_project.store
    _team(store)
    store.set_role("ann", "annotator")
    _decided(store, "bob")
    at = page_app("review").run()
    assert not at.exception
    assert not at.button and any("reviewers and admins" in i.value for i in at.info)

"""Hostile input at the store (issue 20): every text field refuses over-long and NUL text the same
on SQLite and PostgreSQL (``InvalidText`` before any SQL runs, never a ``DataError``, nothing
written); identical instances of one decision are merged and too many are refused."""

import pytest

from labeler.limits import TEXT_LIMITS, InvalidText

# ``store`` is the shared fixture of tests/conftest.py: SQLite and PostgreSQL.

TOO_LONG = {field: "x" * (limit + 1) for field, limit in TEXT_LIMITS.items()}


@pytest.mark.parametrize(
    ("field", "call"),
    [
        ("group name", lambda s, v: s.create_group(v)),
        ("target keyword", lambda s, v: s.create_group("g2", target_keyword=v)),
        ("scene keyword", lambda s, v: s.create_group("g2", scene_keyword=v)),
        ("image file", lambda s, v: s.add_image(s.group_by_name("g").id, v, 4, 4, "h2")),
        ("owner", lambda s, v: s.add_image(s.group_by_name("g").id, "a.png", 4, 4, "h2", owner=v)),
        (
            "license",
            lambda s, v: s.add_image(s.group_by_name("g").id, "a.png", 4, 4, "h2", license=v),
        ),
        (
            "source URL",
            lambda s, v: s.add_image(s.group_by_name("g").id, "a.png", 4, 4, "h2", source_url=v),
        ),
        ("expression", lambda s, v: s.add_expression(s.group_by_name("g").id, v)),
        ("user name", lambda s, v: s.add_expression(s.group_by_name("g").id, "e2", created_by=v)),
    ],
)
@pytest.mark.parametrize("kind", ["too long", "NUL"])
def test_each_text_field_refuses_long_and_nul_text_on_both_databases(store, field, call, kind):
    store.create_group("g")
    before = store.counts()
    value = TOO_LONG[field] if kind == "too long" else "a\x00b"
    with pytest.raises(InvalidText, match=field) as info:
        call(store, value)
    assert "\n" not in str(info.value)
    assert store.counts() == before


def test_control_characters_in_expression_text_are_refused_but_whitespace_is_folded(store):
    g = store.create_group("g")
    with pytest.raises(InvalidText, match="control character"):
        store.add_expression(g.id, "the dog\x1b[31m")
    assert store.add_expression(g.id, "the\n dog\t").text == "the dog"


def test_text_at_the_limit_is_accepted(store):
    g = store.create_group("n" * TEXT_LIMITS["group name"])
    assert store.add_expression(g.id, "e" * TEXT_LIMITS["expression"]).id


# --- instances of one decision: duplicates merged, too many refused ---------------------------


def _decision_setup(store):
    import numpy as np

    from labeler import rle

    g = store.create_group("g")
    image = store.add_image(g.id, "a.png", 8, 6, "h")[0]
    e = store.add_expression(g.id, "the dog")
    one = np.zeros((6, 8), bool)
    one[1:3, 1:3] = True
    two = np.zeros((6, 8), bool)
    two[4:6, 5:8] = True
    return e, image, rle.encode(one), rle.encode(two)


def test_identical_instances_are_merged_in_first_seen_order(store):
    e, image, one, two = _decision_setup(store)
    saved = store.save_decision(
        e.id, image.id, "positive", [one, two, one, two, one], author="a", expected_revision=0
    )
    assert [i.rle["counts"] for i in saved.instances] == [one["counts"], two["counts"]]


def test_more_instances_than_the_limit_are_refused_before_decoding(store):
    from labeler.errors import InvalidMask
    from labeler.limits import MAX_INSTANCES_PER_DECISION

    e, image, one, _ = _decision_setup(store)
    before = store.counts()
    with pytest.raises(InvalidMask, match=f"the limit is {MAX_INSTANCES_PER_DECISION}"):
        store.save_decision(
            e.id, image.id, "positive", [one] * 100_002, author="a", expected_revision=0
        )
    assert store.counts() == before


@pytest.mark.parametrize(
    ("field", "kwargs"),
    [("user name", {"author": "a\x00"}), ("model version", {"model_version": "m" * 201})],
)
def test_a_decision_author_and_model_version_are_checked(store, field, kwargs):
    e, image, one, _ = _decision_setup(store)
    before = store.counts()
    with pytest.raises(InvalidText, match=field):
        store.save_decision(
            e.id, image.id, "positive", [one], expected_revision=0, **{"author": "a", **kwargs}
        )
    assert store.counts() == before

"""The store refuses over-long and control-character texts first, the same on SQLite and PostgreSQL
(where they used to fail inside a transaction), and keeps what was already saved."""

from __future__ import annotations

import pytest

from labeler.limits import InvalidText


@pytest.mark.parametrize("bad", ["x" * 5000, "dog\x00beach"])
def test_group_names(store, bad):
    store.create_group("kept", "dog", "beach")
    with pytest.raises(InvalidText) as info:
        store.create_group(bad, "dog", "beach")
    assert "\n" not in str(info.value) and "group name" in str(info.value)
    assert [g.name for g in store.list_groups()] == ["kept"]


@pytest.mark.parametrize("bad", ["y" * 5000, "the dog\x00"])
def test_expressions_and_authors(store, bad):
    group = store.create_group("g", "dog", "beach")
    image, _ = store.add_image(group.id, "a.png", 8, 8, "h")
    expr = store.add_expression(group.id, "the dog")
    store.save_decision(expr.id, image.id, "negative", author="ann", expected_revision=0)
    with pytest.raises(InvalidText, match="expression"):
        store.add_expression(group.id, bad)
    with pytest.raises(InvalidText, match="expression"):
        store.edit_expression(expr.id, bad, "ann")
    with pytest.raises(InvalidText, match="user name"):
        store.save_decision(expr.id, image.id, "unseen", author=bad, expected_revision=1)
    assert [e.text for e in store.list_expressions(group.id)] == ["the dog"]
    assert store.get_decision(expr.id, image.id).author == "ann"


def test_image_fields(store):
    group = store.create_group("g", "dog", "beach")
    with pytest.raises(InvalidText, match="source URL"):
        store.add_image(group.id, "a.png", 8, 8, "h", source_url="http://x/" + "a" * 5000)
    with pytest.raises(InvalidText, match="owner"):
        store.add_image(group.id, "a.png", 8, 8, "h", owner="bob\x00")
    assert store.list_images() == []

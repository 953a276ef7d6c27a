"""``Store.import_decisions``: one transaction, checked like ``save_decision``, undoable."""

import numpy as np
import pytest

from labeler import rle
from labeler.errors import InvalidMask, NotFound, StaleRevision

# ``store`` is the shared fixture of tests/conftest.py: SQLite and PostgreSQL.


def _setup(store):
    g = store.create_group("g", "dog")
    other = store.create_group("h")
    images = [store.add_image(g.id, f"f{i}.png", 8, 6, f"h{i}")[0] for i in range(3)]
    stranger = store.add_image(other.id, "x.png", 8, 6, "hx")[0]
    e = store.add_expression(g.id, "the dog")
    m = np.zeros((6, 8), bool)
    m[1:4, 2:6] = True
    m[2, 3] = False
    return e, images, stranger, rle.encode(m)


def test_inserts_all_rows_with_audit_and_undo(store):
    e, images, _, rle = _setup(store)
    batch = store.import_decisions(
        [
            (e.id, images[0].id, "positive", [rle, rle], "ann"),
            (e.id, images[1].id, "negative", [], "bob"),
        ]
    )
    got = store.decisions_for_expression(e.id)
    assert got[images[0].id].status.value == "positive" and got[images[0].id].revision == 1
    assert [i.rle for i in got[images[0].id].instances] == [rle]  # identical masks merged
    assert got[images[1].id].author == "bob" and got[images[2].id].status.value == "unseen"
    assert len(store.audit(batch_id=batch)) == 2
    store.undo_batch(batch, author="ann")
    assert {d.status.value for d in store.decisions_for_expression(e.id).values()} == {"unseen"}


def test_an_existing_pair_rolls_everything_back(store):
    e, images, _, rle = _setup(store)
    store.save_decision(e.id, images[1].id, "negative", author="x", expected_revision=0)
    with pytest.raises(StaleRevision):
        store.import_decisions(
            [
                (e.id, images[0].id, "positive", [rle], "ann"),
                (e.id, images[1].id, "negative", [], "ann"),
            ]
        )
    assert store.get_decision(e.id, images[0].id).status.value == "unseen"
    assert store.counts()["instances"] == 0


@pytest.mark.parametrize(
    "case", ["other group", "negative with mask", "positive without", "bad size"]
)
def test_rows_are_checked_before_any_write(store, case):
    e, images, stranger, encoded = _setup(store)
    row = {
        "other group": (e.id, stranger.id, "negative", [], "a"),
        "negative with mask": (e.id, images[1].id, "negative", [encoded], "a"),
        "positive without": (e.id, images[1].id, "positive", [], "a"),
        "bad size": (e.id, images[1].id, "positive", [rle.encode(np.ones((5, 8), bool))], "a"),
    }[case]
    with pytest.raises((NotFound, InvalidMask)):
        store.import_decisions([(e.id, images[0].id, "positive", [encoded], "a"), row])
    assert store.counts()["decisions"] == 0


def test_checked_masks_are_not_checked_twice_and_others_are(store, monkeypatch):
    e, images, _, encoded = _setup(store)
    checked = rle.validate_rle(encoded, 6, 8)
    assert isinstance(checked, rle.CheckedRLE) and checked == encoded
    with pytest.raises(TypeError):
        checked["counts"] = "0"  # the check would no longer hold
    import pickle

    assert pickle.loads(pickle.dumps(checked)) == checked
    calls = []
    real = rle.validate_rle
    monkeypatch.setattr(rle, "validate_rle", lambda *a: calls.append(a) or real(*a))
    store.import_decisions([(e.id, images[0].id, "positive", [checked], "a")])
    assert calls == []  # checked for this image size when it was read
    store.import_decisions([(e.id, images[1].id, "positive", [dict(checked)], "a")])
    assert len(calls) == 1  # a plain dict is checked
    wrong_size = rle.validate_rle(rle.encode(np.ones((5, 8), bool)), 5, 8)
    with pytest.raises(InvalidMask):  # checked, but for another size: checked again, refused
        store.import_decisions([(e.id, images[2].id, "positive", [wrong_size], "a")])


def test_images_far_apart_in_id_are_found(store):
    e, images, _, encoded = _setup(store)
    g = e.group_id
    far = [store.add_image(g, f"far{i}.png", 8, 6, f"far{i}")[0] for i in range(12)][-1]
    rows = [(e.id, images[0].id, "negative", [], "a"), (e.id, far.id, "positive", [encoded], "a")]
    store.import_decisions(rows)  # ids 1 and 16 of 2 wanted: a query per chunk, not a range
    got = store.decisions_for_expression(e.id)
    assert got[far.id].status.value == "positive" and got[images[0].id].status.value == "negative"

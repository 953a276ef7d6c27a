"""The store on SQLite and PostgreSQL: CRUD, completeness, audit, optimistic locking, bulk + undo."""

import threading

import numpy as np
import pytest

from labeler import rle
from labeler.domain import DecisionStatus
from labeler.errors import DuplicateName, InvalidMask, NotFound, StaleRevision
from labeler.store import Store, last_batch
from tests.conftest import ring_mask


def test_groups_and_expressions_in_bulk_all_or_nothing(store):
    ids = store.create_groups([("a x b", "a", "b", {"k": 1}), ("c x d", "c", "d", None)])
    assert [g.id for g in store.list_groups()] == ids
    assert store.get_group(ids[0]).meta == {"k": 1}
    with pytest.raises(DuplicateName):  # the second row repeats a name: neither is made
        store.create_groups([("e x f", "", "", None), ("a x b", "", "", None)])
    assert [g.name for g in store.list_groups()] == ["a x b", "c x d"]
    eids = store.add_expressions([(ids[0], " the  a ", "ann"), (ids[1], "the c", "")])
    assert [(e.id, e.text, e.created_by) for e in store.list_expressions(ids[0])] == [
        (eids[0], "the a", "ann")
    ]
    with pytest.raises(DuplicateName):  # "the a" again in its group: nothing inserted
        store.add_expressions([(ids[1], "a new one", ""), (ids[0], "the a", "")])
    with pytest.raises(NotFound):
        store.add_expressions([(ids[1], "another", ""), (10_000, "x", "")])
    assert [e.text for e in store.list_expressions(ids[1])] == ["the c"]
    assert store.add_expression(ids[1], "one more").text == "one more"


def test_catalogue_crud(store):
    group = store.create_group("dog x beach", "dog", "beach", meta={"source": "test"})
    with pytest.raises(DuplicateName):
        store.create_group("dog x beach")
    assert store.ensure_group("dog x beach").id == group.id
    image, created = store.add_image(
        group.id,
        "images/a.png",
        60,
        40,
        "h1",
        source_url="u",
        owner="o",
        license="CC BY 2.0",
        meta={"title": "t"},
    )
    assert created
    again, created = store.add_image(group.id, "images/b.png", 60, 40, "h1")
    assert not created and again.id == image.id and again.file == "images/a.png"
    assert store.get_image(image.id).license == "CC BY 2.0"
    assert store.get_image(image.id).meta == {"title": "t"}
    expr = store.add_expression(group.id, "  the   dog ")
    assert expr.text == "the dog"
    with pytest.raises(DuplicateName):
        store.add_expression(group.id, "the dog")
    edited = store.edit_expression(expr.id, "the brown dog", author="ann")
    assert store.get_expression(expr.id).text == edited.text == "the brown dog"
    assert store.audit(expression_id=expr.id)[-1].before == {"text": "the dog"}
    assert store.find_group("dog x beach").id == group.id
    assert store.find_group(str(group.id)).id == group.id
    with pytest.raises(NotFound):
        store.find_group("cat x sofa")
    store.set_setting("k", {"a": 1})
    store.set_setting("k", {"a": 2})
    assert store.get_setting("k") == {"a": 2}
    assert store.counts()["images"] == 1


def test_decision_lifecycle_and_audit(populated, ring_rle):
    store, group, images, (dog, ball) = populated
    img = images[0]
    assert store.get_decision(dog.id, img.id).status is DecisionStatus.UNSEEN
    proposal = store.propose(dog.id, img.id, [ring_rle], score=2.5, model_version="grser-v1")
    assert proposal.status is DecisionStatus.PROPOSED and proposal.proposes_presence
    second = np.zeros((40, 60), bool)
    second[32:38, 2:8] = True
    saved = store.save_decision(
        dog.id,
        img.id,
        "positive",
        [ring_rle, rle.encode(second)],
        author="ann",
        expected_revision=proposal.revision,
    )
    assert saved.revision == 2
    loaded = store.get_decision(dog.id, img.id)
    assert loaded.status is DecisionStatus.POSITIVE and loaded.author == "ann"
    assert np.array_equal(rle.decode(loaded.instances[0].rle), ring_mask())
    assert np.array_equal(rle.decode(loaded.instances[1].rle), second)
    assert loaded.instances[0].area == ring_mask().sum()
    # A model never overwrites a person.
    assert store.propose(dog.id, img.id, [], score=-1.0, model_version="grser-v2") is None
    assert store.get_decision(dog.id, img.id).status is DecisionStatus.POSITIVE
    log = store.audit(expression_id=dog.id, image_id=img.id)
    assert [e.action for e in log] == ["propose", "save"]
    assert log[1].before["status"] == "proposed" and log[1].before["instances"] == [ring_rle]
    assert log[1].after["status"] == "positive" and len(log[1].after["instances"]) == 2


def test_invalid_decisions_are_refused_and_nothing_changes(populated, ring_rle):
    store, group, images, (dog, _) = populated
    with pytest.raises(InvalidMask, match="at least one"):
        store.save_decision(dog.id, images[0].id, "positive", [], author="a", expected_revision=0)
    with pytest.raises(InvalidMask, match="cannot carry"):
        store.save_decision(
            dog.id, images[0].id, "negative", [ring_rle], author="a", expected_revision=0
        )
    with pytest.raises(InvalidMask, match="empty"):
        store.save_decision(
            dog.id,
            images[0].id,
            "positive",
            [rle.encode(np.zeros((40, 60), bool))],
            author="a",
            expected_revision=0,
        )
    with pytest.raises(InvalidMask, match="out of bounds"):
        store.save_decision(
            dog.id,
            images[0].id,
            "positive",
            [rle.encode(np.ones((80, 60), bool))],
            author="a",
            expected_revision=0,
        )
    other = store.create_group("cat x sofa")
    stray, _ = store.add_image(other.id, "x.png", 60, 40, "hx")
    with pytest.raises(NotFound):
        store.save_decision(dog.id, stray.id, "negative", author="a", expected_revision=0)
    assert store.counts()["decisions"] == 0 and store.audit() == []


def test_completeness_and_progress(populated, ring_rle):
    store, group, images, (dog, ball) = populated
    store.save_decision(
        dog.id, images[0].id, "positive", [ring_rle], author="ann", expected_revision=0
    )
    store.save_decision(dog.id, images[1].id, "negative", author="bob", expected_revision=0)
    store.propose(dog.id, images[2].id, [], score=-3.0, model_version="m")
    progress = {p.expression_id: p for p in store.expression_progress()}
    assert (progress[dog.id].positive, progress[dog.id].negative, progress[dog.id].proposed) == (
        1,
        1,
        1,
    )
    assert not progress[dog.id].complete and progress[dog.id].unseen == 0
    assert progress[ball.id].unseen == 3
    store.save_decision(dog.id, images[2].id, "negative", author="bob", expected_revision=1)
    progress = {p.expression_id: p for p in store.expression_progress(group.id)}
    assert progress[dog.id].complete and not progress[ball.id].complete
    (g,) = store.group_progress()
    assert (g.images, g.expressions, g.pairs, g.decided, g.complete_expressions) == (3, 2, 6, 3, 1)
    annotators = {a.author: a for a in store.annotator_progress()}
    assert annotators["ann"].positive == 1 and annotators["bob"].negative == 2


def test_stale_save_is_refused_and_both_versions_are_kept(populated, ring_rle):
    store, group, images, (dog, _) = populated
    first = store.save_decision(
        dog.id, images[0].id, "positive", [ring_rle], author="ann", expected_revision=0
    )
    with pytest.raises(StaleRevision) as info:
        store.save_decision(dog.id, images[0].id, "negative", author="bob", expected_revision=0)
    assert info.value.current.revision == first.revision and info.value.current.author == "ann"
    assert store.get_decision(dog.id, images[0].id).status is DecisionStatus.POSITIVE
    rejected = [e for e in store.audit() if e.action == "rejected_stale"]
    assert (
        len(rejected) == 1
        and rejected[0].author == "bob"
        and rejected[0].after["status"] == "negative"
    )


def test_bulk_negatives_and_undo(populated, ring_rle):
    store, group, images, (dog, _) = populated
    store.save_decision(
        dog.id, images[0].id, "positive", [ring_rle], author="ann", expected_revision=0
    )
    store.propose(dog.id, images[1].id, [ring_rle], score=1.5, model_version="m")
    batch, done, _ = store.confirm_negatives(dog.id, author="ann")  # all remaining undecided
    assert {d.image_id for d in done} == {images[1].id, images[2].id}
    assert all(d.status is DecisionStatus.NEGATIVE for d in done)
    assert store.get_decision(dog.id, images[0].id).status is DecisionStatus.POSITIVE
    assert {e.batch_id for e in store.audit(batch_id=batch)} == {batch}
    assert last_batch(store.audit(), "ann") == batch
    undo_id, restored, _ = store.undo_batch(batch, author="ann")
    assert store.get_decision(dog.id, images[1].id).status is DecisionStatus.PROPOSED
    assert store.get_decision(dog.id, images[1].id).instances[0].rle == ring_rle
    assert store.get_decision(dog.id, images[2].id).status is DecisionStatus.UNSEEN
    assert len(restored) == 2 and undo_id != batch


def test_accept_proposals(populated, ring_rle):
    store, group, images, (dog, _) = populated
    store.propose(dog.id, images[0].id, [ring_rle], score=2.0, model_version="m")
    store.propose(dog.id, images[1].id, [], score=-2.0, model_version="m")
    batch, done, _ = store.accept_proposals(
        dog.id, [images[0].id, images[1].id, images[2].id], author="ann"
    )
    statuses = {d.image_id: d.status for d in done}
    assert statuses == {
        images[0].id: DecisionStatus.POSITIVE,
        images[1].id: DecisionStatus.NEGATIVE,
    }
    assert store.get_decision(dog.id, images[0].id).author == "ann"


def test_undo_leaves_pairs_changed_afterwards_and_reports_them(populated):
    store, group, images, (dog, _) = populated
    batch = store.confirm_negatives(dog.id, [images[0].id, images[1].id], author="ann").batch_id
    store.save_decision(dog.id, images[0].id, "unseen", author="bob", expected_revision=1)
    undone = store.undo_batch(batch, author="ann")
    assert [c.image_id for c in undone.conflicts] == [images[0].id]
    assert undone.conflicts[0].author == "bob"
    assert [d.image_id for d in undone.saved] == [images[1].id]
    assert store.get_decision(dog.id, images[1].id).status is DecisionStatus.UNSEEN
    assert store.get_decision(dog.id, images[0].id).author == "bob"


@pytest.mark.parametrize("action", ["accept", "negative"])
def test_bulk_action_saves_all_but_a_conflict_in_the_middle_in_one_undoable_batch(
    populated, ring_rle, action
):
    store, group, images, (dog, _) = populated
    ids = [i.id for i in images]
    for image_id in ids:
        store.propose(dog.id, image_id, [ring_rle], score=1.0, model_version="m")
    seen = {i: d.revision for i, d in store.decisions_for_expression(dog.id).items()}
    if action == "accept":
        # a newer model replaces the middle proposal after ann's grid was drawn
        store.propose(dog.id, ids[1], [], score=-1.0, model_version="m2")
        result = store.accept_proposals(dog.id, ids, author="ann", expected_revisions=seen)
        kept, theirs = DecisionStatus.POSITIVE, (DecisionStatus.PROPOSED, "model:m2")
    else:
        # bob decides the middle image after ann's grid was drawn
        store.save_decision(
            dog.id, ids[1], "positive", [ring_rle], author="bob", expected_revision=1
        )
        result = store.confirm_negatives(dog.id, ids, author="ann", expected_revisions=seen)
        kept, theirs = DecisionStatus.NEGATIVE, (DecisionStatus.POSITIVE, "bob")
    batch_id, saved, conflicts = result
    assert [d.image_id for d in saved] == [ids[0], ids[2]]
    assert [(c.image_id, c.status, c.author) for c in conflicts] == [(ids[1], *theirs)]
    for image_id in (ids[0], ids[2]):
        stored = store.get_decision(dog.id, image_id)
        assert (stored.status, stored.author) == (kept, "ann")
    middle = store.get_decision(dog.id, ids[1])
    assert (middle.status, middle.author) == theirs and middle.revision == seen[ids[1]] + 1
    entries = store.audit(batch_id=batch_id)  # one batch: the two saves and the rejected attempt
    action_name = "accept_proposal" if action == "accept" else "confirm_negative"
    assert sorted((e.image_id, e.action) for e in entries) == [
        (ids[0], action_name),
        (ids[1], "rejected_stale"),
        (ids[2], action_name),
    ]
    assert last_batch(store.audit(), "ann") == batch_id
    # undo restores the whole batch (both saved pairs), and leaves bob's decision alone
    undone = store.undo_batch(batch_id, author="ann")
    assert sorted(d.image_id for d in undone.saved) == [ids[0], ids[2]] and not undone.conflicts
    for image_id in (ids[0], ids[2]):
        restored = store.get_decision(dog.id, image_id)
        assert restored.status is DecisionStatus.PROPOSED and restored.model_version == "m"
        assert restored.instances[0].rle == ring_rle
    assert store.get_decision(dog.id, ids[1]) == middle


def test_bulk_action_without_anything_to_save_has_no_batch(populated):
    store, group, images, (dog, _) = populated
    result = store.accept_proposals(dog.id, [i.id for i in images], author="ann")
    assert result == (None, (), ())


def _race(store_factory, expression_id, image_id, writers=6):
    """``writers`` threads, each with its own Store (own connections), save the same pair at once."""
    barrier = threading.Barrier(writers, timeout=60)
    results, errors = [], []
    stores = [store_factory() for _ in range(writers)]

    def write(n):
        s = stores[n]
        try:
            barrier.wait()
            results.append(
                s.save_decision(
                    expression_id, image_id, "negative", author=f"w{n}", expected_revision=0
                )
            )
        except StaleRevision as exc:
            errors.append(exc)
        finally:
            s.close()

    threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    return results, errors


def test_concurrent_writers_one_wins_none_lost(populated, request):
    store, group, images, (dog, _) = populated
    url = store.url
    schema = None
    if "pg_schema" in request.fixturenames:
        schema = request.getfixturevalue("pg_schema")
    results, errors = _race(lambda: Store(url, schema=schema, create=False), dog.id, images[0].id)
    assert len(results) == 1 and len(errors) == 5
    winner = results[0].author
    assert store.get_decision(dog.id, images[0].id).author == winner
    log = store.audit(image_id=images[0].id)
    assert sorted(e.action for e in log) == ["rejected_stale"] * 5 + ["save"]
    assert {e.author for e in log} == {f"w{n}" for n in range(6)}

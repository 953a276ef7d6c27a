"""Undo / redo over every edit of an (expression, image) session."""

import numpy as np
import pytest

from labeler import rle
from labeler.errors import NotFound
from labeler.history import EditSession

H, W = 30, 40


def box(r0, c0, r1, c1):
    m = np.zeros((H, W), bool)
    m[r0:r1, c0:c1] = True
    return m


def snapshot(session):
    return [m.copy() for m in session.instances]


def same(a, b):
    return len(a) == len(b) and all(np.array_equal(x, y) for x, y in zip(a, b))


def fresh():
    return EditSession([box(2, 2, 10, 10), rle.encode(box(15, 20, 25, 35))], H, W)


# name -> (setup, edit): the edit under test runs on the state the setup leaves.
EDITS = {
    "add_instance": (None, lambda s: s.add_instance(box(0, 0, 3, 3))),
    "delete_instance": (None, lambda s: s.delete_instance(0)),
    "set_instance": (None, lambda s: s.set_instance(1, box(0, 30, 5, 40))),
    "add_region": (None, lambda s: s.add_region(0, box(8, 8, 14, 14))),
    "subtract_region": (None, lambda s: s.subtract_region(1, box(18, 25, 21, 30))),
    "brush": (None, lambda s: s.brush(0, [(12.5, 5.5), (20.5, 5.5)], 2)),
    "erase": (None, lambda s: s.brush(0, [(5.5, 5.5)], 2, erase=True)),
    "clean": (
        lambda s: s.subtract_region(1, box(20, 27, 21, 28)),
        lambda s: s.clean(1, max_hole=5),
    ),
    "split": (lambda s: s.add_region(0, box(20, 2, 25, 6)), lambda s: s.split(0)),
    "merge": (None, lambda s: s.merge([0, 1])),
}


@pytest.mark.parametrize("name", sorted(EDITS))
def test_every_edit_undoes_and_redoes_exactly(name):
    setup, edit = EDITS[name]
    s = fresh()
    if setup:
        setup(s)
    before = snapshot(s)
    edit(s)
    after = snapshot(s)
    assert not same(before, after), f"{name} changed nothing"
    s.undo()
    assert same(snapshot(s), before)
    s.redo()
    assert same(snapshot(s), after)
    while s.can_undo:
        s.undo()
    assert same(snapshot(s), snapshot(fresh()))


def test_split_then_merge_and_indices():
    s = fresh()
    s.add_region(0, box(20, 2, 25, 6))  # instance 0 now has two parts (64 + 20 px)
    assert s.split(0) == [0, 1]
    assert len(s) == 3 and s.instances[0].sum() == 64 and s.instances[1].sum() == 20
    assert s.merge([2, 0]) == 0
    assert len(s) == 2 and s.instances[0].sum() == 64 + 150
    assert s.undo() == "merge" and len(s) == 3
    assert s.undo() == "split" and len(s) == 2 and s.instances[0].sum() == 84


def test_holes_survive_the_log():
    s = EditSession([box(0, 0, 30, 40)], H, W)
    s.subtract_region(0, box(10, 10, 12, 12))  # a 4-px hole
    s.brush(0, [(1.5, 1.5)], 1)  # an unrelated edit on top
    s.undo()
    s.redo()
    assert not s.instances[0][10:12, 10:12].any() and s.instances[0].sum() == 1200 - 4
    (encoded,) = s.rles()
    assert rle.area(encoded) == 1196


def test_new_edit_drops_redo_branch_and_noops_are_not_logged():
    s = fresh()
    s.brush(0, [(5.5, 5.5)], 2, erase=True)
    s.undo()
    assert s.can_redo and s.redo_label == "erase"
    s.add_region(1, box(0, 0, 1, 1))
    assert not s.can_redo
    revision = s.revision
    s.subtract_region(0, box(29, 39, 30, 40))  # cuts nothing: not an edit
    assert s.revision == revision and s.undo_label == "add region"
    assert s.undo() == "add region" and s.undo() is None and s.redo() == "add region"


def test_instances_are_read_only_and_empty_ones_left_out_of_rles():
    s = fresh()
    with pytest.raises(ValueError):
        s.instances[0][0, 0] = True
    s.subtract_region(0, box(0, 0, 30, 40))
    assert len(s) == 2 and not s.instances[0].any()
    assert len(s.rles()) == 1 and len(s.rles(drop_empty=False)) == 2


def test_dirty_flag_and_history_limit():
    s = EditSession([box(0, 0, 5, 5)], H, W, max_history=3)
    assert not s.dirty
    for k in range(5):
        s.brush(0, [(10.5 + 3 * k, 20.5)], 1)
    assert s.dirty
    s.mark_saved()
    assert not s.dirty
    undone = 0
    while s.undo():
        undone += 1
    assert undone == 3 and s.dirty


def test_bad_index_and_size_are_named_errors():
    s = fresh()
    with pytest.raises(NotFound, match="no instance #5"):
        s.brush(5, [(1, 1)], 1)
    with pytest.raises(ValueError, match="image size"):
        EditSession([], 0, 10)
    with pytest.raises(Exception, match="does not fit"):
        s.add_instance(np.zeros((3, 3), bool))

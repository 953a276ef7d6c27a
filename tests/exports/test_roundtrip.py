"""project -> format -> new project -> same format is lossless: same images, same human decisions,
masks pixel-equal (holes and several instances per image included)."""

import numpy as np
import pytest

from exports.coco import write_coco
from exports.d3 import write_d3
from exports.grefcoco import write_grefcoco
from exports.refcoco import write_refcoco
from exports.snapshot import snapshot_from_store
from labeler import rle
from labeler.errors import ImportFormatError
from labeler.project import Project
from pipelines.intake.imports import import_snapshot, read_source
from tests.exports.conftest import canonical

WRITERS = {"coco": write_coco, "d3": write_d3, "grefcoco": write_grefcoco, "refcoco": write_refcoco}


def _snapshot(root):
    with Project.open(root) as project:
        return snapshot_from_store(project.store)


@pytest.mark.parametrize("fmt", list(WRITERS))
def test_round_trip_through_a_new_project(fmt, small_project, tmp_path):
    original = _snapshot(small_project.root)
    WRITERS[fmt](tmp_path / "first", original, incomplete="mark")
    first = read_source(fmt, tmp_path / "first")
    with Project.init(tmp_path / "copy") as project:
        report = import_snapshot(project, first, small_project.root)
    assert report.images_added == len(original.images)
    copy = _snapshot(tmp_path / "copy")
    positives_only = fmt == "refcoco"  # classic RefCOCO has no negatives
    assert canonical(copy, positives_only=positives_only) == canonical(
        original, positives_only=positives_only
    )
    assert sorted(i.content_hash for i in copy.images) == sorted(
        i.content_hash for i in original.images
    )
    assert all((tmp_path / "copy" / i.file).is_file() for i in copy.images)

    WRITERS[fmt](tmp_path / "second", copy, incomplete="mark")
    assert canonical(read_source(fmt, tmp_path / "second")) == canonical(first)

    # explicitly: the ring with its hole and the second dog come back pixel for pixel
    dogs = next(e for e in copy.expressions if e.text == "the dogs")
    first_image = min((i for i in copy.images if i.group_id == dogs.group_id), key=lambda i: i.id)
    got = [rle.decode(i.rle) for i in copy.decisions[dogs.id][first_image.id].instances]
    source = next(e for e in original.expressions if e.text == "the dogs")
    want = [
        rle.decode(i.rle)
        for i in original.decisions[source.id][small_project.ids["images"][0]].instances
    ]
    assert len(got) == 2 and all(np.array_equal(g, w) for g, w in zip(got, want, strict=True))


@pytest.mark.parametrize("fmt", ["coco", "d3", "grefcoco"])
def test_omit_keeps_incomplete_expressions_out_of_the_new_project(fmt, small_project, tmp_path):
    WRITERS[fmt](tmp_path / "out", _snapshot(small_project.root), incomplete="omit")
    with Project.init(tmp_path / "copy") as project:
        import_snapshot(project, read_source(fmt, tmp_path / "out"), small_project.root)
        texts = {e.text for e in project.store.list_expressions()}
        progress = project.store.expression_progress()
    assert texts == {"the dogs", "the ball", "a cat"}
    assert all(p.complete for p in progress)


def test_importing_twice_changes_nothing(small_project, tmp_path):
    write_coco(tmp_path / "out", _snapshot(small_project.root), incomplete="mark")
    with Project.init(tmp_path / "copy") as project:
        import_snapshot(project, read_source("coco", tmp_path / "out"), small_project.root)
        counts = project.store.counts()
        again = import_snapshot(project, read_source("coco", tmp_path / "out"), small_project.root)
        assert project.store.counts() == counts
    assert (
        again.images_added == 0 and again.decisions_written == 0 and again.decisions_unchanged == 9
    )


def test_a_conflicting_human_decision_stops_the_import_before_any_write(small_project, tmp_path):
    write_coco(tmp_path / "out", _snapshot(small_project.root), incomplete="mark")
    snapshot = read_source("coco", tmp_path / "out")
    with Project.init(tmp_path / "copy") as project:
        import_snapshot(project, snapshot, small_project.root)
        store = project.store
        ball = next(e for e in store.list_expressions() if e.text == "the ball")
        negative = next(
            d
            for d in store.decisions_for_expression(ball.id).values()
            if d.status.value == "negative"
        )
        store.save_decision(
            ball.id, negative.image_id, "unseen", author="x", expected_revision=negative.revision
        )
        cat = next(e for e in store.list_expressions() if e.text == "a cat")
        cat_negative = next(
            d
            for d in store.decisions_for_expression(cat.id).values()
            if d.status.value == "negative"
        )
        store.save_decision(
            cat.id,
            cat_negative.image_id,
            "positive",
            [rle.encode(np.ones((30, 40), bool))],
            author="zoe",
            expected_revision=cat_negative.revision,
        )
        before = store.counts()
        with pytest.raises(
            ImportFormatError,
            match=r"'a cat', image \d+: the project already has a "
            r"different decision \(positive by zoe\)",
        ):
            import_snapshot(project, snapshot, small_project.root)
        assert store.counts() == before
        assert store.get_decision(ball.id, negative.image_id).status.value == "unseen"

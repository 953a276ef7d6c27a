"""The format table: every format writes and reads through it, unknown names list the choices,
and the export summary counts what each format writes and leaves out."""

import pytest

from exports.registry import FORMATS, UnknownFormat, format_named, read_format, write_format
from exports.summary import export_summary
from pipelines.intake.imports import FORMATS as IMPORT_FORMATS
from tests.exports.conftest import canonical


def test_unknown_format_lists_the_choices():
    with pytest.raises(
        UnknownFormat,
        match=r"^unknown format 'yolo'; choose one of "
        r"coco, d3, grefcoco, refcoco$",
    ):
        format_named("yolo")


def test_the_importer_offers_every_format_of_the_table():
    assert IMPORT_FORMATS == tuple(FORMATS) == ("coco", "d3", "grefcoco", "refcoco")


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_every_format_round_trips_through_the_table(fmt, snapshot, tmp_path):
    written = write_format(
        fmt, tmp_path, snapshot, incomplete="mark", split="val", predictions=True
    )
    assert written and all(p.is_file() for p in written)
    assert ("predictions.json" in {p.name for p in written}) == (fmt == "coco")
    back = read_format(fmt, tmp_path, expressions=None)
    positives_only = not FORMATS[fmt].writes_negatives
    assert canonical(back, positives_only=positives_only) == canonical(
        snapshot, positives_only=positives_only
    )


def test_summary_says_what_is_written_and_left_out(snapshot):
    omit = export_summary(snapshot, "coco", incomplete="omit")
    # complete: "the dogs", "the ball", "a cat"; "the frisbee" is incomplete (image 3 unseen)
    assert (omit.images, omit.complete, omit.incomplete_marked, omit.incomplete_left_out) == (
        5,
        3,
        0,
        1,
    )
    # masks: dog ring (shared with the ball), second dog, two-part dog, cat
    assert omit.objects == 4
    assert omit.negative_pairs == 4 and omit.proposals_left_out == 1
    assert omit.lines() == [
        "coco writes 5 images, 3 complete expressions, 4 object masks, 4 negative pairs.",
        "Leaves out 1 incomplete expression (choose 'mark' to include their decided pairs); "
        "1 model proposal (never exported as truth).",
    ]
    mark = export_summary(snapshot, "d3", incomplete="mark")
    assert (mark.incomplete_marked, mark.incomplete_left_out, mark.negative_pairs) == (1, 0, 5)
    assert "1 incomplete expression (marked)" in mark.written()
    refcoco = export_summary(snapshot, "refcoco", incomplete="omit")
    assert refcoco.negative_pairs == 0 and refcoco.negatives_left_out == 4
    assert "4 negative pairs (refcoco has no place for them)" in refcoco.left_out()


def test_summary_of_an_empty_export_says_so(snapshot):
    import dataclasses

    bare = dataclasses.replace(snapshot, decisions={})
    summary = export_summary(bare, "grefcoco")
    assert summary.empty and summary.complete == 0 and summary.incomplete_left_out == 4

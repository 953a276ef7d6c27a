"""Propagation within a group: one confirmed image proposes the rest; humans are never overwritten;
the threshold follows the human negatives.

The click model here is a stand-in, not SAM: :class:`ColourSegmenter` embeds an image as per-cell
colour histograms in SAM's embedding layout (``features`` ``C x G x G``, ``original_size``,
``input_size``) and decodes a prompt by colour flood fill from the point. It is deterministic and
fast, and it exercises the same code path (prototypes, map, prompts, decoder, store) as MobileSAM;
``bench/bench_assist.py`` measures the real thing on photos.
"""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from labeler import propagate, rle
from labeler.clicks import iou
from labeler.domain import DecisionStatus
from labeler.images import content_hash
from labeler.project import Project
from labeler.segmenter import SegmentResult
from pipelines.loop import propagate as loop
from tests.pipelines.flood_fill import FloodFillSegmenter

SIZE, CELL = 64, 4
RED, BLUE = (220, 30, 30), (30, 60, 220)


class ColourSegmenter:
    """Colour-histogram features (4 levels a channel, 64 bins, one vector per 4 x 4 cell) and a
    flood-fill decoder: a deterministic stand-in for SAM behind the same interface."""

    model_id = "test-colour-histogram-v1"

    def embed(self, image: np.ndarray) -> dict:
        h, w = image.shape[:2]
        bins = (image // 64).astype(np.int64)
        index = bins[..., 0] * 16 + bins[..., 1] * 4 + bins[..., 2]
        onehot = np.eye(64, dtype=np.float32)[index]  # H x W x 64
        g = SIZE // CELL
        features = onehot.reshape(g, CELL, g, CELL, 64).mean(axis=(1, 3)).transpose(2, 0, 1)
        return {
            "features": features + 0.05,  # a floor, so no cell has a zero vector
            "original_size": np.array([h, w]),
            "input_size": np.array([h, w]),
            "image": image,
        }

    def predict(self, embedding: dict, prompts) -> SegmentResult:
        x, y = prompts.points[0]
        region = FloodFillSegmenter(tolerance=40)._region(embedding["image"], x, y)
        return SegmentResult(region, None, 1.0)


def _image(rng, discs, distractor=False):
    """A noisy green-grey background with red discs ``(cx, cy, r)`` and maybe a blue square."""
    base = np.array([90, 130, 90]) + rng.integers(-12, 12, size=(SIZE, SIZE, 3))
    image = np.clip(base, 0, 255).astype(np.uint8)
    yy, xx = np.mgrid[:SIZE, :SIZE]
    masks = []
    for cx, cy, r in discs:
        mask = (xx - cx) ** 2 + (yy - cy) ** 2 <= r * r
        image[mask] = RED
        masks.append(mask)
    if distractor:
        image[40:56, 8:24] = BLUE
    return image, masks


#: the test group: red discs ``(cx, cy, r)`` per image, and whether a blue square is there too
LAYOUTS = [
    ([(20, 20, 9)], False),
    ([(44, 40, 8)], True),
    ([], True),
    ([(16, 46, 7), (46, 16, 7)], False),
    ([], True),
    ([(32, 30, 10)], False),
]


@pytest.fixture
def group(tmp_path):
    """One group, one expression ("the red disc"), 6 images: 4 with discs (one with two), 2
    without (a blue square instead). Nothing decided. Yields (project, expression id, truth)."""
    rng = np.random.default_rng(0)
    layouts = LAYOUTS
    project = Project.init(tmp_path / "p", name="propagation test")
    store = project.store
    record = store.create_group("discs", target_keyword="disc")
    expression = store.add_expression(record.id, "the red disc", created_by="test")
    truth = {}
    for k, (discs, distractor) in enumerate(layouts):
        pixels, masks = _image(rng, discs, distractor)
        digest = content_hash(pixels)
        path = project.root / "images" / f"{k}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        buffer = io.BytesIO()
        Image.fromarray(pixels).save(buffer, format="PNG")
        path.write_bytes(buffer.getvalue())
        image, _ = store.add_image(record.id, f"images/{k}.png", SIZE, SIZE, digest)
        truth[image.id] = masks
    yield project, expression.id, truth
    project.close()


def _decide(store, expression_id, image_id, masks, author="ann"):
    d = store.get_decision(expression_id, image_id)
    status = "positive" if masks else "negative"
    return store.save_decision(
        expression_id,
        image_id,
        status,
        [rle.encode(m) for m in masks],
        author=author,
        expected_revision=d.revision,
    )


def _run(project, expression_id):
    return loop.propagate_project(project, expression_id=expression_id, segmenter=ColourSegmenter())


def test_nothing_is_proposed_before_a_positive_is_confirmed(group):
    project, expression_id, truth = group
    negative = next(i for i, m in truth.items() if not m)
    _decide(project.store, expression_id, negative, [])
    report = _run(project, expression_id)
    assert report.expressions == 0 and report.proposed == 0


def test_one_confirmed_image_proposes_the_rest_correctly(group):
    project, expression_id, truth = group
    store = project.store
    first = next(iter(truth))
    _decide(store, expression_id, first, truth[first])
    report = _run(project, expression_id)
    assert report.expressions == 1 and report.proposed == len(truth) - 1
    decisions = store.decisions_for_expression(expression_id)
    for image_id, masks in truth.items():
        d = decisions[image_id]
        if image_id == first:
            assert d.status is DecisionStatus.POSITIVE and d.author == "ann"
            continue
        assert d.status is DecisionStatus.PROPOSED
        assert d.model_version == "propagated from 1 image; threshold 0.50"
        assert len(d.instances) == len(masks), image_id  # the two-disc image gets two instances
        if masks:
            got = rle.decode(rle.union([i.rle for i in d.instances], SIZE, SIZE))
            assert iou(got, np.logical_or.reduce(masks)) >= 0.9
            assert d.score >= 0.5
        else:
            assert d.score < 0.5
    # a second run with nothing new writes nothing
    again = _run(project, expression_id)
    assert again.proposed == 0 and again.unchanged == len(truth) - 1


def test_a_human_decision_is_never_overwritten(group):
    project, expression_id, truth = group
    store = project.store
    ids = list(truth)
    _decide(store, expression_id, ids[0], truth[ids[0]])
    # a person marks a disc image negative (wrongly, on purpose): propagation must leave it
    wrong = _decide(store, expression_id, ids[1], [], author="bob")
    _run(project, expression_id)
    kept = store.get_decision(expression_id, ids[1])
    assert (kept.status, kept.revision, kept.author) == (
        DecisionStatus.NEGATIVE,
        wrong.revision,
        "bob",
    )
    assert store.get_decision(expression_id, ids[0]).author == "ann"


def test_the_threshold_moves_with_new_negatives():
    # pure calibration: positives alone lower the prior; a negative scored high raises it
    assert propagate.calibrate([], []) == propagate.PRIOR_THRESHOLD
    assert propagate.calibrate([0.4], []) == pytest.approx(0.35)
    assert propagate.calibrate([0.9, 0.8], [0.3]) == pytest.approx(0.55)
    assert propagate.calibrate([0.9, 0.8], [0.3, 0.7]) == pytest.approx(0.75)
    assert propagate.calibrate([], [0.7]) == pytest.approx(0.75)


def test_the_stored_threshold_follows_the_groups_negatives(group):
    project, expression_id, truth = group
    store = project.store
    positives = [i for i, m in truth.items() if m]
    negatives = [i for i, m in truth.items() if not m]
    _decide(store, expression_id, positives[0], truth[positives[0]])
    _decide(store, expression_id, positives[1], truth[positives[1]])
    _run(project, expression_id)
    tag = store.get_decision(expression_id, negatives[1]).model_version
    before = propagate.parse_source(tag)
    _decide(store, expression_id, negatives[0], [])
    _run(project, expression_id)
    after = propagate.parse_source(store.get_decision(expression_id, negatives[1]).model_version)
    assert before[0] == after[0] == 2
    assert after[1] != before[1]  # a negative's score now bounds the threshold from below
    proposal = store.get_decision(expression_id, negatives[1])
    assert not proposal.instances and proposal.score < after[1]


def test_the_project_setting_switches_background_refresh_off(group):
    from pipelines.services.jobs import JobRunner

    project, expression_id, _ = group
    runner = JobRunner(project.store)
    try:
        project.settings.extra[loop.SETTING] = False
        assert loop.refresh_in_background(runner, project, expression_id) is None
        assert runner.jobs() == []
    finally:
        runner.shutdown()


def test_negatives_alone_queue_no_refresh_until_a_positive_is_confirmed(group):
    from pipelines.services.jobs import JobRunner

    project, expression_id, truth = group
    negative = next(i for i, masks in truth.items() if not masks)
    _decide(project.store, expression_id, negative, [])
    runner = JobRunner(project.store)
    try:
        assert loop.refresh_in_background(runner, project, expression_id) is None
        assert runner.jobs() == []
        positive = next(i for i, masks in truth.items() if masks)
        _decide(project.store, expression_id, positive, truth[positive])
        assert loop.refresh_in_background(
            runner, project, expression_id, load_segmenter=ColourSegmenter
        )
    finally:
        runner.shutdown()


def test_the_plain_words_say_score_threshold_and_source():
    tag = propagate.source_tag(3, 0.61)
    assert propagate.parse_source(tag) == (3, 0.61)
    assert propagate.describe(0.82, tag, True) == (
        "likely present, 0.82; threshold 0.61 (propagated from 3 images)"
    )
    assert propagate.describe(-0.66, "grser-1a2b", False) == "likely absent, -0.66 (grser-1a2b)"
    assert propagate.parse_source("grser-1a2b") is None


def test_a_confirmation_refreshes_proposals_in_the_background(group):
    from labeler.store import JobState
    from pipelines.services.jobs import JobRunner

    project, expression_id, truth = group
    first = next(iter(truth))
    _decide(project.store, expression_id, first, truth[first])
    runner = JobRunner(project.store)
    try:
        job = loop.refresh_in_background(
            runner, project, expression_id, load_segmenter=ColourSegmenter
        )
        status = runner.wait(job, timeout=60)
    finally:
        runner.shutdown()
    assert status.state is JobState.DONE, status.error
    assert status.result["proposed"] == len(truth) - 1


def test_the_click_model_is_loaded_by_the_job_not_by_the_confirming_request(group):
    """Loading MobileSAM takes seconds: the save that queues the refresh must not wait for it."""
    import threading

    from labeler.store import JobState
    from pipelines.services.jobs import JobRunner

    project, expression_id, truth = group
    first = next(iter(truth))
    _decide(project.store, expression_id, first, truth[first])
    loaded_on = []

    def load():
        loaded_on.append(threading.current_thread().name)
        return ColourSegmenter()

    runner = JobRunner(project.store)
    try:
        job = loop.refresh_in_background(runner, project, expression_id, load_segmenter=load)
        status = runner.wait(job, timeout=60)
    finally:
        runner.shutdown()
    assert status.state is JobState.DONE, status.error
    assert len(loaded_on) == 1 and loaded_on[0].startswith("grd-job")
    assert loaded_on[0] != threading.current_thread().name


def test_the_sweep_badge_shows_a_propagated_score_in_words(group):
    from labeler.annotate import decision_badge

    project, expression_id, truth = group
    first, second = list(truth)[:2]
    _decide(project.store, expression_id, first, truth[first])
    _run(project, expression_id)
    badge = decision_badge(project.store.get_decision(expression_id, second))
    assert badge.kind == "proposed-present"
    assert badge.label.startswith("proposed: likely present, ")
    assert badge.label.endswith("threshold 0.50 (propagated from 1 image)")


def test_the_cli_names_what_stops_it(group):
    from typer.testing import CliRunner

    from pipelines.cli import app

    project, expression_id, truth = group
    first = next(iter(truth))
    _decide(project.store, expression_id, first, truth[first])
    # no SAM configured: the classic fallback has no features, and the command says so
    result = CliRunner().invoke(app, ["propagate", str(project.root), "--group", "discs"])
    assert result.exit_code == 1 and "needs SAM or MobileSAM" in result.output
    project.settings.extra[loop.SETTING] = False
    project.save_settings()
    result = CliRunner().invoke(app, ["propagate", str(project.root)])
    assert result.exit_code == 1 and "switched off" in result.output


def test_instances_must_have_a_size_like_the_confirmed_ones():
    small, large = np.zeros((10, 10), bool), np.zeros((10, 10), bool)
    small[:2, :2] = True  # 4 % of the image
    large[:5, :4] = True  # 20 %
    low, high = loop.size_range([(1, None, [small]), (2, None, [large]), (3, None, [])])
    assert low == pytest.approx(0.01) and high == pytest.approx(0.5)  # 4 x 20 % capped at half
    assert loop.size_range([(3, None, [])]) == (0.0, loop.SIZE_MAX)

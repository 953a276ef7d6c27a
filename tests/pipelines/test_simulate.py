"""Simulated annotator: truth snapshot + audited reset, accept / click-correct / certify, costs."""

from __future__ import annotations

import numpy as np
import pytest

from labeler import mask_ops, rle
from labeler.domain import DecisionStatus
from labeler.project import Project
from pipelines.loop.simulate import (
    SimulationError,
    init_simulation,
    load_truth,
    simulate_annotation,
    truth_path,
)
from tests.pipelines.flood_fill import FloodFillSegmenter


@pytest.fixture
def project(tmp_path):
    from pipelines.training.synth import make_group
    from pipelines.training.synth_project import write_project

    groups = (
        make_group(3, i, images_per_group=6, image_size=64, expressions_per_group=1, level=1)
        for i in range(2)
    )
    write_project(tmp_path / "p", groups, 3)
    with Project.open(tmp_path / "p") as p:
        yield p


def test_init_saves_truth_and_resets_every_pair_with_an_audit_trail(project):
    store = project.store
    before = {
        (e.id, i): d
        for e in store.list_expressions()
        for i, d in store.decisions_for_expression(e.id).items()
    }
    path, reset = init_simulation(project)
    assert reset == len(before) == 12
    truth = load_truth(path)
    assert {k: [i.rle for i in d.instances] for k, d in before.items()} == truth
    assert all(p.decided == 0 for p in store.expression_progress())
    assert {e.action for e in store.audit()} >= {"simulation_reset"}
    with pytest.raises(SimulationError, match="already"):
        init_simulation(project)


def _first_expression(project):
    """Simulation set up; the truth, the first expression, its images, positives and negatives."""
    init_simulation(project)
    truth = load_truth(truth_path(project))
    expression = project.store.list_expressions()[0]
    images = project.store.list_images(expression.group_id)
    positives = [i for i in images if truth[(expression.id, i.id)]]
    negatives = [i for i in images if not truth[(expression.id, i.id)]]
    return truth, expression, images, positives, negatives


def test_annotator_accepts_good_proposals_corrects_bad_ones_and_counts_actions(project):
    store = project.store
    truth, expression, images, positives, negatives = _first_expression(project)
    assert len(positives) >= 2 and len(negatives) >= 2
    good, missed = positives[0], positives[1]
    spilled, absent = negatives[0], negatives[1]
    full = rle.encode(np.ones((spilled.height, spilled.width), bool))
    for image, rles in (
        (good, truth[(expression.id, good.id)]),
        (missed, []),
        (spilled, [full]),
        (absent, []),
    ):
        store.propose(expression.id, image.id, rles, score=0.0, model_version="m")
    report = simulate_annotation(
        project, truth, FloodFillSegmenter(), group_ids=[expression.group_id]
    )
    # every pair of the group is now a human decision matching the truth
    for image in images:
        d = store.get_decision(expression.id, image.id)
        assert d.is_human and d.author == "simulator"
        gt = truth[(expression.id, image.id)]
        assert (d.status is DecisionStatus.POSITIVE) == bool(gt)
        if gt:
            got = rle.union([i.rle for i in d.instances], image.height, image.width)
            assert mask_ops.iou(got, rle.union(gt, image.height, image.width)) >= 0.9
    assert report.pairs == len(images)
    # accepted as proposed: the good mask and the correctly proposed absence (in the bulk action)
    assert report.accepted == 2
    clicked = len(positives) - 1
    objects = sum(len(truth[(expression.id, i.id)]) for i in positives[1:])
    assert report.objects == objects and report.clicks >= objects
    # 1 accept + 1 certified spill + 1 bulk negatives + per corrected image (clicks, hand fixes, confirm)
    assert report.actions == 3 + report.clicks + report.hand_fixed + clicked
    assert 0 < report.actions_per_pair and report.clicks_per_object >= 1
    # where the actions went, case by case, adding up to the totals
    cases = report.cases
    assert cases["accepted"] == [1, 1] and cases["false_positive"] == [1, 1]
    assert cases["negative"] == [len(negatives) - 1, 1]
    assert cases["missed"][0] == clicked and "corrected" not in cases  # the others: no proposal
    assert sum(p for p, _ in cases.values()) == report.pairs
    assert sum(a for _, a in cases.values()) == report.actions
    assert report.breakdown().startswith("accepted 1/1, missed ")
    other = [e for e in store.list_expressions() if e.group_id != expression.group_id][0]
    assert all(not d.is_human for d in store.decisions_for_expression(other.id).values())


def test_flood_fill_segmenter_adds_and_removes_regions():
    image = np.zeros((20, 20, 3), np.uint8)
    image[5:10, 5:10] = (200, 0, 0)
    seg = FloodFillSegmenter()
    from labeler.segmenter import Prompts

    emb = seg.embed(image)
    square = seg.predict(emb, Prompts(points=((7, 7),), labels=(1,))).mask
    assert square.sum() == 25 and square[7, 7]
    both = seg.predict(emb, Prompts(points=((7, 7), (0, 0), (0, 0)), labels=(1, 1, 0))).mask
    assert both.sum() == 25  # the background added by the 2nd click is removed by the 3rd


def test_correction_starts_from_the_proposal_keeping_what_matches():
    """Proposal: object A with a third missing, plus a blob on the background; object B missed.
    The annotator deletes the blob, completes A with one click on what is missing (A's mask is
    kept, not redrawn) and segments B as a new object."""
    from labeler.domain import ExpressionDecision, Instance
    from labeler.image_editor import ImageEditor
    from pipelines.loop.simulate import SimReport, correct_with_clicks, keep_matching_instances

    image = np.zeros((40, 60, 3), np.uint8)
    image[5:20, 5:35] = (220, 30, 30)
    image[25:35, 40:55] = (30, 30, 220)
    a, b = np.zeros((40, 60), bool), np.zeros((40, 60), bool)
    a[5:20, 5:35], b[25:35, 40:55] = True, True
    partial_a, blob = a.copy(), np.zeros((40, 60), bool)
    partial_a[:, 25:] = False
    blob[30:38, 2:10] = True
    proposal = ExpressionDecision(
        1, 1, DecisionStatus.PROPOSED, tuple(Instance(rle.encode(m)) for m in (blob, partial_a))
    )
    editor = ImageEditor(proposal, 40, 60)
    report = SimReport()
    seg = FloodFillSegmenter()

    starts = keep_matching_instances(editor, [a, b], report)
    assert starts == [0, None] and report.actions == 1  # the blob went, A's instance stayed
    np.testing.assert_array_equal(editor.instances[0], partial_a)
    correct_with_clicks(editor, seg, seg.embed(image), [a, b], 20, 0.9, report, starts)

    assert len(editor.instances) == 2
    np.testing.assert_array_equal(editor.instances[0], a)
    np.testing.assert_array_equal(editor.instances[1], b)
    assert report.per_object_clicks == [1, 1] and report.objects == 2
    # 1 deletion + 2 clicks (deleting the open blob leaves A's instance open: no extra action)
    assert report.actions == 1 + 2 and report.hand_fixed == 0


def test_a_proposal_that_is_all_wrong_goes_in_one_delete_all():
    from labeler.domain import ExpressionDecision, Instance
    from labeler.image_editor import ImageEditor
    from pipelines.loop.simulate import SimReport, keep_matching_instances

    truth, blobs = np.zeros((20, 20), bool), []
    truth[2:8, 2:8] = True
    for x in (10, 14, 18):
        blob = np.zeros((20, 20), bool)
        blob[12:14, x : x + 2] = True
        blobs.append(blob)
    proposal = ExpressionDecision(
        1, 1, DecisionStatus.PROPOSED, tuple(Instance(rle.encode(m)) for m in blobs)
    )
    editor, report = ImageEditor(proposal, 20, 20), SimReport()
    assert keep_matching_instances(editor, [truth], report) == [None]
    assert editor.instances == () and report.actions == 1
    # one wrong blob beside a kept instance is deleted on its own
    proposal = ExpressionDecision(
        1, 1, DecisionStatus.PROPOSED, tuple(Instance(rle.encode(m)) for m in (truth, *blobs[:2]))
    )
    editor, report = ImageEditor(proposal, 20, 20), SimReport()
    assert keep_matching_instances(editor, [truth], report) == [0] and report.actions == 2


def test_a_good_instance_among_others_needs_no_click():
    from pipelines.loop.simulate import match_objects

    a, b = np.zeros((10, 10), bool), np.zeros((10, 10), bool)
    a[:5], b[6:] = True, True
    near_a = a.copy()
    near_a[0, 0] = False
    # one-to-one: b is matched to its own instance, not to a's; a weak overlap is no match
    assert match_objects([b, near_a], [a, b]) == [1, 0]
    assert match_objects([a | b], [a, b]) == [0, None]  # a merged blob stands for one object only
    weak = np.zeros((10, 10), bool)
    weak[4:7] = True
    assert match_objects([weak], [a]) == [None]


def test_masked_negatives_can_go_into_the_bulk_confirmation(project):
    store = project.store
    truth, expression, images, _, negatives = _first_expression(project)
    spilled = negatives[0]
    full = rle.encode(np.ones((spilled.height, spilled.width), bool))
    store.propose(expression.id, spilled.id, [full], score=0.0, model_version="m")
    for image in images:  # every positive proposed right: accepted, 1 action each
        if truth[(expression.id, image.id)]:
            store.propose(
                expression.id,
                image.id,
                truth[(expression.id, image.id)],
                score=1.0,
                model_version="m",
            )
    report = simulate_annotation(
        project,
        truth,
        FloodFillSegmenter(),
        group_ids=[expression.group_id],
        masked_negatives_in_bulk=True,
    )
    positives = len(images) - len(negatives)
    assert report.cases["false_positive"] == [1, 0]
    assert report.cases["negative"] == [len(negatives) - 1, 1]
    assert report.actions == positives + 1  # the accepts and one bulk action for every negative
    certified = store.get_decision(expression.id, spilled.id)
    assert certified.status is DecisionStatus.NEGATIVE and certified.author == "simulator"


def test_simulate_command_sets_up_then_annotates_and_says_where_the_actions_went(project):
    from typer.testing import CliRunner

    from pipelines.cli import app

    root = str(project.root)
    project.store.engine.dispose()
    runner = CliRunner()
    out = runner.invoke(app, ["simulate", root, "--init"])
    assert out.exit_code == 0 and "12 pairs reset to unseen" in out.output, out.output
    out = runner.invoke(
        app,
        ["simulate", root, "--groups", "1", "--masked-negatives-in-bulk"],
        env={"COLUMNS": "200"},
    )
    assert out.exit_code == 0, out.output
    assert "6 pairs" in out.output and "where the actions went" in out.output
    assert "missed" in out.output and "negative" in out.output  # nothing was proposed
    with Project.open(project.root) as reopened:
        decided = [g.decided for g in reopened.store.group_progress()]
    assert sorted(decided) == [0, 6]

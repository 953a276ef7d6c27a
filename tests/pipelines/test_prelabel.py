"""Pre-labeling: proposals for undecided pairs only, human decisions untouched, resumable, registered."""

from __future__ import annotations

import pytest

from labeler.domain import DecisionStatus
from labeler.project import Project
from pipelines.loop.prelabel import plan_chunks, prelabel_project
from pipelines.loop.registry import NoCheckpoint
from pipelines.loop.simulate import reset_decisions


def test_plan_chunks_covers_every_image_once_and_tops_up_with_context():
    chunks = plan_chunks(7, "the cat", [1, 2, 3, 4, 5], [10, 11], group_size=4)
    assert [c.image_ids[: c.keep] for c in chunks] == [(1, 2, 3, 4), (5,)]
    assert chunks[1].image_ids == (5, 1, 2, 3)  # other undecided images first, then decided ones
    small = plan_chunks(7, "the cat", [1], [10], group_size=4)
    assert small[0].image_ids == (1, 10) and small[0].keep == 1  # the group has only 2 images
    assert plan_chunks(7, "x", [], [1, 2], 4) == []
    with pytest.raises(ValueError):
        plan_chunks(7, "x", [1], [], 0)


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    import torch

    from model import build_grser, save_checkpoint

    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("ckpt") / "tiny.pt"
    save_checkpoint(path, build_grser("tiny", apply_presence=False))
    return path


@pytest.fixture
def project(tmp_path):
    from pipelines.training.synth import make_group
    from pipelines.training.synth_project import write_project

    groups = (
        make_group(0, i, images_per_group=5, image_size=64, expressions_per_group=2, level=1)
        for i in range(2)
    )
    write_project(tmp_path / "p", groups, 0)
    with Project.open(tmp_path / "p") as p:
        reset_decisions(p)
        yield p


def _statuses(store):
    return {
        (e.id, i): d
        for e in store.list_expressions()
        for i, d in store.decisions_for_expression(e.id).items()
    }


def test_prelabel_proposes_undecided_pairs_and_never_touches_human_ones(project, checkpoint):
    store = project.store
    expression = store.list_expressions()[0]
    image = store.list_images(expression.group_id)[0]
    before = store.get_decision(expression.id, image.id)
    human = store.save_decision(
        expression.id, image.id, "negative", author="ann", expected_revision=before.revision
    )
    # threshold 0: the untrained model's masks are then non-empty, so masks get stored too
    report = prelabel_project(
        project, checkpoint=checkpoint, group_size=3, batch_size=2, threshold=0.0
    )
    decisions = _statuses(store)
    assert report.proposed == len(decisions) - 1 == 19
    kept = store.get_decision(expression.id, image.id)  # untouched, same revision
    assert (kept.status, kept.revision, kept.author) == (human.status, human.revision, "ann")
    proposals = [d for d in decisions.values() if d.status is DecisionStatus.PROPOSED]
    assert len(proposals) == 19
    assert {d.model_version for d in proposals} == {report.model_version}
    assert all(d.score is not None for d in proposals)
    assert any(d.instances for d in proposals)
    # the checkpoint that proposed is registered (and current, as the first model)
    record = store.current_model()
    assert record.name == report.model_version and (project.root / record.path).exists()
    assert report.images_per_s > 0
    # the Model page's button runs the same function as a background job, on the current model
    from pipelines.services.jobs import JobRunner
    from pipelines.services.model_jobs import offers

    offer = {o.key: o for o in offers(project)}
    assert offer["prelabel"].available and offer["feedback"].available
    runner = JobRunner(store)
    try:
        status = runner.wait(runner.start(project, offer["prelabel"].params(None)), timeout=300)
        children = store.list_jobs(parent_id=status.id)
    finally:
        runner.shutdown()
    assert status.state.value == "done", status.error
    assert status.children == len(children) == 2  # one job per group
    assert sum(c.result["proposed"] for c in children) == 0
    assert sum(c.result["skipped_done"] for c in children) == 19


def test_prelabel_resumes_after_a_crash_and_skips_what_is_done(project, checkpoint):
    calls = []

    def crash_after_two_batches(fraction, message=""):
        calls.append(fraction)
        if len(calls) == 3:
            raise RuntimeError("power cut")

    with pytest.raises(RuntimeError):
        prelabel_project(
            project,
            checkpoint=checkpoint,
            group_size=4,
            batch_size=1,
            progress=crash_after_two_batches,
        )
    done = [d for d in _statuses(project.store).values() if d.status is DecisionStatus.PROPOSED]
    assert len(done) == 5  # the two GRSer groups (4 + 1 new images) of one expression were stored
    revisions = {(d.expression_id, d.image_id): d.revision for d in done}
    report = prelabel_project(project, checkpoint=checkpoint, group_size=4, batch_size=1)
    assert report.skipped_done == 5 and report.proposed == 15
    after = _statuses(project.store)
    assert all(after[k].revision == r for k, r in revisions.items())  # done pairs not redone
    again = prelabel_project(project, checkpoint=checkpoint)
    assert again.proposed == 0 and again.skipped_done == 20


def test_prelabel_refuses_missing_or_bad_checkpoints(project, checkpoint):
    from model.errors import CheckpointError

    with pytest.raises(NoCheckpoint, match="checkpoint"):
        prelabel_project(project)
    with pytest.raises(CheckpointError):
        prelabel_project(project, checkpoint=__file__)
    with pytest.raises(ValueError, match="group size"):
        prelabel_project(project, checkpoint=checkpoint, group_size=99)
    assert all(d.status is DecisionStatus.UNSEEN for d in _statuses(project.store).values())


def _proposal_ious(project, truth):
    """IoU with the truth of every proposal that put masks on a true positive."""
    from labeler import rle
    from labeler.mask_ops import iou

    store, out = project.store, []
    for expression in store.list_expressions():
        images = {i.id: i for i in store.list_images(expression.group_id)}
        for image_id, d in store.decisions_for_expression(expression.id).items():
            true_rles, image = truth[(expression.id, image_id)], images[image_id]
            if d.status is DecisionStatus.PROPOSED and d.instances and true_rles:
                proposed = rle.union([i.rle for i in d.instances], image.height, image.width)
                true = rle.union(true_rles, image.height, image.width)
                out.append(iou(rle.decode(proposed), rle.decode(true)))
    return out


def test_refined_proposals_follow_the_object_outlines_better(tmp_path):
    """The bundled demo model on scenes like its training data: its stride-4 masks, snapped to
    the edges by the classic click segmenter, are closer to the truth, pair for pair."""
    import numpy as np

    from pipelines.click_models.embedding_cache import EmbeddingCache
    from pipelines.click_models.segmenters import project_segmenter
    from pipelines.loop.simulate import init_simulation, load_truth, reset_decisions, truth_path
    from pipelines.services.demo import DEMO_CHECKPOINT
    from pipelines.training.synth import make_group
    from pipelines.training.synth_project import write_project

    groups = (
        make_group(3, i, images_per_group=8, image_size=96, expressions_per_group=2, level=1)
        for i in range(3)
    )
    write_project(tmp_path / "p", groups, 3)
    with Project.open(tmp_path / "p") as project:
        init_simulation(project)
        truth = load_truth(truth_path(project))
        raw = prelabel_project(project, checkpoint=DEMO_CHECKPOINT, refine=False)
        raw_ious = _proposal_ious(project, truth)
        assert raw.refined == raw.refine_kept == 0
        reset_decisions(project)
        project.settings.extra["prelabel_refine"] = True  # the project's default, not an argument
        refined = prelabel_project(project, checkpoint=DEMO_CHECKPOINT)
        refined_ious = _proposal_ious(project, truth)
        segmenter_id = project_segmenter(project).model_id
        hashes = [i.content_hash for i in project.store.list_images()]
    assert refined.proposed == raw.proposed == 48 and len(refined_ious) == len(raw_ious) >= 5
    assert refined.refined > 0 and refined.refined + refined.refine_kept >= len(refined_ious)
    assert "snapped to edges" in refined.summary()
    assert np.mean(refined_ious) > np.mean(raw_ious) + 0.03
    assert sum(v >= 0.9 for v in refined_ious) > sum(v >= 0.9 for v in raw_ious)
    # The embeddings it computed are the editor's: cached on disk under the segmenter's id.
    cache = EmbeddingCache(tmp_path / "p" / "cache" / "embeddings")
    hits = [h for h in hashes if cache.get(segmenter_id, h) is not None]
    assert cache.stats.disk_hits == len(hits) >= 5


def test_prelabel_refine_with_a_missing_sam_checkpoint_is_a_clear_error_and_writes_nothing(
    project, checkpoint, monkeypatch
):
    from typer.testing import CliRunner

    from pipelines.cli import app

    monkeypatch.delenv("GRD_SEGMENTER")  # the project's setting, not the tests' default
    project.settings.segmenter = "/nowhere/sam_vit_b.pth"
    project.save_settings()
    project.store.engine.dispose()
    out = CliRunner().invoke(
        app, ["prelabel", str(project.root), "--checkpoint", str(checkpoint), "--refine"]
    )
    assert out.exit_code == 1 and "sam_vit_b.pth" in out.output and "Traceback" not in out.output
    assert all(d.status is DecisionStatus.UNSEEN for d in _statuses(project.store).values())

"""Data and model pages through AppTest: expressions, ingest and model work run as background jobs
whose results land in the store; the export builds files pycocotools can read."""

from __future__ import annotations

import io
import json

import numpy as np
from PIL import Image

from pipelines.services.jobs import JobState
from ui import resources


def _png(seed: int) -> bytes:
    rgb = np.random.default_rng(seed).integers(0, 255, (48, 64, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="PNG")
    return buffer.getvalue()


def _wait_all_jobs():
    runner = resources.job_runner()
    return [runner.wait(j.id, timeout=120) for j in runner.jobs()]


def test_add_and_edit_expressions_of_a_group(page_app, demo_project):
    store = demo_project.store
    group = store.list_groups()[0]
    at = page_app("data").run()
    assert not at.exception
    at.text_input(key="new_expression").input("the  striped   mug")
    at.button(key="add_expression").click().run()
    texts = [e.text for e in store.list_expressions(group.id)]
    assert "the striped mug" in texts
    added = next(e for e in store.list_expressions(group.id) if e.text == "the striped mug")
    assert added.created_by == "ann"
    at.text_input(key=f"expr-text-{added.id}").input("the striped coffee mug")
    at.button(key=f"expr-save-{added.id}").click().run()
    assert store.get_expression(added.id).text == "the striped coffee mug"
    audit = store.audit(expression_id=added.id)
    assert audit[-1].action == "edit_expression" and audit[-1].author == "ann"
    at.text_input(key="new_expression").input("the striped coffee mug")
    at.button(key="add_expression").click().run()
    assert any("already has the expression" in e.value for e in at.error)


def test_uploaded_images_are_ingested_by_a_background_job(page_app, demo_project):
    at = page_app("data").run()
    at.file_uploader(key="upload_files").set_value(
        [(f"photo{k}.png", _png(k), "image/png") for k in range(3)]
        + [("broken.png", b"nope", "image/png")]
    )
    at.text_input(key="upload_group").input("mugs x kitchen")
    at.text_input(key="upload_target").input("mug")
    at.run()
    at.button(key="ingest_uploads").click().run()
    assert not at.exception
    jobs = _wait_all_jobs()
    job = next(j for j in jobs if j.name.startswith("ingest 4 upload"))
    assert job.state is JobState.DONE, job.error
    assert len(job.result["added"]) == 3 and len(job.result["skipped"]) == 1
    assert job.author == "ann"  # who started it, in the record
    group = demo_project.store.group_by_name("mugs x kitchen")
    assert group.target_keyword == "mug"
    assert len(demo_project.store.list_images(group.id)) == 3
    at.run()
    assert any("3 added" in c.value for c in at.text)  # job summaries are plain text


def test_export_tab_builds_a_coco_file_pycocotools_reads(page_app, demo_project, tmp_path):
    from pycocotools.coco import COCO

    store = demo_project.store
    group = store.list_groups()[0]
    expr = store.list_expressions(group.id)[0]
    image = store.list_images(group.id)[0]
    m = np.zeros((image.height, image.width), bool)
    m[10:40, 20:60] = True
    from labeler import rle

    store.save_decision(
        expr.id, image.id, "positive", [rle.encode(m)], author="ann", expected_revision=0
    )
    store.confirm_negatives(expr.id, None, author="ann")
    at = page_app("data").run()
    at.button(key="prepare_export").click().run()
    assert not at.exception
    files = at.session_state["export_files"]
    coco_file = next(f for f in files if f.file_name.endswith("_instances.json"))
    path = tmp_path / coco_file.file_name
    path.write_bytes(coco_file.data)
    coco = COCO(str(path))
    anns = coco.loadAnns(coco.getAnnIds(imgIds=[image.id]))
    assert len(anns) == 1 and anns[0]["area"] == 30 * 40
    assert coco.annToMask(anns[0]).sum() == 30 * 40
    assert json.loads(coco_file.data)["images"]
    assert any(f.file_name.endswith(".zip") for f in files)


def test_model_page_says_why_prelabel_cannot_run_and_runs_it_once_configured(
    page_app, demo_project
):
    from pipelines.services.demo import DEMO_CHECKPOINT

    at = page_app("model").run()
    assert not at.exception
    assert at.button(key="start-prelabel").disabled
    assert any("needs a GRSer checkpoint" in c.value for c in at.caption)
    demo_project.settings.grser_checkpoint = str(DEMO_CHECKPOINT)
    demo_project.save_settings()
    resources.forget_project()
    at.run()
    assert not at.button(key="start-prelabel").disabled
    at.button(key="start-prelabel").click().run()
    jobs = _wait_all_jobs()
    job = next(j for j in jobs if j.kind == "prelabel")
    assert job.state is JobState.DONE, job.error
    group = demo_project.store.list_groups()[0]
    proposed = [
        d
        for e in demo_project.store.list_expressions(group.id)
        for d in demo_project.store.decisions_for_expression(e.id).values()
        if d.status.value == "proposed"
    ]
    n_pairs = len(demo_project.store.list_images(group.id)) * len(
        demo_project.store.list_expressions(group.id)
    )
    assert len(proposed) == n_pairs  # this group only ("this group" scope is the default)
    assert all(d.model_version and d.score is not None for d in proposed)
    other = demo_project.store.list_groups()[1]
    assert all(
        d.status.value == "unseen"
        for e in demo_project.store.list_expressions(other.id)
        for d in demo_project.store.decisions_for_expression(e.id).values()
    )


def test_model_page_prelabels_with_masks_snapped_to_edges_when_asked(page_app, demo_project):
    from pipelines.services.demo import DEMO_CHECKPOINT

    demo_project.settings.grser_checkpoint = str(DEMO_CHECKPOINT)
    demo_project.save_settings()
    resources.forget_project()
    synthetic = [g for g in demo_project.store.list_groups() if g.name.startswith("synthetic")]
    at = page_app("model").run()
    assert at.checkbox(key="model_refine").value is False  # the default: prelabel_refine unset
    reports, seen = [], {j.id for j in resources.job_runner().jobs()}  # earlier tests' jobs
    for group, refine in zip(synthetic, (False, True)):
        at.selectbox(key="model_group").select(group.id).run()
        checkbox = at.checkbox(key="model_refine")
        (checkbox.check() if refine else checkbox.uncheck()).run()
        at.button(key="start-prelabel").click().run()
        (job,) = [j for j in _wait_all_jobs() if j.kind == "prelabel" and j.id not in seen]
        seen.add(job.id)
        assert job.state is JobState.DONE, job.error
        reports.append(job.result)
    plain, snapped = reports
    assert plain["present"] > 0 and snapped["present"] > 0  # the demo model finds these shapes
    assert plain["refined"] == plain["refine_kept"] == 0 and plain["refine_seconds"] == 0
    assert snapped["refined"] + snapped["refine_kept"] >= snapped["present"]
    assert snapped["refine_seconds"] > 0

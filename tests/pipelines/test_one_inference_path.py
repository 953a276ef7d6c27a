"""Pre-labelling and evaluation run GRSer through the same path: same checkpoint, same images,
same groups -> identical masks and presence scores."""

from __future__ import annotations

import numpy as np
import pytest

from labeler import rle
from labeler.project import Project
from model.checkpoint import load_checkpoint
from model.predictor import GroupPredictor
from pipelines.loop.prelabel import prelabel_project
from pipelines.loop.simulate import reset_decisions
from pipelines.services.demo import DEMO_CHECKPOINT
from pipelines.training.batching import ItemCache
from pipelines.training.datasets.store import store_groups
from pipelines.training.evaluate import EvalChunk, predict_chunks


def test_prelabel_and_evaluate_give_identical_masks(tmp_path):
    from pipelines.training.synth import make_group
    from pipelines.training.synth_project import write_project

    model, _ = load_checkpoint(DEMO_CHECKPOINT)
    n = model.config.group_size
    made = [make_group(0, 0, images_per_group=n + 2, image_size=64, expressions_per_group=2)]
    write_project(tmp_path / "p", made, 0)
    groups = store_groups(tmp_path / "p")  # read before the decisions are reset
    with Project.open(tmp_path / "p") as project:
        reset_decisions(project)
        prelabel_project(project, checkpoint=DEMO_CHECKPOINT, refine=False, min_area_fraction=0)
        store = project.store
        proposed = {}
        for expression in store.list_expressions():
            for image_id, d in store.decisions_for_expression(expression.id).items():
                record = store.get_image(image_id)
                mask = np.zeros((record.height, record.width), bool)
                for instance in d.instances:
                    mask |= rle.decode(instance.rle)
                proposed[(expression.text, image_id)] = (mask, d.score)
    # The same groups prelabel planned (store order, short group topped up with the first ones).
    cache = ItemCache(model.config.image_size)
    predictor = GroupPredictor(model)
    compared = present = 0
    for group in groups:
        items = list(group.items)
        chunks = [EvalChunk(group.expression, group.name, tuple(items[:n]), n)]
        chunks.append(EvalChunk(group.expression, group.name, tuple(items[n:] + items[:2]), 2))
        for _chunk, item, prediction in predict_chunks(predictor, chunks, cache):
            image_id = int(item.key.rsplit("/", 1)[1])
            mask, score = proposed[(group.expression, image_id)]
            np.testing.assert_array_equal(prediction.mask, mask)
            assert prediction.presence_score == pytest.approx(score, rel=1e-6)  # stored as REAL
            compared += 1
            present += bool(mask.any())
    assert compared == len(proposed) == 2 * (n + 2) and present > 0

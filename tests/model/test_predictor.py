"""GroupPredictor: numpy in/out at the original size, presence applied, sets split into groups of N."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from model import GroupPredictor, InputError, preprocess
from model.predictor import GroupInput, plan_groups, resize_image, to_pixels
from tests.model.conftest import make_tiny


def _images(sizes, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 256, size=(h, w, 3), dtype=np.uint8) for h, w in sizes]


def test_preprocess_resizes_to_unit_range_squares():
    images = [np.full((30, 50, 3), 255, np.uint8), np.zeros((64, 64, 3), np.uint8)]
    batch = preprocess(images, 64)
    assert batch.shape == (2, 3, 64, 64) and batch.dtype == torch.float32
    assert torch.allclose(batch[0], torch.ones(3, 64, 64)) and batch[1].abs().max() == 0


@pytest.mark.parametrize(
    "bad",
    [np.zeros((8, 8), np.uint8), np.zeros((8, 8, 3), np.float32), np.zeros((8, 8, 4), np.uint8)],
)
def test_preprocess_rejects_non_rgb_uint8(bad):
    with pytest.raises(InputError):
        preprocess([bad], 64)


def test_plan_groups_tops_up_a_short_group_with_todo_then_context():
    assert plan_groups([0, 1, 2], 4) == [((0, 1, 2), 3)]
    assert plan_groups([0, 1, 2, 3], 4) == [((0, 1, 2, 3), 4)]
    assert plan_groups([0, 1, 2, 3, 4, 5], 4) == [((0, 1, 2, 3), 4), ((4, 5, 0, 1), 2)]
    assert plan_groups([1], 4, [10]) == [((1, 10), 1)]  # only two images exist
    assert plan_groups([], 4, [1, 2]) == []
    plan = plan_groups(list(range(10)), 4)
    kept = [i for items, keep in plan for i in items[:keep]]
    assert kept == list(range(10)) and all(len(items) == 4 for items, _ in plan)
    with pytest.raises(ValueError):
        plan_groups([1], 0)


def test_predict_groups_batches_groups_and_matches_one_at_a_time():
    predictor = GroupPredictor(make_tiny())
    size = predictor.model.config.image_size
    images = _images([(50, 70)] * 7, seed=3)
    pixels = to_pixels([resize_image(im, size) for im in images])
    groups = [
        GroupInput("a red cup", pixels[:4], ((50, 70),) * 4, 4),
        GroupInput("a blue cube", pixels[3:7], ((50, 70),) * 4, 2),
        GroupInput("a cat", pixels[:3], ((50, 70),) * 3, 3),
    ]
    together = predictor.predict_groups(groups, batch_size=4)
    alone = [predictor.predict_groups([g], batch_size=1)[0] for g in groups]
    assert [len(p) for p in together] == [4, 2, 3]
    for a_group, b_group in zip(together, alone):
        for a, b in zip(a_group, b_group):
            np.testing.assert_allclose(a.probability, b.probability, atol=1e-5)
            assert a.presence_score == pytest.approx(b.presence_score, abs=1e-5)


def test_presence_threshold_moves_the_decision_not_the_probability():
    model = make_tiny()
    images = _images([(64, 64)] * 4, seed=2)
    low = GroupPredictor(model, presence_threshold=-1e9).predict(images, "a cat")
    high = GroupPredictor(model, presence_threshold=1e9).predict(images, "a cat")
    assert all(p.is_present for p in low) and not any(p.is_present for p in high)
    assert not any(p.mask.any() for p in high)
    for a, b in zip(low, high):
        np.testing.assert_array_equal(a.probability, b.probability)


def test_predictions_are_at_the_original_size():
    predictor = GroupPredictor(make_tiny(), device="cpu")
    sizes = [(40, 70), (64, 64), (90, 33), (50, 50), (21, 80), (64, 30)]
    preds = predictor.predict(_images(sizes), "the red square")
    assert len(preds) == len(sizes)
    margin = predictor.model.config.margin
    for pred, (h, w) in zip(preds, sizes):
        assert pred.mask.shape == (h, w) and pred.mask.dtype == bool
        assert pred.probability.shape == (h, w) and pred.probability.dtype == np.float32
        assert 0.0 <= pred.probability.min() and pred.probability.max() <= 1.0
        assert isinstance(pred.presence_score, float) and isinstance(pred.is_present, bool)
        if pred.is_present:
            assert pred.presence_score > margin - 1e-5
        else:
            assert pred.presence_score <= margin + 1e-5 and not pred.mask.any()


def test_absent_images_get_empty_masks_and_res_mode_keeps_them():
    model = make_tiny()
    images = _images([(64, 64)] * 4)
    probe = GroupPredictor(model).predict(images, "a cat")
    scores = sorted(p.presence_score for p in probe)
    model.config.margin = (scores[1] + scores[2]) / 2  # two present, two absent
    gres = GroupPredictor(model).predict(images, "a cat")
    res = GroupPredictor(model, apply_presence=False, threshold=0.0).predict(images, "a cat")
    assert sum(p.is_present for p in gres) == 2
    for g, r in zip(gres, res):
        if not g.is_present:
            assert not g.mask.any()
        assert r.mask.all()  # threshold 0: every pixel, presence ignored
        np.testing.assert_array_equal(g.probability, r.probability)


def test_splitting_keeps_each_group_intact():
    predictor = GroupPredictor(make_tiny())
    images = _images([(64, 64)] * 6, seed=1)
    first_group = predictor.predict(images[:4], "a dog")
    all_six = predictor.predict(images, "a dog")
    for a, b in zip(first_group, all_six[:4]):
        np.testing.assert_allclose(a.probability, b.probability, atol=1e-5)
        assert a.presence_score == pytest.approx(b.presence_score, abs=1e-5)


def test_predict_runs_without_grad_and_leaves_model_in_eval():
    model = make_tiny()
    predictor = GroupPredictor(model)
    predictor.predict(_images([(64, 64)]), "x")
    assert not model.training
    assert all(p.grad is None for p in model.parameters())


def test_empty_and_bad_requests():
    predictor = GroupPredictor(make_tiny())
    assert predictor.predict([], "x") == []
    with pytest.raises(InputError):
        predictor.predict(_images([(8, 8)]), "  ")

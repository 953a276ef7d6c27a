"""GroupPredictor: numpy in/out at the original size, presence applied, sets split into groups of N."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from model import GroupPredictor, InputError, preprocess
from model.predictor import group_batches
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


def test_group_batches_top_up_the_last_group_with_context():
    assert group_batches(3, 4) == [([0, 1, 2], 3)]
    assert group_batches(4, 4) == [([0, 1, 2, 3], 4)]
    assert group_batches(6, 4) == [([0, 1, 2, 3], 4), ([4, 5, 2, 3], 2)]
    batches = group_batches(10, 4)
    kept = [i for indices, keep in batches for i in indices[:keep]]
    assert kept == list(range(10)) and all(len(ix) == 4 for ix, _ in batches)


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

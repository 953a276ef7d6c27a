"""GRES metrics on hand-made cases (values worked out by hand in the comments)."""

import math

import numpy as np
import pytest

from pipelines.training.metrics import (
    GresEvaluator,
    bar_iou,
    cosod_metrics,
    gres_metrics,
    sample_outcome,
)


def box(y0, y1, x0, x1, shape=(10, 10)):
    m = np.zeros(shape, dtype=bool)
    m[y0:y1, x0:x1] = True
    return m


EMPTY = np.zeros((10, 10), dtype=bool)
GT = box(0, 4, 0, 5)  # 20 pixels
PRED_HALF = box(0, 4, 0, 10)  # 40 pixels, contains GT: IoU = 20 / 40


def test_true_positive_scores_its_iou():
    o = sample_outcome(PRED_HALF, GT)
    assert o.kind == "TP"
    assert (o.intersection, o.union) == (20, 40)
    assert bar_iou(o) == pytest.approx(0.5)


def test_true_negative_scores_one_and_false_cases_zero():
    tn = sample_outcome(EMPTY, EMPTY)
    fp = sample_outcome(GT, EMPTY)  # object predicted where there is none
    fn = sample_outcome(EMPTY, GT)  # object missed
    assert (tn.kind, fp.kind, fn.kind) == ("TN", "FP", "FN")
    assert (bar_iou(tn), bar_iou(fp), bar_iou(fn)) == (1.0, 0.0, 0.0)


def test_presence_decision_gates_the_mask():
    # the mask overlaps the truth perfectly but the presence test said "absent": a false negative
    o = sample_outcome(GT, GT, pred_positive=False)
    assert o.kind == "FN" and o.intersection == 0 and o.union == 20
    # presence said "present" with an empty mask: predicted positive, IoU 0
    o = sample_outcome(EMPTY, EMPTY, pred_positive=True)
    assert o.kind == "FP" and bar_iou(o) == 0.0


def test_shape_mismatch_is_an_error():
    with pytest.raises(ValueError, match="shape"):
        sample_outcome(np.zeros((3, 3)), np.zeros((4, 4)))


def test_mixed_set_by_hand():
    outcomes = [
        sample_outcome(PRED_HALF, GT),  # TP, IoU .5, I 20 U 40
        sample_outcome(GT, GT),  # TP, IoU 1, I 20 U 20
        sample_outcome(EMPTY, GT),  # FN, I 0 U 20
        sample_outcome(EMPTY, EMPTY),  # TN
        sample_outcome(box(5, 7, 5, 10), EMPTY),  # FP, U 10
    ]
    m = gres_metrics(outcomes)
    assert m["miou"] == pytest.approx((0.5 + 1.0 + 0.0) / 3)
    assert m["bar_miou"] == pytest.approx((0.5 + 1.0 + 0 + 1 + 0) / 5)
    assert m["giou"] == pytest.approx(m["bar_miou"])
    assert m["r_neg"] == pytest.approx(0.5) and m["n_acc"] == pytest.approx(0.5)
    assert m["t_acc"] == pytest.approx(2 / 3)
    assert m["ciou"] == pytest.approx(40 / (40 + 20 + 20 + 0 + 10))
    assert (m["TP"], m["TN"], m["FP"], m["FN"]) == (2, 1, 1, 1)


def _balanced_truth(n=4):
    return [GT] * n + [EMPTY] * n  # 1:1 positives and negatives


def test_all_negative_predictor_scores_half_on_balanced_groups():
    m = gres_metrics([sample_outcome(EMPTY, gt) for gt in _balanced_truth()])
    assert m["bar_miou"] == pytest.approx(0.5)
    assert m["r_neg"] == 1.0 and m["miou"] == 0.0 and m["t_acc"] == 0.0


def test_all_positive_predictor_never_recalls_a_negative():
    # predicts the exact truth mask shape everywhere, even on negatives
    m = gres_metrics([sample_outcome(GT, gt) for gt in _balanced_truth()])
    assert m["r_neg"] == 0.0
    assert m["miou"] == 1.0
    assert m["bar_miou"] == pytest.approx(0.5)  # perfect positives, every negative a false alarm
    assert m["t_acc"] == 1.0


def test_empty_inputs_give_nan_not_crash():
    m = gres_metrics([])
    assert math.isnan(m["bar_miou"]) and math.isnan(m["r_neg"]) and m["n_samples"] == 0
    only_pos = gres_metrics([sample_outcome(GT, GT)])
    assert math.isnan(only_pos["r_neg"]) and only_pos["miou"] == 1.0


def test_cosod_metrics_perfect_and_inverted():
    gt = box(2, 8, 2, 8)
    perfect = cosod_metrics([(gt.astype(float), gt)])
    assert perfect["mae"] == pytest.approx(0.0)
    assert perfect["max_f"] == pytest.approx(1.0, abs=1e-3)
    assert perfect["s_measure"] == pytest.approx(1.0, abs=1e-3)
    assert perfect["mean_e"] > 0.95
    inverted = cosod_metrics([((~gt).astype(float), gt)])
    assert inverted["mae"] == pytest.approx(1.0)
    assert inverted["s_measure"] < 0.2


def test_evaluator_accumulates_and_zeroes_negative_probability():
    ev = GresEvaluator()
    # predicted negative: its probability map must not count as foreground for MAE
    ev.process(GT, EMPTY, pred_positive=False, probability=np.full((10, 10), 0.9))
    ev.process(GT, GT, probability=GT.astype(float))
    r = ev.evaluate()
    assert r["bar_miou"] == 1.0 and r["r_neg"] == 1.0
    assert r["mae"] == pytest.approx(0.0)

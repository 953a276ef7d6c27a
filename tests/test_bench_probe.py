"""The figures of bench/probe_presence.py: the text-side gap and the two presence AUCs."""

from __future__ import annotations

import torch

from bench.probe_presence import image_side, text_geometry
from model.build import build_grser
from pipelines.training.evaluate import SampleRecord


def _record(positive: bool, score: float, predicted: int, overlap: int, gt: int) -> SampleRecord:
    return SampleRecord(
        "g|e", positive, score, predicted > 0, overlap, predicted + gt - overlap, gt
    )


def test_image_side_reads_the_predicted_area_back_from_each_record():
    # positives predict large masks, negatives small ones; the presence score says the opposite
    records = [
        _record(True, -1.0, predicted=400, overlap=300, gt=350),
        _record(True, -0.5, predicted=500, overlap=450, gt=500),
        _record(False, 0.5, predicted=20, overlap=0, gt=0),
        _record(False, 1.0, predicted=50, overlap=0, gt=0),
    ]
    figures = image_side(records)
    assert figures["auc_mask_area"] == 1.0
    assert figures["auc_presence_score"] == 0.0
    assert (figures["samples"], figures["positives"]) == (4, 2)


def test_text_geometry_measures_the_projected_gap_against_the_margin():
    torch.manual_seed(0)
    model = build_grser("tiny").eval()
    expressions = ["the red disc", "every blue square", "the star on the left"]
    figures = text_geometry(model, expressions)
    with torch.no_grad():
        texts = model.text_encoder([expressions[0], model.text_encoder.anti(expressions[0])])
        text, anti = model.tqm.project_text(texts.sentence)
    gap = float((text - anti).norm())
    assert figures["anti_gap_min"] <= round(gap, 3) <= figures["anti_gap_max"]
    assert figures["expressions"] == 3 and figures["margin"] == model.config.margin
    with torch.no_grad():  # a projection of zero puts every L' on L'_anti: no gap, no direction
        model.tqm.omega_l.weight.zero_()
        model.tqm.omega_l.bias.zero_()
    collapsed = text_geometry(model, expressions)
    assert collapsed["anti_gap_max"] == 0.0 and collapsed["share_of_gaps_over_margin"] == 0.0

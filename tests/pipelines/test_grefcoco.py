"""The official per-sample gRefCOCO protocol (ReLA): reader + evaluator on a fixture built here,
checked against figures computed by hand."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

from labeler import rle
from pipelines.training.grefcoco import GrefOutcome, grefcoco_metrics, read_grefcoco

SIZES = {1: (8, 10), 2: (6, 12), 3: (9, 9)}  # image id -> (H, W): 80, 72, 81 pixels


def _box(h, w, top, left, bh, bw):
    mask = np.zeros((h, w), bool)
    mask[top : top + bh, left : left + bw] = True
    return mask


@pytest.fixture
def grefcoco(tmp_path):
    images_dir = tmp_path / "img"
    images_dir.mkdir()
    images = []
    for image_id, (h, w) in SIZES.items():
        Image.fromarray(np.full((h, w, 3), 40 * image_id, np.uint8)).save(
            images_dir / f"{image_id}.png"
        )
        images.append({"id": image_id, "file_name": f"{image_id}.png", "height": h, "width": w})
    masks = {
        1: (1, _box(8, 10, 1, 1, 3, 4)),  # 12 px in image 1
        2: (2, _box(6, 12, 0, 0, 2, 3)),  # 6 px in image 2
        3: (2, _box(6, 12, 3, 5, 2, 5)),  # 10 px in image 2, disjoint from ann 2
    }
    annotations = [
        {"id": a, "image_id": i, "segmentation": rle.encode(m), "category_id": 1}
        for a, (i, m) in masks.items()
    ]
    (tmp_path / "instances.json").write_text(
        json.dumps({"images": images, "annotations": annotations})
    )

    def ref(ref_id, image_id, ann_id, sentence, split="val", no_target=False):
        return {
            "ref_id": ref_id,
            "image_id": image_id,
            "ann_id": ann_id,
            "no_target": no_target,
            "split": split,
            "sentences": [{"raw": sentence, "sent": sentence.lower()}],
        }

    grefs = [
        ref(0, 1, [1], "The cat."),
        ref(1, 2, [2, 3], "two dogs"),
        ref(2, 3, [-1], "a horse", no_target=True),
        ref(3, 1, [-1], "a horse", no_target=True),
        ref(4, 2, [2], "a dog", split="train"),  # another split: not read
    ]
    (tmp_path / "grefs.json").write_text(json.dumps(grefs))
    return f"{tmp_path / 'grefs.json'}::{tmp_path / 'instances.json'}::{images_dir}"


def test_reader_keeps_every_sample_of_the_split(grefcoco):
    groups = read_grefcoco(grefcoco, "val")
    samples = {(g.expression, i.key): int(i.mask().sum()) for g in groups for i in g.items}
    assert samples == {
        ("the cat", "coco/1#0"): 12,
        ("two dogs", "coco/2#1"): 16,
        ("a horse", "coco/3#2"): 0,
        ("a horse", "coco/1#3"): 0,
    }


def test_metrics_follow_rela_by_hand():
    outcomes = [
        GrefOutcome(False, False, 6, 10),  # target hit: IoU 0.6
        GrefOutcome(False, True, 5, 20),  # target called no-target: IoU 0, I 0, U 20
        GrefOutcome(True, True, 0, 7),  # no-target called so: IoU 1, adds nothing
        GrefOutcome(True, False, 0, 4),  # false alarm: IoU 0, U 4
        GrefOutcome(False, False, 9, 10),  # IoU 0.9
    ]
    m = grefcoco_metrics(outcomes)
    assert m["giou"] == pytest.approx((0.6 + 0 + 1 + 0 + 0.9) / 5)
    assert m["ciou"] == pytest.approx((6 + 0 + 9) / (10 + 20 + 4 + 10))
    assert m["n_acc"] == pytest.approx(1 / 2) and m["t_acc"] == pytest.approx(2 / 3)
    assert m["pr@0.7"] == pytest.approx(1 / 3) and m["pr@0.9"] == pytest.approx(1 / 3)


@pytest.mark.parametrize(
    "bias, expected",
    [
        # every pixel foreground: targets I=|gt|, U=HW; no-targets are false alarms adding HW
        (10.0, {"giou": (12 / 80 + 16 / 72) / 4, "ciou": 28 / 313, "n_acc": 0.0, "t_acc": 1.0}),
        # every mask empty: targets called no-target (U = |gt|), no-targets right
        (-10.0, {"giou": 0.5, "ciou": 0.0, "n_acc": 1.0, "t_acc": 0.0}),
    ],
)
def test_grd_evaluate_on_the_official_format(grefcoco, tmp_path, bias, expected):
    from model import build_grser, save_checkpoint
    from pipelines.cli import app

    torch.manual_seed(0)
    model = build_grser("tiny", apply_presence=False)
    with torch.no_grad():
        model.decoder.head.bias.fill_(bias)
        model.decoder.head.weight.zero_()
    save_checkpoint(tmp_path / "m.pt", model)
    out = tmp_path / "report.json"
    res = CliRunner().invoke(
        app,
        [
            "evaluate",
            str(tmp_path / "m.pt"),
            f"grefcoco:{grefcoco}",
            "--split",
            "val",
            "--out",
            str(out),
        ],
    )
    assert res.exit_code == 0, res.output
    report = json.loads(out.read_text())
    assert report["n_samples"] == 4 and report["n_target"] == 2
    for key, value in expected.items():
        assert report[key] == pytest.approx(value), key
    assert "gIoU" in res.output and "T-acc" in res.output

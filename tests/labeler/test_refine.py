"""Coarse model masks snapped to the image's edges by a click segmenter (``labeler.refine``)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from labeler.classic_segmenter import ClassicSegmenter
from labeler.mask_ops import iou
from labeler.refine import RefineSettings, refine_instance, refine_instances, refine_prompts
from labeler.segmenter import SegmentResult


def _scene(seed: int = 0):
    """A noisy grey 96 px image with a red disc and a blue square; their exact masks."""
    rng = np.random.default_rng(seed)
    image = np.clip(rng.normal(128, 6, (96, 96, 3)), 0, 255).astype(np.uint8)
    disc = np.zeros((96, 96), np.uint8)
    cv2.circle(disc, (30, 40), 14, 1, -1)
    square = np.zeros((96, 96), np.uint8)
    square[55:85, 55:85] = 1
    image[disc > 0] = (210, 40, 40)
    image[square > 0] = (40, 60, 220)
    return image, disc > 0, square > 0


def _coarse(mask: np.ndarray, stride: int = 4) -> np.ndarray:
    """What a stride-4 decoder gives: the mask at a quarter of the size, blown up again."""
    h, w = mask.shape
    small = cv2.resize(
        mask.astype(np.float32), (w // stride, h // stride), interpolation=cv2.INTER_AREA
    )
    small = cv2.GaussianBlur(small, (3, 3), 0)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR) > 0.5


class _Fixed:
    """A segmenter that answers every prompt with the same mask, and records the prompts."""

    model_id = "fixed"

    def __init__(self, mask: np.ndarray):
        self.mask, self.prompts = mask, []

    def embed(self, image):
        return {"image": image}

    def predict(self, embedding, prompts):
        self.prompts.append(prompts)
        return SegmentResult(self.mask.copy(), None, 1.0)


def test_prompts_are_a_padded_box_inside_the_image_and_a_click_at_the_innermost_pixel():
    mask = np.zeros((50, 60), bool)
    mask[10:30, 0:20] = True  # touches the left border
    prompts = refine_prompts(mask, RefineSettings(pad_fraction=0.25, min_pad=2))
    assert prompts.box == (0.0, 5.0, 25.0, 35.0)  # 20 px wide -> 5 px each side, clipped at x = 0
    ((x, y),) = prompts.points
    assert prompts.labels == (1,) and mask[int(y), int(x)]
    assert 8 <= x <= 12 and 18 <= y <= 22  # the centre of the 20 x 20 block
    assert refine_prompts(np.zeros((5, 5), bool)) is None


def test_classic_segmenter_snaps_a_blocky_mask_to_the_object_outline():
    image, disc, square = _scene()
    segmenter = ClassicSegmenter()
    embedding = segmenter.embed(image)
    for truth in (disc, square):
        coarse = _coarse(truth, stride=8)
        refined, replaced = refine_instance(segmenter, embedding, coarse)
        assert replaced
        assert iou(refined, truth) >= 0.9 > iou(coarse, truth)


def test_a_segmenter_answer_that_is_another_object_leaves_the_coarse_mask():
    _, disc, square = _scene()
    coarse = _coarse(disc)
    for answer in (square, np.zeros_like(disc)):
        refined, replaced = refine_instance(_Fixed(answer), {}, coarse)
        assert not replaced and np.array_equal(refined, coarse)
    with pytest.raises(ValueError, match="segmenter returned"):
        refine_instance(_Fixed(np.ones((10, 10), bool)), {}, coarse)


def test_two_parts_of_one_object_become_one_instance_and_distinct_objects_stay_apart():
    _, disc, square = _scene()
    left, right = disc.copy(), disc.copy()
    left[:, 28:] = False  # the disc spans x = 16 .. 44
    right[:, :33] = False
    fake = _Fixed(disc)
    outcome = refine_instances(fake, {}, [left, right])
    assert len(fake.prompts) == 2
    assert (
        outcome.replaced == 0 and outcome.kept == 2
    )  # each half alone has IoU < 0.5 with the disc
    assert len(outcome.masks) == 2
    # Two blobs that are both mostly the disc: both become the disc, kept once.
    trimmed, shifted = disc.copy(), np.roll(disc, 2, axis=0)
    trimmed[:, :22] = False
    outcome = refine_instances(fake, {}, [trimmed, shifted])
    assert outcome.replaced == 2 and outcome.merged == 1
    assert len(outcome.masks) == 1 and np.array_equal(outcome.masks[0], disc)

    segmenter = ClassicSegmenter()
    image, _, _ = _scene()
    outcome = refine_instances(segmenter, segmenter.embed(image), [_coarse(disc), _coarse(square)])
    assert len(outcome.masks) == 2 and outcome.replaced == 2
    assert iou(outcome.masks[0], disc) >= 0.9 and iou(outcome.masks[1], square) >= 0.9

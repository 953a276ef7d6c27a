"""The Segmenter contract and the weight-free ClassicSegmenter, on synthetic photos-like images."""

from __future__ import annotations

import numpy as np
import pytest

from labeler.classic_segmenter import ClassicSegmenter
from labeler.mask_ops import iou
from labeler.segmenter import Prompts, Segmenter, SegmentResult


def scene(h=300, w=400, seed=0):
    """Noisy grey-green background; a red disc with a hole (left) and a two-tone block (right)."""
    rng = np.random.default_rng(seed)
    img = np.clip(rng.normal((90, 110, 90), 12, (h, w, 3)), 0, 255)
    yy, xx = np.mgrid[:h, :w]
    disc = ((yy - 150) ** 2 + (xx - 110) ** 2 <= 70**2) & ~(
        (yy - 150) ** 2 + (xx - 110) ** 2 <= 20**2
    )
    top = (yy >= 80) & (yy < 150) & (xx >= 240) & (xx < 360)
    bottom = (yy >= 150) & (yy < 230) & (xx >= 240) & (xx < 360)
    img[disc] = rng.normal((200, 40, 40), 10, (disc.sum(), 3))
    img[top] = rng.normal((230, 200, 40), 10, (top.sum(), 3))
    img[bottom] = rng.normal((40, 60, 200), 10, (bottom.sum(), 3))
    return np.clip(img, 0, 255).astype(np.uint8), disc, top, bottom


@pytest.fixture(scope="module")
def seg():
    return ClassicSegmenter()


@pytest.fixture(scope="module")
def data(seg):
    img, disc, top, bottom = scene()
    return seg.embed(img), disc, top, bottom


def test_it_is_a_segmenter_with_a_plain_array_embedding(seg, data):
    emb = data[0]
    assert isinstance(seg, Segmenter)
    assert all(isinstance(v, np.ndarray) for v in emb.values())
    assert emb["original_size"].tolist() == [300, 400]


def test_one_click_finds_the_object_and_keeps_its_hole(seg, data):
    emb, disc, _, _ = data
    r = seg.predict(emb, Prompts(points=((110.5, 100.5),), labels=(1,)))
    assert isinstance(r, SegmentResult) and r.mask.shape == (300, 400) and r.mask.dtype == bool
    assert iou(r.mask, disc) > 0.9
    assert not r.mask[150, 110]  # the hole stays a hole
    assert r.low_res_logits.shape == (300, 400) and 0 <= r.score


def test_positive_then_negative_click(seg, data):
    emb, _, top, bottom = data
    both = seg.predict(emb, Prompts(points=((300.5, 110.5), (300.5, 200.5)), labels=(1, 1)))
    assert iou(both.mask, top | bottom) > 0.85
    only_top = seg.predict(
        emb,
        Prompts(
            points=((300.5, 110.5), (300.5, 200.5)),
            labels=(1, 0),
            previous_logits=both.low_res_logits,
        ),
    )
    assert iou(only_top.mask, top) > 0.85 and not only_top.mask[200, 300]


def test_refinement_adds_a_part_with_the_previous_logits(seg, data):
    emb, _, top, bottom = data
    first = seg.predict(emb, Prompts(points=((300.5, 110.5),), labels=(1,)))
    second = seg.predict(
        emb,
        Prompts(
            points=((300.5, 110.5), (300.5, 200.5)),
            labels=(1, 1),
            previous_logits=first.low_res_logits,
        ),
    )
    whole = top | bottom
    assert iou(second.mask, whole) > iou(first.mask, whole) and iou(second.mask, whole) > 0.85


def test_box_prompt(seg, data):
    emb, disc, _, _ = data
    r = seg.predict(emb, Prompts(box=(35.0, 75.0, 186.0, 226.0)))
    assert iou(r.mask, disc) > 0.85
    assert not r.mask[:, 200:].any()  # nothing outside the box


def test_negative_click_alone_gives_nothing(seg, data):
    r = seg.predict(data[0], Prompts(points=((20.5, 20.5),), labels=(0,)))
    assert not r.mask.any()


def test_large_image_is_worked_small_and_answered_at_full_size():
    small, small_disc, _, _ = scene()
    img, disc = small.repeat(2, 0).repeat(2, 1), small_disc.repeat(2, 0).repeat(2, 1)  # 600 x 800
    seg = ClassicSegmenter(work_side=400)
    emb = seg.embed(img)
    assert emb["image"].shape == (300, 400, 3) and emb["original_size"].tolist() == [600, 800]
    r = seg.predict(emb, Prompts(points=((221.0, 201.0),), labels=(1,)))
    assert r.mask.shape == (600, 800) and iou(r.mask, disc) > 0.85


def test_clicks_at_and_beyond_the_border_are_safe(seg, data):
    r = seg.predict(data[0], Prompts(points=((-10.0, 500.0),), labels=(1,)))
    assert r.mask.shape == (300, 400)


def test_prompt_validation():
    with pytest.raises(ValueError, match="labels"):
        Prompts(points=((1, 1),), labels=())
    with pytest.raises(ValueError, match="1 \\(object\\) or 0"):
        Prompts(points=((1, 1),), labels=(2,))
    with pytest.raises(ValueError, match="at least one point or a box"):
        Prompts()
    with pytest.raises(ValueError, match="XYXY"):
        Prompts(box=(10, 10, 5, 20))
    p = Prompts(points=[(1, 2), (3, 4)], labels=[1, 0])
    assert p.positive_points == [(1.0, 2.0)] and p.negative_points == [(3.0, 4.0)]


def test_bad_image_is_refused(seg):
    with pytest.raises(ValueError, match="uint8 RGB"):
        seg.embed(np.zeros((10, 10), np.uint8))


def test_every_click_takes_effect_even_next_to_a_click_of_the_other_kind():
    """A small image (the scaled superpixels) with a purple ring; clicks of both kinds a few pixels
    apart along its rim. Each clicked pixel must end with its click's label: before, the disc of the
    click seeded last covered the other one, and repeating that click changed nothing."""
    import cv2

    rng = np.random.default_rng(3)
    image = np.clip(rng.normal(120, 8, (96, 96, 3)), 0, 255).astype(np.uint8)
    ring = np.zeros((96, 96), np.uint8)
    cv2.circle(ring, (60, 70), 9, 1, 4)
    image[ring > 0] = (150, 40, 190)
    seg = ClassicSegmenter()
    emb = seg.embed(image)
    points, labels, logits = [], [], None
    for point, label in (
        ((60.5, 61.5), 1),
        ((62.5, 58.5), 0),
        ((63.5, 61.5), 1),
        ((60.5, 58.5), 0),
        ((66.5, 63.5), 1),
        ((69.5, 62.5), 0),
    ):
        points.append(point)
        labels.append(label)
        result = seg.predict(
            emb, Prompts(points=tuple(points), labels=tuple(labels), previous_logits=logits)
        )
        logits = result.low_res_logits
        for (x, y), want in zip(points, labels):
            assert result.mask[int(y), int(x)] == bool(want), (points, labels, (x, y))


def test_the_refining_protocol_tells_a_segmenter_that_starts_from_any_mask(seg):
    """The editor asks the Protocol, not ``getattr``: the classic segmenter takes a prior mask."""
    from labeler.segmenter import RefiningSegmenter

    class OwnLogitsOnly:  # like SAM: embed + predict, no prior_logits
        model_id = "own"

        def embed(self, image):
            return {}

        def predict(self, embedding, prompts):
            raise NotImplementedError

    assert isinstance(seg, RefiningSegmenter)
    assert isinstance(OwnLogitsOnly(), Segmenter)
    assert not isinstance(OwnLogitsOnly(), RefiningSegmenter)

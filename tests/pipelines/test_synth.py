"""The synthetic GRES generator: deterministic, exact masks, hard negatives, complete annotation."""

import numpy as np
import pytest

from pipelines.training.synth import (
    Referent,
    make_dataset,
    make_group,
    referent_status,
)
from pipelines.training.synth_render import SynthObject, render, shape_mask


def obj(shape="circle", colour="red", size="large", texture="plain", cx=50, cy=50, r=15):
    return SynthObject(shape, colour, size, texture, cx, cy, r, 0.0)


def test_same_seed_same_pixels_other_seed_other_pixels():
    a = make_group(7, 3, images_per_group=6, image_size=64)
    b = make_group(7, 3, images_per_group=6, image_size=64)
    c = make_group(8, 3, images_per_group=6, image_size=64)
    assert a.expressions == b.expressions
    for x, y in zip(a.images, b.images):
        assert np.array_equal(x.image, y.image)
        for e in a.expressions:
            assert all(np.array_equal(m, n) for m, n in zip(x.masks[e], y.masks[e]))
    assert not all(np.array_equal(x.image, z.image) for x, z in zip(a.images, c.images))


def test_ring_mask_has_a_hole_and_occlusion_cuts_masks():
    ring = shape_mask(obj("ring", r=20), 100, 100)
    assert ring.sum() > 0 and not ring[50, 50]  # the centre is the hole
    below, above = obj("square", cx=45), obj("circle", cx=60, colour="blue")
    _, visible = render([below, above], 100, 100, np.random.default_rng(0))
    full_below = shape_mask(below, 100, 100)
    assert visible[0].sum() < full_below.sum()  # part of the square is hidden
    assert not (visible[0] & visible[1]).any()  # a pixel belongs to one object


def test_relation_semantics_and_ambiguity():
    ref = Referent("triangle", "red", relation="left of", anchor="circle")
    side = 100  # margin = 12 px
    clear = [obj("triangle", cx=20), obj("circle", colour="blue", cx=60)]
    close = [obj("triangle", cx=50), obj("circle", colour="blue", cx=55)]
    wrong = [obj("triangle", cx=70), obj("circle", colour="blue", cx=30)]
    assert referent_status(ref, clear, 0, side) == "yes"
    assert referent_status(ref, close, 0, side) == "ambiguous"
    assert referent_status(ref, wrong, 0, side) == "no"
    assert referent_status(ref, clear, 1, side) == "no"  # the anchor itself is not referred to


@pytest.mark.parametrize("level", [1, 2, 3])
def test_annotation_is_complete_and_consistent(level):
    groups = make_dataset(3, 3, images_per_group=8, image_size=64, level=level)
    for g in groups:
        assert len(set(g.expressions)) == len(g.expressions) == 3
        for im in g.images:
            assert im.image.shape == (64, 64, 3) and im.image.dtype == np.uint8
            for ref, text in zip(g.referents, g.expressions):
                hits = [
                    i
                    for i in range(len(im.objects))
                    if referent_status(ref, im.objects, i, 64) == "yes"
                ]
                assert len(im.masks[text]) == len(hits)  # every described object is masked
                for m in im.masks[text]:
                    assert m.shape == (64, 64) and m.any()


def test_groups_have_hard_negatives_and_need_the_expression():
    groups = make_dataset(11, 6, images_per_group=12, image_size=64, level=3)
    for g in groups:
        base = g.referents[0]
        pos = [bool(im.masks[g.expressions[0]]) for im in g.images]
        assert 0 < sum(pos) < len(pos)  # both positives and certified negatives
        # a hard negative shows an object sharing the referent's shape or colour
        hard = [
            im
            for im, p in zip(g.images, pos)
            if not p and any(o.shape == base.shape or o.colour == base.colour for o in im.objects)
        ]
        assert hard
    # within a group, different expressions select different images: the text matters
    differing = sum(
        len({tuple(bool(im.masks[e]) for im in g.images) for e in g.expressions}) > 1
        for g in groups
    )
    assert differing == len(groups)


def test_held_out_groups_are_disjoint_by_index():
    train = make_dataset(5, 2, images_per_group=4, image_size=64)
    test = make_dataset(5, 2, start=2, images_per_group=4, image_size=64)
    assert {g.name for g in train}.isdisjoint({g.name for g in test})
    assert not np.array_equal(train[0].images[0].image, test[0].images[0].image)


def test_synth_train_validation_test_share_no_expression(tmp_path):
    from typer.testing import CliRunner

    from pipelines.cli import app
    from pipelines.training.datasets.store import store_groups

    res = CliRunner().invoke(
        app,
        [
            "synth", str(tmp_path / "train"), "--groups", "6", "--images-per-group", "2",
            "--level", "2", "--image-size", "48", "--validation", str(tmp_path / "val"),
            "--validation-groups", "3", "--holdout", str(tmp_path / "test"),
            "--holdout-groups", "3",
        ],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    texts = {
        split: {g.expression for g in store_groups(tmp_path / split)}
        for split in ("train", "val", "test")
    }
    groups = {
        split: {g.name for g in store_groups(tmp_path / split)}
        for split in ("train", "val", "test")
    }
    assert all(texts.values())
    assert not texts["train"] & texts["test"] and not texts["train"] & texts["val"]
    assert not texts["val"] & texts["test"]
    assert not groups["train"] & groups["test"] and not groups["val"] & groups["test"]

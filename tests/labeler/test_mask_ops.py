"""Mask operations on hand-made masks; holes and parts survive the RLE round trip."""

import numpy as np
import pytest

from labeler import mask_ops as ops
from labeler import rle
from labeler.errors import InvalidMask


def ring(size=(40, 50), outer=(5, 5, 35, 45), inner=(15, 15, 25, 35)):
    """A filled rectangle with a rectangular hole: rows/cols given as (r0, c0, r1, c1)."""
    m = np.zeros(size, bool)
    m[outer[0] : outer[2], outer[1] : outer[3]] = True
    m[inner[0] : inner[2], inner[1] : inner[3]] = False
    return m


def test_hole_survives_rle_round_trip_and_ops_accept_rle():
    m = ring()
    encoded = rle.encode(m)
    back = rle.decode(encoded)
    np.testing.assert_array_equal(back, m)
    assert not back[20, 25] and back[10, 10]
    # Every op takes an RLE as well as an array and returns the same answer.
    region = np.zeros_like(m)
    region[0:3, 0:3] = True
    np.testing.assert_array_equal(ops.add_region(encoded, region), ops.add_region(m, region))
    assert ops.add_region(encoded, rle.encode(region))[1, 1]


def test_add_and_subtract_regions_make_and_keep_holes():
    base = np.zeros((30, 30), bool)
    base[5:25, 5:25] = True
    hole = np.zeros_like(base)
    hole[10:15, 10:15] = True
    cut = ops.subtract_region(base, hole)
    assert cut.sum() == 400 - 25 and not cut[12, 12]
    assert ops.intersect_region(base, hole).sum() == 25
    grown = ops.add_region(cut, np.pad(np.ones((2, 2), bool), ((0, 28), (0, 28))))
    assert grown[0, 0] and not grown[12, 12]  # adding elsewhere keeps the hole
    np.testing.assert_array_equal(rle.decode(rle.encode(cut)), cut)


def test_size_mismatch_is_a_named_error():
    with pytest.raises(InvalidMask, match="does not fit"):
        ops.add_region(np.zeros((4, 4), bool), np.zeros((4, 5), bool))
    with pytest.raises(InvalidMask, match="2-D"):
        ops.as_mask(np.zeros((2, 2, 2)))


def test_brush_disc_matches_distance_rule():
    m = ops.brush(np.zeros((30, 30), bool), [(10.5, 10.5)], radius=5)
    yy, xx = np.mgrid[:30, :30]
    expected = (xx + 0.5 - 10.5) ** 2 + (yy + 0.5 - 10.5) ** 2 <= 25
    np.testing.assert_array_equal(m, expected)


def test_brush_stroke_joins_points_and_eraser_cuts():
    m = ops.brush(np.zeros((20, 60), bool), [(5.5, 10.5), (50.5, 10.5)], radius=2)
    assert m[10, 5:51].all()  # the band between the two points is painted
    assert m[:, 30].sum() == 5  # rows 8..12: centres within 2 px of the line y = 10.5
    full = np.ones((20, 60), bool)
    erased = ops.brush(full, [(30.5, 10.5)], radius=3, erase=True)
    # 29 pixel centres lie within 3 px of a pixel centre (integer offsets dx^2 + dy^2 <= 9)
    assert not erased[10, 30] and erased[0, 0] and erased.sum() == full.sum() - 29


def test_brush_at_image_border_is_clipped_not_wrapped():
    m = ops.brush(np.zeros((10, 10), bool), [(-2.0, -2.0), (0.5, 0.5)], radius=1.5)
    assert m[0, 0] and not m[-1, -1] and not m[:, -1].any() and not m[-1, :].any()
    far = ops.brush(np.zeros((10, 10), bool), [(100, 100)], radius=3)
    assert not far.any()
    with pytest.raises(ValueError, match="radius"):
        ops.brush(m, [(1, 1)], radius=0)


def test_small_islands_and_holes_cleaned_only_on_request():
    m = ring(inner=(18, 20, 20, 22))  # a 4-px hole
    m[0, 0] = True  # a 1-px island
    assert np.array_equal(ops.clean(m), m)  # off by default: meticulous holes survive
    no_island = ops.remove_small_islands(m, min_area=2)
    assert not no_island[0, 0] and not no_island[19, 21]
    filled = ops.fill_small_holes(m, max_area=4)
    assert filled[19, 21] and filled[0, 0]
    assert not ops.fill_small_holes(m, max_area=3)[19, 21]


def test_background_at_border_is_never_a_hole():
    m = np.ones((10, 10), bool)
    m[0:3, 0:3] = False  # a notch at the corner, not enclosed
    assert not ops.fill_small_holes(m, max_area=100)[0, 0]


def test_diagonal_gap_does_not_make_a_hole():
    m = np.zeros((7, 7), bool)
    m[1:6, 1:6] = True
    m[2:5, 2:5] = False  # a 9-px hole inside a 1-px-wide square ring
    assert ops.fill_small_holes(m, 9)[3, 3]
    m[1, 1] = (
        False  # the ring now has a corner gap: the hole still does not touch the outside 4-connected
    )
    assert ops.fill_small_holes(m, 9)[3, 3]


def test_split_components_largest_first_with_holes_kept():
    m = ring(size=(40, 80))
    m[5:10, 60:70] = True  # second part, 50 px
    m[30, 75] = True  # a 1-px speck
    parts = ops.split_components(m)
    assert [p.sum() for p in parts] == [m[:, :50].sum(), 50, 1]
    assert not parts[0][20, 25]  # the hole stays a hole in its part
    assert len(ops.split_components(m, min_area=2)) == 2
    np.testing.assert_array_equal(ops.merge(parts), m)
    assert ops.split_components(np.zeros((5, 5), bool)) == []


def test_merge_needs_masks():
    with pytest.raises(InvalidMask):
        ops.merge([])


def test_bbox_crop_window_and_paste_at_borders():
    m = np.zeros((20, 30), bool)
    m[3:7, 4:9] = True
    assert ops.bbox_xyxy(m) == (4, 3, 9, 7)
    assert ops.bbox_xyxy(np.zeros((3, 3), bool)) is None
    assert ops.crop_window((4, 3, 9, 7), (20, 30), margin=1.0) == (0, 0, 14, 11)
    assert ops.crop_window((-50, -50, -40, -40), (20, 30)) == (0, 0, 1, 1)
    patch = np.ones((5, 5), bool)
    out = ops.paste(patch, (-2, 18), (20, 30))
    assert out.sum() == 3 * 2 and out[19, 0] and out[18, 2] and not out[17, 0]
    assert not ops.paste(patch, (40, 40), (20, 30)).any()

"""Coordinate frames: canvas <-> original <-> model input, at several sizes and aspect ratios."""

import numpy as np
import pytest

from labeler.geometry import (
    Frames,
    Transform,
    clip_box,
    clip_points,
    display_size,
    fit_transform,
    longest_side_shape,
    pixel_index,
    upscaled_size,
    view_transform,
)

SIZES = [
    (427, 640),
    (640, 427),
    (333, 500),
    (1024, 1024),
    (1, 1),
    (37, 2000),
    (2000, 37),
    (1080, 1920),
]


@pytest.mark.parametrize("size", SIZES)
def test_longest_side_matches_sam_rule(size):
    h, w = size
    nh, nw = longest_side_shape(size, 1024)
    assert max(nh, nw) == 1024
    # SAM's ResizeLongestSide.get_preprocess_shape, written out: scale then round half up.
    s = 1024 / max(h, w)
    assert (nh, nw) == (int(h * s + 0.5), int(w * s + 0.5))


def test_longest_side_agrees_with_segment_anything():
    transforms = pytest.importorskip("segment_anything.utils.transforms")
    for h, w in SIZES:
        assert longest_side_shape((h, w)) == transforms.ResizeLongestSide.get_preprocess_shape(
            h, w, 1024
        )
        pts = np.array([[0.0, 0.0], [w / 2, h / 3], [w, h]])
        ours = Frames.for_image((h, w)).original_to_model.points(pts)
        np.testing.assert_allclose(
            ours, transforms.ResizeLongestSide(1024).apply_coords(pts, (h, w))
        )


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("canvas_width", [300, 800])
def test_points_round_trip_through_every_frame(size, canvas_width):
    frames = Frames.for_image(size, display_size(size, canvas_width))
    rng = np.random.default_rng(0)
    pts = rng.uniform(0, 1, (20, 2)) * [size[1], size[0]]
    back = frames.canvas_to_original.points(frames.original_to_canvas.points(pts))
    np.testing.assert_allclose(back, pts, atol=1e-9)
    via_model = frames.model_to_original.points(
        frames.canvas_to_model.points(frames.original_to_canvas.points(pts))
    )
    np.testing.assert_allclose(via_model, pts, atol=1e-9)


@pytest.mark.parametrize("size", SIZES)
def test_image_corners_map_to_frame_corners(size):
    h, w = size
    frames = Frames.for_image(size, (h * 3 // 2 + 1, w // 2 + 1))
    ch, cw = frames.canvas_size
    mh, mw = frames.model_input_size
    np.testing.assert_allclose(
        frames.original_to_canvas.points([[0, 0], [w, h]]), [[0, 0], [cw, ch]]
    )
    np.testing.assert_allclose(
        frames.original_to_model.points([[0, 0], [w, h]]), [[0, 0], [mw, mh]]
    )


def test_box_in_model_frame_by_hand():
    frames = Frames.for_image((427, 640))  # 683 x 1024: x scales by 1.6, y by 683 / 427 (rounding)
    assert frames.model_input_size == (683, 1024)
    sy = 683 / 427
    np.testing.assert_allclose(
        frames.original_to_model.box((10, 20, 110, 220)), (16, 20 * sy, 176, 220 * sy)
    )


def test_canvas_click_hits_pixel_centre_and_is_clipped():
    frames = Frames.for_image((100, 200), (50, 100))  # canvas at half size
    assert frames.canvas_click(10, 20) == (21.0, 41.0)  # canvas pixel centre 10.5 -> 21
    x, y = frames.canvas_click(-5, 1000)
    assert (x, y) == (0.5, 99.5)


def test_letterboxed_canvas():
    t = fit_transform((100, 200), (200, 200), letterbox=True)  # scale 1, bars of 50 above and below
    np.testing.assert_allclose(t.points([[0, 0], [200, 100]]), [[0, 50], [200, 150]])
    frames = Frames.for_image((100, 200), (200, 200), letterbox=True)
    assert frames.canvas_click(10, 5) == (10.5, 0.5)  # click on the top bar lands on row 0


@pytest.mark.parametrize(
    "size,canvas", [((40, 60), (80, 120)), ((40, 60), (20, 30)), ((33, 50), (100, 150))]
)
def test_mask_resampling_keeps_rectangles(size, canvas):
    h, w = size
    m = np.zeros(size, bool)
    m[10:20, 12:30] = True
    t = Transform.resize(size, canvas)
    out = t.mask(m)
    assert out.shape == canvas
    rows, cols = np.nonzero(out)
    sy, sx = canvas[0] / h, canvas[1] / w
    assert rows.min() == pytest.approx(10 * sy, abs=1) and rows.max() + 1 == pytest.approx(
        20 * sy, abs=1
    )
    assert cols.min() == pytest.approx(12 * sx, abs=1) and cols.max() + 1 == pytest.approx(
        30 * sx, abs=1
    )


def test_mask_upscale_then_downscale_is_exact_at_integer_factor():
    rng = np.random.default_rng(1)
    m = rng.random((31, 47)) > 0.5
    t = Transform.resize((31, 47), (62, 94))
    up = t.mask(m)
    np.testing.assert_array_equal(up[::2, ::2], m)
    np.testing.assert_array_equal(t.inverse().mask(up), m)


def test_mask_and_points_agree():
    """The pixel under a mapped point is set in the mapped mask (frames never disagree)."""
    m = np.zeros((427, 640), bool)
    m[200, 300] = True
    frames = Frames.for_image((427, 640))
    model_mask = frames.original_to_model.mask(m)
    ((col, row),) = pixel_index(frames.original_to_model.points([[300.5, 200.5]]), model_mask.shape)
    assert model_mask[row, col]


def test_raster_logits_bilinear_and_mask_shape_checked():
    t = Transform.resize((4, 4), (8, 8))
    out = t.raster(np.arange(16, dtype=np.float32).reshape(4, 4))
    assert out.shape == (8, 8) and out.min() >= 0 and out.max() <= 15
    with pytest.raises(ValueError, match="source frame"):
        t.mask(np.zeros((5, 4), bool))


def test_chain_checks_frames_and_inverse_composes_to_identity():
    a = Transform.resize((10, 20), (30, 40))
    with pytest.raises(ValueError, match="cannot chain"):
        a.then(a)
    ident = a.then(a.inverse())
    assert ident.src_size == ident.dst_size == (10, 20)
    np.testing.assert_allclose(ident.points([[3, 4]]), [[3, 4]])


def test_clipping_helpers():
    np.testing.assert_allclose(clip_points([[-3, 5], [500, -1]], (10, 20)), [[0.5, 5], [19.5, 0.5]])
    assert clip_box((30, -5, -10, 8), (10, 20)) == (0.0, 0.0, 20.0, 8.0)
    np.testing.assert_array_equal(
        pixel_index([[19.99, 9.99], [-1, 3.2]], (10, 20)), [[19, 9], [0, 3]]
    )
    with pytest.raises(ValueError, match="positive"):
        longest_side_shape((0, 10))


def test_display_size_never_upscales():
    assert display_size((100, 200), 800) == (100, 200)
    assert display_size((1000, 2000), 800) == (400, 800)
    assert display_size((2000, 1000), 800, max_height=500) == (500, 250)


def test_crop_then_resize_chain():
    crop = Transform.crop((100, 200), (50, 20, 150, 70))  # x0, y0, x1, y1
    assert crop.dst_size == (50, 100)
    np.testing.assert_allclose(crop.points([[50, 20], [150, 70]]), [[0, 0], [100, 50]])
    small = crop.then(Transform.resize((50, 100), (25, 50)))
    m = np.zeros((100, 200), bool)
    m[30:40, 60:80] = True  # at (10..30, 10..20) in the crop, halved in the small frame
    out = small.mask(m)
    rows, cols = np.nonzero(out)
    assert (rows.min(), rows.max(), cols.min(), cols.max()) == (5, 9, 5, 14)


def test_small_images_are_enlarged_by_a_whole_factor_and_big_ones_shrunk():
    assert upscaled_size((96, 96), (640, 900)) == (576, 576)  # 6x: square, even pixels
    assert upscaled_size((96, 200), (640, 900)) == (384, 800)  # 4x: the width decides
    assert upscaled_size((500, 400), (640, 900)) == (500, 400)  # fits, no whole factor > 1
    assert upscaled_size((1280, 900), (640, 900)) == (640, 450)  # too big: shrunk to fit


def test_a_click_after_zoom_and_pan_lands_on_the_pixel_under_the_pointer():
    """96-px image on a 6x canvas, zoomed 4x: one original pixel is 24 viewport pixels wide.
    The view is panned so the centre of original pixel (col 50, row 60) is at viewport
    (300.5, 200.5): that pixel, and its neighbours 24 px away, are where the clicks land."""
    frames = Frames.for_image((96, 96), upscaled_size((96, 96), (640, 900)))
    zoom = 4.0
    centre_on_canvas = (6 * 50.5, 6 * 60.5)  # original -> canvas is x6
    pan = (300.5 - zoom * centre_on_canvas[0], 200.5 - zoom * centre_on_canvas[1])
    np.testing.assert_allclose(frames.canvas_click(300, 200, zoom, pan), (50.5, 60.5))
    for dx, dy, expected in ((24, 0, (51, 60)), (-24, 0, (49, 60)), (0, 24, (50, 61))):
        x, y = frames.canvas_click(300 + dx, 200 + dy, zoom, pan)
        assert (int(x), int(y)) == expected
    # within the pixel's 24 x 24 viewport square (its edges excepted), every click is that pixel
    inside = {
        tuple(int(v) for v in frames.canvas_click(vx, vy, zoom, pan))
        for vx in range(289, 312)
        for vy in range(189, 212)
    }
    assert inside == {(50, 60)}
    # zoom 1 without pan is the plain canvas click
    assert frames.canvas_click(303, 363) == frames.canvas_click(303, 363, 1.0, (0.0, 0.0))


def test_view_transform_is_the_inverse_of_the_view():
    t = view_transform((100, 200), zoom=2.5, pan=(-40.0, 10.0))
    np.testing.assert_allclose(t.points([[-40.0, 10.0], [210.0, 260.0]]), [[0, 0], [100, 100]])
    with pytest.raises(ValueError, match="zoom must be positive"):
        view_transform((100, 200), zoom=0)

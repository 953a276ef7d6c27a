"""Thumbnails and overlay layers: sizes, colours where the masks are, holes left clear."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from labeler import render
from tests.conftest import ring_mask


def test_thumbnail_shrinks_longest_side_and_never_enlarges():
    rgb = np.full((300, 600, 3), 200, np.uint8)
    assert render.thumbnail(rgb, 150).shape == (75, 150, 3)
    assert render.thumbnail(rgb, 1000).shape == (300, 600, 3)


def test_overlay_colours_masked_pixels_only_and_keeps_holes():
    rgb = np.full((40, 60, 3), 100, np.uint8)
    ring = ring_mask()
    out = render.overlay(rgb, [ring], alpha=0.5)
    assert (out[~ring] == 100).all()  # outside and inside the hole: untouched
    assert not (out[ring] == 100).all(axis=-1).any()
    assert tuple(out[5, 10]) == render.instance_color(0)  # the rim is solid


def test_label_layer_png_decodes_to_instance_indices_with_transparency():
    a = np.zeros((40, 60), bool)
    a[0:10, 0:10] = True
    ring = ring_mask()
    layer = render.label_layer([a, ring], (40, 60), active=1)
    assert layer[2, 2] == 1 and layer[15, 25] == 0 and layer[20, 15] == 2
    assert layer[5, 10] == render.OUTLINE  # active instance's rim
    png = render.layer_png(layer, alpha=100)
    img = Image.open(io.BytesIO(png))
    assert img.mode == "P" and img.size == (60, 40)
    back = np.asarray(img)
    assert (back == layer).all()
    rgba = np.asarray(img.convert("RGBA"))
    assert rgba[15, 25, 3] == 0 and rgba[2, 2, 3] == 100 and rgba[5, 10, 3] == 255
    assert len(png) < 2000
    assert render.data_url(png, "image/png").startswith("data:image/png;base64,")


def test_letterbox_centres_the_image_on_a_fixed_tile():
    rgb = np.full((10, 20, 3), 7, np.uint8)
    out = render.letterbox(rgb, (30, 20), color=(1, 2, 3))
    assert out.shape == (30, 20, 3)
    assert (
        (out[10:20] == 7).all() and (out[:10] == (1, 2, 3)).all() and (out[20:] == (1, 2, 3)).all()
    )

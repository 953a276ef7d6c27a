import numpy as np
import pytest

from labeler import mask_ops, rle
from labeler.errors import InvalidMask
from tests.conftest import ring_mask


def test_rle_round_trip_keeps_holes_and_parts():
    m = ring_mask()
    m[35:38, 50:55] = True  # a second, separate part
    encoded = rle.encode(m)
    assert isinstance(encoded["counts"], str)
    assert np.array_equal(rle.decode(encoded), m)
    assert rle.area(encoded) == int(m.sum())
    assert rle.bbox(encoded) == [10.0, 5.0, 45.0, 33.0]


def test_uncompressed_counts_are_accepted():
    m = ring_mask()
    from pycocotools import mask as cm

    flat = np.asfortranarray(m).reshape(-1, order="F")
    runs, current, count = [], False, 0
    for v in flat:
        if v == current:
            count += 1
        else:
            runs.append(count)
            current, count = v, 1
    runs.append(count)
    encoded = {"size": list(m.shape), "counts": runs}
    assert np.array_equal(rle.decode(encoded), m)
    assert rle.validate_rle(encoded, *m.shape) == rle.encode(m)
    assert cm.area(cm.frPyObjects(encoded, *m.shape)) == m.sum()


def test_iou_and_union():
    a = np.zeros((10, 10), bool)
    a[:5] = True
    b = np.zeros((10, 10), bool)
    b[:, :5] = True
    ra, rb = rle.encode(a), rle.encode(b)
    assert mask_ops.iou(ra, rb) == pytest.approx(25 / 75)
    assert np.array_equal(rle.decode(rle.union([ra, rb], 10, 10)), a | b)
    assert rle.area(rle.union([], 10, 10)) == 0


@pytest.mark.parametrize(
    "encoded, message",
    [
        ("not a dict", "COCO RLE"),
        ({"size": [40, 60]}, "COCO RLE"),
        ({"size": [40], "counts": "x"}, "size"),
        ({"size": [41, 60], "counts": "x"}, "out of bounds"),
        ({"size": [40, 60], "counts": [10, 5]}, "do not decode"),
        ({"size": [40, 60], "counts": [2400]}, "empty"),
    ],
)
def test_validate_rle_names_the_problem(encoded, message):
    with pytest.raises(InvalidMask, match=message):
        rle.validate_rle(encoded, 40, 60)

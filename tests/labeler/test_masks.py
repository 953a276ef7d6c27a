import numpy as np
import pytest

from labeler import masks
from labeler.errors import InvalidMask
from tests.conftest import ring_mask


def test_rle_round_trip_keeps_holes_and_parts():
    m = ring_mask()
    m[35:38, 50:55] = True  # a second, separate part
    rle = masks.encode(m)
    assert isinstance(rle["counts"], str)
    assert np.array_equal(masks.decode(rle), m)
    assert masks.area(rle) == int(m.sum())
    assert masks.bbox(rle) == [10.0, 5.0, 45.0, 33.0]


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
    rle = {"size": list(m.shape), "counts": runs}
    assert np.array_equal(masks.decode(rle), m)
    assert masks.validate_rle(rle, *m.shape) == masks.encode(m)
    assert cm.area(cm.frPyObjects(rle, *m.shape)) == m.sum()


def test_iou_and_union():
    a = np.zeros((10, 10), bool); a[:5] = True
    b = np.zeros((10, 10), bool); b[:, :5] = True
    ra, rb = masks.encode(a), masks.encode(b)
    assert masks.iou(ra, rb) == pytest.approx(25 / 75)
    assert np.array_equal(masks.decode(masks.union([ra, rb], 10, 10)), a | b)
    assert masks.area(masks.union([], 10, 10)) == 0


@pytest.mark.parametrize(
    "rle, message",
    [
        ("not a dict", "COCO RLE"),
        ({"size": [40, 60]}, "COCO RLE"),
        ({"size": [40], "counts": "x"}, "size"),
        ({"size": [41, 60], "counts": "x"}, "out of bounds"),
        ({"size": [40, 60], "counts": [10, 5]}, "do not decode"),
        ({"size": [40, 60], "counts": [2400]}, "empty"),
    ],
)
def test_validate_rle_names_the_problem(rle, message):
    with pytest.raises(InvalidMask, match=message):
        masks.validate_rle(rle, 40, 60)

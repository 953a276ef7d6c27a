"""``rle.run_lengths`` reads compressed COCO counts exactly, so ``validate_rle`` refuses corrupt
strings that pycocotools would otherwise decode into uninitialised memory."""

import numpy as np
import pytest

from labeler import rle
from labeler.errors import InvalidMask


def _runs(mask: np.ndarray) -> list[int]:
    flat = mask.flatten(order="F").astype(np.int8)
    edges = np.flatnonzero(np.diff(flat)) + 1
    bounds = np.concatenate([[0], edges, [flat.size]])
    runs = np.diff(bounds).tolist()
    return ([0] + runs) if flat[0] else runs


@pytest.mark.parametrize("seed", range(20))
def test_run_lengths_match_the_mask(seed):
    rng = np.random.default_rng(seed)
    h, w = rng.integers(1, 90, 2)
    mask = rng.random((h, w)) < rng.random()
    assert rle.run_lengths(rle.encode(mask)["counts"]) == _runs(mask)


@pytest.mark.parametrize("counts", ["~~~~~~~~", "zzzzzzzzzz", "abc", "0`h9"])
def test_corrupt_counts_are_refused(counts):
    with pytest.raises(InvalidMask, match="do not decode"):
        rle.validate_rle({"size": [48, 64], "counts": counts}, 48, 64)

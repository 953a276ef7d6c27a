"""The restricted unpickler admits plain data and refuses code, naming the file and the global."""

import collections
import os
import pickle

import numpy as np
import pytest

from labeler import safe_pickle
from labeler.errors import ImportFormatError
from labeler.safe_pickle import UnsafePickle


class Evil:
    def __reduce__(self):
        return (os.system, ("echo owned > /dev/null",))


@pytest.mark.parametrize("protocol", range(0, pickle.HIGHEST_PROTOCOL + 1))
def test_plain_data_round_trips_at_every_protocol(protocol):
    data = {
        1: {"s": "x", "b": b"\x00y", "t": (1, None, True, 2.5), "set": {1, 2}, "l": [[]]},
        "bbox": np.array([[1.0, 2, 3, 4]]),
        "n": np.int64(3),
    }
    out = safe_pickle.loads(pickle.dumps(data, protocol=protocol))
    assert out[1] == data[1] and out["n"] == 3
    assert np.array_equal(out["bbox"], data["bbox"])


@pytest.mark.parametrize("protocol", [0, 2, pickle.HIGHEST_PROTOCOL])
def test_code_is_refused_with_file_and_global_named(tmp_path, protocol):
    path = tmp_path / "annotations.pkl"
    path.write_bytes(pickle.dumps({"a": [Evil()]}, protocol=protocol))
    with pytest.raises(UnsafePickle) as err:
        safe_pickle.load(path)
    assert "annotations.pkl" in str(err.value) and "system" in str(err.value)


def test_other_classes_and_object_arrays_are_refused():
    with pytest.raises(UnsafePickle, match="collections.OrderedDict"):
        safe_pickle.loads(pickle.dumps(collections.OrderedDict(a=1)))
    with pytest.raises(UnsafePickle):
        safe_pickle.loads(pickle.dumps(np.array([1, "a"], dtype=object)))
    with pytest.raises(UnsafePickle, match="numpy"):
        safe_pickle.loads(pickle.dumps(np.zeros(2)), allow_numpy=False)


def test_garbage_is_a_format_error():
    with pytest.raises(ImportFormatError, match="x.pkl"):
        safe_pickle.loads(b"not a pickle", name="x.pkl")


# --- hostile object graphs (issue 20): bounded time, one-line error ---------------------------


def test_a_list_containing_itself_is_refused_in_one_line():
    cyclic = []
    cyclic.append(cyclic)
    with pytest.raises(safe_pickle.UnsafePickle, match="contains itself") as info:
        safe_pickle.loads(pickle.dumps(cyclic), name="cyclic.pkl")
    assert "\n" not in str(info.value) and "cyclic.pkl" in str(info.value)


def test_a_dict_containing_itself_is_refused():
    cyclic = {}
    cyclic["me"] = cyclic
    with pytest.raises(safe_pickle.UnsafePickle, match="contains itself"):
        safe_pickle.loads(pickle.dumps(cyclic))


def test_a_chain_of_shared_references_is_refused_by_its_expanded_size():
    node: list = [0]
    for _ in range(60):  # expands to ~2**60 objects as a tree, 60 lists as a graph
        node = [node, node]
    with pytest.raises(safe_pickle.UnsafePickle, match="expands to more than"):
        safe_pickle.loads(pickle.dumps(node))


def test_modest_sharing_is_accepted():
    leaf = [1, 2, 3]
    data = {"a": leaf, "b": leaf, "c": [leaf] * 10}
    assert safe_pickle.loads(pickle.dumps(data)) == data


def test_deep_nesting_inside_a_pickle_is_refused_in_one_line():
    deep: list = []
    for _ in range(300):  # beyond MAX_PICKLE_DEPTH, within what pickle.dumps can write
        deep = [deep]
    data = pickle.dumps(deep)
    with pytest.raises(safe_pickle.UnsafePickle, match="nested deeper|too deeply") as info:
        safe_pickle.loads(data)
    assert "\n" not in str(info.value)

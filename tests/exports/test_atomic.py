"""Atomic writes: a crash while writing leaves the old file whole and no temporary file behind."""

import json
import os
import pickle

import pytest

from exports import atomic


def test_writes_json_pickle_and_text(tmp_path):
    atomic.write_json(tmp_path / "sub" / "a.json", {"é": [1, 2]})
    atomic.write_pickle(tmp_path / "b.pkl", {1: {"x": b"\x00"}})
    atomic.write_text(tmp_path / "c.md", "hello\n")
    assert json.loads((tmp_path / "sub" / "a.json").read_text("utf-8")) == {"é": [1, 2]}
    assert pickle.loads((tmp_path / "b.pkl").read_bytes()) == {1: {"x": b"\x00"}}
    assert (tmp_path / "c.md").read_text() == "hello\n"


def test_crash_before_rename_keeps_the_old_file(tmp_path, monkeypatch):
    target = tmp_path / "instances.json"
    atomic.write_json(target, {"version": 1})

    def crash(*args):
        raise OSError("disk unplugged")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="disk unplugged"):
        atomic.write_json(target, {"version": 2, "big": list(range(1000))})
    assert json.loads(target.read_text()) == {"version": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["instances.json"]


def test_unserialisable_data_never_touches_the_file(tmp_path):
    target = tmp_path / "x.json"
    atomic.write_json(target, [1])
    with pytest.raises(TypeError):
        atomic.write_json(target, {"bad": object()})
    assert json.loads(target.read_text()) == [1]

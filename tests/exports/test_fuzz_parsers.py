"""Property tests (hypothesis) over every import parser: whatever the input, a parser returns or
raises a ``LabelerError`` (one line), never another exception, a hang or a crash. Bounded runs
(``max_examples``) keep the fast suite fast; inputs found by fuzzing are kept as ``@example``s."""

import json
import pickle

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from exports.coco import read_coco
from exports.grefcoco import read_grefcoco
from exports.refcoco import read_refcoco
from exports.validate import segmentation_to_rle
from labeler import bounded_json, safe_pickle
from labeler.errors import LabelerError
from pipelines.intake.ingest import manifest_items

FAST = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

numbers = st.one_of(
    st.integers(-(2**40), 2**40),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([float("nan"), float("inf"), -float("inf"), 1e308, -0.0]),
)
json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), numbers, st.text(max_size=8)),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=20,
)


def _one_line(exc: BaseException) -> None:
    assert isinstance(exc, LabelerError), repr(exc)
    assert "\n" not in str(exc)


@FAST
@given(
    segmentation=st.one_of(
        st.lists(st.lists(numbers, max_size=12), max_size=3),
        st.fixed_dictionaries(
            {
                "size": st.lists(numbers, max_size=3),
                "counts": st.one_of(st.text(max_size=20), st.lists(numbers, max_size=8)),
            }
        ),
        json_values,
    )
)
@example(segmentation=[[1.0, 1.0, float("nan"), 5.0, 9.0, 9.0]])
@example(segmentation=[[1.0, 1.0, 5.0, float("inf"), 9.0, 9.0]])
@example(segmentation={"size": [6, 8], "counts": [float("nan"), 48]})
@example(segmentation={"size": [6, 8], "counts": [47.5, 0.5]})
def test_segmentations_and_polygons(segmentation):
    try:
        segmentation_to_rle(segmentation, 6, 8, "instances.json", "annotation 1")
    except LabelerError as exc:
        _one_line(exc)


@FAST
@given(text=st.text(alphabet='[]{}",:0123456789a\\ ', max_size=300))
@example(text="[" * 10_000 + "]" * 10_000)
@example(text='{"a": "' + "[" * 1000 + '"}')  # brackets inside a string are not nesting
def test_json_with_any_nesting(text):
    try:
        bounded_json.loads(text, "f.json")
    except LabelerError as exc:
        _one_line(exc)


def _depth_by_tokens(text: str) -> int:
    """The reference: walk strings and brackets one by one (the scan before it was vectorised)."""
    import re

    level = deepest = 0
    for match in re.finditer(r'"(?:[^"\\]|\\.)*"|[\[\]{}]', text, re.DOTALL):
        token = match.group()
        if token in "[{":
            level += 1
            deepest = max(deepest, level)
        elif token in "]}":
            level -= 1
    return deepest


def _nesting(value) -> int:
    if isinstance(value, list):
        return 1 + max((_nesting(v) for v in value), default=0)
    if isinstance(value, dict):
        return 1 + max((_nesting(v) for v in value.values()), default=0)
    return 0


@FAST
@given(text=st.text(alphabet='[]{}",:0123456789a\\ \u00e9\u4e2d', max_size=300))
@example(text='["\\"[", [[]]]')  # an escaped quote does not end the string
@example(text="]]][[")
def test_depth_scan_matches_a_token_walk(text):
    assert bounded_json.depth(text) == _depth_by_tokens(text)


@FAST
@given(value=json_values)
def test_depth_of_real_json_is_its_nesting(value):
    assert bounded_json.depth(json.dumps(value)) == _nesting(value)
    assert bounded_json.depth(json.dumps(value, ensure_ascii=False)) == _nesting(value)


@FAST
@given(data=st.binary(max_size=200))
@example(data=pickle.dumps([[]] * 3))
@example(data=b"\x80\x04]\x94h\x00a.")  # a list holding itself, as a handmade pickle
@example(data=b"\x80\x04\x95" + b"\xff" * 8 + b".")  # a FRAME longer than any memory
def test_d3_pickles_from_any_bytes(data):
    try:
        safe_pickle.loads(data, "x.pkl")
    except LabelerError as exc:
        _one_line(exc)
    except RecursionError:  # pragma: no cover - would be a bug
        pytest.fail("RecursionError escaped")


@FAST
@given(instances=json_values, expressions=json_values)
def test_coco_and_expression_file(tmp_path_factory, instances, expressions):
    folder = tmp_path_factory.mktemp("coco")
    (folder / "instances.json").write_text(json.dumps(instances))
    (folder / "expressions.json").write_text(json.dumps(expressions))
    try:
        read_coco(folder / "instances.json", folder / "expressions.json")
    except LabelerError as exc:
        _one_line(exc)


@FAST
@given(refs=json_values, instances=json_values)
@example(refs=[{"image_id": float("nan")}], instances={"images": []})
def test_grefcoco_and_refcoco_refs(tmp_path_factory, refs, instances):
    folder = tmp_path_factory.mktemp("refs")
    (folder / "grefs(unc).json").write_text(json.dumps(refs))
    (folder / "instances.json").write_text(json.dumps(instances))
    (folder / "refs(unc).p").write_bytes(pickle.dumps(refs, protocol=2))
    for reader in (read_grefcoco, read_refcoco):
        try:
            reader(folder)
        except LabelerError as exc:
            _one_line(exc)


@FAST
@given(rows=json_values)
def test_ingest_manifests(tmp_path_factory, rows):
    manifest = tmp_path_factory.mktemp("m") / "m.json"
    manifest.write_text(json.dumps(rows))
    try:
        manifest_items(manifest)
    except LabelerError as exc:
        _one_line(exc)

"""Hostile ingest input (issue 20): deep manifests, over-long or NUL texts in the last row, dangling
symlinks. Each ends with a one-line error or a reported skip, and a refused ingest writes nothing."""

import io
import json

import numpy as np
import pytest
from PIL import Image

from labeler.errors import ImportFormatError
from labeler.limits import MAX_JSON_DEPTH, TEXT_LIMITS
from labeler.project import Project
from pipelines.intake.ingest import ingest_items, manifest_items, source_items


def _png(seed: int) -> bytes:
    buf = io.BytesIO()
    pixels = np.random.default_rng(seed).integers(0, 255, (12, 16, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(buf, "PNG")
    return buf.getvalue()


def test_a_deeply_nested_manifest_is_one_line(tmp_path):
    manifest = tmp_path / "m.json"
    manifest.write_text("[" * 200_000 + "]" * 200_000)
    with pytest.raises(ImportFormatError, match=f"the limit is {MAX_JSON_DEPTH}") as info:
        manifest_items(manifest)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("key", "value", "problem"),
    [
        ("group", "g" * (TEXT_LIMITS["group name"] + 1), "group name is 201 characters"),
        ("group", "g\x00", "group name holds a control character"),
        ("owner", "o" * (TEXT_LIMITS["owner"] + 1), "owner is 301 characters"),
        ("license", "l\x00", "license holds a control character"),
        ("target", "t\x07", "target keyword holds a control character"),
    ],
)
def test_a_bad_text_in_the_last_row_writes_nothing(tmp_path, key, value, problem):
    rows = []
    for number in range(3):
        (tmp_path / f"{number}.png").write_bytes(_png(number))
        rows.append({"file": str(tmp_path / f"{number}.png"), "group": "g"})
    rows[-1][key] = value
    manifest = tmp_path / "m.json"
    manifest.write_text(json.dumps(rows))
    project = Project.init(tmp_path / "proj")
    with pytest.raises(ImportFormatError, match=problem):
        ingest_items(project, manifest_items(manifest))
    assert set(project.store.counts().values()) == {0}
    assert not any(p.is_file() for p in (project.root / "images").rglob("*"))


def test_a_dangling_symlink_is_reported_not_skipped_silently(tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    (folder / "a.png").write_bytes(_png(1))
    (folder / "gone.png").symlink_to(tmp_path / "nowhere.png")
    project = Project.init(tmp_path / "proj")
    report = ingest_items(project, source_items(folder))
    assert len(report.added) == 1
    assert [(src.endswith("gone.png"), "does not exist" in why) for src, why in report.skipped] == [
        (True, True)
    ]


def _tiff(mode: str, size: tuple[int, int]) -> bytes:
    buf = io.BytesIO()
    Image.new(mode, size).save(buf, format="TIFF", compression="tiff_adobe_deflate")
    return buf.getvalue()


def test_a_float_tiff_is_refused_by_bytes_before_decoding_where_rgb8_of_that_size_passes(
    monkeypatch,
):
    """The 80-megapixel case scaled down 1000x (the test must not allocate 320 MB): the limit
    counts bytes per pixel, so float (4) is refused where 8-bit RGB (3) of the same size passes."""
    from labeler.images import normalize_image

    monkeypatch.setenv("GRD_MAX_DECODED_BYTES", str(256 * 1024 * 1024 // 1000))
    with pytest.raises(Exception, match="GRD_MAX_DECODED_BYTES") as info:
        normalize_image(_tiff("F", (320, 250)), name="bomb.tif")
    assert "320,000 bytes" in str(info.value) and "\n" not in str(info.value)
    assert normalize_image(_tiff("RGB", (320, 250)), name="photo.tif").width == 320


def test_the_byte_limit_can_be_raised(monkeypatch):
    from labeler.errors import InvalidImage
    from labeler.images import normalize_image

    data = _tiff("F", (200, 100))  # 80,000 bytes decoded
    monkeypatch.setenv("GRD_MAX_DECODED_BYTES", "1000")
    with pytest.raises(InvalidImage, match="over the limit of 1,000"):
        normalize_image(data, name="small.tif")
    monkeypatch.setenv("GRD_MAX_DECODED_BYTES", "100000")
    assert normalize_image(data, name="small.tif").width == 200

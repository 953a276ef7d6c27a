"""Visual encoder: local weight loading (EfficientNet-Lite0 remap, timm files), zero gates, NHWC stages."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import timm
import torch
from timm.models._features import FeatureListNet

from model import WeightsMismatch, WeightsNotFound
from model.config import EFFICIENTNET_LITE0_PACKAGE
from model.visual_encoder import (
    LanguageAwareEncoder,
    _read_state_dict,
    create_backbone,
    load_backbone_weights,
    remap_efficientnet_lite,
)
from tests.model.conftest import SHARED_DIR

UMBRELLA = SHARED_DIR / "data" / "coco_tiny" / "images" / "000000549930.jpg"
IMAGENET_UMBRELLA = 879


def test_efficientnet_lite_remap_covers_every_tensor_in_order():
    model = timm.create_model("efficientnet_lite0")
    source = _read_state_dict(EFFICIENTNET_LITE0_PACKAGE)
    remapped = remap_efficientnet_lite(source, model)
    own = model.state_dict()
    # Both files list tensors in architecture order, so a correct rename lines them up one to one.
    assert list(remapped) == list(own)
    assert all(remapped[k].shape == own[k].shape for k in own)


def test_efficientnet_lite_weights_load_completely():
    model, report = create_backbone("efficientnet_lite0", EFFICIENTNET_LITE0_PACKAGE)
    assert report.loaded == len(model.state_dict()) == 296
    assert report.missing == [] and report.unexpected == []
    source = _read_state_dict(EFFICIENTNET_LITE0_PACKAGE)
    torch.testing.assert_close(model.conv_stem.weight, source["_conv_stem.weight"])
    torch.testing.assert_close(
        model.blocks[6][0].conv_pwl.weight, source["_blocks.15._project_conv.weight"]
    )


@pytest.mark.skipif(not UMBRELLA.exists(), reason="shared COCO sample image not present")
def test_remapped_efficientnet_recognises_an_umbrella():
    from PIL import Image

    model, _ = create_backbone("efficientnet_lite0", EFFICIENTNET_LITE0_PACKAGE)
    image = np.asarray(Image.open(UMBRELLA).convert("RGB").resize((224, 224)), np.float32) / 255
    x = (torch.from_numpy(image).permute(2, 0, 1)[None] - 127 / 255) / (128 / 255)
    with torch.no_grad():
        probs = model.eval()(x).softmax(-1)[0]
    assert probs.argmax().item() == IMAGENET_UMBRELLA and probs.max() > 0.5


def test_timm_format_files_load(tmp_path):
    from safetensors.torch import save_file

    src = timm.create_model("test_efficientnet")
    save_file(src.state_dict(), str(tmp_path / "w.safetensors"))
    torch.save({"state_dict": src.state_dict()}, tmp_path / "w.pth")
    for name in ("w.safetensors", "w.pth"):
        dst = timm.create_model("test_efficientnet")
        report = load_backbone_weights(dst, str(tmp_path / name))
        assert report.loaded == len(src.state_dict())
        torch.testing.assert_close(dst.conv_stem.weight, src.conv_stem.weight)


def test_wrong_or_missing_weights_are_named(tmp_path):
    with pytest.raises(WeightsNotFound):
        create_backbone("test_efficientnet", str(tmp_path / "missing.pth"))
    with pytest.raises(WeightsMismatch):
        create_backbone("test_efficientnet", EFFICIENTNET_LITE0_PACKAGE)


def _words(batch, t=5, dim=8, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(batch, t, dim, generator=gen), torch.ones(batch, t, dtype=torch.bool)


@pytest.mark.parametrize(
    "name,kwargs",
    [
        ("test_efficientnet", {}),
        # A miniature Swin exercises the NHWC path between stages.
        (
            "swin_tiny_patch4_window7_224",
            dict(
                img_size=64, embed_dim=8, depths=(1, 1, 1, 1), num_heads=(1, 1, 1, 1), window_size=2
            ),
        ),
    ],
)
def test_zero_gates_leave_the_backbone_unchanged_at_start(name, kwargs):
    torch.manual_seed(0)
    backbone = timm.create_model(name, **kwargs).eval()
    levels = len(backbone.feature_info)
    reference = FeatureListNet(
        copy.deepcopy(backbone),
        out_indices=tuple(range(levels - 4, levels)),
        flatten_sequential=True,
    ).eval()
    encoder = LanguageAwareEncoder(backbone, text_dim=8, fusion_dim=8, fusion_heads=2).eval()
    images = torch.rand(2, 3, 64, 64)
    words, mask = _words(2)
    with torch.no_grad():
        fused = encoder(images, words, mask)
        plain = reference(images)
    assert len(fused) == 4
    for f, p, c, r in zip(fused, plain, encoder.channels, encoder.reductions):
        assert f.shape == (2, c, 64 // r, 64 // r)  # always NCHW out
        p = p.permute(0, 3, 1, 2) if encoder.channels_last else p
        torch.testing.assert_close(f, p)
    # Once a gate opens, the words change the visual features.
    for fusion in encoder.fusions.values():
        torch.nn.init.normal_(fusion.gate.mlp[-1].weight, std=0.5)
    with torch.no_grad():
        a = encoder(images, words, mask)[-1]
        b = encoder(images, _words(2, seed=1)[0], mask)[-1]
    assert not torch.allclose(a, b)


def test_padding_words_are_ignored():
    torch.manual_seed(0)
    encoder = LanguageAwareEncoder(timm.create_model("test_efficientnet"), 8, 8, 2).eval()
    for fusion in encoder.fusions.values():
        torch.nn.init.normal_(fusion.gate.mlp[-1].weight, std=0.5)
    images = torch.rand(1, 3, 64, 64)
    words, mask = _words(1, t=6)
    mask[:, 4:] = False
    noisy = words.clone()
    noisy[:, 4:] = 100.0
    with torch.no_grad():
        torch.testing.assert_close(
            encoder(images, words, mask)[-1], encoder(images, noisy, mask)[-1]
        )


def test_swin_weights_round_trip_through_timm_filter(tmp_path):
    kwargs = dict(
        img_size=64, embed_dim=8, depths=(1, 1, 1, 1), num_heads=(1, 1, 1, 1), window_size=2
    )
    src = timm.create_model("swin_tiny_patch4_window7_224", **kwargs)
    torch.save({"model": src.state_dict()}, tmp_path / "swin.pth")
    dst, report = create_backbone(
        "swin_tiny_patch4_window7_224", str(tmp_path / "swin.pth"), **kwargs
    )
    assert report.missing == []
    for (name, a), b in zip(src.state_dict().items(), dst.state_dict().values()):
        torch.testing.assert_close(a, b, msg=name)


def test_a_classifier_for_other_classes_is_dropped(tmp_path):
    src = timm.create_model("test_efficientnet", num_classes=21)
    torch.save(src.state_dict(), tmp_path / "w21.pth")
    dst = timm.create_model("test_efficientnet")  # 1000 classes
    report = load_backbone_weights(dst, str(tmp_path / "w21.pth"))
    assert set(report.missing) == {"classifier.weight", "classifier.bias"}
    torch.testing.assert_close(dst.conv_stem.weight, src.conv_stem.weight)
    torch.testing.assert_close(
        dst.blocks[-1][-1].conv_pwl.weight, src.blocks[-1][-1].conv_pwl.weight
    )

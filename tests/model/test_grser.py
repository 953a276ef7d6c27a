"""GRSer.forward on the tiny variant: shapes, presence decisions, ablations, short groups, bad input."""

from __future__ import annotations

import pytest
import torch

from model import ABLATIONS, InputError, presence_rule
from model.hierarchizer import heatmap_order, prototype_scores
from tests.model.conftest import make_tiny, synthetic_groups


def test_forward_shapes_and_no_nans(tiny_model):
    images, _, _, expressions = synthetic_groups(batch=2, n=4)
    out = tiny_model(images, expressions, mirror=True)
    assert out["mask_logits"].shape == (2, 4, 64, 64)
    assert out["mask_logits"].dtype == torch.float32
    assert out["mask"].shape == (2, 4, 64, 64) and out["mask"].dtype == torch.bool
    for key in ("d_pos", "d_neg", "presence_score", "is_present", "heatmap_order"):
        assert out[key].shape == (2, 4), key
    assert out["z"].shape == (2, 4, 32)
    assert out["text"].shape == out["text_anti"].shape == (2, 32)
    assert out["mirror_mask_logits"].shape == (2, 4, 64, 64)
    assert torch.isfinite(out["mask_logits"]).all() and torch.isfinite(out["z"]).all()
    torch.testing.assert_close(out["presence_score"], out["d_neg"] - out["d_pos"])
    assert torch.equal(out["is_present"], presence_rule(out["d_pos"], out["d_neg"], 1.0))


def test_distances_are_euclidean_to_projected_texts(tiny_model):
    images, _, _, expressions = synthetic_groups(batch=1, n=4)
    out = tiny_model(images, expressions)
    d_pos = (out["z"] - out["text"][:, None]).norm(dim=-1)
    d_neg = (out["z"] - out["text_anti"][:, None]).norm(dim=-1)
    torch.testing.assert_close(out["d_pos"], d_pos)
    torch.testing.assert_close(out["d_neg"], d_neg)


def test_mirror_pass_swaps_the_roles_of_the_texts(tiny_model):
    images, _, _, expressions = synthetic_groups(batch=1, n=4)
    tiny_model.eval()
    out = tiny_model(images, expressions, mirror=True)
    # The mirror branch measures z^anti against L_anti as its "positive" text.
    torch.testing.assert_close(
        out["mirror_d_pos"], (out["mirror_z"] - out["text_anti"][:, None]).norm(dim=-1)
    )
    assert not torch.allclose(out["mirror_mask_logits"], out["mask_logits"])
    assert "mirror_mask_logits" not in tiny_model(images, expressions)


def test_presence_decides_the_mask(tiny_model):
    images, _, _, expressions = synthetic_groups(batch=1, n=4)
    tiny_model.eval()
    with torch.no_grad():
        scores = tiny_model(images, expressions)["presence_score"][0].sort().values
        # Put the margin between the 2nd and 3rd score: two images present, two absent.
        tiny_model.config.margin = float((scores[1] + scores[2]) / 2)
        out = tiny_model(images, expressions)
    present = out["is_present"][0]
    assert present.sum() == 2
    assert not out["mask"][0, ~present].any()
    assert torch.equal(out["mask"][0, present], out["mask_logits"][0, present] > 0)
    tiny_model.config.apply_presence = False
    with torch.no_grad():
        raw = tiny_model(images, expressions)
    assert torch.equal(raw["mask"], raw["mask_logits"] > 0)


def test_heatmap_order_follows_eq4_at_test_time(tiny_model):
    images, _, _, expressions = synthetic_groups(batch=1, n=4)
    tiny_model.eval()
    captured = {}
    hook = tiny_model.hierarchizer.register_forward_hook(
        lambda module, args, result: captured.update(args=args)
    )
    with torch.no_grad():
        out = tiny_model(images, expressions)
    hook.remove()
    _, protos, text, text_anti = captured["args"]
    expected = heatmap_order(*prototype_scores(protos, text, text_anti), "pos+neg")
    assert torch.equal(out["heatmap_order"], expected)


def test_train_and_test_orders_are_set_separately():
    model = make_tiny(hierarchizer_train="random", hierarchizer_test="identity")
    images, _, _, expressions = synthetic_groups(batch=1, n=4)
    model.eval()
    with torch.no_grad():
        assert model(images, expressions)["heatmap_order"].tolist() == [[0, 1, 2, 3]]
    model.train()
    torch.manual_seed(1)
    orders = {tuple(model(images, expressions)["heatmap_order"][0].tolist()) for _ in range(6)}
    assert len(orders) > 1


def test_short_group_pads_missing_prototypes():
    model = make_tiny().eval()
    images, _, _, expressions = synthetic_groups(batch=1, n=3)
    with torch.no_grad():
        out = model(images, expressions)
    assert out["mask_logits"].shape == (1, 3, 64, 64)
    assert out["heatmap_order"].shape == (1, 3)


def test_single_image_group_and_odd_size():
    model = make_tiny().eval()
    images = torch.rand(1, 1, 3, 96, 64)
    with torch.no_grad():
        out = model(images, ["a cat"])
    assert out["mask_logits"].shape == (1, 1, 96, 64)


def test_without_tqm_only_the_language_heatmap_enters_the_decoder():
    model = make_tiny(use_tqm=False)
    assert model.decoder.stem[0][0].in_channels == 1 + model.config.c_v
    images, _, _, expressions = synthetic_groups(batch=1, n=4)
    out = model(images, expressions)
    assert "heatmap_order" not in out and out["mask_logits"].shape == (1, 4, 64, 64)


def test_group_size_sets_the_heatmap_channels():
    model = make_tiny(group_size=6, include_language_heatmap=False)
    assert model.decoder.stem[0][0].in_channels == 6 + model.config.c_v
    out = model(torch.rand(1, 6, 3, 64, 64), ["x"])
    assert out["mask_logits"].shape == (1, 6, 64, 64)


def test_group_members_influence_each_other(tiny_model):
    """TQM queries each image with the prototypes of the whole group."""
    tiny_model.eval()
    images, _, _, expressions = synthetic_groups(batch=1, n=4)
    other = images.clone()
    other[0, 3] = torch.rand(3, 64, 64)
    with torch.no_grad():
        a = tiny_model(images, expressions)["mask_logits"][0, 0]
        b = tiny_model(other, expressions)["mask_logits"][0, 0]
    assert not torch.allclose(a, b)


@pytest.mark.parametrize(
    "images,expressions",
    [
        (torch.rand(1, 5, 3, 64, 64), ["too many images"]),
        (torch.rand(4, 3, 64, 64), ["missing group axis"]),
        (torch.rand(2, 2, 3, 64, 64), ["one expression for two groups"]),
        (torch.rand(1, 2, 3, 64, 64), "a bare string"),
    ],
)
def test_bad_inputs_raise_named_errors(tiny_model, images, expressions):
    with pytest.raises(InputError):
        tiny_model(images, expressions)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_bf16_autocast_forward_backward():
    from model import grser_loss

    model = make_tiny().cuda()
    images, targets, positive, expressions = synthetic_groups(batch=2, n=4)
    with torch.autocast("cuda", dtype=torch.bfloat16):
        out = model(images.cuda(), expressions, mirror=True)
        losses = grser_loss(out, targets.cuda(), positive.cuda(), 1, 2, model.config)
    assert out["mask_logits"].dtype == torch.float32 and out["d_pos"].dtype == torch.float32
    losses["total"].backward()
    assert torch.isfinite(losses["total"])


@pytest.mark.parametrize("ablation", sorted(ABLATIONS))
def test_every_ablation_trains_one_step(ablation):
    from model import grser_loss

    model = make_tiny(**ABLATIONS[ablation])
    images, targets, positive, expressions = synthetic_groups(batch=1, n=4)
    out = model(images, expressions, mirror=model.config.use_mirror)
    losses = grser_loss(out, targets, positive, 1, 2, model.config)
    losses["total"].backward()
    assert torch.isfinite(losses["total"])


def test_cpu_bf16_autocast_forward_backward():
    """The CUDA path runs under bf16 autocast; CPU autocast exercises the same dtype handling."""
    from model import grser_loss

    model = make_tiny()
    images, targets, positive, expressions = synthetic_groups(batch=1, n=4)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = model(images, expressions, mirror=True)
        losses = grser_loss(out, targets, positive, 1, 2, model.config)
    # Heatmaps, distances and logits stay float32 for the loss and the presence rule.
    for key in ("mask_logits", "d_pos", "d_neg", "z", "lang_heatmaps"):
        assert out[key].dtype == torch.float32, key
    losses["total"].backward()
    assert torch.isfinite(losses["total"])


def test_mask_pooling_reads_the_predicted_mask_and_trains_without_reshaping_it():
    from model import grser_loss
    from model.mask_decoder import PresenceHead

    head = PresenceHead(in_channels=6, c_v=8, mask_pooling=True).eval()
    z = torch.randn(2, 6, 4, 4)
    left, right = torch.zeros(2, 1, 16, 16), torch.zeros(2, 1, 16, 16)
    left[..., :8], right[..., 8:] = 1.0, 1.0
    assert not torch.allclose(head(z, left), head(z, right))  # pooled where the mask is
    with pytest.raises(ValueError, match="mask probability"):
        head(z)

    torch.manual_seed(0)
    model = make_tiny(presence_pooling="mean+mask", use_mirror=False)
    assert model.presence_head.proj.in_features == 2 * model.config.c_v
    images, targets, positive, expressions = synthetic_groups(batch=1, n=4)
    out = model(images, expressions)
    grser_loss(out, targets, positive, 2, 2, model.config)["triplet"].backward()
    assert model.presence_head.proj.weight.grad.abs().sum() > 0
    # the mask is read detached: the triplet loss alone leaves the mask decoder untouched
    assert all(p.grad is None or not p.grad.any() for p in model.decoder.parameters())
    assert make_tiny().presence_head.proj.in_features == model.config.c_v  # the paper's default


def test_mask_pooling_survives_a_checkpoint_round_trip(tmp_path):
    from model.checkpoint import load_checkpoint, save_checkpoint

    torch.manual_seed(0)
    model = make_tiny(presence_pooling="mean+mask").eval()
    save_checkpoint(tmp_path / "m.pt", model)
    loaded, _ = load_checkpoint(tmp_path / "m.pt")
    images, _, _, expressions = synthetic_groups(batch=1, n=4)
    with torch.no_grad():
        torch.testing.assert_close(
            loaded(images, expressions)["z"], model(images, expressions)["z"]
        )
    assert loaded.config.presence_pooling == "mean+mask"


def test_an_unknown_presence_pooling_is_refused():
    from model import ConfigError

    with pytest.raises(ConfigError, match="presence_pooling"):
        make_tiny(presence_pooling="max")

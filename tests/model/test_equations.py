"""Each GRSer equation against a hand computation on small tensors (Eq. 1-6 and the presence rule)."""

from __future__ import annotations

import math

import pytest
import torch

from model.config import GRSerConfig
from model.grser import presence_rule
from model.hierarchizer import heatmap_order, prototype_scores, ranks, rearrange
from model.losses import grser_loss, mirror_targets, triplet_margin, triplet_weight
from model.query_module import cosine_map, language_heatmaps, prototypes, vision_heatmaps

SQRT2 = math.sqrt(2.0)


def test_eq1_language_heatmap_is_cosine_per_position():
    # One group, one image, C = 2, H = 1, W = 3: positions (1,0), (1,1), (0,-3); L' = (0, 2).
    visual = torch.tensor([[1.0, 1.0, 0.0], [0.0, 1.0, -3.0]]).view(1, 1, 2, 1, 3)
    text = torch.tensor([[0.0, 2.0]])
    heat = language_heatmaps(visual, text)
    assert heat.shape == (1, 1, 1, 3)
    expected = torch.tensor([0.0, 1.0 / SQRT2, -1.0])  # 0/(1*2), 2/(sqrt2*2), -6/(3*2)
    torch.testing.assert_close(heat.flatten(), expected)


def test_eq1_cosine_ignores_scale_of_features_and_query():
    visual = torch.randn(2, 3, 5, 4, 4)
    text = torch.randn(2, 5)
    torch.testing.assert_close(
        language_heatmaps(visual * 7.0, text * 0.1),
        language_heatmaps(visual, text),
        rtol=1e-5,
        atol=1e-5,
    )


def test_eq2_prototype_is_spatial_mean_of_heatmap_times_features():
    # positions v1 = (1, 0), v2 = (1, 1); M^l = [0.5, -1]
    visual = torch.tensor([[1.0, 1.0], [0.0, 1.0]]).view(1, 1, 2, 1, 2)
    heat = torch.tensor([0.5, -1.0]).view(1, 1, 1, 2)
    proto = prototypes(visual, heat)
    # ((0.5*1 + -1*1) / 2, (0.5*0 + -1*1) / 2)
    torch.testing.assert_close(proto, torch.tensor([[[-0.25, -0.5]]]))


def test_eq2_uses_the_eq1_heatmap_in_the_module():
    from model.query_module import TriphasicQueryModule

    tqm = TriphasicQueryModule(text_dim=3, c_v=2)
    visual = torch.tensor([[1.0, 1.0], [0.0, 1.0]]).view(1, 1, 2, 1, 2)
    with torch.no_grad():
        tqm.omega_l.weight.copy_(torch.tensor([[0.0, 0.0, 0.0], [0.0, 1.0, 0.0]]))
        tqm.omega_l.bias.zero_()
    out = tqm(visual, tqm.project_text(torch.tensor([[5.0, 2.0, 9.0]])))  # L' = (0, 2)
    # M^l = [0, 1/sqrt2]; p = mean((0,0), (1/sqrt2, 1/sqrt2)) = (1/(2 sqrt2), 1/(2 sqrt2))
    torch.testing.assert_close(out["lang_heatmaps"].flatten(), torch.tensor([0.0, 1 / SQRT2]))
    half = 1 / (2 * SQRT2)
    torch.testing.assert_close(out["prototypes"], torch.tensor([[[half, half]]]))


def test_eq3_every_image_against_every_prototype():
    # Image 0 positions (3,4), (-1,0); image 1 positions (0,2), (1,1). Prototypes p0=(1,0), p1=(0,1).
    visual = torch.tensor(
        [
            [[3.0, -1.0], [4.0, 0.0]],
            [[0.0, 1.0], [2.0, 1.0]],
        ]
    ).view(1, 2, 2, 1, 2)
    protos = torch.tensor([[[1.0, 0.0], [0.0, 1.0]]])
    heat = vision_heatmaps(visual, protos)
    assert heat.shape == (1, 2, 2, 1, 2)  # [B, image n, prototype i, H, W]
    expected = torch.tensor(
        [
            [[0.6, -1.0], [0.8, 0.0]],  # image 0 vs p0, p1
            [[0.0, 1 / SQRT2], [1.0, 1 / SQRT2]],  # image 1 vs p0, p1
        ]
    )
    torch.testing.assert_close(heat.view(2, 2, 2), expected)


def test_cosine_map_of_zero_query_is_zero_not_nan():
    heat = cosine_map(torch.randn(3, 2, 2), torch.zeros(3))
    assert torch.isfinite(heat).all() and (heat == 0).all()


def test_hierarchizer_scores_are_euclidean_distances():
    protos = torch.tensor([[[3.0, 4.0], [0.0, 0.0]]])
    s_pos, s_neg = prototype_scores(protos, torch.tensor([[0.0, 0.0]]), torch.tensor([[3.0, 0.0]]))
    torch.testing.assert_close(s_pos, torch.tensor([[5.0, 0.0]]))
    torch.testing.assert_close(s_neg, torch.tensor([[4.0, 3.0]]))


def test_ranks_break_ties_by_index():
    # ascending: values 3,1,2,1 -> order 1,3,2,0 -> ranks [3,0,2,1]
    assert ranks(torch.tensor([[3.0, 1.0, 2.0, 1.0]])).tolist() == [[3, 0, 2, 1]]
    # descending: values 5,5,9,1 -> order 2,0,1,3 -> ranks [1,2,0,3]
    assert ranks(torch.tensor([[5.0, 5.0, 9.0, 1.0]]), descending=True).tolist() == [[1, 2, 0, 3]]


def test_eq4_rank_sum_order_with_ties():
    s_pos = torch.tensor([[3.0, 1.0, 2.0, 1.0]])  # R^pos = [3, 0, 2, 1]
    s_neg = torch.tensor([[5.0, 5.0, 9.0, 1.0]])  # R^neg = [1, 2, 0, 3]
    # R^pos + R^neg = [4, 2, 2, 4]: ties 1~2 and 0~3 go to the lower index first
    assert heatmap_order(s_pos, s_neg, "pos+neg").tolist() == [[1, 2, 0, 3]]
    assert heatmap_order(s_pos, s_neg, "pos").tolist() == [[1, 3, 2, 0]]
    assert heatmap_order(s_pos, s_neg, "neg").tolist() == [[2, 0, 1, 3]]
    assert heatmap_order(s_pos, s_neg, "identity").tolist() == [[0, 1, 2, 3]]


def test_eq4_random_mode_is_a_permutation_that_varies():
    s = torch.zeros(1, 8)
    gen = torch.Generator().manual_seed(0)
    orders = {tuple(heatmap_order(s, s, "random", generator=gen)[0].tolist()) for _ in range(10)}
    assert all(sorted(o) == list(range(8)) for o in orders)
    assert len(orders) > 1


def test_eq4_restacking_moves_whole_heatmaps_for_every_image():
    b, n, h, w = 1, 3, 2, 2
    # heatmaps[b, image, prototype] filled with 10*image + prototype
    values = torch.tensor([[10.0 * i + k for k in range(n)] for i in range(n)])
    heat = values.view(b, n, n, 1, 1).expand(b, n, n, h, w)
    out = rearrange(heat, torch.tensor([[2, 0, 1]]))
    expected = torch.tensor([[10.0 * i + k for k in (2, 0, 1)] for i in range(n)])
    torch.testing.assert_close(out[..., 0, 0], expected.view(b, n, n))
    assert (out == out[..., :1, :1]).all()  # each channel is still one constant map


def test_eq5_positive_and_negative_samples():
    d_pos = torch.tensor([[2.0, 0.5, 1.5, 3.0]])
    d_neg = torch.tensor([[2.5, 4.0, 2.0, 1.0]])
    positive = torch.tensor([[True, True, False, False]])
    loss = triplet_margin(d_pos, d_neg, positive, margin=1.0)
    # pos: max(2-2.5+1,0)=0.5, max(0.5-4+1,0)=0; neg: max(2-1.5+1,0)=1.5, max(1-3+1,0)=0
    torch.testing.assert_close(loss, torch.tensor([[0.5, 0.0, 1.5, 0.0]]))


def test_mirror_target_is_background():
    y = torch.tensor([[[[0.0, 1.0], [1.0, 0.0]]]])
    torch.testing.assert_close(mirror_targets(y), torch.tensor([[[[1.0, 0.0], [0.0, 1.0]]]]))


@pytest.mark.parametrize(
    "epoch,total,expected",
    [(0, 80, 0.0), (1, 80, 1 / 80), (40, 80, 0.5), (80, 80, 1.0), (100, 80, 1.0), (2.5, 10, 0.25)],
)
def test_eq6_ramp_is_t_over_T(epoch, total, expected):
    assert triplet_weight(epoch, total) == pytest.approx(expected)


def _fake_outputs(d_pos, d_neg, logits, mirror_logits):
    return {
        "mask_logits": logits,
        "mirror_mask_logits": mirror_logits,
        "d_pos": d_pos,
        "d_neg": d_neg,
    }


def test_eq6_total_objective_by_hand():
    cfg = GRSerConfig(mirror_weight=0.5, margin=1.0)
    targets = torch.zeros(1, 2, 2, 2)
    targets[0, 0, 0, 0] = 1.0
    positive = torch.tensor([[True, False]])
    d_pos, d_neg = torch.tensor([[2.0, 1.5]]), torch.tensor([[2.5, 2.0]])  # Eq. 5: 0.5 and 1.5
    zeros = torch.zeros(1, 2, 2, 2)  # logit 0 -> BCE = ln 2 whatever the target
    losses = grser_loss(
        _fake_outputs(d_pos, d_neg, zeros, zeros),
        targets,
        positive,
        epoch=3,
        total_epochs=4,
        config=cfg,
    )
    ln2 = math.log(2.0)
    assert losses["ce"].item() == pytest.approx(ln2)
    assert losses["mirror"].item() == pytest.approx(ln2)
    assert losses["triplet"].item() == pytest.approx(1.0)  # mean(0.5, 1.5)
    assert losses["total"].item() == pytest.approx(ln2 + 0.5 * ln2 + 0.75 * 1.0)


def test_ce_counts_positives_only_and_mirror_uses_background():
    cfg = GRSerConfig(mirror_weight=1.0)
    targets = torch.zeros(1, 2, 1, 2)
    targets[0, 0, 0, 0] = 1.0  # image 0 positive: pixel 0 is the object
    positive = torch.tensor([[True, False]])
    logits = torch.tensor([[[[10.0, -10.0]], [[10.0, 10.0]]]])  # image 0 right; image 1 (neg) wrong
    mirror = -logits  # the mirror pass predicts the background of image 0 right
    d = torch.zeros(1, 2)
    losses = grser_loss(_fake_outputs(d, d, logits, mirror), targets, positive, 1, 1, cfg)
    small = math.log1p(math.exp(-10.0))
    assert losses["ce"].item() == pytest.approx(small, rel=1e-2)  # negative image 1 ignored
    assert losses["mirror"].item() == pytest.approx(small, rel=1e-2)
    with_negatives = grser_loss(
        _fake_outputs(d, d, logits, mirror),
        targets,
        positive,
        1,
        1,
        GRSerConfig(mirror_on_negatives=True),
    )
    # image 1's background is everything, but its mirror logits are -10: a large loss
    assert with_negatives["mirror"].item() > 4.0


def test_switches_remove_their_terms():
    targets = torch.zeros(1, 2, 2, 2)
    positive = torch.tensor([[True, False]])
    d_pos, d_neg = torch.tensor([[2.0, 1.5]]), torch.tensor([[2.5, 2.0]])
    zeros = torch.zeros(1, 2, 2, 2)
    outputs = _fake_outputs(d_pos, d_neg, zeros, zeros)
    no_tri = grser_loss(outputs, targets, positive, 4, 4, GRSerConfig(use_triplet=False))
    assert no_tri["total"].item() == pytest.approx(2 * math.log(2.0))
    assert no_tri["triplet"].item() == pytest.approx(1.0)  # still reported
    assert no_tri["triplet_weight"].item() == 0.0
    no_mirror = grser_loss(
        {"mask_logits": zeros, "d_pos": d_pos, "d_neg": d_neg},
        targets,
        positive,
        4,
        4,
        GRSerConfig(use_mirror=False),
    )
    assert no_mirror["mirror"].item() == 0.0
    assert no_mirror["total"].item() == pytest.approx(math.log(2.0) + 1.0)


def test_all_negative_group_has_no_ce_but_keeps_the_graph():
    logits = torch.zeros(1, 2, 2, 2, requires_grad=True)
    d = torch.zeros(1, 2, requires_grad=True)
    losses = grser_loss(
        {"mask_logits": logits, "mirror_mask_logits": logits, "d_pos": d, "d_neg": d},
        torch.zeros(1, 2, 2, 2),
        torch.zeros(1, 2, dtype=torch.bool),
        1,
        1,
        GRSerConfig(),
    )
    assert losses["ce"].item() == 0.0 and losses["mirror"].item() == 0.0
    assert losses["triplet"].item() == pytest.approx(1.0)  # d equal: max(0 + m, 0)
    losses["total"].backward()
    assert d.grad is not None


def test_presence_rule_at_the_margin_boundary():
    d_pos = torch.tensor([1.0, 1.0, 1.0, 3.0])
    d_neg = torch.tensor([2.0, 2.001, 1.999, 1.0])
    # 1 + 1 < 2 is False (boundary excluded); 2 < 2.001 True; 2 < 1.999 False; 4 < 1 False
    assert presence_rule(d_pos, d_neg, 1.0).tolist() == [False, True, False, False]
    assert presence_rule(d_pos, d_neg, 0.0).tolist() == [True, True, True, False]

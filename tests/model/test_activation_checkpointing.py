"""Activation checkpointing trades compute for memory and changes no gradient."""

from __future__ import annotations

import torch

from model.losses import grser_loss
from tests.model.conftest import make_tiny, synthetic_groups


def _grads(checkpoint: bool):
    model = make_tiny()
    model.visual_encoder.checkpoint_activations = checkpoint
    model.train()
    images, targets, positive, expressions = synthetic_groups()
    out = model(images, expressions, mirror=True)
    grser_loss(out, targets, positive, 1, 2, model.config)["total"].backward()
    return {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}


def test_checkpointed_backbone_gives_the_same_gradients():
    plain, recomputed = _grads(False), _grads(True)
    assert plain.keys() == recomputed.keys()
    backbone = [n for n in plain if n.startswith("visual_encoder.body")]
    assert backbone  # the checkpointed stages do get gradients
    for name in plain:
        torch.testing.assert_close(plain[name], recomputed[name], rtol=1e-4, atol=1e-6)

"""Training the tiny GRSer on CPU: the loss falls, every module learns, ablation switches cut their paths."""

from __future__ import annotations

import torch

from model import grser_loss
from tests.model.conftest import make_tiny, synthetic_groups


def _step(model, optimizer, batch, epoch=1, total_epochs=1):
    images, targets, positive, expressions = batch
    optimizer.zero_grad(set_to_none=True)
    out = model(images, expressions, mirror=model.config.use_mirror)
    losses = grser_loss(out, targets, positive, epoch, total_epochs, model.config)
    losses["total"].backward()
    optimizer.step()
    return losses


def test_loss_falls_over_a_few_steps():
    model = make_tiny()
    batch = synthetic_groups(batch=2, n=4)
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.01)
    history = [_step(model, optimizer, batch)["total"].item() for _ in range(12)]
    assert all(torch.isfinite(torch.tensor(history)))
    assert sum(history[-3:]) / 3 < 0.8 * sum(history[:3]) / 3, history


def test_segmentation_loss_falls_on_its_own():
    model = make_tiny(use_mirror=False, use_triplet=False)
    batch = synthetic_groups(batch=2, n=4)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2, weight_decay=0.01)
    ce = [_step(model, optimizer, batch)["ce"].item() for _ in range(25)]
    assert ce[-1] < 0.6 * ce[0], ce


def _grads_after_warmup(model, steps=2):
    """Run a couple of steps first: the zero-initialised language gates block gradients into the
    fusion attention until their last layer has moved away from zero."""
    batch = synthetic_groups(batch=2, n=4)
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-3)
    for _ in range(steps):
        _step(model, optimizer, batch)
    optimizer.zero_grad(set_to_none=True)
    images, targets, positive, expressions = batch
    out = model(images, expressions, mirror=model.config.use_mirror)
    grser_loss(out, targets, positive, 1, 1, model.config)["total"].backward()
    return {name: p.grad for name, p in model.named_parameters()}


def _dead(grads, skip=()):
    dead = []
    for name, grad in grads.items():
        if any(name.startswith(prefix) for prefix in skip):
            continue
        if grad is None or not torch.any(grad != 0):
            dead.append(name)
    return dead


# Token embeddings only receive gradient for tokens that occur in the batch's expressions.
_UNSEEN_ROWS_OK = ("text_encoder.encoder.embeddings.word_embeddings",)


def test_gradients_reach_every_module():
    grads = _grads_after_warmup(make_tiny())
    assert _dead(grads, skip=_UNSEEN_ROWS_OK) == []
    assert torch.any(grads["text_encoder.encoder.embeddings.word_embeddings.weight"] != 0)
    # and the language fusion of every stage learns once its gate opens
    fusion = [n for n in grads if ".fusions." in n]
    assert fusion and all(torch.any(grads[n] != 0) for n in fusion)


def test_anti_token_embedding_learns():
    model = make_tiny()
    grads = _grads_after_warmup(model, steps=0)
    table = grads["text_encoder.encoder.embeddings.word_embeddings.weight"]
    assert torch.any(table[model.text_encoder.anti_token_id] != 0)


def test_without_triplet_loss_the_presence_head_gets_no_gradient():
    with_tri = _grads_after_warmup(make_tiny(), steps=0)
    assert torch.any(with_tri["presence_head.proj.weight"] != 0)
    without = _grads_after_warmup(make_tiny(use_triplet=False), steps=0)
    presence = [n for n in without if n.startswith("presence_head.")]
    assert presence and all(without[n] is None for n in presence)


def test_triplet_term_alone_trains_the_presence_distances():
    model = make_tiny(use_mirror=False)
    images, targets, positive, expressions = synthetic_groups(batch=2, n=4)
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    first = last = None
    for _ in range(10):
        losses = _step(model, optimizer, (images, targets, positive, expressions))
        first = losses["triplet"].item() if first is None else first
        last = losses["triplet"].item()
    assert last < first


def test_without_mirror_no_mirror_pass_is_needed():
    model = make_tiny(use_mirror=False)
    grads = _grads_after_warmup(model)
    assert _dead(grads, skip=_UNSEEN_ROWS_OK) == []


def test_frozen_text_encoder_gets_no_gradient():
    grads = _grads_after_warmup(make_tiny(freeze_text_encoder=True), steps=1)
    text = [n for n in grads if n.startswith("text_encoder.")]
    assert text and all(grads[n] is None for n in text)
    assert _dead(grads, skip=("text_encoder.",)) == []

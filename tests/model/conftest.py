"""Fixtures for model tests: tiny GRSer factory and a synthetic group with positives and negatives."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

SHARED_DIR = Path(__file__).resolve().parents[2] / ".." / "shared"


@pytest.fixture(autouse=True)
def _few_threads():
    """Two cores are shared with other test runs: keep torch from oversubscribing them."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def make_tiny(**overrides):
    """A freshly initialised tiny GRSer (seeded, so repeated calls give the same weights)."""
    from model import build_grser

    torch.manual_seed(0)
    return build_grser("tiny", **overrides)


def synthetic_groups(batch: int = 2, n: int = 4, size: int = 64, seed: int = 0):
    """Groups where positives hold a bright square (the target) and negatives do not.

    Returns:
        images [B, n, 3, S, S] in [0, 1], targets [B, n, S, S] {0, 1}, positive [B, n] bool
        (alternating positive/negative: the paper's 1:1 ratio), expressions (B strings).
    """
    gen = torch.Generator().manual_seed(seed)
    images = torch.rand(batch, n, 3, size, size, generator=gen) * 0.4
    targets = torch.zeros(batch, n, size, size)
    positive = torch.zeros(batch, n, dtype=torch.bool)
    positive[:, ::2] = True
    for b in range(batch):
        for i in range(n):
            if positive[b, i]:
                y, x = torch.randint(0, size // 2, (2,), generator=gen).tolist()
                side = size // 3
                targets[b, i, y : y + side, x : x + side] = 1.0
                images[b, i, 0, y : y + side, x : x + side] = 1.0  # a red square
    expressions = ["the red square"] * batch
    return images, targets, positive, expressions


@pytest.fixture
def tiny_model():
    return make_tiny()

"""The input pipeline: workers give the same batches as the main process; the cache is bounded in
bytes and holds uint8."""

from __future__ import annotations

import numpy as np
import torch

from pipelines.training.batching import ItemCache
from pipelines.training.datasets.load import load_groups
from pipelines.training.loader import (
    ShardedEpochs,
    fix_malloc_mmap_threshold,
    make_loader,
    to_model_inputs,
)
from pipelines.training.sampler import step_plan

DATA = "synth:0:3:4:0:1:48"


def _epoch(loader, epoch):
    loader.sampler.epoch = epoch
    return [to_model_inputs(b, torch.device("cpu")) for b in loader]


def test_workers_give_the_same_batches_as_the_main_process():
    groups = load_groups(DATA)
    plan = step_plan(sum(1 for g in groups if g.positives), 4, world=1, accum=2)
    inline = make_loader(ShardedEpochs(groups, plan, 0, 48, 4, seed=0), 0, False)
    workers = make_loader(ShardedEpochs(groups, plan, 0, 48, 4, seed=0), 2, False)
    for epoch in (0, 1):
        a, b = _epoch(inline, epoch), _epoch(workers, epoch)
        assert len(a) == len(b) == plan.steps_per_epoch * plan.accum
        for (ia, ta, pa, ea), (ib, tb, pb, eb) in zip(a, b):
            assert ia.dtype == torch.float32 and ia.shape[1:] == (4, 3, 48, 48)
            assert torch.equal(ia, ib) and torch.equal(ta, tb) and torch.equal(pa, pb)
            assert ea == eb


def test_cache_holds_uint8_and_stays_under_its_byte_bound():
    items = [item for g in load_groups(DATA) for item in g.items]
    per_item = 48 * 48 * 3 + 48 * 48  # uint8 image + bool mask
    cache = ItemCache(48, max_bytes=5 * per_item)
    for item in items:
        image, mask = cache.arrays(item)
        assert image.dtype == np.uint8 and mask.dtype == bool
        assert cache.bytes <= 5 * per_item
    assert len(cache) == 5
    pixels, target = cache.get(items[-1])  # the float view the model takes
    assert pixels.shape == (3, 48, 48) and pixels.max() <= 1.0 and target.dtype == torch.float32
    assert len(ItemCache(48, max_bytes=0)._data) == 0


def test_mmap_threshold_is_pinned_on_glibc():
    import platform

    pinned = fix_malloc_mmap_threshold()
    assert pinned if platform.libc_ver()[0] == "glibc" else not pinned

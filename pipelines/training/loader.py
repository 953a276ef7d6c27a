"""The training input pipeline: this rank's micro-batches as tensors, from DataLoader workers.

``sample_epoch`` and ``shard_epoch`` are pure functions of (seed, epoch, rank), so a worker builds
the epoch's plan itself and the main process only sends indices: ``epoch * steps * accum + k``.
Each worker keeps its own byte-bounded cache of uint8 images; batches leave the worker as uint8
(a quarter of float32 through the queue) and become float on the main process. Pinned memory
speeds the copy to a GPU.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from pipelines.training.batching import ItemCache, collate_arrays
from pipelines.training.datasets.base import GresGroup
from pipelines.training.sampler import StepPlan, TrainingGroup, sample_epoch, shard_epoch

EpochSampling = tuple[int, int, bool]  # group_size, seed, cross_group_negatives


class ShardedEpochs(Dataset):
    """Index ``epoch * plan.steps_per_epoch * plan.accum + k`` -> micro-batch ``k`` of that epoch
    on this rank: ``(images [B,N,S,S,3] uint8, masks [B,N,S,S] bool, positive [B,N], expressions)``
    as tensors."""

    def __init__(
        self,
        groups: Sequence[GresGroup],
        plan: StepPlan,
        rank: int,
        image_size: int,
        group_size: int,
        seed: int,
        cross_group_negatives: bool = True,
        cache_bytes: int = 512 * 2**20,
        weights: Sequence[float] | None = None,
    ):
        self.groups, self.plan, self.rank = list(groups), plan, rank
        self.group_size, self.seed, self.cross = group_size, seed, cross_group_negatives
        self.weights = weights
        self.cache = ItemCache(image_size, max_bytes=cache_bytes)
        self._epoch: int | None = None
        self._micro: list[list[TrainingGroup]] = []

    @property
    def per_epoch(self) -> int:
        return self.plan.steps_per_epoch * self.plan.accum

    def __len__(self) -> int:
        return 2**31 - 1  # indices come from EpochSampler

    def micro_batches(self, epoch: int) -> list[list[TrainingGroup]]:
        if epoch != self._epoch:
            epoch_groups = sample_epoch(
                self.groups, self.group_size, self.seed, epoch, self.cross, self.weights
            )
            steps = shard_epoch(epoch_groups, self.plan, self.rank)
            self._micro = [micro for step in steps for micro in step]
            self._epoch = epoch
        return self._micro

    def __getitem__(self, index: int):
        epoch, k = divmod(index, self.per_epoch)
        images, masks, positive, expressions = collate_arrays(
            self.micro_batches(epoch)[k], self.cache.arrays
        )
        return (
            torch.from_numpy(images),
            torch.from_numpy(masks),
            torch.from_numpy(positive),
            expressions,
        )


class EpochSampler(Sampler[int]):
    """The indices of one epoch; set ``epoch`` before iterating the loader (main process)."""

    def __init__(self, per_epoch: int):
        self.per_epoch, self.epoch = per_epoch, 0

    def __iter__(self) -> Iterator[int]:
        return iter(range(self.epoch * self.per_epoch, (self.epoch + 1) * self.per_epoch))

    def __len__(self) -> int:
        return self.per_epoch


def _keep(item):
    return item


def fix_malloc_mmap_threshold(threshold: int = 128 * 1024) -> bool:
    """Pin glibc's mmap threshold so freed image-sized buffers go back to the system.

    glibc raises the threshold each time a large mmap-ed block is freed (up to 32 MB), after
    which every decoded image and batch lands on the heap, where freed space is reused poorly and
    never returned: resident memory then creeps up by hundreds of MB per process. Setting
    M_MMAP_THRESHOLD turns that adaptation off. Returns False where there is no glibc.
    """
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("c")
    if not name:
        return False
    try:
        libc = ctypes.CDLL(name)
        return bool(libc.mallopt(-3, threshold))  # M_MMAP_THRESHOLD = -3 (malloc.h)
    except (OSError, AttributeError):
        return False


def _worker_init(_worker_id: int) -> None:
    fix_malloc_mmap_threshold()


def make_loader(dataset: ShardedEpochs, workers: int, pin_memory: bool) -> DataLoader:
    """One loader for the whole run (persistent workers keep their caches across epochs)."""
    fix_malloc_mmap_threshold()
    return DataLoader(
        dataset,
        sampler=EpochSampler(dataset.per_epoch),
        batch_size=None,
        num_workers=workers,
        pin_memory=pin_memory,
        persistent_workers=workers > 0,
        collate_fn=_keep,
        worker_init_fn=_worker_init,
        prefetch_factor=2 if workers > 0 else None,
    )


def to_model_inputs(batch, device: torch.device):
    """Loader output -> ``(images [B,N,3,S,S] float, targets [B,N,S,S] float, positive, texts)``
    on ``device``."""
    images, masks, positive, expressions = batch
    non_blocking = device.type == "cuda"
    images = images.to(device, non_blocking=non_blocking).permute(0, 1, 4, 2, 3).float() / 255.0
    targets = masks.to(device, non_blocking=non_blocking).float()
    return images, targets, positive.to(device, non_blocking=non_blocking), expressions

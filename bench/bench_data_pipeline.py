"""Peak memory of the training input pipeline at the paper's size: 1,000 synthetic 416-px items.

    .venv/bin/python bench/bench_data_pipeline.py                  # paper config, 2 workers
    .venv/bin/python bench/bench_data_pipeline.py --workers 0 --epochs 3

Writes 1,000 JPEG images of 416 x 416 (125 groups of N = 8, one expression each, half positive)
to a temporary folder, then runs the real pipeline of ``grd train`` with the ``paper`` config's
sizes (416 px, N = 8, global batch 4, DataLoader workers, byte-bounded uint8 cache of
``--cache-mb`` per process) for ``--epochs`` epochs, consuming every batch as float tensors. A
sampler thread reads the proportional set size (PSS: shared pages split between processes) of the
main process and every worker from /proc every 50 ms. Prints the peak of their sum (target: under
2 GB) and items/s; the last line is one JSON object. Linux only (/proc).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import threading
import time
from pathlib import Path

import cv2
import numpy as np


def pss_bytes(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        pass
    return 0


def children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except FileNotFoundError:
        return []
    return [int(c) for c in text.split()]


class PeakPss:
    def __init__(self, interval: float = 0.05):
        self.peak, self.interval, self._stop = 0, interval, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        me = os.getpid()
        while not self._stop.is_set():
            total = pss_bytes(me) + sum(pss_bytes(c) for c in children(me))
            self.peak = max(self.peak, total)
            time.sleep(self.interval)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def make_items(folder: Path, count: int, size: int, group_size: int):
    from labeler import rle
    from pipelines.training.datasets.base import GresGroup, GresItem, file_loader

    rng = np.random.default_rng(0)
    groups = []
    for g in range(count // group_size):
        items = []
        for k in range(group_size):
            image = np.full((size, size, 3), rng.integers(0, 255, 3), np.uint8)
            cv2.circle(image, tuple(int(v) for v in rng.integers(60, size - 60, 2)), 50,
                       tuple(int(v) for v in rng.integers(0, 255, 3)), -1)  # fmt: skip
            image = cv2.add(image, rng.integers(0, 40, image.shape, dtype=np.uint8))
            path = folder / f"{g:04d}-{k}.jpg"
            cv2.imwrite(str(path), image)
            instances = ()
            if k % 2 == 0:
                mask = np.zeros((size, size), bool)
                mask[100:200, 120:260] = True
                instances = (rle.encode(mask),)
            items.append(GresItem(f"bench/{g}/{k}", file_loader(path), size, size, instances))
        groups.append(GresGroup(f"bench-{g:04d}", f"the object number {g}", tuple(items)))
    return groups


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=1000)
    parser.add_argument("--size", type=int, default=416)
    parser.add_argument("--group-size", type=int, default=8)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--cache-mb", type=int, default=512)
    parser.add_argument("--epochs", type=int, default=2)
    args = parser.parse_args()

    import torch

    from pipelines.training.loader import ShardedEpochs, make_loader, to_model_inputs
    from pipelines.training.sampler import step_plan

    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        groups = make_items(Path(tmp), args.items, args.size, args.group_size)
        plan = step_plan(len(groups), args.batch)
        data = ShardedEpochs(
            groups, plan, 0, args.size, args.group_size, seed=0,
            cache_bytes=args.cache_mb * 2**20,
        )  # fmt: skip
        loader = make_loader(data, args.workers, pin_memory=False)
        started = time.perf_counter()
        consumed = 0
        with PeakPss() as meter:
            for epoch in range(args.epochs):
                loader.sampler.epoch = epoch
                for batch in loader:
                    images, targets, _, _ = to_model_inputs(batch, torch.device("cpu"))
                    consumed += images.shape[0] * images.shape[1]
                    del images, targets
        seconds = time.perf_counter() - started
        del loader
    result = {
        "items": args.items,
        "size": args.size,
        "workers": args.workers,
        "cache_mb_per_process": args.cache_mb,
        "epochs": args.epochs,
        "items_consumed": consumed,
        "items_per_s": consumed / seconds,
        "peak_pss_gb": meter.peak / 2**30,
        "target_gb": 2.0,
        "under_target": meter.peak < 2 * 2**30,
    }
    print(
        f"{consumed} items of {args.size} px through {args.workers} workers in {seconds:.1f} s "
        f"({result['items_per_s']:.1f} items/s); peak PSS {result['peak_pss_gb']:.2f} GB "
        f"(target < 2 GB)"
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()

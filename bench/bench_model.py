"""Print size, speed and memory of the GRSer variants.

For each variant (tiny, offline, paper; random weights, N = 8 images per group at the variant's
image size) this prints: parameter count, forward latency per group (inference mode, eval), and
peak memory. CPU always; CUDA too when a GPU is visible (bf16 autocast). With ``--train`` it also
times one training step per group (forward + mirror pass + Eq. 6 loss + backward).

Each (variant, device) runs in its own subprocess so that peak RSS belongs to that variant alone.
CPU peak memory is the worker's peak resident set size (``ru_maxrss``), which includes the Python
and torch runtime; the "before build" figure shows that baseline.

Usage:
    .venv/bin/python bench/bench_model.py [--configs tiny offline paper] [--threads 2] [--train]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
REPEATS = {"tiny": 10, "offline": 3, "paper": 2}


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def worker(name: str, device: str, threads: int, train: bool) -> dict:
    """Measure one variant on one device; returns a JSON-able dict."""
    import torch

    sys.path.insert(0, str(REPO))
    from model import build_grser, grser_loss

    torch.set_num_threads(threads)
    rss_before = _rss_mb()
    overrides = {"group_size": 8}
    if name == "paper":
        overrides["text_encoder_init"] = "random"  # BERT-base-sized, random weights
    model = build_grser(name, load_pretrained=False, **overrides).to(device)
    cfg = model.config
    params = sum(p.numel() for p in model.parameters())
    images = torch.rand(1, cfg.group_size, 3, cfg.image_size, cfg.image_size, device=device)
    expr = ["the man in the red jacket on the left"]
    use_amp = device == "cuda"

    def sync():
        if device == "cuda":
            torch.cuda.synchronize()

    def forward():
        with torch.inference_mode(), torch.autocast("cuda", dtype=torch.bfloat16, enabled=use_amp):
            model(images, expr)

    model.eval()
    forward()  # warm-up: lazy init, allocator, kernels
    sync()
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    repeats = REPEATS.get(name, 3) * (5 if device == "cuda" else 1)
    start, cpu_start = time.perf_counter(), time.process_time()
    for _ in range(repeats):
        forward()
    sync()
    latency = (time.perf_counter() - start) / repeats
    cpu_time = (time.process_time() - cpu_start) / repeats
    result = {
        "config": name,
        "device": device,
        "threads": threads,
        "params": params,
        "group_size": cfg.group_size,
        "image_size": cfg.image_size,
        "forward_s_per_group": latency,
        "forward_cpu_s_per_group": cpu_time,
        "rss_before_build_mb": rss_before,
        "load_avg_1min": os.getloadavg()[0],
    }
    if device == "cuda":
        result["peak_mem_mb"] = torch.cuda.max_memory_allocated() / 2**20
        result["gpu"] = torch.cuda.get_device_name()
    else:
        result["peak_mem_mb"] = _rss_mb()
    if train:
        model.train()
        targets = torch.zeros(1, cfg.group_size, cfg.image_size, cfg.image_size, device=device)
        targets[:, ::2, : cfg.image_size // 2] = 1.0
        positive = targets.flatten(2).any(-1)

        def step():
            with torch.autocast("cuda", dtype=torch.bfloat16, enabled=use_amp):
                out = model(images, expr, mirror=cfg.use_mirror)
                loss = grser_loss(out, targets, positive, 1, 1, cfg)["total"]
            loss.backward()
            model.zero_grad(set_to_none=True)

        step()
        sync()
        start = time.perf_counter()
        for _ in range(max(1, repeats // 2)):
            step()
        sync()
        result["train_step_s_per_group"] = (time.perf_counter() - start) / max(1, repeats // 2)
        key = "peak_train_mem_mb"
        result[key] = torch.cuda.max_memory_allocated() / 2**20 if device == "cuda" else _rss_mb()
    return result


def _run_worker(name: str, device: str, threads: int, train: bool) -> dict:
    cmd = [
        sys.executable,
        __file__,
        "--worker",
        name,
        "--device",
        device,
        "--threads",
        str(threads),
    ] + (["--train"] if train else [])
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO)
    if proc.returncode != 0:
        return {"config": name, "device": device, "error": proc.stderr.strip().splitlines()[-1:]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _print(results: list[dict]) -> None:
    header = (
        f"{'config':8} {'device':6} {'params':>10} {'N':>2} {'px':>4} {'fwd s/group':>12} "
        f"{'fwd cpu-s':>10} {'load':>5} "
        f"{'peak MB':>9} {'train s/group':>14} {'train peak MB':>14}"
    )
    print(header)
    print("-" * len(header))
    for r in results:
        if "error" in r:
            print(f"{r['config']:8} {r['device']:6} ERROR {r['error']}")
            continue
        train = (
            f"{r['train_step_s_per_group']:14.3f} {r['peak_train_mem_mb']:14.0f}"
            if "train_step_s_per_group" in r
            else f"{'-':>14} {'-':>14}"
        )
        print(
            f"{r['config']:8} {r['device']:6} {r['params'] / 1e6:9.2f}M {r['group_size']:2d} "
            f"{r['image_size']:4d} {r['forward_s_per_group']:12.3f} "
            f"{r['forward_cpu_s_per_group']:10.3f} {r['load_avg_1min']:5.1f} "
            f"{r['peak_mem_mb']:9.0f} {train}"
        )
    cpu = [r for r in results if r.get("device") == "cpu" and "error" not in r]
    if cpu:
        print(
            f"\nCPU: {cpu[0]['threads']} torch threads; fwd cpu-s = process CPU seconds per "
            "group (all threads; less sensitive to other load than wall time); load = 1-min "
            f"load average during the run; peak MB = worker peak RSS (runtime "
            f"baseline before build ~{cpu[0]['rss_before_build_mb']:.0f} MB). "
            "GPU: torch.cuda.max_memory_allocated, bf16 autocast."
        )
    gpu = [r for r in results if r.get("device") == "cuda" and "gpu" in r]
    if gpu:
        print(f"GPU: {gpu[0]['gpu']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", nargs="+", default=["tiny", "offline", "paper"])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--train", action="store_true", help="also time a training step")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--device", default="cpu", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, args.device, args.threads, args.train)))
        return
    import torch

    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    results = [
        _run_worker(name, device, args.threads, args.train)
        for device in devices
        for name in args.configs
    ]
    _print(results)


if __name__ == "__main__":
    main()

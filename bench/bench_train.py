"""Training throughput of GRSer (forward + Eq. 6 loss + backward + AdamW): samples/s, peak
memory and MFU from counted FLOPs.

    .venv/bin/python bench/bench_train.py                       # tiny, CPU (2 threads)
    .venv/bin/python bench/bench_train.py --model offline --device cuda --amp bf16
    .venv/bin/python bench/bench_train.py --model paper --device cuda --amp bf16 --batch 4

Synthetic groups in memory, N images per group, batches of B groups; the first steps are warm-up
and not timed. FLOPs of one training step are counted by ``torch.utils.flop_counter`` (matmuls and
convolutions, forward and backward), not assumed; MFU = counted FLOP/s over the device's dense
bf16 peak (a table of known GPUs, or ``--peak-tflops``; n/a on CPU). Peak memory: CUDA's
max_memory_allocated, or the process's peak RSS on CPU. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import time

import torch


def bench(
    model_name: str,
    device: str,
    amp: str,
    batch: int,
    group_size: int,
    steps: int,
    warmup: int,
    mirror: bool,
    compile_model: bool,
) -> dict:
    from model.build import build_grser
    from model.losses import grser_loss
    from pipelines.training.batching import ItemCache, collate
    from pipelines.training.datasets.load import load_groups
    from pipelines.training.sampler import batches, sample_epoch

    model = build_grser(
        model_name, load_pretrained=False, group_size=group_size, use_mirror=mirror
    ).to(device)
    config = model.config
    runner = torch.compile(model) if compile_model else model
    groups = load_groups(f"synth:0:{max(4, batch)}:{max(8, group_size)}:0:3:{config.image_size}")
    cache = ItemCache(config.image_size)
    plan = batches(sample_epoch(groups, group_size, 0, 0), batch)
    plan = [b for b in plan if len(b) == batch] or plan
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.01)
    dtype = torch.bfloat16 if amp == "bf16" else None
    dev = torch.device(device)

    def one_step(k: int) -> None:
        images, targets, positive, expressions = collate(plan[k % len(plan)], cache)
        images, targets, positive = images.to(dev), targets.to(dev), positive.to(dev)
        with torch.autocast(device_type=dev.type, dtype=dtype, enabled=dtype is not None):
            out = runner(images, expressions, mirror=mirror)
        loss = grser_loss(out, targets, positive, 1, 2, config)["total"]
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    from torch.utils.flop_counter import FlopCounterMode

    for k in range(warmup):
        one_step(k)
    counter = FlopCounterMode(display=False)
    with counter:
        one_step(0)
    flops_per_step = counter.get_total_flops()
    if dev.type == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    start = time.perf_counter()
    for k in range(steps):
        one_step(k)
    if dev.type == "cuda":
        torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    if dev.type == "cuda":
        peak_bytes = torch.cuda.max_memory_allocated()
    else:
        import resource

        peak_bytes = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return {
        "flops_per_step": flops_per_step,
        "achieved_tflops": flops_per_step * steps / seconds / 1e12,
        "peak_memory_gb": peak_bytes / 2**30,
        "model": model_name,
        "device": str(dev),
        "amp": amp,
        "batch": batch,
        "N": group_size,
        "mirror": mirror,
        "steps": steps,
        "groups_per_s": steps * batch / seconds,
        "images_per_s": steps * batch * group_size / seconds,
        "samples_per_s": steps * batch * group_size / seconds,
        "s_per_step": seconds / steps,
    }


# Dense bf16 tensor-core peaks (TFLOP/s, no sparsity) of GPUs we know, by name fragment.
PEAK_BF16_TFLOPS = {
    "H200": 989.0,
    "H100": 989.0,
    "A100": 312.0,
    "L40S": 362.0,
    "L4": 121.0,
    "A10": 125.0,
    "RTX 4090": 165.0,
}


def peak_tflops(device_name: str) -> float | None:
    for fragment, peak in PEAK_BF16_TFLOPS.items():
        if fragment in device_name:
            return peak
    return None


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--model", default="tiny")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--amp", default="off", choices=("off", "bf16"))
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--group-size", type=int, default=8)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--no-mirror", action="store_true")
    parser.add_argument("--compile", action="store_true")
    parser.add_argument("--peak-tflops", type=float, help="device peak for MFU (default: table)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    r = bench(
        args.model,
        args.device,
        args.amp,
        args.batch,
        args.group_size,
        args.steps,
        args.warmup,
        not args.no_mirror,
        args.compile,
    )
    name = (
        torch.cuda.get_device_name(0)
        if r["device"].startswith("cuda")
        else f"CPU x{args.threads} threads"
    )
    peak = args.peak_tflops or (peak_tflops(name) if r["device"].startswith("cuda") else None)
    r["device_name"] = name
    r["peak_tflops"] = peak
    r["mfu"] = r["achieved_tflops"] / peak if peak else None
    mfu = f"{100 * r['mfu']:.1f} %" if r["mfu"] is not None else "n/a (no known peak)"
    print(
        f"{r['model']:<8} {name:<28} amp={r['amp']:<4} B={r['batch']} N={r['N']} "
        f"mirror={r['mirror']}: {r['samples_per_s']:.1f} samples/s ({r['groups_per_s']:.2f} "
        f"groups/s), {r['s_per_step'] * 1000:.0f} ms/step, peak memory "
        f"{r['peak_memory_gb']:.2f} GB, {r['flops_per_step'] / 1e9:.1f} GFLOP/step counted, "
        f"{r['achieved_tflops']:.3f} TFLOP/s, MFU {mfu}"
    )
    print(json.dumps(r))


if __name__ == "__main__":
    main()

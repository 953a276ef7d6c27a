"""Training throughput of GRSer in groups per second (forward + Eq. 6 loss + backward + AdamW).

    .venv/bin/python bench/bench_train.py                       # tiny, CPU (2 threads)
    .venv/bin/python bench/bench_train.py --model offline --device cuda --amp bf16

Synthetic groups in memory, N images per group, batches of B groups; the first steps are warm-up
and not timed. Prints one line per setting.
"""

from __future__ import annotations

import argparse
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

    for k in range(warmup):
        one_step(k)
    if dev.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    for k in range(steps):
        one_step(k)
    if dev.type == "cuda":
        torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    return {
        "model": model_name,
        "device": str(dev),
        "amp": amp,
        "batch": batch,
        "N": group_size,
        "mirror": mirror,
        "steps": steps,
        "groups_per_s": steps * batch / seconds,
        "images_per_s": steps * batch * group_size / seconds,
        "s_per_step": seconds / steps,
    }


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
    print(
        f"{r['model']:<8} {name:<28} amp={r['amp']:<4} B={r['batch']} N={r['N']} "
        f"mirror={r['mirror']}: {r['groups_per_s']:.2f} groups/s, {r['images_per_s']:.1f} images/s, "
        f"{r['s_per_step'] * 1000:.0f} ms/step"
    )


if __name__ == "__main__":
    main()

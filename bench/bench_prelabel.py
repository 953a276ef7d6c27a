"""Pre-labeling throughput in images per second (GRSer forward + masks -> RLE + one store write per pair).

    .venv/bin/python bench/bench_prelabel.py                          # tiny, CPU
    .venv/bin/python bench/bench_prelabel.py --model offline --device cuda
    .venv/bin/python bench/bench_prelabel.py --checkpoint pipelines/assets/demo_grser_tiny.pt --refine

Writes a synthetic project (groups x images, one expression each) to a temporary folder, saves a
randomly initialised checkpoint of the chosen variant (speed does not depend on the weights),
warms up on one group, then times ``prelabel_project`` over the rest. Prints one line per run.
``--checkpoint`` times a trained model instead (the demo's finds shapes in these scenes, so with
``--refine`` there are proposals to snap to edges); ``--refine`` adds the click segmenter's pass.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path


def run(
    model_name: str,
    device: str,
    groups: int,
    images: int,
    batch: int,
    group_size: int | None,
    image_size: int,
    checkpoint: Path | None = None,
    refine: bool = False,
) -> dict:
    import torch

    from labeler.project import Project
    from model import build_grser, save_checkpoint
    from pipelines.loop.prelabel import prelabel_project
    from pipelines.loop.simulate import reset_decisions
    from pipelines.training.synth import make_group
    from pipelines.training.synth_project import write_project

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "p"
        write_project(
            root,
            (
                make_group(
                    0,
                    i,
                    images_per_group=images,
                    image_size=image_size,
                    expressions_per_group=1,
                    level=1,
                )
                for i in range(groups)
            ),
            0,
        )
        if checkpoint is None:
            checkpoint = Path(tmp) / "model.pt"
            save_checkpoint(checkpoint, build_grser(model_name, load_pretrained=False))
        with Project.open(root) as project:
            reset_decisions(project)
            first = project.store.list_groups()[0].id
            prelabel_project(
                project,
                checkpoint=checkpoint,
                group_id=first,
                device=device,
                batch_size=batch,
                group_size=group_size,
                refine=refine,
            )  # warm-up
            started = time.perf_counter()
            report = prelabel_project(
                project,
                checkpoint=checkpoint,
                device=device,
                batch_size=batch,
                group_size=group_size,
                refine=refine,
            )
            wall = time.perf_counter() - started
    name = (
        torch.cuda.get_device_name(0)
        if device.startswith("cuda")
        else f"CPU x{torch.get_num_threads()} threads"
    )
    return {
        "model": model_name,
        "device": name,
        "pairs": report.proposed,
        "images": report.images,
        "network_images_per_s": report.images_per_s,
        "pairs_per_s": report.proposed / wall,
        "refined": report.refined + report.refine_kept,
        "refine_s": report.refine_seconds,
        "present": report.present,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--model", default="tiny")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--groups", type=int, default=5)
    parser.add_argument("--images", type=int, default=16)
    parser.add_argument("--image-size", type=int, default=96)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--group-size", type=int, default=None)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--checkpoint", type=Path, default=None, help="a trained checkpoint to time"
    )
    parser.add_argument("--refine", action="store_true", help="snap proposals to edges too")
    args = parser.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    r = run(
        args.model,
        args.device,
        args.groups,
        args.images,
        args.batch,
        args.group_size,
        args.image_size,
        args.checkpoint,
        args.refine,
    )
    name = args.checkpoint.name if args.checkpoint else r["model"]
    print(
        f"prelabel {name:<8} {r['device']:<28} B={args.batch}: {r['pairs']} pairs "
        f"({r['present']} with masks), {r['network_images_per_s']:.1f} images/s (prelabel loop "
        f"incl. store writes), {r['pairs_per_s']:.1f} pairs/s wall"
    )
    if args.refine:
        per = r["refine_s"] / r["refined"] if r["refined"] else float("nan")
        print(
            f"  refine: {r['refined']} instances in {r['refine_s']:.2f} s ({per * 1e3:.0f} ms each, "
            "the segmenter's embedding of the image included)"
        )
    print(json.dumps({"checkpoint": name, "batch": args.batch, **r}, default=str))


if __name__ == "__main__":
    main()

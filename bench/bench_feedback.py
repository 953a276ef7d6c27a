"""The feedback loop on a synthetic project, on CPU: annotation cost after each round.

    .venv/bin/python bench/bench_feedback.py                   # 3 rounds, tiny model
    .venv/bin/python bench/bench_feedback.py --rounds 4 --epochs 20 --groups-per-round 3

A synthetic project (``pipelines.synth``, complete truth) is set up for simulation (truth copied
aside, every pair reset to unseen). Round 0: an untrained tiny GRSer pre-labels, the simulated
annotator (``pipelines.simulate``) annotates the first K groups from its proposals. Then each round
runs ``run_round`` (snapshot -> fine-tune from the current model -> held-out evaluation -> register
-> pre-label the rest if better) and the annotator takes the next K groups. Printed per round:
actions per pair, clicks per object, share accepted as proposed, and the held-out bar-mIoU.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--groups-per-round", type=int, default=3)
    parser.add_argument("--images", type=int, default=8)
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--level", type=int, default=1)
    parser.add_argument("--image-size", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--keep", type=Path, default=None, help="keep the project in this folder")
    args = parser.parse_args()

    import torch

    from labeler.project import Project
    from model import build_grser, save_checkpoint
    from pipelines.feedback import run_round
    from pipelines.prelabel import prelabel_project
    from pipelines.simulate import (
        FloodFillSegmenter,
        init_simulation,
        load_truth,
        next_groups,
        simulate_annotation,
        truth_path,
    )
    from pipelines.synth import make_group
    from pipelines.synth_project import write_project

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    tmp = tempfile.TemporaryDirectory()
    root = args.keep or Path(tmp.name) / "project"
    total_groups = args.groups_per_round * (args.rounds + 1)
    write_project(root, (make_group(args.seed, i, images_per_group=args.images,
                                    image_size=args.image_size, expressions_per_group=2,
                                    level=args.level) for i in range(total_groups)), args.seed)
    started = time.time()
    with Project.open(root) as project:
        init_simulation(project)
        truth = load_truth(truth_path(project))
        segmenter = FloodFillSegmenter()  # same segmenter every round: only the proposals change
        save_checkpoint(root / "untrained.pt", build_grser("tiny"))
        prelabel_project(project, checkpoint=root / "untrained.pt")
        print(f"{'round':>5} {'model':<20} {'held-out bar-mIoU':>17} {'actions/pair':>12} "
              f"{'clicks/object':>13} {'accepted':>8}")
        for r in range(args.rounds + 1):
            bar = float("nan")
            if r > 0:
                result = run_round(project, epochs=args.epochs, lr=args.lr, seed=args.seed)
                bar = result.report["bar_miou"]
            current = project.store.current_model()
            sim = simulate_annotation(project, truth, segmenter,
                                      group_ids=next_groups(project, args.groups_per_round))
            print(f"{r:>5} {current.name:<20} {bar:>17.4f} {sim.actions_per_pair:>12.3f} "
                  f"{sim.clicks_per_object:>13.2f} {sim.accepted_share:>8.1%}", flush=True)
    print(f"{args.rounds} rounds on CPU x{args.threads} threads in {time.time() - started:.0f} s")
    tmp.cleanup()


if __name__ == "__main__":
    main()

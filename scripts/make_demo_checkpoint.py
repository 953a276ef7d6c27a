"""Train the small GRSer that pre-labels the demo project (``pipelines/assets/demo_grser_tiny.pt``).

    nice .venv/bin/python scripts/make_demo_checkpoint.py            # ~6-8 min on 2 quiet CPU cores

The ``tiny`` variant (random init, a few MB) trained with the project's own pipeline
(``pipelines.training.train``) on synthetic groups like the demo's synthetic ones (``DEMO_SYNTH`` in
``pipelines/services/demo.py``: level-1 colour-and-shape scenes), evaluated on held-out synthetic groups.
The weights are then slimmed (no optimizer state) and written next to a JSON summary.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

ASSETS = Path(__file__).resolve().parents[1] / "pipelines" / "assets"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=ASSETS / "demo_grser_tiny.pt")
    parser.add_argument("--budget-s", type=float, default=1080.0, help="training time budget")
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--groups", type=int, default=120, help="synthetic training groups")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--work", type=Path, default=Path("runs/demo-checkpoint"))
    args = parser.parse_args()

    import torch

    from pipelines.loop.registry import slim_copy
    from pipelines.services.demo import DEMO_SYNTH
    from pipelines.training.config import TrainConfig
    from pipelines.training.evaluate import format_table
    from pipelines.training.train import train

    torch.set_num_threads(args.threads)
    seed, level, size = DEMO_SYNTH["seed"], DEMO_SYNTH["level"], DEMO_SYNTH["image_size"]
    # Training groups start past the demo's own synthetic groups, so the demo is not trained on.
    first = DEMO_SYNTH["groups"] + 10
    # The recipe of bench/synth_benchmark.sh (configs/train_synth_tiny.yaml): many groups rather
    # than many epochs (24 groups over-fitted: presence never generalised, every image "absent"),
    # and the model at the scenes' 96 px so V_n has room to keep objects apart.
    cfg = TrainConfig(
        data=f"synth:{seed}:{args.groups}:12:{first}:{level}:{size}",
        val_data=f"synth:{seed}:10:12:{first + args.groups}:{level}:{size}",
        model="tiny",
        model_overrides={"use_mirror": False, "image_size": size},
        epochs=args.epochs,
        batch_size=2,
        lr=1e-3,
        warmup_steps=20,
        out_dir=str(args.work),
        resume=False,
        num_threads=args.threads,
        tensorboard=False,
        eval_every=0,
        log_every=20,
        time_budget_s=args.budget_s,
        seed=0,
    )
    started = time.time()
    report = train(cfg, progress=True)
    slim_copy(
        args.work / "checkpoints" / "final.pt",
        args.out,
        trained_on=cfg.data,
        held_out=cfg.val_data,
        bar_miou=float(report.get("bar_miou", 0.0)),
    )
    summary = {
        "checkpoint": args.out.name,
        "bytes": args.out.stat().st_size,
        "train_config": cfg.to_dict(),
        "seconds": round(time.time() - started, 1),
        "held_out_report": {k: v for k, v in report.items() if isinstance(v, (int, float))},
    }
    args.out.with_suffix(".json").write_text(json.dumps(summary, indent=2, sort_keys=True))
    print(format_table(report))
    print(f"{args.out}: {summary['bytes'] / 1e6:.1f} MB, {summary['seconds']:.0f} s")


if __name__ == "__main__":
    main()

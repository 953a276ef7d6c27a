"""Synthetic GRES benchmark a reviewer can trust: unseen test expressions, label-blind test groups,
a threshold tuned on validation only, 3 seeds, every figure next to its baseline.

    .venv/bin/python bench/synth_benchmark.py --out runs/synth-bench            # full (hours, CPU)
    .venv/bin/python bench/synth_benchmark.py --out /tmp/smoke --smoke          # minutes
    bash bench/synth_benchmark.sh [OUT_DIR]                                     # the full run
    .venv/bin/python bench/synth_benchmark.py KEY=VALUE ... --score validation  # choose a recipe

Protocol. Data (level 2, 96 px, from ``--data-seed``): train / validation / test groups with
disjoint group indices and disjoint expressions (``synth.expression_split``: no test expression
occurs in training). For each row (the full model and each row of the paper's Table 5) and each
training seed: train from scratch with ``configs/train_synth_tiny.yaml`` (no held-out evaluation
during training), pick the presence threshold that maximises bar-mIoU on validation (rows with the
presence rule), then score the test split once, label-blind (``grouping=blind``), at that
threshold. Printed per row: test bar-mIoU mean +- sd over seeds, the mean 95 % bootstrap interval
half-width (resampling expressions), the all-negative baseline, R_neg, T-acc, AUC of the presence
score and the tuned threshold. The last line is one JSON object with all of it.

Every row starts from the paper's full model (``FULL_MODEL``: mirror training on, which the CPU
recipe in the config turns off for the demo checkpoint) and removes one design, so "w/o MirrorT"
differs from "Full model" in exactly that. Each run saves its figures in its folder
(``result.json``); running the same command again reuses the runs that finished with the same
protocol, so an interrupted benchmark resumes where it stopped.

A recipe (training overrides) is chosen with ``--score validation``, which never scores the test
split; the test run of the chosen recipe then scores the same checkpoints without retraining. Give
the overrides before the options (``--seeds`` and ``--rows`` take several values).
"""

from __future__ import annotations

import argparse
import functools
import json
import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "configs" / "train_synth_tiny.yaml"
# The paper's full model, which each row of Table 5 takes one design away from.
FULL_MODEL = {"use_mirror": True}


@functools.cache
def make_splits(data_seed: int, groups: int, val_groups: int, test_groups: int, images: int):
    from pipelines.training.datasets.synth import synth_groups
    from pipelines.training.synth import make_group

    kwargs = dict(images_per_group=images, image_size=96, expressions_per_group=3, level=2)
    ranges = {
        "train": range(groups),
        "validation": range(groups, groups + val_groups),
        "test": range(groups + val_groups, groups + val_groups + test_groups),
    }
    return {
        split: synth_groups([make_group(data_seed, i, split=split, **kwargs) for i in indices])
        for split, indices in ranges.items()
    }


def _saved_with(path: Path, key: dict) -> dict | None:
    """The JSON saved at ``path`` if it was saved under ``key`` (a run's data and options)."""
    if not path.is_file():
        return None
    saved = json.loads(path.read_text())
    return saved if saved.get("key") == key else None


def run_one(
    label, overrides, seed, out_dir: Path, extra: list[str], protocol: dict, score: str = "test"
) -> dict:
    """Train one row at one seed and score it; reuse ``result.json`` if this protocol made it.

    ``protocol`` holds ``make_splits``' arguments: a run rebuilds its data from them (cached per
    process), so runs can go to separate processes. ``score="validation"`` is for choosing a
    recipe: the threshold is tuned on validation and the figures are validation's (optimistic by
    that tuning); the test split is not touched. Its result is saved next to the test one.
    """
    from model.checkpoint import load_checkpoint
    from pipelines.training.ablate import slug
    from pipelines.training.config import load_train_config
    from pipelines.training.evaluate import best_threshold, evaluate_groups
    from pipelines.training.train import checkpoint_dir, train

    run_dir = out_dir / slug(label) / f"seed{seed}"
    model_overrides = {**FULL_MODEL, **overrides}
    options = [
        f"seed={seed}",
        "tensorboard=false",
        "time_budget_s=0",
        *[f"model_overrides.{k}={json.dumps(v)}" for k, v in model_overrides.items()],
        *extra,
    ]
    # what makes two runs the same run: the data and the training options, not the folder
    key = {"protocol": protocol, "options": options}
    saved = run_dir / ("result.json" if score == "test" else f"result-{score}.json")
    previous = _saved_with(saved, key)
    if previous is not None:
        return previous["result"]
    cfg = load_train_config(CONFIG, [f"out_dir={run_dir}", *options])
    splits = make_splits(**protocol)
    started = time.time()
    final = checkpoint_dir(cfg) / "final.pt"
    trained = run_dir / "trained.json"  # a checkpoint of these options: score it, do not retrain
    if not (final.is_file() and _saved_with(trained, key) is not None):
        # forget the old checkpoint's key first: training overwrites final.pt, and an interrupted
        # run must not leave a new checkpoint under the old options
        trained.unlink(missing_ok=True)
        train(cfg, progress=False, train_groups=splits["train"], val_groups=[])
        trained.write_text(json.dumps({"key": key}))
    model, _ = load_checkpoint(final)
    threshold = None
    if model.config.apply_presence:
        val = evaluate_groups(model, splits["validation"], seed=seed, with_records=True)
        threshold = best_threshold(val["records"])
    test = evaluate_groups(model, splits[score], seed=seed, grouping="blind", threshold=threshold)
    keys = ("bar_miou", "bar_miou_ci_low", "bar_miou_ci_high", "baseline_all_negative", "r_neg")
    keys += ("t_acc", "auc", "miou", "n_samples", "n_expressions", "threshold")
    result = {k: test.get(k) for k in keys}
    result.update(seed=seed, seconds=round(time.time() - started, 1))
    saved.write_text(json.dumps({"key": key, "result": result}, indent=1))
    return result


def summarise(results: list[dict]) -> dict:
    from pipelines.training.stats import mean_sd

    out = {"seeds": [r["seed"] for r in results]}
    for key in ("bar_miou", "baseline_all_negative", "r_neg", "t_acc", "auc", "miou"):
        mean, sd = mean_sd([r[key] for r in results if r[key] is not None])
        out[key] = {"mean": mean, "sd": sd}
    half = [(r["bar_miou_ci_high"] - r["bar_miou_ci_low"]) / 2 for r in results]
    out["ci95_half_width"] = sum(half) / len(half)
    # "beats its baseline by more than the interval": the mean gain exceeds the mean half-width
    gain = out["bar_miou"]["mean"] - out["baseline_all_negative"]["mean"]
    out["beats_baseline_by_more_than_ci"] = bool(gain > out["ci95_half_width"])
    out["thresholds"] = [r["threshold"] for r in results]
    out["n_samples"] = results[0]["n_samples"]
    return out


def main() -> None:
    from pipelines.training.ablate import TABLE5

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="runs/synth-bench")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--data-seed", type=int, default=0)
    parser.add_argument("--groups", type=int, default=120)
    parser.add_argument("--val-groups", type=int, default=15)
    parser.add_argument("--test-groups", type=int, default=30)
    parser.add_argument("--images", type=int, default=12, help="images per group")
    parser.add_argument("--rows", nargs="*", help="only these rows (labels of Table 5)")
    parser.add_argument("--smoke", action="store_true", help="tiny data, 1 epoch: proves it runs")
    parser.add_argument(
        "--jobs",
        type=int,
        default=1,
        help="runs trained at once, each in its own process on one thread (2 on 2 cores: the "
        "tiny model does not use two threads well)",
    )
    parser.add_argument(
        "--score",
        choices=("test", "validation"),
        default="test",
        help="validation: choose a recipe without touching the test split (its threshold is tuned "
        "on the split it scores); a later test run reuses the trained checkpoints",
    )
    parser.add_argument("overrides", nargs="*", help="training config overrides key=value")
    args = parser.parse_args()
    extra = list(args.overrides)
    if args.smoke:
        args.groups, args.val_groups, args.test_groups, args.images = 6, 3, 3, 4
        extra += ["epochs=1", "model_overrides.image_size=64"]
    if args.jobs > 1:
        extra.append("num_threads=1")
    out_dir = Path(args.out)
    rows = [(label, o) for label, o in TABLE5 if not args.rows or label in args.rows]
    unknown = set(args.rows or ()) - {label for label, _ in TABLE5}
    if unknown:
        parser.error(f"no row named {sorted(unknown)}; rows: {[label for label, _ in TABLE5]}")
    protocol = {
        k: getattr(args, k) for k in ("data_seed", "groups", "val_groups", "test_groups", "images")
    }
    splits = make_splits(**protocol)
    runs = [(label, o, seed) for label, o in rows for seed in args.seeds]
    # spawned, not forked: a forked child would inherit torch's thread pools from this process
    with ProcessPoolExecutor(args.jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = {
            (label, seed): pool.submit(
                run_one, label, o, seed, out_dir, extra, protocol, args.score
            )
            for label, o, seed in runs
        }
        for (label, seed), future in futures.items():
            result = future.result()
            print(
                f"{label:<18} seed {seed}: {args.score} bar-mIoU {result['bar_miou']:.4f} "
                f"[{result['bar_miou_ci_low']:.4f}, {result['bar_miou_ci_high']:.4f}]  "
                f"AUC {result['auc']:.4f}  threshold {result['threshold']}  "
                f"({result['seconds']:.0f} s)",
                flush=True,
            )
    figures = {}
    for label, _ in rows:
        results = [futures[(label, seed)].result() for seed in args.seeds]
        figures[label] = {**summarise(results), "runs": results}
        f = figures[label]
        print(
            f"{label:<18} {args.score} bar-mIoU {f['bar_miou']['mean']:.4f} +- {f['bar_miou']['sd']:.4f} "
            f"(95% CI +-{f['ci95_half_width']:.4f}; all-negative "
            f"{f['baseline_all_negative']['mean']:.4f})  R_neg {f['r_neg']['mean']:.4f}  "
            f"T-acc {f['t_acc']['mean']:.4f}  AUC {f['auc']['mean']:.4f}  "
            f"thresholds {f['thresholds']}",
            flush=True,
        )
    expressions = {
        split: sorted({g.expression for g in groups}) for split, groups in splits.items()
    }
    unseen = not set(expressions["test"]) & set(expressions["train"])
    print(
        json.dumps(
            {
                "protocol": "synthetic level 2; test expressions unseen in training; "
                "threshold tuned on validation; test scored label-blind",
                "smoke": args.smoke,
                "scored_split": args.score,
                "full_model": FULL_MODEL,
                "seeds": args.seeds,
                "groups": {k: len(v) for k, v in splits.items()},
                "test_expressions_unseen_in_training": unseen,
                "rows": {
                    k: {kk: vv for kk, vv in v.items() if kk != "runs"} for k, v in figures.items()
                },
            }
        )
    )


if __name__ == "__main__":
    main()

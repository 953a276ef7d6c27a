"""Model commands: synth (benchmark data), train, evaluate, ablate."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from pipelines.cli._app import app

console = Console()
err = Console(stderr=True)

Overrides = Annotated[
    list[str] | None,
    typer.Argument(
        help="Config overrides key=value (YAML values), e.g. epochs=5 "
        "model_overrides.use_triplet=false data=runs/synth/train"
    ),
]
ConfigFile = Annotated[Path | None, typer.Option("--config", "-c", help="YAML training config.")]


def _fail(message: str) -> None:
    err.print(f"[red]error:[/red] {message}")
    raise typer.Exit(code=1)


@app.command()
def synth(
    out: Annotated[Path, typer.Argument(help="Project folder to create (or extend).")],
    groups: Annotated[int, typer.Option(help="Number of image groups.")] = 40,
    images_per_group: Annotated[int, typer.Option(help="Images per group.")] = 16,
    seed: Annotated[int, typer.Option(help="Everything is a pure function of the seed.")] = 0,
    level: Annotated[int, typer.Option(help="1 colour+shape, 2 +size/texture, 3 +relations.")] = 3,
    image_size: Annotated[int, typer.Option(help="Side of the square images, pixels.")] = 96,
    expressions_per_group: Annotated[int, typer.Option(help="Expressions per group.")] = 3,
    holdout: Annotated[
        Path | None,
        typer.Option(help="Also write a held-out project here, with groups disjoint from OUT's."),
    ] = None,
    holdout_groups: Annotated[int, typer.Option(help="Groups of the held-out project.")] = 10,
    validation: Annotated[
        Path | None,
        typer.Option(help="Also write a validation project (tune thresholds here, not on test)."),
    ] = None,
    validation_groups: Annotated[int, typer.Option(help="Groups of the validation project.")] = 10,
    unseen_expressions: Annotated[
        bool,
        typer.Option(
            help="With --holdout / --validation: each split draws its expressions from its own "
            "part of the expression space, so test expressions never occur in training."
        ),
    ] = True,
) -> None:
    """Create a synthetic GRES project: procedural scenes, expressions, complete ground truth.

    With --validation and --holdout: train / validation / test projects with disjoint groups and
    (by default) disjoint expressions, e.g. --level 2 --validation V --holdout T.
    """
    from rich.progress import Progress

    from labeler.errors import LabelerError
    from pipelines.training.synth import make_group
    from pipelines.training.synth_project import write_project

    if groups < 1 or images_per_group < 2 or level not in (1, 2, 3) or image_size < 32:
        _fail("need --groups >= 1, --images-per-group >= 2, --level 1..3, --image-size >= 32")
    kwargs = dict(
        images_per_group=images_per_group,
        image_size=image_size,
        expressions_per_group=expressions_per_group,
        level=level,
    )
    split_expressions = unseen_expressions and (holdout is not None or validation is not None)
    # Each split uses its own range of group indices, so no group is in two projects.
    plan = [(out, range(groups), "train")]
    start = groups
    if validation is not None:
        plan.append((validation, range(start, start + validation_groups), "validation"))
        start += validation_groups
    if holdout is not None:
        plan.append((holdout, range(start, start + holdout_groups), "test"))
    try:
        with Progress(console=console) as bar:
            for root, indices, split in plan:
                task = bar.add_task(f"writing {root}", total=len(indices))
                made = (
                    make_group(seed, i, split=split if split_expressions else None, **kwargs)
                    for i in indices
                )
                write_project(root, made, seed, on_group=lambda _g, task=task: bar.advance(task))
    except (LabelerError, RuntimeError) as exc:
        _fail(str(exc))
    for root, indices, split in plan:
        console.print(
            f"{root}: {split}, {len(indices)} groups x {images_per_group} images, "
            f"{expressions_per_group} expressions each, every pair decided"
            + (f", expressions of the {split} split only" if split_expressions else "")
        )


@app.command("train")
def train_cmd(
    overrides: Overrides = None,
    config: ConfigFile = None,
    quiet: Annotated[bool, typer.Option(help="No progress bar.")] = False,
) -> None:
    """Train GRSer (resumes from OUT_DIR/checkpoints/last.pt). Multi-GPU: torchrun ... grd train."""
    from pipelines.training.config import TrainConfigError, load_train_config
    from pipelines.training.datasets.load import DataSpecError
    from pipelines.training.evaluate import format_table
    from pipelines.training.train import train

    try:
        cfg = load_train_config(config, overrides or [])
        if not cfg.data:
            _fail("no training data: pass data=PROJECT_DIR (or set `data:` in the config)")
        report = train(cfg, progress=not quiet)
    except (TrainConfigError, DataSpecError, FileNotFoundError, ValueError) as exc:
        _fail(str(exc))
    if report:
        console.print(format_table(report))
    console.print(f"checkpoints in {Path(cfg.out_dir) / 'checkpoints'}")


@app.command()
def evaluate(
    checkpoint: Annotated[Path, typer.Argument(help="A GRSer checkpoint (.pt).")],
    data: Annotated[
        str,
        typer.Argument(
            help="Project folder, IMG::ANNO (D³), REFS::COCO::IMG, coca:DIR, or "
            "grefcoco:GREFS::INSTANCES::IMG (official per-sample gRefCOCO protocol)."
        ),
    ],
    split: Annotated[str, typer.Option(help="Refs split (val / test / testA ...).")] = "",
    out: Annotated[Path, typer.Option(help="Where the JSON report goes.")] = Path(
        "eval_report.json"
    ),
    save_visuals: Annotated[
        Path | None,
        typer.Option(
            "--save-visuals",
            help="Folder for overlay PNGs (ground truth green, prediction yellow).",
        ),
    ] = None,
    all_samples: Annotated[
        bool,
        typer.Option(help="Score every sample instead of the paper's 1:1 positives:negatives."),
    ] = False,
    group_size: Annotated[
        int | None, typer.Option(help="N at test time (default: the model's).")
    ] = None,
    device: Annotated[str, typer.Option(help="cpu, cuda, cuda:1 ...")] = "cpu",
    presence: Annotated[
        bool,
        typer.Option(
            help="Apply the presence rule d_pos + m < d_neg; --no-presence scores the masks alone."
        ),
    ] = True,
    grouping: Annotated[
        str,
        typer.Option(
            help="blind: label-blind random groups (as pre-labelling sees images); paper: "
            "positives and negatives interleaved 1:1 using the labels (optimistic)."
        ),
    ] = "blind",
    threshold: Annotated[
        float | None,
        typer.Option(help="Presence threshold on d_neg - d_pos (default: the model's margin m)."),
    ] = None,
    sweep: Annotated[
        bool, typer.Option(help="Also print metrics over a sweep of presence thresholds.")
    ] = False,
    mode: Annotated[
        str, typer.Option(help="gres (default) or res: positives only, presence rule off.")
    ] = "gres",
    seed: Annotated[int, typer.Option(help="Seed of the grouping and the 1:1 subset.")] = 0,
) -> None:
    """Score a checkpoint: bar-mIoU with its 95 % interval and the all-negative baseline, mIoU,
    R_neg, gIoU/cIoU/N-acc/T-acc, AUC of the presence score, MAE/F_max/S/E."""
    from model.checkpoint import load_checkpoint
    from model.errors import ModelError
    from pipelines.training.datasets.load import DataSpecError, load_groups
    from pipelines.training.evaluate import (
        GROUPINGS,
        MODES,
        evaluate_groups,
        format_sweep,
        format_table,
        sweep_thresholds,
        write_report,
    )

    if grouping not in GROUPINGS or mode not in MODES:
        _fail(f"--grouping must be one of {GROUPINGS} and --mode one of {MODES}")
    try:
        model, meta = load_checkpoint(checkpoint, map_location=device)
        if not presence:
            model.config = model.config.replace(apply_presence=False)
        if data.startswith("grefcoco:"):
            _evaluate_grefcoco(model, data, split, out, device, threshold)
            return
        groups = load_groups(data, split)
    except (ModelError, DataSpecError, FileNotFoundError, ValueError) as exc:
        _fail(str(exc))
    report = evaluate_groups(
        model,
        groups,
        group_size,
        device,
        visuals_dir=save_visuals,
        progress=True,
        balance=not all_samples,
        grouping=grouping,
        threshold=threshold,
        mode=mode,
        seed=seed,
        with_records=sweep,
    )
    report.update(
        checkpoint=str(checkpoint),
        data=data,
        model=meta["config"].name,
        epoch=meta.get("epoch"),
    )
    if sweep:
        rows = sweep_thresholds(report["records"])
        report["sweep"] = rows
        console.print(format_sweep(rows))
    write_report(report, out)
    console.print(format_table(report))
    console.print(f"report: {out}" + (f"; overlays: {save_visuals}" if save_visuals else ""))


def _evaluate_grefcoco(model, data: str, split: str, out: Path, device: str, threshold) -> None:
    """The official per-sample gRefCOCO protocol (ReLA's gIoU / cIoU / N-acc / T-acc)."""
    from pipelines.training.evaluate import write_report
    from pipelines.training.grefcoco import evaluate_grefcoco, format_grefcoco, read_grefcoco

    samples = read_grefcoco(data.removeprefix("grefcoco:"), split)
    report = evaluate_grefcoco(model, samples, device=device, presence_threshold=threshold)
    report.update(data=data, split=split)
    write_report(report, out)
    console.print(format_grefcoco(report))
    console.print(f"report: {out}")


@app.command()
def ablate(
    overrides: Overrides = None,
    config: ConfigFile = None,
    table: Annotated[int, typer.Option(help="Paper table: 4 (ranking), 5 (designs), 6 (N).")] = 5,
    rows: Annotated[
        list[str] | None,
        typer.Option("--row", help="Only these rows, e.g. --row 'w/o TriLoss' --row 'Full model'."),
    ] = None,
    quiet: Annotated[bool, typer.Option(help="No progress bars.")] = False,
) -> None:
    """Train the switches of the paper's Tables 4-6 and print the table in the paper's layout."""
    from pipelines.training.ablate import format_ablation_table, run_table
    from pipelines.training.config import TrainConfigError, load_train_config
    from pipelines.training.datasets.load import DataSpecError

    try:
        cfg = load_train_config(config, overrides or [])
        results = run_table(cfg, table, rows, progress=not quiet)
    except (TrainConfigError, DataSpecError, FileNotFoundError, ValueError) as exc:
        _fail(str(exc))
    text = format_ablation_table(table, results, dataset=cfg.val_data or cfg.data)
    (Path(cfg.out_dir)).mkdir(parents=True, exist_ok=True)
    (Path(cfg.out_dir) / f"table{table}.txt").write_text(text + "\n")
    (Path(cfg.out_dir) / f"table{table}.json").write_text(
        json.dumps(
            [
                {"row": label, **{k: v for k, v in r.items() if isinstance(v, (int, float))}}
                for label, r in results
            ],
            indent=2,
        )
    )
    console.print(text)

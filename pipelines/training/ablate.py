"""Ablations of the paper's Tables 4-6, each a training run with some GRSerConfig switches.

    grd ablate --config configs/train_synth_tiny.yaml --table 5 data=... val_data=...

Every variant trains from scratch on the same data with the same seed into ``out_dir/<variant>``
(an interrupted sweep resumes where it stopped), then its held-out report fills one row of a table
laid out like the paper's (bar-mIoU, E_xi, R_neg).
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

from pipelines.training.config import TrainConfig

# (row label, GRSerConfig overrides); the full model is the reference row of each table.
TABLE4 = [  # heatmap ranking criteria, train / test
    ("Random / Random", {"hierarchizer_train": "random", "hierarchizer_test": "random"}),
    ("Random / Rpos+Rneg", {"hierarchizer_train": "random", "hierarchizer_test": "pos+neg"}),
    ("Rpos+Rneg / Random", {"hierarchizer_train": "pos+neg", "hierarchizer_test": "random"}),
    ("Rpos+Rneg / Rpos+Rneg (*)", {}),
    ("Rpos / Rpos", {"hierarchizer_train": "pos", "hierarchizer_test": "pos"}),
    ("Rneg / Rneg", {"hierarchizer_train": "neg", "hierarchizer_test": "neg"}),
]
TABLE5 = [  # main designs
    ("w/o TQM", {"use_tqm": False}),
    ("w/o HMapHier", {"hierarchizer_train": "random", "hierarchizer_test": "random"}),
    ("w/o MirrorT", {"use_mirror": False}),
    # Only the triplet loss goes: the presence rule stays, so the row isolates Eq. 5 (with the
    # rule off too, it would measure two changes at once; issue #18, finding 4).
    ("w/o TriLoss", {"use_triplet": False}),
    # The full model read without the presence rule (positive iff the mask is non-empty): what
    # the rule itself contributes.
    ("w/o presence rule", {"apply_presence": False}),
    ("Full model", {}),
]
# With one image per group there is no other image to query: TQM has nothing to do, so the
# N = 1 row is the w/o-TQM model at N = 1 (the paper's Table 6 reads it that way).
TABLE6 = [("N = 1", {"group_size": 1, "use_tqm": False})]
TABLE6 += [(f"N = {n}", {"group_size": n}) for n in (3, 5)] + [("N = 8 (*)", {"group_size": 8})]
TABLES = {4: TABLE4, 5: TABLE5, 6: TABLE6}


def slug(label: str) -> str:
    keep = "".join(c.lower() if c.isalnum() else "-" for c in label)
    return "-".join(part for part in keep.split("-") if part)


def variant_config(base: TrainConfig, label: str, overrides: dict) -> TrainConfig:
    return dataclasses.replace(
        base,
        model_overrides={**base.model_overrides, **overrides},
        out_dir=str(Path(base.out_dir) / slug(label)),
    )


def run_table(
    base: TrainConfig,
    table: int,
    rows: list[str] | None = None,
    progress: bool = True,
    train_fn=None,
) -> list[tuple[str, dict]]:
    """Train and evaluate every row (or the named ``rows``) of a table; returns (label, report)."""
    if train_fn is None:
        from pipelines.training.train import train as train_fn
    if table not in TABLES:
        raise ValueError(f"table must be one of {sorted(TABLES)}, got {table}")
    if not base.val_data:
        raise ValueError("ablations need held-out data: set val_data")
    results = []
    for label, overrides in TABLES[table]:
        if rows and slug(label) not in {slug(r) for r in rows}:
            continue
        print(f"== {label} ==")
        results.append((label, train_fn(variant_config(base, label, overrides), progress=progress)))
    return results


def _pct(value) -> str:
    return (
        "   -  "
        if value is None or (isinstance(value, float) and math.isnan(value))
        else f"{100 * value:6.2f}"
    )


def format_ablation_table(
    table: int, results: list[tuple[str, dict]], dataset: str = "synthetic"
) -> str:
    """The paper's layout (bar-mIoU, E_xi, R_neg, in %, E_xi raw) plus what each figure must be
    read against: the 95 % interval of bar-mIoU, the all-negative baseline, T-acc and the AUC of
    the presence score."""
    width = max([len(label) for label, _ in results] + [10])
    head = f"Table {table} ({dataset}, GRES setting)"
    lines = [
        head,
        f"{'':<{width}}  {'mIoU-bar':>8}  {'95% CI':>13}  {'all-neg':>7}  {'E_xi':>6}  "
        f"{'R_neg':>6}  {'T-acc':>6}  {'AUC':>6}  {'mIoU':>6}",
    ]
    for label, r in results:
        e_xi = r.get("mean_e")
        e_txt = "  -   " if e_xi is None or math.isnan(e_xi) else f"{e_xi:6.3f}"
        low, high = r.get("bar_miou_ci_low"), r.get("bar_miou_ci_high")
        ci = "-" if low is None or high is None else f"{_pct(low).strip()}-{_pct(high).strip()}"
        auc = r.get("auc")
        auc_txt = "  -   " if auc is None or math.isnan(auc) else f"{auc:6.3f}"
        lines.append(
            f"{label:<{width}}  {_pct(r.get('bar_miou')):>8}  {ci:>13}  "
            f"{_pct(r.get('baseline_all_negative')):>7}  {e_txt}  {_pct(r.get('r_neg'))}  "
            f"{_pct(r.get('t_acc'))}  {auc_txt}  {_pct(r.get('miou'))}"
        )
    return "\n".join(lines)

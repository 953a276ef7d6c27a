#!/usr/bin/env bash
# Synthetic GRES benchmark on CPU: data -> full GRSer (tiny) -> same without triplet loss.
# One command from the repository root:  bash bench/synth_benchmark.sh [OUT_DIR]
# Prints the held-out table of each run; figures land in OUT_DIR/*/summary.json.
set -euo pipefail
OUT=${1:-runs/synth-bench}
GRD=${GRD:-.venv/bin/grd}
CONFIG=configs/train_synth_tiny.yaml

"$GRD" synth "$OUT/train" --groups 120 --images-per-group 12 --level 1 --image-size 96 --seed 0 \
    --holdout "$OUT/test" --holdout-groups 10
"$GRD" train -c "$CONFIG" "data=$OUT/train" "val_data=$OUT/test" "out_dir=$OUT/full" --quiet
"$GRD" train -c "$CONFIG" "data=$OUT/train" "val_data=$OUT/test" "out_dir=$OUT/no-triplet" \
    model_overrides.use_triplet=false model_overrides.apply_presence=false --quiet

#!/usr/bin/env bash
# Synthetic GRES benchmark on CPU (bench/synth_benchmark.py has the protocol): train / validation /
# test with unseen test expressions, the full model and every row of Table 5, 3 seeds, threshold
# tuned on validation, label-blind test groups. About 1 h 45 min on 2 cores, two runs at a time
# (JOBS=2); run it again with the same OUT_DIR to resume after an interruption.
#   bash bench/synth_benchmark.sh [OUT_DIR]          # last line: one JSON object
#   bash bench/synth_benchmark.sh /tmp/smoke --smoke # minutes: proves the pipeline runs
set -euo pipefail
OUT=${1:-runs/synth-bench}
shift || true
PY=${PY:-.venv/bin/python}
exec "$PY" bench/synth_benchmark.py --out "$OUT" --jobs "${JOBS:-2}" "$@"

"""How fast is `grd status` on a GRD-size project (10,578 images, 316 expressions, 31,524 pairs)?

    python bench/bench_status.py [--db-url postgresql+psycopg://postgres@127.0.0.1/test]

Prints the time of the progress queries behind `grd status` (median of 5) and of the whole command.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.grd_size import make_grd_size_project  # noqa: E402


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "grd"
        project = make_grd_size_project(root)
        store = project.store
        pairs = sum(p.total for p in store.expression_progress())
        print(f"pairs: {pairs}")
        for name, fn in (
            ("expression_progress", store.expression_progress),
            ("group_progress", store.group_progress),
            ("annotator_progress", store.annotator_progress),
        ):
            times = []
            for _ in range(5):
                start = time.perf_counter()
                fn()
                times.append(time.perf_counter() - start)
            print(f"{name:>20}: median {statistics.median(times) * 1000:.1f} ms")
        project.close()
        grd = Path(sys.executable).parent / "grd"
        start = time.perf_counter()
        subprocess.run([str(grd), "status", str(root)], check=True, capture_output=True)
        print(
            f"`grd status` whole command (process start included): {time.perf_counter() - start:.2f} s"
        )


if __name__ == "__main__":
    main()

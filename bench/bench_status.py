"""How fast are `grd status`, the store's progress queries and a COCO export at GRD size, or 10x?

    python bench/bench_status.py [--scale 10] [--db-url postgresql+psycopg://postgres@127.0.0.1:5432/test]
        [--keep DIR] [--import]

Builds a GRD-size project (``bench/grd_size.py``; ``--scale 10``: 105,780 images, 3,160
expressions, ~315k pairs) in a fresh PostgreSQL schema (or SQLite without ``--db-url``), then
times: each progress query (median of 5 after one warm-up), the whole `grd status` command in a
new process (median of 3), reading the export snapshot plus writing COCO (once; every expression,
incomplete ones marked, so all ~250k decisions are written), and reading that
COCO file back with its checks (the first half of an import). With ``--import``, the whole
import too: one small distinct image file is written per exported image (the generated images are
rows without files; the annotations' content hashes are set to match), then `grd import` of that
folder into a new project in a fresh schema, timed as a command (process start included). On PostgreSQL the tables are vacuumed and analysed after the bulk load, as autovacuum
would have done on a live server. Targets (issue #21): status < 1 s, progress queries < 50 ms, COCO export < 20 s, import < 60 s.
The last line is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.grd_size import analyze, make_grd_size_project, postgres_schema  # noqa: E402


def _median_ms(fn, repeats: int = 5) -> float:
    fn()  # warm-up: connection pool, plan cache
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return round(statistics.median(times) * 1000, 1)


def write_image_files(coco_dir: Path) -> int:
    """One small distinct PNG per image of ``coco_dir/instances.json`` (named as it says), with
    the file's content hash written back into the annotations; returns the count."""
    import numpy as np
    from PIL import Image

    from labeler.images import content_hash

    path = coco_dir / "instances.json"
    data = json.loads(path.read_text())
    for image in data["images"]:
        k = image["id"]
        pixels = np.full((image["height"], image["width"], 3), k % 251, np.uint8)
        pixels[0, :3, 0] = [k % 256, (k // 256) % 256, k // 65536]  # distinct per image
        image["grd_content_hash"] = content_hash(pixels)
        out = coco_dir / image["file_name"]
        out.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(pixels).save(out, format="PNG")
    path.write_text(json.dumps(data))
    return len(data["images"])


def time_import(coco_dir: Path, root: Path, db_url: str) -> dict:
    """`grd import` of ``coco_dir`` into a new project at ``root`` (a fresh schema on
    ``db_url``, dropped after; SQLite without one)."""
    from labeler.project import Project

    start = time.perf_counter()
    n = write_image_files(coco_dir)
    figures = {"import_files": n, "write_files_s": round(time.perf_counter() - start, 1)}
    with postgres_schema(db_url) as url:
        Project.init(root, name="imported", database_url=url).close()
        start = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "pipelines.cli", "import", str(root), str(coco_dir)],
            check=True,
            capture_output=True,
            cwd=Path(__file__).resolve().parents[1],
        )
        figures["grd_import_s"] = round(time.perf_counter() - start, 1)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scale", type=int, default=1)
    parser.add_argument("--db-url", default="", help="PostgreSQL URL (default: SQLite)")
    parser.add_argument("--keep", type=Path, help="build the project here and keep it")
    parser.add_argument(
        "--import", dest="full_import", action="store_true", help="also time `grd import`"
    )
    args = parser.parse_args()
    figures: dict = {"bench": "status", "scale": args.scale}
    figures["backend"] = "postgresql" if args.db_url else "sqlite"
    tmp = Path(tempfile.mkdtemp(prefix="grd-status-"))
    root = args.keep or tmp / "grd"
    try:
        with postgres_schema(args.db_url, keep=bool(args.keep)) as url:
            measure(figures, root, tmp, url, args)
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    print(json.dumps(figures))


def measure(figures: dict, root: Path, tmp: Path, url: str, args) -> None:
    """Build the project at ``root`` on ``url`` and time everything into ``figures``."""
    start = time.perf_counter()
    project = make_grd_size_project(root, scale=args.scale, database_url=url)
    figures["build_s"] = round(time.perf_counter() - start, 1)
    analyze(project)
    store = project.store
    figures["pairs"] = sum(p.total for p in store.expression_progress())
    figures["images"] = len(store.list_images())
    for name, fn in (
        ("expression_progress", store.expression_progress),
        ("group_progress", store.group_progress),
        ("annotator_progress", store.annotator_progress),
    ):
        figures[f"{name}_ms"] = _median_ms(fn)
        print(f"{name:>20}: median {figures[f'{name}_ms']} ms")
    status_s = []
    for _ in range(3):
        start = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "pipelines.cli", "status", str(root)],
            check=True,
            capture_output=True,
            cwd=Path(__file__).resolve().parents[1],
        )
        status_s.append(time.perf_counter() - start)
    figures["grd_status_s"] = round(statistics.median(status_s), 2)
    print(f"`grd status` whole command (process start included): {figures['grd_status_s']} s")

    from exports.coco import read_coco, write_coco
    from exports.snapshot import snapshot_from_store

    start = time.perf_counter()
    snapshot = snapshot_from_store(store, name="bench")
    figures["snapshot_s"] = round(time.perf_counter() - start, 2)
    start = time.perf_counter()
    written = write_coco(tmp / "coco", snapshot, incomplete="mark")
    figures["coco_write_s"] = round(time.perf_counter() - start, 2)
    figures["coco_export_s"] = round(figures["snapshot_s"] + figures["coco_write_s"], 2)
    figures["coco_mib"] = round(sum(p.stat().st_size for p in written) / 2**20, 1)
    print(f"COCO export: {figures['coco_export_s']} s ({figures['coco_mib']} MiB)")
    start = time.perf_counter()
    read_coco(tmp / "coco")
    figures["coco_read_check_s"] = round(time.perf_counter() - start, 2)
    print(f"COCO read + checks (import, first half): {figures['coco_read_check_s']} s")
    project.close()
    if args.full_import:
        figures.update(time_import(tmp / "coco", tmp / "imported", args.db_url))
        print(f"`grd import` of that export: {figures['grd_import_s']} s")


if __name__ == "__main__":
    main()

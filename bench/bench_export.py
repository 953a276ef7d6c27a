"""Export a GRD-size project in every format and print the times.

    .venv/bin/python bench/bench_export.py                 # build a temporary project, export it
    .venv/bin/python bench/bench_export.py --keep DIR      # keep the project (re-runs reuse it)
    .venv/bin/python bench/bench_export.py --small         # 1/20 of the size, for a quick look
    .venv/bin/python bench/bench_export.py --import-images # also time `import` (writes real images)

GRD size: 10,578 images in 106 groups, 31,524 (expression, image) pairs, all decided by a person,
about 60 % positive with one or two instances each (about 25,000 masks, 640 x 480, many with holes).
The project is written through the store (``add_image``, ``import_decisions``). Image files are
only written with ``--import-images``; exporting does not read them.
"""

from __future__ import annotations

import argparse
import io
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from labeler import rle  # noqa: E402
from labeler.project import Project  # noqa: E402

HEIGHT, WIDTH = 480, 640


def group_plan(scale: int) -> list[tuple[int, int]]:
    """(images, expressions) per group: 10,578 images and 31,524 pairs at full size."""
    plan = [(100, 3)] * 104 + [(110, 2), (68, 3)]
    plan[0] = (100, 2)
    return plan[: max(2, len(plan) // scale)]


def mask_pool(rng: np.random.Generator, size: int) -> list[dict]:
    """Distinct object masks: ellipses, about half with a hole, some in two parts."""
    yy, xx = np.mgrid[:HEIGHT, :WIDTH]
    pool = []
    for _ in range(size):
        cy, cx = rng.integers(60, HEIGHT - 60), rng.integers(60, WIDTH - 60)
        ry, rx = rng.integers(20, 120), rng.integers(20, 160)
        m = ((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 < 1
        if rng.random() < 0.5:
            m &= ((yy - cy) / (ry / 3)) ** 2 + ((xx - cx) / (rx / 3)) ** 2 >= 1
        if rng.random() < 0.2:
            y0, x0 = rng.integers(0, HEIGHT - 30), rng.integers(0, WIDTH - 30)
            m[y0 : y0 + 25, x0 : x0 + 25] = True
        pool.append(rle.encode(m))
    return pool


def _png(colour) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (WIDTH, HEIGHT), colour).save(buffer, "PNG", compress_level=1)
    return buffer.getvalue()


def build_project(root: Path, scale: int, seed: int, with_images: bool) -> dict[str, int]:
    rng = np.random.default_rng(seed)
    pool = mask_pool(rng, 400)
    with Project.init(root, name="grd-size bench") as project:
        store = project.store
        rows = []
        for g, (n_images, n_expr) in enumerate(group_plan(scale)):
            group = store.create_group(f"group {g:03d}", f"target{g % 40}", f"scene{g % 7}")
            images = []
            for i in range(n_images):
                digest = f"{g:04d}{i:05d}".ljust(64, "0")
                rel = f"images/{digest[:2]}/{digest}.png"
                if with_images:
                    path = root / rel
                    path.parent.mkdir(parents=True, exist_ok=True)
                    path.write_bytes(_png(tuple(int(v) for v in rng.integers(0, 255, 3))))
                    from labeler.images import normalize_image

                    digest = normalize_image(path.read_bytes()).content_hash
                images.append(
                    store.add_image(
                        group.id,
                        rel,
                        WIDTH,
                        HEIGHT,
                        digest,
                        source_url=f"https://www.flickr.com/photos/x/{g}{i}",
                        owner=f"owner {i % 50}",
                        license=str(i % 11),
                    )[0]
                )
            for e in range(n_expr):
                expression = store.add_expression(group.id, f"expression {e} of group {g}", "bench")
                for image in images:
                    if rng.random() < 0.6:
                        picks = rng.choice(
                            len(pool), size=1 if rng.random() < 0.7 else 2, replace=False
                        )
                        rows.append(
                            (expression.id, image.id, "positive", [pool[p] for p in picks], "ann")
                        )
                    else:
                        rows.append((expression.id, image.id, "negative", [], "ann"))
        store.import_decisions(rows, action="bench")
        return store.counts()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--keep", type=Path, help="project folder to create or reuse")
    parser.add_argument("--small", action="store_true", help="1/20 of GRD size")
    parser.add_argument(
        "--import-images", action="store_true", help="write images and time imports"
    )
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    from exports.registry import FORMATS
    from exports.snapshot import snapshot_from_store

    work = Path(tempfile.mkdtemp(prefix="grd-bench-"))
    root = args.keep or work / "project"
    try:
        if not (root / "project.json").exists():
            started = time.perf_counter()
            counts = build_project(root, 20 if args.small else 1, args.seed, args.import_images)
            print(f"built project in {time.perf_counter() - started:.1f} s: {counts}")
        with Project.open(root) as project:
            started = time.perf_counter()
            snapshot = snapshot_from_store(project.store, name="bench")
            read_s = time.perf_counter() - started
            pairs = sum(len(v) for v in snapshot.decisions.values())
            n_masks = sum(len(d.instances) for v in snapshot.decisions.values() for d in v.values())
            print(
                f"project: {len(snapshot.images)} images, {len(snapshot.expressions)} expressions, "
                f"{pairs} decided pairs, {n_masks} masks"
            )
            print(f"read snapshot from the store: {read_s:.2f} s")
            total = read_s
            figures = {
                "images": len(snapshot.images),
                "expressions": len(snapshot.expressions),
                "decided_pairs": pairs,
                "masks": n_masks,
                "read_store_s": round(read_s, 3),
            }
            for name, fmt in FORMATS.items():
                out = work / name
                started = time.perf_counter()
                written = fmt.write(out, snapshot)
                elapsed = time.perf_counter() - started
                total += elapsed
                size = sum(p.stat().st_size for p in written) / 2**20
                print(f"export {name:9s} {elapsed:6.2f} s  ({size:.1f} MiB)")
                figures[f"export_{name}_s"] = round(elapsed, 3)
                figures[f"export_{name}_mib"] = round(size, 2)
            print(f"every format incl. reading the store once: {total:.2f} s")
            figures["all_formats_s"] = round(total, 3)
            if args.import_images:
                from pipelines.intake.imports import import_snapshot, read_source

                for name in ("coco", "d3"):
                    started = time.perf_counter()
                    parsed = read_source(name, work / name)
                    mid = time.perf_counter()
                    with Project.init(work / f"import-{name}") as target:
                        import_snapshot(target, parsed, root)
                    done = time.perf_counter()
                    print(
                        f"import {name:9s} read+check {mid - started:6.2f} s, images+write "
                        f"{done - mid:6.2f} s"
                    )
                    figures[f"import_{name}_read_s"] = round(mid - started, 3)
                    figures[f"import_{name}_write_s"] = round(done - mid, 3)
        print(json.dumps(figures))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

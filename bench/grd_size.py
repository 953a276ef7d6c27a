"""Make a GRD-size project for benchmarks: 106 groups, 10,578 images, 316 expressions, 31,524 pairs.

Images are rows only (no files): the benchmarks that use this measure the store and exports, not
decoding. About 80 % of the pairs get a human decision (positives carry one or two RLE masks with a
hole), the rest stay proposed or unseen, like a dataset mid-way through annotation.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from labeler import rle
from labeler.project import Project

GROUPS, IMAGES, EXPRESSIONS = 106, 10_578, 316
H, W = 48, 64


def _mask_bank(rng: np.random.Generator, n: int = 64) -> list[dict]:
    bank = []
    for _ in range(n):
        m = np.zeros((H, W), bool)
        y, x = rng.integers(0, H - 20), rng.integers(0, W - 24)
        m[y : y + 18, x : x + 22] = True
        m[y + 6 : y + 10, x + 8 : x + 12] = False  # a hole
        bank.append(rle.encode(m))
    return bank


def make_grd_size_project(root: Path, seed: int = 0, decided: float = 0.8) -> Project:
    rng = np.random.default_rng(seed)
    project = Project.init(root, name="GRD-size benchmark")
    store = project.store
    bank = _mask_bank(rng)
    per_group = np.full(GROUPS, IMAGES // GROUPS)
    per_group[: IMAGES - per_group.sum()] += 1
    expr_per_group = np.full(GROUPS, EXPRESSIONS // GROUPS)
    expr_per_group[: EXPRESSIONS - expr_per_group.sum()] += 1
    start = time.perf_counter()
    rows = []
    for g in range(GROUPS):
        group = store.create_group(f"target{g} x scene{g}", f"target{g}", f"scene{g}")
        image_ids = [
            store.add_image(
                group.id,
                f"images/{g}_{i}.jpg",
                W,
                H,
                f"{g:04d}{i:06d}",
                source_url=f"https://example.org/{g}/{i}",
                owner=f"owner{i % 37}",
                license="CC BY 2.0",
            )[0].id
            for i in range(per_group[g])
        ]
        for e in range(expr_per_group[g]):
            expression = store.add_expression(group.id, f"the {e}th thing of group {g}")
            for image_id in image_ids:
                if rng.random() >= decided:
                    continue
                if rng.random() < 0.5:
                    k = 1 + int(rng.random() < 0.3)
                    chosen = [bank[j] for j in rng.choice(len(bank), k, replace=False)]
                    rows.append((expression.id, image_id, "positive", chosen, f"annotator{g % 5}"))
                else:
                    rows.append((expression.id, image_id, "negative", [], f"annotator{g % 5}"))
    store.import_decisions(rows)
    print(
        f"generated {IMAGES} images, {EXPRESSIONS} expressions, {len(rows)} decisions "
        f"in {time.perf_counter() - start:.1f} s"
    )
    return project

"""Make a GRD-size project for benchmarks: 106 groups, 10,578 images, 316 expressions, 31,524 pairs.

``scale`` multiplies every count (``--scale 10``: 1,060 groups, 105,780 images, 3,160 expressions,
~315k pairs, ~250k decisions); ``database_url`` puts it on PostgreSQL. Images are rows only (no
files, inserted in bulk per group): the benchmarks that use this measure the store and exports, not
decoding. About 80 % of the pairs get a human decision (positives carry one or two RLE masks with a
hole), the rest stay proposed or unseen, like a dataset mid-way through annotation.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Callable, Iterator
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


def _add_images(store, group_id: int, g: int, n: int) -> list[int]:
    """``n`` image rows of group ``g`` in one statement; their ids in order."""
    from sqlalchemy import insert, select

    from labeler.store import schema as t
    from labeler.store.repository import utcnow

    now = utcnow()
    rows = [
        {
            "group_id": group_id,
            "file": f"images/{g}_{i}.jpg",
            "width": W,
            "height": H,
            "content_hash": f"{g:05d}{i:06d}",
            "source_url": f"https://example.org/{g}/{i}",
            "owner": f"owner{i % 37}",
            "license": "CC BY 2.0",
            "meta": {},
            "created_at": now,
        }
        for i in range(n)
    ]
    with store.engine.begin() as conn:
        conn.execute(insert(t.images), rows)
        query = select(t.images.c.id).where(t.images.c.group_id == group_id)
        return [r[0] for r in conn.execute(query.order_by(t.images.c.id))]


def make_grd_size_project(
    root: Path,
    seed: int = 0,
    decided: float = 0.8,
    scale: int = 1,
    database_url: str = "",
    first: Callable[[Project], None] | None = None,
) -> Project:
    """The project at ``root``; ``first`` (if given) adds what it likes before the generated groups
    (e.g. a group of real photos that the app then opens first)."""
    rng = np.random.default_rng(seed)
    project = Project.init(root, name=f"GRD-size benchmark x{scale}", database_url=database_url)
    if first is not None:
        first(project)
    store = project.store
    bank = _mask_bank(rng)
    groups, images, expressions = GROUPS * scale, IMAGES * scale, EXPRESSIONS * scale
    per_group = np.full(groups, images // groups)
    per_group[: images - per_group.sum()] += 1
    expr_per_group = np.full(groups, expressions // groups)
    expr_per_group[: expressions - expr_per_group.sum()] += 1
    start = time.perf_counter()
    rows, n_decisions = [], 0
    for g in range(groups):
        group = store.create_group(f"target{g} x scene{g}", f"target{g}", f"scene{g}")
        image_ids = _add_images(store, group.id, g, int(per_group[g]))
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
        if len(rows) >= 20_000 or g == groups - 1:  # one import per chunk: bounded memory
            store.import_decisions(rows)
            n_decisions += len(rows)
            rows = []
    print(
        f"generated {images} images, {expressions} expressions, {n_decisions} decisions "
        f"in {time.perf_counter() - start:.1f} s"
    )
    return project


@contextlib.contextmanager
def postgres_schema(db_url: str, keep: bool = False) -> Iterator[str]:
    """A fresh schema on ``db_url`` (dropped at the end unless ``keep``); yields the URL that puts
    it first on the search path. An empty ``db_url`` yields "" (the project's own SQLite)."""
    if not db_url:
        yield ""
        return
    import sqlalchemy as sa

    schema = f"bench_{uuid.uuid4().hex[:10]}"
    engine = sa.create_engine(db_url)
    with engine.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{db_url}?options=-csearch_path%3D{schema}"
    finally:
        if not keep:
            with engine.begin() as conn:
                conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()


def analyze(project: Project) -> None:
    """VACUUM ANALYZE the bulk-loaded tables on PostgreSQL: the statistics autovacuum keeps on a
    live server, which a fresh bulk load has not got yet."""
    engine = project.store.engine
    if engine.dialect.name != "postgresql":
        return
    import sqlalchemy as sa

    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for table in ("groups", "images", "expressions", "decisions", "instances"):
            conn.execute(sa.text(f"VACUUM ANALYZE {table}"))

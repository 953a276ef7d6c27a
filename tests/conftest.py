"""Shared fixtures: stores on SQLite and PostgreSQL, tiny projects, hostile image files."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import numpy as np
import pytest

from labeler import rle
from labeler.store import Store

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DIR = REPO_ROOT.parent / "shared"
# Tests click with the weight-free segmenter unless they are about the choice of click model
# (tests/pipelines/test_segmenters.py): MobileSAM, the default, takes seconds per image on 2 cores.
os.environ.setdefault("GRD_SEGMENTER", "classic")
POSTGRES_URL = os.environ.get(
    "GRD_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def _postgres_available() -> bool:
    import sqlalchemy as sa

    try:
        engine = sa.create_engine(POSTGRES_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(sa.text("select 1"))
        engine.dispose()
        return True
    except Exception:  # noqa: BLE001 - any failure means "no server here"
        return False


@pytest.fixture(scope="session")
def postgres_url() -> str:
    if not _postgres_available():
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is required in CI but not reachable at {POSTGRES_URL}")
        pytest.skip(f"PostgreSQL not reachable at {POSTGRES_URL}")
    return POSTGRES_URL


@pytest.fixture
def pg_schema(postgres_url):
    """A fresh PostgreSQL schema for one test, dropped afterwards."""
    import sqlalchemy as sa

    name = f"t_{uuid.uuid4().hex[:12]}"
    engine = sa.create_engine(postgres_url)
    with engine.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{name}"'))
    yield name
    with engine.begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA "{name}" CASCADE'))
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request, tmp_path) -> Store:
    """A migrated, empty store on each backend."""
    if request.param == "sqlite":
        s = Store(f"sqlite:///{tmp_path / 'test.db'}")
    else:
        schema = request.getfixturevalue("pg_schema")
        s = Store(request.getfixturevalue("postgres_url"), schema=schema)
    yield s
    s.close()


def ring_mask(height: int = 40, width: int = 60) -> np.ndarray:
    """A square with a hole in the middle (holes must survive everything)."""
    m = np.zeros((height, width), dtype=bool)
    m[5:30, 10:40] = True
    m[12:22, 18:30] = False
    return m


@pytest.fixture
def populated(store):
    """One group of three 60x40 images and two expressions."""
    group = store.create_group("dog x beach", "dog", "beach")
    images = [store.add_image(group.id, f"images/{i}.png", 60, 40, f"hash{i}")[0] for i in range(3)]
    expressions = [store.add_expression(group.id, t) for t in ("the dog", "a red ball")]
    return store, group, images, expressions


@pytest.fixture
def ring_rle():
    return rle.encode(ring_mask())


@pytest.fixture(autouse=True)
def _restore_main_module():
    """Streamlit's script runner (AppTest) installs the page script as ``sys.modules["__main__"]``
    and leaves it there; a later ``torch.multiprocessing.spawn`` in the same worker would then
    re-run that script in its children. Put the real ``__main__`` back after every test."""
    import sys

    main = sys.modules.get("__main__")
    yield
    if main is not None:
        sys.modules["__main__"] = main

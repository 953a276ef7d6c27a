"""A small real project for the export tests: two groups, images on disk, every kind of decision.

Group "dog x beach" (3 images, 64 x 48):
  "the dogs"          complete: image 1 has two dogs (one mask with a hole), image 2 one dog whose
                       mask has two parts, image 3 a certified negative.
  "the ball"          complete: image 1 positive (the same mask as a dog of "the dogs"), 2 and 3
                       negative.
  "the frisbee"       incomplete: image 1 negative, image 2 a model proposal, image 3 unseen.
Group "cat x sofa" (2 images, 40 x 30, no target keyword):
  "a cat"              complete: image 4 positive, image 5 negative.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from exports.snapshot import snapshot_from_store
from labeler import rle
from labeler.images import normalize_image
from labeler.project import Project
from pipelines.intake.ingest import store_image_file


def _png(seed: int, height: int, width: int) -> bytes:
    rng = np.random.default_rng(seed)
    buffer = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, (height, width, 3), dtype=np.uint8)).save(buffer, "PNG")
    return buffer.getvalue()


def _add_image(project: Project, group_id: int, seed: int, height: int, width: int, **prov):
    image = normalize_image(_png(seed, height, width))
    rel = store_image_file(project, image.data, image.content_hash, image.extension)
    record, _ = project.store.add_image(
        group_id, rel, image.width, image.height, image.content_hash, **prov
    )
    return record


def ring(height: int, width: int, box: tuple[int, int, int, int], hole: int) -> np.ndarray:
    """A filled rectangle with a square hole in the middle."""
    y0, x0, y1, x1 = box
    m = np.zeros((height, width), bool)
    m[y0:y1, x0:x1] = True
    cy, cx = (y0 + y1) // 2, (x0 + x1) // 2
    m[cy - hole : cy + hole, cx - hole : cx + hole] = False
    return m


@dataclass
class SmallProject:
    root: Path
    ids: dict


def make_small_project(root: Path) -> SmallProject:
    project = Project.init(root, name="small")
    store = project.store
    dogs = store.create_group("dog x beach", "dog", "beach", meta={"split": "train"})
    cats = store.create_group("cat x sofa", "", "sofa")
    i1 = _add_image(
        project, dogs.id, 1, 48, 64, source_url="https://flickr.com/p/1", owner="Ann", license="4"
    )
    i2 = _add_image(
        project,
        dogs.id,
        2,
        48,
        64,
        source_url="https://flickr.com/p/2",
        owner="Bob",
        license="CC0-1.0",
    )
    i3 = _add_image(project, dogs.id, 3, 48, 64, owner="Cy")
    i4 = _add_image(project, cats.id, 4, 30, 40, license="4")
    i5 = _add_image(project, cats.id, 5, 30, 40)
    e_dogs = store.add_expression(dogs.id, "the dogs", created_by="ann")
    e_ball = store.add_expression(dogs.id, "the ball", created_by="ann")
    e_fris = store.add_expression(dogs.id, "the frisbee")
    e_cat = store.add_expression(cats.id, "a cat")

    holed = rle.encode(ring(48, 64, (4, 4, 30, 30), 5))
    second = np.zeros((48, 64), bool)
    second[30:45, 40:60] = True
    two_parts = np.zeros((48, 64), bool)
    two_parts[2:10, 2:10] = True
    two_parts[20:40, 50:62] = True
    cat = ring(30, 40, (3, 3, 25, 35), 4)
    cat[0:2, 0:3] = True  # a second part touching the border

    def save(e, i, status, rles=(), author="ann"):
        store.save_decision(e.id, i.id, status, list(rles), author=author, expected_revision=0)

    save(e_dogs, i1, "positive", [holed, rle.encode(second)])
    save(e_dogs, i2, "positive", [rle.encode(two_parts)], author="bob")
    save(e_dogs, i3, "negative", author="bob")
    save(e_ball, i1, "positive", [holed])
    save(e_ball, i2, "negative")
    save(e_ball, i3, "negative")
    save(e_fris, i1, "negative")
    store.propose(e_fris.id, i2.id, [rle.encode(second)], score=0.7, model_version="grser-test")
    save(e_cat, i4, "positive", [rle.encode(cat)], author="cy")
    save(e_cat, i5, "negative", author="cy")
    project.close()
    ids = {
        "groups": (dogs.id, cats.id),
        "images": (i1.id, i2.id, i3.id, i4.id, i5.id),
        "expressions": (e_dogs.id, e_ball.id, e_fris.id, e_cat.id),
    }
    return SmallProject(root, ids)


@pytest.fixture(scope="session")
def small_project(tmp_path_factory) -> SmallProject:
    """Built once per session; tests must not modify it (they import into new projects)."""
    return make_small_project(tmp_path_factory.mktemp("small") / "project")


@pytest.fixture(scope="module")
def coco_dir(small_project, tmp_path_factory):
    """The small project exported as COCO + expression file (incomplete expressions marked)."""
    from exports.coco import write_coco

    with Project.open(small_project.root) as project:
        snapshot = snapshot_from_store(project.store)
    out = tmp_path_factory.mktemp("coco")
    write_coco(out, snapshot, incomplete="mark")
    return out


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request):
    """A new project's database URL: "" (the folder's SQLite file) or a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        return ""
    schema = request.getfixturevalue("pg_schema")
    return f"{request.getfixturevalue('postgres_url')}?options=-csearch_path%3D{schema}"


@pytest.fixture(scope="module")
def snapshot(small_project):
    """The small project's snapshot, read once per test module."""
    with Project.open(small_project.root) as project:
        return snapshot_from_store(project.store, name="small")


def canonical(snapshot, *, positives_only: bool = False) -> dict:
    """A snapshot as comparable data, free of ids: per (group name, expression text), per image
    (group name, content hash or file), the human decision with its masks' exact RLE counts."""
    groups = {g.id: g.name for g in snapshot.groups}
    images = {i.id: i for i in snapshot.images}

    def image_key(iid):
        image = images[iid]
        return groups[image.group_id], image.content_hash or image.file

    out = {}
    for expression in snapshot.expressions:
        pairs = {}
        for iid, d in snapshot.human(expression.id).items():
            if positives_only and d.status.value != "positive":
                continue
            pairs[image_key(iid)] = (
                d.status.value,
                tuple(rle.normalize(i.rle)["counts"] for i in d.instances),
            )
        if pairs or not positives_only:
            out[(groups[expression.group_id], expression.text)] = pairs
    return out

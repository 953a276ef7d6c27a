"""The demo project a new user gets: real sample photos shipped by scikit-image, with expressions.

The photos (cat "Chelsea", coffee cup, astronaut Eileen Collins, rocket, motorcycles, camera man,
Hubble deep field) ship inside the scikit-image wheel under permissive terms (see
``skimage/data/README.txt``), so the demo needs no network. Each group gets a few expressions so
the sweep and the editor have something real to show on first start.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from labeler.project import Project
from pipelines.ingest import IngestItem, ingest_items

SKIMAGE_LICENSE = "scikit-image sample data (see skimage/data/README.txt)"

#: group name -> (target keyword, scene keyword, photo files, expressions)
DEMO_GROUPS: dict[str, tuple[str, str, list[str], list[str]]] = {
    "pets and people x indoors": (
        "cat", "indoors",
        ["chelsea.png", "coffee.png", "astronaut.png", "camera.png", "rocket.jpg"],
        ["the cat", "a cup of coffee on a saucer", "a person"],
    ),
    "vehicles x outdoors": (
        "vehicle", "outdoors",
        ["motorcycle_left.png", "motorcycle_right.png", "rocket.jpg", "astronaut.png", "hubble_deep_field.jpg"],
        ["the red motorcycle", "a rocket on the launch pad"],
    ),
}


def skimage_data_dir() -> Path:
    import skimage

    return Path(skimage.__file__).parent / "data"


def demo_items() -> list[IngestItem]:
    data = skimage_data_dir()
    items = []
    for group, (target, scene, files, _) in DEMO_GROUPS.items():
        for name in files:
            path = data / name
            items.append(
                IngestItem(
                    source=str(path), group=group, target=target, scene=scene,
                    source_url=f"https://github.com/scikit-image/scikit-image/blob/main/skimage/data/{name}",
                    owner="scikit-image contributors", license=SKIMAGE_LICENSE,
                    meta={"title": name.rsplit(".", 1)[0]},
                    read=path.read_bytes,
                )
            )
    return items


def build_demo(
    directory: str | Path, *, prelabel: bool = True, log: Callable[[str], None] = lambda _: None
) -> Project:
    """Create (or top up: it is idempotent) the demo project in ``directory``."""
    project = Project.init(directory, name="GRES demo")
    report = ingest_items(project, demo_items())
    log(f"demo photos: {report.summary()}")
    for group_name, (_, _, _, texts) in DEMO_GROUPS.items():
        group = project.store.group_by_name(group_name)
        for text in texts:
            project.store.ensure_expression(group.id, text, created_by="demo")
    return project

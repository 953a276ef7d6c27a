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
from pipelines.intake.ingest import IngestItem, ingest_items

#: Small GRSer (tiny variant) trained by scripts/make_demo_checkpoint.py on synthetic groups.
DEMO_CHECKPOINT = Path(__file__).parents[1] / "assets" / "demo_grser_tiny.pt"
SKIMAGE_LICENSE = "scikit-image sample data (see skimage/data/README.txt)"

#: group name -> (target keyword, scene keyword, photo files, expressions)
DEMO_GROUPS: dict[str, tuple[str, str, list[str], list[str]]] = {
    "pets and people x indoors": (
        "cat",
        "indoors",
        ["chelsea.png", "coffee.png", "astronaut.png", "camera.png", "rocket.jpg"],
        ["the cat", "a cup of coffee on a saucer", "a person"],
    ),
    "vehicles x outdoors": (
        "vehicle",
        "outdoors",
        [
            "motorcycle_left.png",
            "motorcycle_right.png",
            "rocket.jpg",
            "astronaut.png",
            "hubble_deep_field.jpg",
        ],
        ["the red motorcycle", "a rocket on the launch pad"],
    ),
}


#: The demo's synthetic groups (pipelines.training.synth): level-1 colour-and-shape scenes, complete truth
#: unknown to the annotator; the bundled demo checkpoint was trained on other groups of this kind.
DEMO_SYNTH = {
    "seed": 7,
    "groups": 2,
    "images_per_group": 8,
    "level": 1,
    "image_size": 96,
    "expressions_per_group": 2,
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
                    source=str(path),
                    group=group,
                    target=target,
                    scene=scene,
                    source_url=f"https://github.com/scikit-image/scikit-image/blob/main/skimage/data/{name}",
                    owner="scikit-image contributors",
                    license=SKIMAGE_LICENSE,
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
    add_synthetic_groups(project, log)
    if prelabel:
        prelabel_demo(project, log)
    return project


def add_synthetic_groups(project: Project, log: Callable[[str], None] = lambda _: None) -> None:
    """The ``DEMO_SYNTH`` scenes with their expressions, *undecided* (the truth is not written):
    the kind of data the bundled checkpoint was trained on, so its proposals there are meaningful."""
    from pipelines.training.synth import make_group
    from pipelines.training.synth_project import _write_png

    store, cfg = project.store, DEMO_SYNTH
    for index in range(cfg["groups"]):
        group = make_group(
            cfg["seed"],
            index,
            images_per_group=cfg["images_per_group"],
            image_size=cfg["image_size"],
            level=cfg["level"],
            expressions_per_group=cfg["expressions_per_group"],
        )
        name = f"synthetic shapes {index + 1}"
        record = store.group_by_name(name) or store.create_group(
            name,
            target_keyword=group.referents[0].shape,
            scene_keyword="synthetic",
            meta={"synthetic": True, "seed": cfg["seed"], "index": index},
        )
        for image in group.images:
            rel, digest = _write_png(project, image.image)
            h, w = image.image.shape[:2]
            store.add_image(
                record.id,
                rel,
                w,
                h,
                digest,
                source_url=f"synth://{cfg['seed']}/{image.name}",
                owner="grd synth",
                license="CC0-1.0",
            )
        for text in group.expressions:
            store.ensure_expression(record.id, text, created_by="demo")
    log(f"synthetic groups: {cfg['groups']} x {cfg['images_per_group']} images")


def prelabel_demo(project: Project, log: Callable[[str], None] = lambda _: None) -> None:
    """Pre-label the synthetic groups' undecided pairs with the bundled checkpoint (it becomes the
    current model), and only those.

    Why not the photos: the bundled GRSer (0.7 M parameters) was trained on synthetic shapes and
    has never seen a photo; on them it proposed the cat photo "absent" for "the cat", which a
    bulk "All remaining negative" then certified. The photo groups' proposals come from
    propagation instead, once an annotator confirms a positive (``pipelines.loop.propagate``,
    tagged "propagated from N images"); a model trained on photos pre-labels them with
    ``grd prelabel``.
    """
    if not DEMO_CHECKPOINT.exists():
        log(f"no bundled checkpoint at {DEMO_CHECKPOINT}: run scripts/make_demo_checkpoint.py")
        return
    from pipelines.loop.prelabel import prelabel_project

    store = project.store
    for group in store.list_groups():
        if not group.meta.get("synthetic"):
            continue
        report = prelabel_project(project, checkpoint=DEMO_CHECKPOINT, group_id=group.id)
        log(f"pre-labeled {group.name}: {report.summary()}")
    log("photo groups: no model proposals (the bundled model knows synthetic shapes only)")

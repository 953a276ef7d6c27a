"""Pick a dataset reader from the form of a data spec string (CLI and config files use these).

DIR                              a labeler project (complete expressions only)
IMG_DIR::ANNO_DIR                D³ / GRD release (``d_cube`` pickles)
REFS::INSTANCES_JSON::IMG_DIR    RefCOCO / RefCOCO+ / RefCOCOg refs or gRefCOCO grefs + COCO
synth:SEED:GROUPS:IMAGES[:START[:LEVEL[:SIZE]]]   synthetic groups generated in memory
coca:DIR                         CoCA Co-SOD layout (image/<class>/, binary/<class>/)
"""

from __future__ import annotations

from pathlib import Path

from pipelines.training.datasets.base import GresGroup


class DataSpecError(ValueError):
    """A data spec names nothing readable; the message shows the accepted forms."""


FORMS = __doc__.split("\n\n", 1)[1]


def load_groups(spec: str, split: str = "") -> list[GresGroup]:
    spec = spec.strip()
    if not spec:
        raise DataSpecError(f"no data given; accepted forms:\n{FORMS}")
    if spec.startswith("synth:"):
        from pipelines.training.datasets.synth import synth_groups
        from pipelines.training.synth import make_dataset

        try:
            parts = [int(p) for p in spec.split(":")[1:]]
            seed, groups, images = parts[:3]
        except ValueError as exc:
            raise DataSpecError(
                f"bad synth spec {spec!r}; form: synth:SEED:GROUPS:IMAGES[:START[:LEVEL[:SIZE]]]"
            ) from exc
        start = parts[3] if len(parts) > 3 else 0
        level = parts[4] if len(parts) > 4 else 3
        size = parts[5] if len(parts) > 5 else 96
        return synth_groups(
            make_dataset(
                seed, groups, start=start, images_per_group=images, level=level, image_size=size
            )
        )
    if spec.startswith("coca:"):
        from pipelines.training.datasets.coca import coca_groups

        return coca_groups(spec.removeprefix("coca:"))
    parts = spec.split("::")
    if len(parts) == 2:
        from pipelines.training.datasets.d3 import d3_groups

        return d3_groups(parts[0], parts[1])
    if len(parts) == 3:
        from pipelines.training.datasets.refcoco import refcoco_groups

        return refcoco_groups(parts[0], parts[1], parts[2], split=split or None)
    path = Path(spec)
    if (path / "project.json").exists():
        from pipelines.training.datasets.store import store_groups

        return store_groups(path)
    raise DataSpecError(f"cannot read {spec!r}: not a project folder and no known form:\n{FORMS}")

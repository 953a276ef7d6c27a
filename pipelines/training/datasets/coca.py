"""CoCA (Co-SOD benchmark, Zhang et al. 2020) as GRES groups: one class folder = one group.

Layout (as released): ``DIR/image/<class>/*.jpg`` with ground truth ``DIR/binary/<class>/*.png``
(``img`` / ``gt`` / ``GroundTruth`` are accepted too). The class name is the expression (the
paper's Co-SOD table reads it that way: "accordion", "rubber eraser"). A ground truth that is
empty makes the image a negative.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from labeler import rle
from labeler.errors import ImportFormatError
from pipelines.training.datasets.base import GresGroup, GresItem, file_loader

IMAGE_DIRS = ("image", "img", "images", "Image")
MASK_DIRS = ("binary", "gt", "GT", "GroundTruth", "ground_truth")
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp")


def _first(root: Path, names) -> Path:
    for name in names:
        if (root / name).is_dir():
            return root / name
    raise ImportFormatError(f"{root}: no folder named one of {', '.join(names)} (CoCA layout)")


def class_expression(folder: str) -> str:
    return " ".join(folder.replace("_", " ").replace("-", " ").lower().split())


def coca_groups(root: str | Path) -> list[GresGroup]:
    """Every class of a CoCA-style folder as a group; images without a mask file are an error."""
    root = Path(root)
    if not root.is_dir():
        raise ImportFormatError(f"{root} is not a folder")
    image_root, mask_root = _first(root, IMAGE_DIRS), _first(root, MASK_DIRS)
    groups = []
    for class_dir in sorted(p for p in image_root.iterdir() if p.is_dir()):
        items = []
        for image_path in sorted(class_dir.iterdir()):
            if image_path.suffix.lower() not in IMAGE_SUFFIXES:
                continue
            candidates = [
                mask_root / class_dir.name / f"{image_path.stem}{s}" for s in (".png", ".jpg")
            ]
            mask_path = next((c for c in candidates if c.exists()), None)
            if mask_path is None:
                raise ImportFormatError(f"{image_path}: no ground truth under {mask_root}")
            mask = np.asarray(Image.open(mask_path).convert("L")) > 127
            instances = (rle.encode(mask),) if mask.any() else ()
            items.append(
                GresItem(
                    f"coca/{class_dir.name}/{image_path.stem}",
                    file_loader(image_path),
                    mask.shape[0],
                    mask.shape[1],
                    instances,
                )
            )
        if items:
            groups.append(
                GresGroup(f"coca-{class_dir.name}", class_expression(class_dir.name), tuple(items))
            )
    if not groups:
        raise ImportFormatError(f"{image_root}: no class folder with images")
    return groups

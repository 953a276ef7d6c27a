"""COCO instances JSON + the expression file: pure builders, an atomic writer, a reader.

    coco = build_coco_dict(snapshot)                  # pure: the instances dict
    write_coco(out_dir, snapshot, incomplete="mark")  # instances, expressions, attribution
    snapshot = read_coco(out_dir / "instances.json", out_dir / "expressions.json")

The instances file loads in ``pycocotools.coco.COCO``; see ``exports.instances`` for categories
and the extra keys, ``exports.expressions`` for the expression file. Model proposals are never
written as truth; ``predictions=True`` adds them as a COCO *results* file (``predictions.json``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from exports import atomic
from exports.attribution import write_attribution
from exports.expressions import build_expression_dict, parse_expression_dict
from exports.instances import (
    AnnotationIndex,
    annotation_index,
    build_instances,
    category_table,
    parse_instances,
)
from exports.snapshot import Incomplete, Snapshot, selected_expressions
from exports.validate import load_json
from labeler import rle

INSTANCES_FILE = "instances.json"
EXPRESSIONS_FILE = "expressions.json"
PREDICTIONS_FILE = "predictions.json"


def _prepare(snapshot: Snapshot, incomplete: Incomplete):
    selected = selected_expressions(snapshot, incomplete)
    categories, of_group = category_table(snapshot)
    return selected, categories, of_group, annotation_index(snapshot, selected, of_group)


def build_coco_dict(snapshot: Snapshot, *, incomplete: Incomplete = "omit") -> dict[str, Any]:
    """The COCO instances dict of the exported expressions' objects (every image is listed)."""
    selected, categories, _, index = _prepare(snapshot, incomplete)
    return build_instances(snapshot, index, categories)


def build_predictions(snapshot: Snapshot, of_group: dict[int, int]) -> list[dict[str, Any]]:
    """Model proposals with masks as COCO results (one entry per proposed instance)."""
    texts = {e.id: e for e in snapshot.expressions}
    results = []
    for expression in sorted(snapshot.expressions, key=lambda e: e.id):
        for decision in snapshot.proposals(expression.id):
            for instance in decision.instances:
                results.append(
                    {
                        "image_id": decision.image_id,
                        "category_id": of_group[expression.group_id],
                        "segmentation": rle.normalize(instance.rle),
                        "bbox": rle.bbox(instance.rle),
                        "score": float(decision.score if decision.score is not None else 1.0),
                        "grd_expression_id": expression.id,
                        "grd_expression": texts[expression.id].text,
                        "grd_model_version": decision.model_version or "",
                    }
                )
    return results


def write_coco(
    out_dir: str | Path,
    snapshot: Snapshot,
    *,
    incomplete: Incomplete = "omit",
    predictions: bool = False,
) -> list[Path]:
    """Write ``instances.json``, ``expressions.json``, the attribution files (and predictions)."""
    out_dir = Path(out_dir)
    selected, categories, of_group, index = _prepare(snapshot, incomplete)
    written = [
        atomic.write_json(out_dir / INSTANCES_FILE, build_instances(snapshot, index, categories)),
        atomic.write_json(
            out_dir / EXPRESSIONS_FILE,
            build_expression_dict(snapshot, selected, index, incomplete=incomplete),
        ),
    ]
    if predictions:
        written.append(
            atomic.write_json(out_dir / PREDICTIONS_FILE, build_predictions(snapshot, of_group))
        )
    return written + write_attribution(out_dir, snapshot)


def read_coco(instances_path: str | Path, expressions_path: str | Path | None = None) -> Snapshot:
    """Read a COCO instances file and its expression file (default: ``expressions.json`` beside it).

    Raises ``ImportFormatError`` naming the file, the record and the problem.
    """
    instances_path = Path(instances_path)
    if instances_path.is_dir():
        instances_path = instances_path / INSTANCES_FILE
    expressions_path = Path(expressions_path or instances_path.parent / EXPRESSIONS_FILE)
    parsed = parse_instances(instances_path, load_json(instances_path))
    expressions, decisions = parse_expression_dict(
        expressions_path, load_json(expressions_path), parsed
    )
    return Snapshot(
        groups=tuple(parsed.groups.values()),
        images=tuple(parsed.images.values()),
        expressions=tuple(expressions),
        decisions=decisions,
        name=instances_path.parent.name,
    )


__all__ = [
    "AnnotationIndex",
    "build_coco_dict",
    "build_predictions",
    "read_coco",
    "write_coco",
]

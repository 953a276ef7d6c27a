"""Checks shared by the importers. Every failure is an ``ImportFormatError`` that names the file,
the record and the problem, e.g. ``instances.json, annotation 17: mask size [10, 10] does not match
the image (48 x 64): out of bounds``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from pathlib import Path, PurePosixPath
from typing import Any

from labeler import bounded_json, rle
from labeler.domain import RLE
from labeler.errors import ImportFormatError, InvalidMask

#: Polygon points may sit on the image border; allow a pixel of rounding beyond it.
POLYGON_TOLERANCE = 1.0


def error(file: str | Path, record: str, problem: str) -> ImportFormatError:
    where = f"{Path(file).name}, {record}" if record else f"{Path(file).name}"
    return ImportFormatError(f"{where}: {problem}")


def load_json(path: str | Path) -> Any:
    """Parse a JSON file; a missing, non-UTF-8 or malformed file is an ``ImportFormatError``."""
    path = Path(path)
    if not path.is_file():
        raise ImportFormatError(f"{path}: no such file")
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ImportFormatError(
            f"{path}: not a UTF-8 text file, so not JSON ({exc.reason})"
        ) from None
    return bounded_json.loads(text, str(path))


def require(record: Any, keys: Iterable[str], file: str | Path, where: str) -> dict:
    """``record`` must be a dict holding every key of ``keys``."""
    if not isinstance(record, dict):
        raise error(file, where, f"expected an object, got {type(record).__name__}")
    missing = [k for k in keys if k not in record]
    if missing:
        raise error(
            file,
            where,
            f"missing key{'s' if len(missing) > 1 else ''} {', '.join(map(repr, missing))}",
        )
    return record


def as_int(value: Any, file: str | Path, where: str, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        # numpy integers from a pickle are fine; floats like 3.0 and strings are not
        if (
            type(value).__module__ == "numpy"
            and hasattr(value, "dtype")
            and value.dtype.kind in "iu"
        ):
            return int(value)
        raise error(file, where, f"{what} must be an integer, got {value!r}")
    return value


def as_int_list(value: Any, file: str | Path, where: str, what: str) -> list[int]:
    if not isinstance(value, (list, tuple)):
        raise error(file, where, f"{what} must be a list of integers, got {type(value).__name__}")
    return [as_int(v, file, where, what) for v in value]


def as_str(value: Any, file: str | Path, where: str, what: str) -> str:
    if not isinstance(value, str):
        raise error(file, where, f"{what} must be text, got {type(value).__name__}")
    return value


def image_size(record: dict, file: str | Path, where: str) -> tuple[int, int]:
    height = as_int(record["height"], file, where, "height")
    width = as_int(record["width"], file, where, "width")
    if height <= 0 or width <= 0:
        raise error(file, where, f"image size must be positive, got {height} x {width}")
    return height, width


def relative_file(name: Any, file: str | Path, where: str) -> str:
    """An image path that stays inside the image root: relative, no ``..``, not empty."""
    name = as_str(name, file, where, "file_name").replace("\\", "/")
    path = PurePosixPath(name)
    if (
        not name
        or path.is_absolute()
        or ".." in path.parts
        or (path.parts and ":" in path.parts[0])
    ):
        raise error(
            file, where, f"file_name {name!r} must be a relative path inside the image root"
        )
    return path.as_posix()


def check_box_fields(ann: dict, file: str | Path, where: str) -> None:
    """``bbox`` and ``area`` are recomputed from the mask on import, but a file that holds them
    must hold finite numbers there (NaN / Infinity mean the file is broken or hostile)."""
    if "bbox" in ann:
        box = ann["bbox"]
        if not (isinstance(box, list) and len(box) == 4 and all(_finite(v) for v in box)):
            raise error(file, where, "bbox must be 4 finite numbers [x, y, width, height]")
    if "area" in ann and not (_finite(ann["area"]) and ann["area"] >= 0):
        raise error(file, where, "area must be a finite number >= 0")


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _polygons_to_rle(polygons: list, height: int, width: int, file, where) -> RLE:
    from pycocotools import mask as cocomask

    clean = []
    for poly in polygons:
        if not isinstance(poly, (list, tuple)) or len(poly) < 6 or len(poly) % 2:
            raise error(file, where, "a polygon needs an even number (>= 6) of coordinates")
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in poly):
            raise error(file, where, "polygon coordinates must be numbers")
        if not all(math.isfinite(v) for v in poly):
            raise error(file, where, "polygon coordinates must be finite (no NaN or Infinity)")
        xs, ys = poly[0::2], poly[1::2]
        if (
            min(xs) < -POLYGON_TOLERANCE
            or max(xs) > width + POLYGON_TOLERANCE
            or min(ys) < -POLYGON_TOLERANCE
            or max(ys) > height + POLYGON_TOLERANCE
        ):
            raise error(
                file, where, f"polygon lies outside the image ({height} x {width}): out of bounds"
            )
        clean.append([float(v) for v in poly])
    return rle.normalize(cocomask.merge(cocomask.frPyObjects(clean, height, width)))


def segmentation_to_rle(
    segmentation: Any, height: int, width: int, file: str | Path, where: str
) -> RLE:
    """A COCO segmentation (RLE dict with str / bytes / list counts, a list of RLE parts, or
    polygons) -> one validated, non-empty RLE of an ``height x width`` image."""
    try:
        if isinstance(segmentation, dict):
            encoded = segmentation
        elif (
            isinstance(segmentation, (list, tuple))
            and segmentation
            and all(isinstance(part, dict) for part in segmentation)
        ):
            parts = [rle.validate_rle(part, height, width) for part in segmentation]
            encoded = parts[0] if len(parts) == 1 else rle.union(parts, height, width)
        elif isinstance(segmentation, (list, tuple)) and segmentation:
            encoded = _polygons_to_rle(list(segmentation), height, width, file, where)
        else:
            raise error(
                file, where, f"segmentation must be an RLE or polygons, got {segmentation!r:.60}"
            )
        return rle.validate_rle(encoded, height, width)
    except InvalidMask as exc:
        raise error(file, where, str(exc)) from None


def unique_ids(records: Iterable[dict], key: str, file: str | Path, what: str) -> dict[int, dict]:
    """Index records by an integer id; a duplicate id is an error."""
    out: dict[int, dict] = {}
    for number, record in enumerate(records):
        where = f"{what} #{number}"
        require(record, [key], file, where)
        rid = as_int(record[key], file, where, key)
        if rid in out:
            raise error(file, f"{what} {rid}", f"duplicate {key} {rid}")
        out[rid] = record
    return out

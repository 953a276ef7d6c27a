"""The COCO ``instances`` dict that COCO, gRefCOCO and RefCOCO exports share, and its reader.

Annotations are the distinct objects of the selected expressions' positive pairs: the same mask
on the same image (one object referred to by several expressions) is one annotation. Masks are
COCO RLE, so holes and multi-part objects are exact; ``iscrowd`` is 0.

Categories: COCO needs one per annotation, but our labels are expressions. Each group's *target
keyword* (``dog`` for a "dog x beach" group) is a category; a group without one uses ``object``.
Expressions themselves live in the expression / refs files.

Extra keys (ignored by pycocotools, read back by ``parse_instances``): ``grd_groups`` (the groups),
per image ``grd_group_id``, ``grd_owner``, ``grd_content_hash``, ``grd_meta``, and per licence
``grd_value`` (the licence string as stored).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from exports.licenses import license_info
from exports.snapshot import SelectedExpression, Snapshot
from exports.validate import (
    as_int,
    as_str,
    check_box_fields,
    error,
    image_size,
    relative_file,
    require,
    segmentation_to_rle,
    unique_ids,
)
from labeler import rle
from labeler.domain import RLE, Group, ImageRecord, Instance

FALLBACK_CATEGORY = "object"
FORMAT_VERSION = 1


@dataclass
class AnnotationIndex:
    """Annotation dicts plus, per (expression id, image id) pair, the ids of its annotations."""

    annotations: list[dict[str, Any]] = field(default_factory=list)
    pairs: dict[tuple[int, int], list[int]] = field(default_factory=dict)
    by_key: dict[tuple[int, str], int] = field(default_factory=dict)


def category_table(snapshot: Snapshot) -> tuple[list[dict], dict[int, int]]:
    """COCO categories (one per distinct target keyword) and group id -> category id."""
    ids: dict[str, int] = {}
    of_group: dict[int, int] = {}
    for group in sorted(snapshot.groups, key=lambda g: g.id):
        name = group.target_keyword.strip() or FALLBACK_CATEGORY
        of_group[group.id] = ids.setdefault(name, len(ids) + 1)
    categories = [{"id": cid, "name": name, "supercategory": "object"} for name, cid in ids.items()]
    return categories, of_group


def area_bbox(instance: Instance) -> tuple[int, list[float]]:
    """Pixel area and ``[x, y, w, h]`` box; the store has them already, a file may not."""
    if instance.area > 0:
        return int(instance.area), [float(v) for v in instance.bbox]
    return rle.area(instance.rle), rle.bbox(instance.rle)


def annotation_index(
    snapshot: Snapshot, selected: list[SelectedExpression], of_group: dict[int, int]
) -> AnnotationIndex:
    """Number the distinct objects of the selected expressions' positive pairs from 1."""
    index = AnnotationIndex()
    for chosen in selected:
        expression = chosen.expression
        for decision in snapshot.positives(expression.id):
            ids = []
            for instance in decision.instances:
                encoded = rle.normalize(instance.rle)
                key = (decision.image_id, encoded["counts"])
                if key not in index.by_key:
                    area, bbox = area_bbox(instance)
                    ann_id = len(index.annotations) + 1
                    index.by_key[key] = ann_id
                    index.annotations.append(
                        {
                            "id": ann_id,
                            "image_id": decision.image_id,
                            "category_id": of_group[expression.group_id],
                            "segmentation": encoded,
                            "area": area,
                            "bbox": bbox,
                            "iscrowd": 0,
                        }
                    )
                if index.by_key[key] not in ids:
                    ids.append(index.by_key[key])
            index.pairs[(expression.id, decision.image_id)] = ids
    return index


def _license_table(snapshot: Snapshot) -> tuple[list[dict], dict[str, int]]:
    ids: dict[str, int] = {}
    table = []
    for image in sorted(snapshot.images, key=lambda i: i.id):
        if image.license not in ids:
            ids[image.license] = len(ids) + 1
            name, url = license_info(image.license)
            table.append(
                {"id": ids[image.license], "name": name, "url": url, "grd_value": image.license}
            )
    return table, ids


def build_instances(
    snapshot: Snapshot, index: AnnotationIndex, categories: list[dict]
) -> dict[str, Any]:
    """The COCO instances dict for every image of the snapshot and the indexed annotations."""
    licenses, license_ids = _license_table(snapshot)
    images = [
        {
            "id": image.id,
            "file_name": image.file,
            "width": image.width,
            "height": image.height,
            "license": license_ids[image.license],
            "flickr_url": image.source_url,
            "coco_url": "",
            "date_captured": "",
            "grd_group_id": image.group_id,
            "grd_owner": image.owner,
            "grd_content_hash": image.content_hash,
            "grd_meta": dict(image.meta),
        }
        for image in sorted(snapshot.images, key=lambda i: i.id)
    ]
    groups = [
        {
            "id": g.id,
            "name": g.name,
            "target_keyword": g.target_keyword,
            "scene_keyword": g.scene_keyword,
            "meta": dict(g.meta),
        }
        for g in sorted(snapshot.groups, key=lambda g: g.id)
    ]
    now = datetime.now(UTC)
    return {
        "info": {
            "description": f"{snapshot.name or 'GRES project'}, exported by the grd labeler",
            "version": str(FORMAT_VERSION),
            "year": now.year,
            "date_created": now.isoformat(timespec="seconds"),
            "contributor": "",
            "url": "",
        },
        "licenses": licenses,
        "images": images,
        "annotations": index.annotations,
        "categories": categories,
        "grd_groups": groups,
    }


# -- reading ---------------------------------------------------------------------------------------


@dataclass
class ParsedInstances:
    """What ``parse_instances`` found; annotation masks are decoded on demand (``rle``)."""

    file: Path
    groups: dict[int, Group]
    images: dict[int, ImageRecord]
    annotations: dict[int, dict]
    categories: dict[int, str]
    _rles: dict[int, RLE] = field(default_factory=dict)
    _by_group: dict[int, set[int]] | None = None

    def group_images(self, group_id: int) -> set[int]:
        """Ids of the group's images (indexed on first use: one pass for every group, not a scan
        of every image per expression, which was quadratic at 105k images)."""
        if self._by_group is None:
            self._by_group = {}
            for image in self.images.values():
                self._by_group.setdefault(image.group_id, set()).add(image.id)
        return self._by_group.get(group_id, set())

    def rle(self, ann_id: int, where: str) -> RLE:
        """The validated mask of annotation ``ann_id`` (which must exist)."""
        if ann_id not in self._rles:
            ann = self.annotations[ann_id]
            image = self.images[ann["image_id"]]
            self._rles[ann_id] = segmentation_to_rle(
                ann["segmentation"], image.height, image.width, self.file, f"annotation {ann_id}"
            )
        return self._rles[ann_id]

    def resolve(self, ann_id: int, image_id: int | None, file: Path, where: str) -> dict:
        """The annotation ``ann_id``, which must exist (and lie on ``image_id`` when given)."""
        ann = self.annotations.get(ann_id)
        if ann is None:
            raise error(file, where, f"annotation {ann_id} does not exist in {self.file.name}")
        if image_id is not None and ann["image_id"] != image_id:
            raise error(
                file,
                where,
                f"annotation {ann_id} lies on image {ann['image_id']}, not on image {image_id}",
            )
        return ann


def _licenses(data: dict, file: Path) -> dict[int, str]:
    out = {}
    for number, entry in enumerate(data.get("licenses") or []):
        where = f"license #{number}"
        require(entry, ["id"], file, where)
        value = entry.get("grd_value")
        if not isinstance(value, str):
            value = entry.get("url") or entry.get("name") or ""
        out[as_int(entry["id"], file, where, "id")] = str(value)
    return out


def _groups(data: dict, file: Path) -> dict[int, Group]:
    if not isinstance(data["grd_groups"], list):
        raise error(file, "grd_groups", "must be a list")
    groups = {}
    names = set()
    for gid, entry in unique_ids(data["grd_groups"], "id", file, "group").items():
        where = f"group {gid}"
        require(entry, ["name"], file, where)
        name = as_str(entry["name"], file, where, "name").strip()
        if not name or name in names:
            raise error(file, where, f"group name {name!r} is empty or used twice")
        names.add(name)
        meta = entry.get("meta") or {}
        if not isinstance(meta, dict):
            raise error(file, where, "meta must be an object")
        groups[gid] = Group(
            gid,
            name,
            str(entry.get("target_keyword") or ""),
            str(entry.get("scene_keyword") or ""),
            meta,
        )
    return groups


def parse_instances(
    path: str | Path, data: Any, *, per_image_groups: bool = False
) -> ParsedInstances:
    """Check a COCO instances dict and index it.

    Groups come from ``grd_groups`` / ``grd_group_id``. A foreign file has none: with
    ``per_image_groups`` every image becomes a group of its own (a RefCOCO-style ref says nothing
    about other images), otherwise that is an error. Every annotation must name an existing image;
    masks are checked when an expression uses them (``ParsedInstances.rle``).
    """
    file = Path(path)
    require(data, ["images", "annotations"], file, "")
    for key in ("images", "annotations"):
        if not isinstance(data[key], list):
            raise error(file, key, "must be a list")
    has_groups = "grd_groups" in data
    if not has_groups and not per_image_groups:
        raise error(
            file,
            "",
            "no 'grd_groups': export the file with grd, or add grd_groups and "
            "grd_group_id to say which images form a group",
        )
    groups = _groups(data, file) if has_groups else {}
    licenses = _licenses(data, file)
    images: dict[int, ImageRecord] = {}
    for iid, entry in unique_ids(data["images"], "id", file, "image").items():
        where = f"image {iid}"
        require(entry, ["file_name", "width", "height"], file, where)
        height, width = image_size(entry, file, where)
        name = relative_file(entry["file_name"], file, where)
        if has_groups:
            require(entry, ["grd_group_id"], file, where)
            gid = as_int(entry["grd_group_id"], file, where, "grd_group_id")
            if gid not in groups:
                raise error(file, where, f"grd_group_id {gid} is not in grd_groups")
        else:
            gid = iid
            groups[gid] = Group(gid, f"{file.parent.name or 'import'}/{iid}")
        license_value = entry.get("license")
        if isinstance(license_value, int) and not isinstance(license_value, bool):
            license_value = licenses.get(license_value, "")
        meta = entry.get("grd_meta") or {}
        if not isinstance(meta, dict):
            raise error(file, where, "grd_meta must be an object")
        images[iid] = ImageRecord(
            id=iid,
            group_id=gid,
            file=name,
            width=width,
            height=height,
            content_hash=str(entry.get("grd_content_hash") or ""),
            source_url=str(entry.get("flickr_url") or entry.get("coco_url") or ""),
            owner=str(entry.get("grd_owner") or ""),
            license=str(license_value or ""),
            meta=meta,
        )
    annotations = unique_ids(data["annotations"], "id", file, "annotation")
    for aid, ann in annotations.items():
        where = f"annotation {aid}"
        require(ann, ["image_id", "segmentation"], file, where)
        image_id = as_int(ann["image_id"], file, where, "image_id")
        if image_id not in images:
            raise error(file, where, f"image_id {image_id} does not exist")
        check_box_fields(ann, file, where)
    categories = {}
    for cid, entry in unique_ids(data.get("categories") or [], "id", file, "category").items():
        categories[cid] = str(entry.get("name") or "")
    return ParsedInstances(file, groups, images, annotations, categories)

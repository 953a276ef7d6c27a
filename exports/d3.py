"""D³ (GRD) format, as the ``ddd-dataset`` package (``from d_cube import D3``) reads it.

Four pickles in one folder, each a dict keyed by id::

    images.pkl       {id: {id, file_name, height, width, flickr_url, anno_id: [..], group_id,
                           license}}
    annotations.pkl  {id: {id, image_id, group_id, sent_id: [..], segmentation: [RLE], area: [int],
                           bbox: ndarray 1 x 4 (x, y, w, h), iscrowd: 0}}
    sentences.pkl    {id: {id, raw_sent, raw_sent_zh, is_negative, anno_id: [..], group_id: [..]}}
    groups.pkl       {id: {id, group_name, group_name_zh, scene: [..], img_id: [..],
                           inner_sent_id: [..], pos_sent_id: [..], outer_sent_id: [..]}}

The shapes follow what ``d_cube`` code does with them (``anno["bbox"][0].tolist()``,
``anno["area"][0]``, ``mask.decode(anno["segmentation"])``): segmentation is a list holding one
RLE (bytes counts, as pycocotools writes them), area a one-item list, bbox a ``1 x 4`` array.
Image ids count from 0 and sentence ids from 1, which ``D3.bbox_num_analyze`` relies on.

In D³ a sentence of a group is decided on every image of the group: an image without an
annotation of the sentence is a negative. So only complete expressions go into ``inner_sent_id``.
With ``incomplete="mark"`` the incomplete ones are listed in the group's
``grd_incomplete_sent_id`` instead (D³ tools do not treat them as a group's sentences) and carry
``grd_complete: False``. Every sentence also carries explicit ``grd_pos_img_id`` /
``grd_neg_img_id`` lists and ``grd_confirmed_by`` (image id -> author). ``is_negative`` keeps its
D³ meaning (an *absence* description such as "dog without leash") and is False for ours.

Reading uses ``labeler.safe_pickle`` (plain data and numeric numpy arrays only).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from exports import atomic
from exports.attribution import write_attribution
from exports.instances import area_bbox
from exports.snapshot import Incomplete, Snapshot, selected_expressions
from exports.validate import (
    as_int,
    as_int_list,
    as_str,
    error,
    image_size,
    relative_file,
    require,
    segmentation_to_rle,
)
from labeler import rle, safe_pickle
from labeler.domain import (
    DecisionStatus,
    Expression,
    ExpressionDecision,
    Group,
    ImageRecord,
    Instance,
)

FILES = ("images", "annotations", "sentences", "groups")


def _d3_rle(encoded: dict) -> dict:
    norm = rle.normalize(encoded)
    return {"size": list(norm["size"]), "counts": norm["counts"].encode("ascii")}


def build_d3(snapshot: Snapshot, *, incomplete: Incomplete = "omit") -> dict[str, dict[int, dict]]:
    """The four D³ dicts (``images``, ``annotations``, ``sentences``, ``groups``)."""
    group_ids = {
        g.id: n for n, g in enumerate(sorted(snapshot.groups, key=lambda g: g.id), start=1)
    }
    image_ids = {i.id: n for n, i in enumerate(sorted(snapshot.images, key=lambda i: i.id))}
    images: dict[int, dict] = {}
    for image in sorted(snapshot.images, key=lambda i: i.id):
        iid = image_ids[image.id]
        images[iid] = {
            "id": iid,
            "file_name": image.file,
            "height": image.height,
            "width": image.width,
            "flickr_url": image.source_url,
            "anno_id": [],
            "group_id": group_ids[image.group_id],
            "license": image.license,
            "grd_owner": image.owner,
            "grd_content_hash": image.content_hash,
            "grd_meta": dict(image.meta),
        }
    groups: dict[int, dict] = {}
    for group in sorted(snapshot.groups, key=lambda g: g.id):
        gid = group_ids[group.id]
        groups[gid] = {
            "id": gid,
            "group_name": group.name,
            "group_name_zh": "",
            "scene": [group.scene_keyword] if group.scene_keyword else [],
            "img_id": [
                image_ids[i.id] for i in sorted(snapshot.images_of(group.id), key=lambda i: i.id)
            ],
            "inner_sent_id": [],
            "pos_sent_id": [],
            "outer_sent_id": [],
            "grd_incomplete_sent_id": [],
            "grd_target_keyword": group.target_keyword,
            "grd_meta": dict(group.meta),
        }
    annotations: dict[int, dict] = {}
    by_key: dict[tuple[int, str], int] = {}
    sentences: dict[int, dict] = {}
    for sid, chosen in enumerate(selected_expressions(snapshot, incomplete), start=1):
        expression = chosen.expression
        gid = group_ids[expression.group_id]
        anno_ids: list[int] = []
        positives = snapshot.positives(expression.id)
        for decision in positives:
            iid = image_ids[decision.image_id]
            for instance in decision.instances:
                encoded = rle.normalize(instance.rle)
                key = (iid, encoded["counts"])
                if key not in by_key:
                    aid = by_key[key] = len(annotations) + 1
                    area, bbox = area_bbox(instance)
                    annotations[aid] = {
                        "id": aid,
                        "image_id": iid,
                        "group_id": gid,
                        "sent_id": [],
                        "segmentation": [_d3_rle(encoded)],
                        "area": [area],
                        "bbox": np.asarray([bbox], dtype=np.float64),
                        "iscrowd": 0,
                    }
                    images[iid]["anno_id"].append(aid)
                aid = by_key[key]
                if sid not in annotations[aid]["sent_id"]:
                    annotations[aid]["sent_id"].append(sid)
                if aid not in anno_ids:
                    anno_ids.append(aid)
        decided = positives + snapshot.negatives(expression.id)
        sentences[sid] = {
            "id": sid,
            "anno_id": anno_ids,
            "group_id": [gid],
            "is_negative": False,
            "raw_sent": expression.text,
            "raw_sent_zh": "",
            "grd_complete": chosen.complete,
            "grd_created_by": expression.created_by,
            "grd_pos_img_id": [image_ids[d.image_id] for d in positives],
            "grd_neg_img_id": [image_ids[d.image_id] for d in snapshot.negatives(expression.id)],
            "grd_confirmed_by": {image_ids[d.image_id]: d.author for d in decided},
        }
        group = groups[gid]
        group["inner_sent_id" if chosen.complete else "grd_incomplete_sent_id"].append(sid)
        if chosen.complete and positives:
            group["pos_sent_id"].append(sid)
    return {"images": images, "annotations": annotations, "sentences": sentences, "groups": groups}


def write_d3(
    out_dir: str | Path, snapshot: Snapshot, *, incomplete: Incomplete = "omit"
) -> list[Path]:
    """Write the four pickles and the attribution files into ``out_dir`` (each atomically)."""
    out_dir = Path(out_dir)
    data = build_d3(snapshot, incomplete=incomplete)
    written = [atomic.write_pickle(out_dir / f"{name}.pkl", data[name]) for name in FILES]
    return written + write_attribution(out_dir, snapshot)


# -- reading ---------------------------------------------------------------------------------------


def _table(data: Any, file: Path, what: str) -> dict[int, dict]:
    if not isinstance(data, dict):
        raise error(file, "", f"expected a dict of {what}s keyed by id, got {type(data).__name__}")
    out = {}
    for key, record in data.items():
        where = f"{what} {key!r}"
        require(record, ["id"], file, where)
        rid = as_int(key, file, where, "key")
        if as_int(record["id"], file, where, "id") != rid:
            raise error(file, where, f"its id {record['id']!r} differs from its key")
        out[rid] = record
    return out


def _ids(record: dict, key: str, table: dict, file: Path, where: str, what: str) -> list[int]:
    ids = as_int_list(record.get(key, []), file, where, key)
    for rid in ids:
        if rid not in table:
            raise error(file, where, f"{key}: {what} {rid} does not exist")
    return ids


class _Reader:
    """Checks the four D³ tables against each other and turns them into a ``Snapshot``."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.files = {name: folder / f"{name}.pkl" for name in FILES}
        raw = {}
        for name, path in self.files.items():
            if not path.is_file():
                raise error(
                    path,
                    "",
                    "no such file (a D³ folder holds images.pkl, annotations.pkl, "
                    "sentences.pkl and groups.pkl)",
                )
            raw[name] = _table(safe_pickle.load(path), path, name[:-1])
        self.images, self.anns, self.sents, self.groups = (raw[n] for n in FILES)

    def read(self) -> Snapshot:
        groups = self._groups()
        images = self._images(groups)
        rles = self._annotations(images)
        expressions, decisions = self._expressions(groups, images, rles)
        return Snapshot(
            tuple(groups.values()),
            tuple(images.values()),
            tuple(expressions),
            decisions,
            name=self.folder.name,
        )

    def _groups(self) -> dict[int, Group]:
        file, out, names = self.files["groups"], {}, set()
        for gid, g in self.groups.items():
            where = f"group {gid}"
            require(g, ["group_name", "img_id", "inner_sent_id"], file, where)
            name = as_str(g["group_name"], file, where, "group_name").strip()
            if not name or name in names:
                raise error(file, where, f"group_name {name!r} is empty or used twice")
            names.add(name)
            for key in ("inner_sent_id", "outer_sent_id", "grd_incomplete_sent_id"):
                _ids(g, key, self.sents, file, where, "sentence")
            _ids(g, "img_id", self.images, file, where, "image")
            scene = g.get("scene") or []
            scene = scene if isinstance(scene, str) else " ".join(map(str, scene))
            meta = g.get("grd_meta") if isinstance(g.get("grd_meta"), dict) else {}
            out[gid] = Group(gid, name, str(g.get("grd_target_keyword") or ""), scene, meta)
        return out

    def _images(self, groups: dict[int, Group]) -> dict[int, ImageRecord]:
        file, out = self.files["images"], {}
        for iid, im in self.images.items():
            where = f"image {iid}"
            require(im, ["file_name", "height", "width", "group_id"], file, where)
            height, width = image_size(im, file, where)
            gid = as_int(im["group_id"], file, where, "group_id")
            if gid not in groups:
                raise error(file, where, f"group_id {gid} does not exist in groups.pkl")
            if iid not in self.groups[gid]["img_id"]:
                raise error(file, where, f"group {gid} does not list this image in its img_id")
            _ids(im, "anno_id", self.anns, file, where, "annotation")
            meta = im.get("grd_meta") if isinstance(im.get("grd_meta"), dict) else {}
            out[iid] = ImageRecord(
                id=iid,
                group_id=gid,
                file=relative_file(im["file_name"], file, where),
                width=width,
                height=height,
                content_hash=str(im.get("grd_content_hash") or ""),
                source_url=str(im.get("flickr_url") or ""),
                owner=str(im.get("grd_owner") or ""),
                license=str(im.get("license") or ""),
                meta=meta,
            )
        return out

    def _annotations(self, images: dict[int, ImageRecord]) -> dict[int, dict]:
        file, out = self.files["annotations"], {}
        for aid, ann in self.anns.items():
            where = f"annotation {aid}"
            require(ann, ["image_id", "sent_id", "segmentation"], file, where)
            iid = as_int(ann["image_id"], file, where, "image_id")
            if iid not in images:
                raise error(file, where, f"image_id {iid} does not exist in images.pkl")
            image = images[iid]
            sent_ids = _ids(ann, "sent_id", self.sents, file, where, "sentence")
            rle = segmentation_to_rle(ann["segmentation"], image.height, image.width, file, where)
            out[aid] = {"image_id": iid, "sent_id": sent_ids, "rle": rle}
        return out

    def _expressions(self, groups, images, anns):
        file = self.files["sentences"]
        expressions, decisions = [], {}
        for gid, g in self.groups.items():
            group_images = [iid for iid in g["img_id"]]
            members = [(sid, True) for sid in g["inner_sent_id"]]
            members += [(sid, True) for sid in g.get("outer_sent_id", [])]
            members += [(sid, False) for sid in g.get("grd_incomplete_sent_id", [])]
            texts = set()
            for sid, listed_complete in members:
                where = f"sentence {sid}"
                sent = require(self.sents[sid], ["raw_sent"], file, where)
                text = " ".join(as_str(sent["raw_sent"], file, where, "raw_sent").split())
                if not text or text in texts:
                    raise error(
                        file, where, f"empty, or the text {text!r} occurs twice in group {gid}"
                    )
                texts.add(text)
                eid = len(expressions) + 1
                pairs = self._pairs(sid, sent, gid, group_images, anns, eid, listed_complete)
                expressions.append(
                    Expression(eid, gid, text, str(sent.get("grd_created_by") or ""))
                )
                decisions[eid] = pairs
        return expressions, decisions

    def _pairs(self, sid, sent, gid, group_images, anns, eid, listed_complete):
        file, where = self.files["sentences"], f"sentence {sid}"
        order = _ids(sent, "anno_id", self.anns, file, where, "annotation")
        mine = [a for a in order if a in anns and anns[a]["image_id"] in set(group_images)]
        referring = {
            a
            for a, ann in anns.items()
            if sid in ann["sent_id"] and ann["image_id"] in set(group_images)
        }
        if set(mine) != referring:
            bad = min(set(mine) ^ referring)
            raise error(file, where, f"its anno_id and annotation {bad}'s sent_id disagree")
        instances: dict[int, list[Instance]] = {}
        for aid in mine:
            instances.setdefault(anns[aid]["image_id"], []).append(Instance(anns[aid]["rle"]))
        if "grd_pos_img_id" in sent:  # written by grd: explicit lists
            positives = _ids(sent, "grd_pos_img_id", self.images, file, where, "image")
            negatives = _ids(sent, "grd_neg_img_id", self.images, file, where, "image")
            if set(positives) != set(instances):
                raise error(
                    file, where, "grd_pos_img_id differs from the images of its annotations"
                )
            if set(negatives) & set(positives) or not set(negatives) <= set(group_images):
                raise error(
                    file, where, "grd_neg_img_id overlaps the positives or leaves the group"
                )
            if listed_complete and set(positives) | set(negatives) != set(group_images):
                raise error(
                    file,
                    where,
                    "listed as a complete sentence of the group, but not every "
                    "image of the group is decided",
                )
        else:  # plain D³: a group's sentence is decided on every image of the group
            positives = sorted(instances)
            negatives = [iid for iid in group_images if iid not in instances]
        authors = (
            sent.get("grd_confirmed_by") if isinstance(sent.get("grd_confirmed_by"), dict) else {}
        )
        pairs = {
            iid: ExpressionDecision(
                eid,
                iid,
                DecisionStatus.POSITIVE,
                tuple(instances[iid]),
                author=str(authors.get(iid, "")),
            )
            for iid in positives
        }
        pairs.update(
            {
                iid: ExpressionDecision(
                    eid, iid, DecisionStatus.NEGATIVE, author=str(authors.get(iid, ""))
                )
                for iid in negatives
            }
        )
        return pairs


def read_d3(folder: str | Path) -> Snapshot:
    """Read a D³ annotation folder (ours or the original dataset's) into a ``Snapshot``.

    Raises ``ImportFormatError`` / ``UnsafePickle`` naming the file, the record and the problem.
    """
    return _Reader(Path(folder)).read()

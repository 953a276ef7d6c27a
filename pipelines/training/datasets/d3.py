"""D³ / GRD annotation files (the format of the ``ddd-dataset`` package, ``d_cube``) -> ``GresGroup``.

``ANNO_DIR`` holds four pickles, each a dict ``id -> record``:

    images.pkl       {id, file_name (relative to IMG_DIR), height, width, anno_id: [..]}
    annotations.pkl  {id, image_id, group_id, sent_id: [..], segmentation: [RLE, ...], bbox}
    sentences.pkl    {id, raw_sent, anno_id: [..], is_negative}
    groups.pkl       {id, group_name, img_id: [..], inner_sent_id: [..]}

For every sentence of a group (``inner_sent_id``), the images of the group with an annotation for it
are positives (one instance per annotation, its parts merged) and the rest of the group are
negatives, as the format's complete annotation certifies. Files are read with the restricted
unpickler: a pickle that names anything but plain data is refused.
"""

from __future__ import annotations

from pathlib import Path

from labeler import rle, safe_pickle
from labeler.errors import ImportFormatError
from pipelines.training.datasets.base import GresGroup, GresItem, file_loader

FILES = ("images", "annotations", "sentences", "groups")


def load_d3_tables(anno_dir: str | Path) -> dict[str, dict]:
    anno_dir = Path(anno_dir)
    tables = {}
    for name in FILES:
        path = anno_dir / f"{name}.pkl"
        if not path.exists():
            raise ImportFormatError(
                f"{path}: missing; a D³ annotation folder has {', '.join(FILES)} .pkl"
            )
        table = safe_pickle.load(path)
        if not isinstance(table, dict):
            raise ImportFormatError(
                f"{path}: expected a dict of id -> record, got {type(table).__name__}"
            )
        tables[name] = table
    return tables


def _instance(anno: dict, height: int, width: int) -> dict:
    parts = anno["segmentation"]
    parts = parts if isinstance(parts, (list, tuple)) else [parts]
    return rle.union([rle.normalize(p) for p in parts], height, width)


def d3_groups(
    img_dir: str | Path, anno_dir: str | Path, include_negative_sentences: bool = False
) -> list[GresGroup]:
    """Every (group, sentence) of a D³ release. ``is_negative`` ("absence") sentences are skipped
    unless asked for, as the d_cube toolkit does by default."""
    t = load_d3_tables(anno_dir)
    img_dir = Path(img_dir)
    out = []
    for group in t["groups"].values():
        for sent_id in group["inner_sent_id"]:
            sentence = t["sentences"][sent_id]
            if sentence.get("is_negative") and not include_negative_sentences:
                continue
            items = []
            for img_id in group["img_id"]:
                image = t["images"][img_id]
                h, w = int(image["height"]), int(image["width"])
                annos = [t["annotations"][a] for a in image["anno_id"]]
                instances = tuple(_instance(a, h, w) for a in annos if sent_id in a["sent_id"])
                items.append(
                    GresItem(
                        f"d3/{img_id}", file_loader(img_dir / image["file_name"]), h, w, instances
                    )
                )
            out.append(GresGroup(str(group["group_name"]), str(sentence["raw_sent"]), tuple(items)))
    return out

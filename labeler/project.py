"""A project folder: settings (``project.json``), the database, and the normalised images.

DIR/project.json      name, database URL (default: the SQLite file below), SAM checkpoint, ...
DIR/project.db        SQLite database (WAL) unless ``database_url`` points elsewhere
DIR/images/ab/<sha>.png|jpg   normalised images, content-addressed
DIR/cache/            embeddings and other derived data, safe to delete
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from labeler.errors import ProjectError
from labeler.store import Store

SETTINGS_FILE = "project.json"


@dataclass
class ProjectSettings:
    name: str = "GRES project"
    #: SQLAlchemy URL; empty means the SQLite file ``project.db`` inside the project folder.
    database_url: str = ""
    #: The click model: ``auto`` (MobileSAM, bundled; the weight-free fallback without it),
    #: ``mobile_sam``, ``sam_vit_b`` / ``_l`` / ``_h`` (see `grd weights`), ``classic`` (the
    #: fallback), or a checkpoint path (``pipelines.click_models.segmenters``).
    segmenter: str = "auto"
    #: Older setting: a SAM checkpoint path or name, used while ``segmenter`` is ``auto``.
    sam_checkpoint: str = ""
    #: The SAM variant of a checkpoint given as a path.
    sam_model_type: str = "vit_b"
    #: Images with more pixels than this are refused at ingest (decompression bombs).
    max_image_pixels: int = 80_000_000
    #: GRSer checkpoint to pre-label with while the model registry has no current model (path as
    #: given, else relative to the project folder); registered as round 0 when first used.
    grser_checkpoint: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ProjectSettings:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        extra = dict(known.get("extra") or {})
        if "grser_checkpoint" in extra:  # where project.json kept it before it was a setting
            legacy = str(extra.pop("grser_checkpoint") or "")
            known["grser_checkpoint"] = known.get("grser_checkpoint") or legacy
            known["extra"] = extra
        return cls(**known)


class Project:
    """An opened project: ``.store`` for the data, paths for files."""

    def __init__(self, root: Path, settings: ProjectSettings, store: Store):
        self.root = root
        self.settings = settings
        self.store = store

    @staticmethod
    def database_url_for(root: Path, settings: ProjectSettings) -> str:
        # An environment override lets a team point every tool at one shared PostgreSQL.
        url = os.environ.get("GRD_DATABASE_URL") or settings.database_url
        return url or f"sqlite:///{(root / 'project.db').resolve()}"

    @classmethod
    def init(cls, root: str | Path, name: str | None = None, database_url: str = "") -> Project:
        root = Path(root)
        root.mkdir(parents=True, exist_ok=True)
        path = root / SETTINGS_FILE
        if path.exists():
            return cls.open(root)
        settings = ProjectSettings(name=name or root.resolve().name, database_url=database_url)
        (root / "images").mkdir(exist_ok=True)
        store = Store(cls.database_url_for(root, settings))
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(settings), indent=2))
        tmp.replace(path)
        return cls(root, settings, store)

    @classmethod
    def open(cls, root: str | Path) -> Project:
        root = Path(root)
        path = root / SETTINGS_FILE
        if not path.exists():
            raise ProjectError(
                f"{root} is not a project folder (no {SETTINGS_FILE}); run `grd init {root}`"
            )
        try:
            settings = ProjectSettings.from_dict(json.loads(path.read_text()))
        except (json.JSONDecodeError, TypeError) as exc:
            raise ProjectError(f"{path} is not valid project settings: {exc}") from exc
        return cls(root, settings, Store(cls.database_url_for(root, settings)))

    def save_settings(self) -> None:
        path = self.root / SETTINGS_FILE
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(self.settings), indent=2))
        tmp.replace(path)

    def image_path(self, image) -> Path:
        """Absolute path of an ``ImageRecord``'s normalised file."""
        return self.root / image.file

    @property
    def cache_dir(self) -> Path:
        path = self.root / "cache"
        path.mkdir(exist_ok=True)
        return path

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> Project:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

"""Image embeddings, computed once: a bounded in-memory LRU in front of a compact disk cache.

Key: ``(model_id, content_hash)``; the image's content hash (not its path or id), so the same photo
in two groups is embedded once, and a new checkpoint (a new ``model_id``) never gets stale
features. Disk layout: ``<cache_dir>/embeddings/<model_id>/<hash[:2]>/<hash>.npz`` with float
arrays stored as float16 (SAM ViT-B: 2 MiB per image). Floats are rounded to float16 on the way in
too, so an embedding gives the same masks whether it came from memory, disk or a fresh computation.

The segmenter stays stateless; per-image state lives here. Concurrent requests for the same key
compute it once (a per-key lock), which matters when two annotators open the same image.

    cache = EmbeddingCache(cache_dir / "embeddings")
    emb = cache.get_or_compute(segmenter, image_or_loader, content_hash)
    cached_embedding(segmenter, image, content_hash, project.cache_dir)  # process-wide shared cache
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
import zipfile
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

Embedding = dict[str, np.ndarray]
ImageSource = np.ndarray | Callable[[], np.ndarray]

_SAFE = re.compile(r"[^A-Za-z0-9._-]+")
_HASH = re.compile(r"^[A-Za-z0-9_-]{8,128}$")


def image_hash(image: np.ndarray) -> str:
    """Content hash of a decoded image (shape and pixels), for callers without a file hash."""
    image = np.ascontiguousarray(image)
    h = hashlib.sha256(repr((image.shape, str(image.dtype))).encode())
    h.update(image.data)
    return h.hexdigest()


def _compact(embedding: Embedding) -> Embedding:
    """Floats rounded through float16 (back to float32); other arrays as they are."""
    out = {}
    for key, value in embedding.items():
        value = np.asarray(value)
        if np.issubdtype(value.dtype, np.floating):
            value = value.astype(np.float16).astype(np.float32)
        out[key] = value
    return out


def _nbytes(embedding: Embedding) -> int:
    return sum(np.asarray(v).nbytes for v in embedding.values())


@dataclass
class CacheStats:
    memory_hits: int = 0
    disk_hits: int = 0
    computed: int = 0


class EmbeddingCache:
    """Memory LRU (bounded by bytes) over an optional disk directory.

    Args:
        disk_dir: where ``.npz`` files go; None keeps embeddings in memory only.
        max_memory_bytes: LRU budget (default 256 MiB: ~64 SAM ViT-B embeddings at float32).
    """

    def __init__(self, disk_dir: Path | str | None, max_memory_bytes: int = 256 << 20):
        self.disk_dir = Path(disk_dir) if disk_dir is not None else None
        self.max_memory_bytes = max_memory_bytes
        self.stats = CacheStats()
        self._memory: OrderedDict[tuple[str, str], Embedding] = OrderedDict()
        self._memory_bytes = 0
        self._lock = threading.Lock()
        self._key_locks: dict[tuple[str, str], threading.Lock] = {}

    # ---- lookups ------------------------------------------------------------------------------
    def path(self, model_id: str, content_hash: str) -> Path:
        if self.disk_dir is None:
            raise ValueError("this cache has no disk directory")
        if not _HASH.match(content_hash):
            raise ValueError(f"{content_hash!r} is not a content hash")
        return self.disk_dir / _SAFE.sub("_", model_id) / content_hash[:2] / f"{content_hash}.npz"

    def get(self, model_id: str, content_hash: str) -> Embedding | None:
        """The cached embedding (memory first, then disk), or None."""
        key = (model_id, content_hash)
        with self._lock:
            if key in self._memory:
                self._memory.move_to_end(key)
                self.stats.memory_hits += 1
                return self._memory[key]
        embedding = self._load(model_id, content_hash)
        if embedding is not None:
            self.stats.disk_hits += 1
            self._remember(key, embedding)
        return embedding

    def __contains__(self, key: tuple[str, str]) -> bool:
        model_id, content_hash = key
        if key in self._memory:
            return True
        return self.disk_dir is not None and self.path(model_id, content_hash).is_file()

    def put(self, model_id: str, content_hash: str, embedding: Embedding) -> Embedding:
        """Store an embedding; returns the compacted copy that is now cached."""
        embedding = _compact(embedding)
        if self.disk_dir is not None:
            self._save(self.path(model_id, content_hash), embedding)
        self._remember((model_id, content_hash), embedding)
        return embedding

    def get_or_compute(self, segmenter, image: ImageSource, content_hash: str) -> Embedding:
        """The embedding of ``image`` under ``segmenter.model_id``, computed at most once.

        ``image`` may be the ``H x W x 3`` array or a zero-argument loader, called only on a miss.
        """
        key = (segmenter.model_id, content_hash)
        found = self.get(*key)
        if found is not None:
            return found
        with self._lock:
            key_lock = self._key_locks.setdefault(key, threading.Lock())
        with key_lock:  # a second caller for the same image waits here, then finds it cached
            found = self.get(*key)
            if found is not None:
                return found
            pixels = image() if callable(image) else image
            embedding = self.put(*key, segmenter.embed(pixels))
            self.stats.computed += 1
        with self._lock:
            self._key_locks.pop(key, None)
        return embedding

    # ---- internals ----------------------------------------------------------------------------
    def _remember(self, key: tuple[str, str], embedding: Embedding) -> None:
        size = _nbytes(embedding)
        if size > self.max_memory_bytes:
            return  # too big to keep: disk only
        with self._lock:
            if key in self._memory:
                self._memory_bytes -= _nbytes(self._memory.pop(key))
            self._memory[key] = embedding
            self._memory_bytes += size
            while self._memory_bytes > self.max_memory_bytes:
                _, old = self._memory.popitem(last=False)
                self._memory_bytes -= _nbytes(old)

    @staticmethod
    def _save(path: Path, embedding: Embedding) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        stored = {
            k: (v.astype(np.float16) if np.issubdtype(v.dtype, np.floating) else v)
            for k, v in embedding.items()
        }
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        with open(tmp, "wb") as f:
            np.savez(f, **stored)
        os.replace(tmp, path)  # atomic: readers see the old file or the whole new one

    def _load(self, model_id: str, content_hash: str) -> Embedding | None:
        if self.disk_dir is None:
            return None
        path = self.path(model_id, content_hash)
        if not path.is_file():
            return None
        try:
            with np.load(path, allow_pickle=False) as data:
                return {
                    k: (
                        data[k].astype(np.float32)
                        if np.issubdtype(data[k].dtype, np.floating)
                        else data[k]
                    )
                    for k in data.files
                }
        except (OSError, ValueError, zipfile.BadZipFile, EOFError):
            return None  # a damaged file is a miss; the recomputed embedding overwrites it

    @property
    def memory_bytes(self) -> int:
        return self._memory_bytes

    def __len__(self) -> int:
        return len(self._memory)


@lru_cache(maxsize=8)
def shared_cache(disk_dir: str) -> EmbeddingCache:
    """One process-wide cache per directory (what the UI and the jobs share)."""
    return EmbeddingCache(Path(disk_dir))


def cached_embedding(
    segmenter, image: ImageSource, content_hash: str, cache_dir: Path | str
) -> Embedding:
    """The embedding of an image from the shared cache under ``<cache_dir>/embeddings``."""
    return shared_cache(str(Path(cache_dir) / "embeddings")).get_or_compute(
        segmenter, image, content_hash
    )

"""Every process-wide resource of the UI, each behind ``st.cache_resource`` (loaded once, shared).

Shared across sessions, so everything here is thread-safe or immutable: the store (one short
transaction per call), the job runner, the segmenter (holds no per-image state), decoded images
and encoded renderings (read-only arrays, immutable bytes). Per-annotator state lives in
:mod:`ui.state`, never here. DB query results are *not* cached: another annotator's save must
show on the next rerun.

The project folder: ``streamlit run streamlit_app.py -- --project DIR``, else ``$GRD_PROJECT``,
else ``./demo_project``.
"""

from __future__ import annotations

import argparse
import functools
import os
import sys
import threading
from collections import OrderedDict
from pathlib import Path

import numpy as np
import streamlit as st

from labeler import render, rle, tiles
from labeler.geometry import Transform, display_size
from labeler.images import load_rgb
from labeler.project import Project
from labeler.segmenter import Embedding, Segmenter
from pipelines.click_models.segmenters import (
    ClickModel,
    build_segmenter,
    project_setting,
    resolve_click_model,
)
from pipelines.services.jobs import BACKGROUND_NICE, JobRunner

PROJECT_ENV = "GRD_PROJECT"
DEFAULT_PROJECT = "demo_project"
TILE = (240, 320)  # (H, W) of every grid tile: one shape, so the grid rows line up
#: The sweep's tile sizes: (H, W) of a tile and how many tiles make a row.
TILE_SIZES = {"small": ((150, 200), 7), "medium": (TILE, 5), "large": ((360, 480), 3)}
PREVIEW = (600, 800)  # (H, W) box of the sweep's large preview (fits a laptop screen whole)


def project_dir(argv: list[str] | None = None) -> Path:
    """The project folder this app serves (see module docstring)."""
    if argv is None:
        return _project_dir(tuple(sys.argv[1:]), os.environ.get(PROJECT_ENV, ""))
    return _project_dir(tuple(argv), os.environ.get(PROJECT_ENV, ""))


@functools.lru_cache(maxsize=8)
def _project_dir(argv: tuple[str, ...], env: str) -> Path:
    # Cached: every tile and click asks, and parsing argv each time showed up in profiles.
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--project")
    args, _ = parser.parse_known_args(list(argv))
    return Path(args.project or env or DEFAULT_PROJECT).resolve()


@st.cache_resource(show_spinner=False)
def _open_project(path: str) -> Project:
    return Project.open(path)


def project() -> Project:
    """The open project (raises ``ProjectError`` when the folder is not a project)."""
    return _open_project(str(project_dir()))


def forget_project() -> None:
    """Drop the open project (and the folder lookup): the next call opens it again."""
    _open_project.clear()
    _project_dir.cache_clear()


@st.cache_resource(show_spinner=False)
def _job_runner(path: str) -> JobRunner:
    from pipelines.services.queue import project_queue

    store = project().store
    return JobRunner(store, workers=1, queue=project_queue(project()), nice=BACKGROUND_NICE)


def job_runner() -> JobRunner:
    """The project's jobs: on the Redis queue when one is configured, else on a thread here."""
    return _job_runner(str(project_dir()))


# ---- segmenter and embeddings -------------------------------------------------------------------
#: Torch threads in the app process once SAM is loaded. One: what is left of a click in PyTorch (the
#: mask upscaling; the decoder itself runs in ONNX Runtime, which has its own two threads that do
#: not spin, as does MobileSAM's image encoder) is small, and on a 2-core machine shared by the browser, Streamlit and other sessions
#: two OpenMP threads per pass were 5x slower (~1 s against ~190 ms per click, measured under load).
#: ``GRD_UI_TORCH_THREADS`` overrides.
UI_TORCH_THREADS = 1


@st.cache_resource(show_spinner=False)
def _click_model(setting: str, model_type: str) -> ClickModel:
    # Cached: resolving MobileSAM hashes its 40 MB checkpoint (once per process, not per rerun).
    return resolve_click_model(setting, sam_model_type=model_type)


def click_model() -> ClickModel:
    """The click model in force (``grd ui --segmenter`` > ``$GRD_SEGMENTER`` > project setting).

    Raises ``WeightsError`` / ``FileNotFoundError`` with the fix when it cannot be had.
    """
    settings = project().settings
    return _click_model(project_setting(project()), settings.sam_model_type)


@st.cache_resource(show_spinner="Loading the click model ...")
def _segmenter(setting: str, model_type: str, mtime: float) -> Segmenter:
    segmenter = build_segmenter(_click_model(setting, model_type))
    if "torch" in sys.modules:  # only SAM brings torch in; the fallback never does
        sys.modules["torch"].set_num_threads(
            int(os.environ.get("GRD_UI_TORCH_THREADS", UI_TORCH_THREADS))
        )
    return segmenter


def segmenter() -> Segmenter:
    """The segmenter of :func:`click_model`, loaded once per process and shared.

    Keyed by the checkpoint's mtime, so replacing the file loads the new weights once.
    """
    model, settings = click_model(), project().settings
    mtime = model.checkpoint.stat().st_mtime if model.checkpoint else 0.0
    return _segmenter(project_setting(project()), settings.sam_model_type, mtime)


def embedding(image) -> Embedding:
    """The segmenter's embedding of an ``ImageRecord``: memory, then disk, else computed once
    (``pipelines.click_models.embedding_cache``, shared with the background jobs that precompute it)."""
    from pipelines.click_models.embedding_cache import cached_embedding, shared_cache

    seg, cache_dir = segmenter(), project().cache_dir
    path = project().image_path(image)
    if (seg.model_id, image.content_hash) in shared_cache(str(cache_dir / "embeddings")):
        return cached_embedding(seg, lambda: load_rgb(path), image.content_hash, cache_dir)
    with st.spinner("Computing the image embedding (once per image) ..."):
        return cached_embedding(seg, lambda: load_rgb(path), image.content_hash, cache_dir)


# ---- decoded images and renderings --------------------------------------------------------------
@st.cache_resource(show_spinner=False, max_entries=4)
def original_rgb(path: str) -> np.ndarray:
    rgb = load_rgb(path)
    rgb.flags.writeable = False
    return rgb


@st.cache_resource(show_spinner=False, max_entries=1024)
def _thumb_rgb(path: str, height: int, width: int) -> np.ndarray:
    rgb = load_rgb(path)
    small = Transform.resize(rgb.shape[:2], display_size(rgb.shape[:2], width, height)).raster(rgb)
    small.flags.writeable = False
    return small


def _with_masks(small: np.ndarray, rles) -> np.ndarray:
    if not rles:
        return small
    to_thumb = Transform.resize(tuple(rles[0]["size"]), small.shape[:2])
    return render.overlay(small, [to_thumb.mask(rle.decode(r)) for r in rles])


class _Renderings:
    """A thread-safe LRU of encoded pictures, keyed by what they show (one per process).

    A plain dict behind one ``st.cache_resource``: a grid run looks up ~100 tiles, and going
    through ``st.cache_resource`` for each (argument hashing) cost more than drawing them.
    """

    def __init__(self, max_items: int):
        self._items: OrderedDict[tuple, bytes] = OrderedDict()
        self._lock = threading.Lock()
        self._max = max_items

    def get(self, key: tuple, make) -> bytes:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        value = make()
        with self._lock:
            self._items[key] = value
            while len(self._items) > self._max:
                self._items.popitem(last=False)
        return value


@st.cache_resource(show_spinner=False)
def renderings() -> _Renderings:
    return _Renderings(max_items=4096)


@st.cache_resource(show_spinner=False, max_entries=1024)
def _fitted_rgb(path: str, height: int, width: int) -> np.ndarray:
    """The image scaled to fill ``(height, width)``, up (nearest-neighbour) or down."""
    fitted = tiles.fit_rgb(load_rgb(path), (height, width))
    fitted.flags.writeable = False
    return fitted


def tile_jpeg(
    path: str,
    decision,
    cache: _Renderings | None = None,
    size: tuple[int, int] = TILE,
    viewer: str | None = None,
) -> bytes:
    """A grid tile of the image file at ``path``: the image scaled to fill the tile (small images
    up, with crisp pixels) with the decision's masks, letterboxed to ``size``; keyed by the
    decision's revision (a new save draws a new tile, nothing else) and by ``viewer``, whose view
    of the pair ``decision`` is: a blind second annotator's tile is never another user's."""

    def draw() -> bytes:
        small = _fitted_rgb(path, *size)
        masks = [tiles.fit_mask(rle.decode(i.rle), small.shape[:2]) for i in decision.instances]
        shown = render.overlay(small, masks) if masks else small
        return render.jpeg(render.letterbox(shown, size), quality=80)

    key = ("tile", path, size, *_view_key(decision, viewer))
    return (cache or renderings()).get(key, draw)


def _view_key(decision, viewer: str | None) -> tuple:
    """What a rendering of ``viewer``'s view of a pair is keyed by. A blind view's revision is the
    second opinion's, so the time of what it shows (a proposal's, an opinion's) is in it too."""
    return (decision.expression_id, decision.revision, decision.updated_at, viewer)


def large_preview_jpeg(
    path: str, decision, box: tuple[int, int] = PREVIEW, viewer: str | None = None
) -> bytes:
    """The sweep's large preview: the image as large as ``box`` allows, each mask of the decision
    (the proposal's, or the person's) outlined, nothing filled; keyed like :func:`tile_jpeg`."""

    def draw() -> bytes:
        big = _fitted_rgb(path, *box)
        masks = [tiles.fit_mask(rle.decode(i.rle), big.shape[:2]) for i in decision.instances]
        return render.jpeg(tiles.outlined(big, masks), quality=90)

    key = ("preview", path, box, *_view_key(decision, viewer))
    return renderings().get(key, draw)


def preview_jpeg(image, rles, size: tuple[int, int] = (360, 480)) -> bytes:
    """A picture of any set of masks (conflict views); not cached."""
    return render.jpeg(_with_masks(_thumb_rgb(str(project().image_path(image)), *size), list(rles)))


@st.cache_resource(show_spinner=False, max_entries=16)
def canvas_picture(path: str, size: tuple[int, int]) -> tuple[bytes, str]:
    """The editor's background and its MIME type: a photo shrunk to canvas size as JPEG; an image
    the canvas enlarges, as its own pixels in PNG (the browser scales it nearest-neighbour, so
    the pixels stay square and sharp)."""
    rgb = original_rgb(path)
    if size[0] >= rgb.shape[0] and size[1] >= rgb.shape[1]:
        return render.png(rgb), "image/png"
    return render.jpeg(Transform.resize(rgb.shape[:2], size).raster(rgb), quality=88), "image/jpeg"

"""Embeddings computed ahead of the annotator, in the order they will be needed.

The image encoder is the slow part of a click (MobileSAM ~1 s per photo on 2 cores, SAM ViT-B
~15 s); the decoder is tens of milliseconds. So when a group is opened its embeddings are
computed in the background in the order the annotator walks it (the sweep's: best proposals first),
starting from the image on screen, and ``grd embed`` does the same from the CLI. Both go through the
process-wide cache of :mod:`pipelines.click_models.embedding_cache`, whose per-key lock means the
editor asking for an image the job is computing waits for that one computation, never a second.

    sweep_order(store, group_id) -> [ImageRecord, ...]
    embed_images(project, segmenter, images, progress=None) -> (computed, already cached)
    embed_images_job(progress, project, segmenter, images) -> summary   # a JobRunner job

In the app the job also steps aside while the annotator clicks (:data:`CLICKS`): between two
images it waits until no click came for a moment, so a click never shares the cores with an
embedding that could wait a second.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence

from labeler import annotate
from labeler.domain import ImageRecord
from labeler.images import load_rgb
from labeler.progress_types import Progress
from labeler.project import Project
from labeler.segmenter import Segmenter
from labeler.store import Store
from pipelines.click_models.embedding_cache import cached_embedding, shared_cache


class ClickClock:
    """When this process last served an interactive click; background work waits for a lull.

    ``quiet_s``: how long after the last click counts as a lull; ``max_wait_s``: the longest a
    waiter is held (an annotator clicking without pause still gets the next image embedded).
    """

    def __init__(self, quiet_s: float = 1.0, max_wait_s: float = 30.0):
        self.quiet_s, self.max_wait_s = quiet_s, max_wait_s
        self._last = float("-inf")
        self._lock = threading.Lock()

    def touch(self) -> None:
        """A click is being served now."""
        with self._lock:
            self._last = time.monotonic()

    def wait_for_lull(self) -> float:
        """Block until ``quiet_s`` passed without a click (at most ``max_wait_s``); seconds waited."""
        start = time.monotonic()
        while True:
            with self._lock:
                left = self._last + self.quiet_s - time.monotonic()
            waited = time.monotonic() - start
            if left <= 0 or waited >= self.max_wait_s:
                return waited
            time.sleep(min(left, self.max_wait_s - waited))


#: The app's clock: the editor touches it on every canvas event; its background embeddings wait.
CLICKS = ClickClock()


def sweep_order(store: Store, group_id: int) -> list[ImageRecord]:
    """The group's images in the order the sweep and the editor open them: the first
    expression's grid order (model score, highest first); by id without an expression."""
    images = {im.id: im for im in store.list_images(group_id)}
    expressions = store.list_expressions(group_id)
    if not expressions or not images:
        return list(images.values())
    decisions = store.decisions_for_expression(expressions[0].id, list(images))
    return [images[i] for i in annotate.grid_order(decisions, "score")]


def starting_at(images: Sequence[ImageRecord], image_id: int | None) -> list[ImageRecord]:
    """``images`` rotated to start at the one with ``image_id`` (what is needed next first)."""
    ids = [im.id for im in images]
    k = ids.index(image_id) if image_id in ids else 0
    return list(images[k:]) + list(images[:k])


def missing(
    project: Project, segmenter: Segmenter, images: Sequence[ImageRecord]
) -> list[ImageRecord]:
    """The images (in order) whose embedding under this segmenter is not cached yet."""
    cache = shared_cache(str(project.cache_dir / "embeddings"))
    return [im for im in images if (segmenter.model_id, im.content_hash) not in cache]


def embed_images(
    project: Project,
    segmenter: Segmenter,
    images: Sequence[ImageRecord],
    progress: Progress | None = None,
    clicks: ClickClock | None = None,
) -> tuple[int, int]:
    """Embed ``images`` in order into the project's cache; ``(computed, already cached)``.

    ``progress(fraction, message)`` is called before each image (a job's cancel point);
    ``clicks``: wait for a lull in its clicks before each image (the app's :data:`CLICKS`).
    """
    todo = missing(project, segmenter, images)
    for k, image in enumerate(todo):
        if progress is not None:
            progress(k / max(len(todo), 1), f"embedding image {k + 1} of {len(todo)}")
        if clicks is not None:
            clicks.wait_for_lull()
        path = project.image_path(image)
        cached_embedding(
            segmenter, lambda path=path: load_rgb(path), image.content_hash, project.cache_dir
        )
    return len(todo), len(images) - len(todo)


def embed_images_job(
    progress: Progress | None,
    project: Project,
    segmenter: Segmenter,
    images: Sequence[ImageRecord],
    clicks: ClickClock | None = None,
) -> str:
    """:func:`embed_images` as a :class:`~pipelines.services.jobs.JobRunner` job."""
    computed, cached = embed_images(project, segmenter, images, progress, clicks)
    return f"{computed + cached} embeddings ready ({computed} computed, {segmenter.model_id})"

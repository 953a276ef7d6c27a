"""Pick the click segmenter: SAM when a checkpoint is configured, the weight-free fallback otherwise.

    load_segmenter(sam_checkpoint=None | path | registered name, model_type="vit_b") -> Segmenter

``sam_checkpoint`` may be a file path or the name of a checkpoint registered with
``grd weights add`` / ``grd weights download`` (``sam_vit_b``, ...). A configured checkpoint that
cannot be found is an error, not a silent fallback: the user asked for SAM.
"""

from __future__ import annotations

from pathlib import Path

from labeler.classic_segmenter import ClassicSegmenter
from labeler.progress_types import Progress
from labeler.project import Project
from labeler.segmenter import Segmenter
from pipelines.click_models.weights import WeightsRegistry


def load_segmenter(
    sam_checkpoint: str | Path | None = None,
    model_type: str = "vit_b",
    device: str | None = None,
    cache_dir: str | Path | None = None,
    weights_dir: str | Path | None = None,
) -> Segmenter:
    """The segmenter the project asks for.

    Args:
        sam_checkpoint: None / "" for the classic fallback; else a path or a registered name.
        model_type: SAM variant of the checkpoint (``vit_b``, ``vit_l``, ``vit_h``).
        device: torch device for SAM (default: CUDA when available).
        cache_dir: accepted for callers that pass the project's cache folder; embeddings are
            cached by :mod:`pipelines.click_models.embedding_cache`, not by the segmenter, so it is unused.
        weights_dir: registry folder for names (default ``$GRD_WEIGHTS_DIR`` or ``~/.cache/grd/weights``).
    """
    del cache_dir  # the segmenter is stateless; see pipelines.click_models.embedding_cache
    if not sam_checkpoint:
        return ClassicSegmenter()
    path = WeightsRegistry(weights_dir).resolve(str(sam_checkpoint))
    from model.sam_segmenter import build_sam_segmenter  # torch only when SAM is asked for

    return build_sam_segmenter(model_type, checkpoint=path, device=device)


def project_segmenter(project: Project, device: str | None = None) -> Segmenter:
    """The segmenter a project's settings ask for (``sam_checkpoint``, ``sam_model_type``): what
    the editor clicks with, what pre-labeling refines with and what the embedding job caches."""
    settings = project.settings
    return load_segmenter(
        settings.sam_checkpoint or None, model_type=settings.sam_model_type, device=device
    )


def embed_project_images(
    project: Project, group_id: int | None = None, progress: Progress | None = None
) -> str:
    """The project segmenter's embedding of every image (of one group, or all), cached on disk,
    so the editor's first click on each is fast. Returns a one-line summary."""
    from labeler.images import load_rgb
    from pipelines.click_models.embedding_cache import cached_embedding

    segmenter = project_segmenter(project)
    images = project.store.list_images(group_id)
    for k, image in enumerate(images):
        if progress is not None:
            progress(k / max(len(images), 1), f"embedding image {k + 1} of {len(images)}")
        path = project.image_path(image)
        cached_embedding(
            segmenter, lambda path=path: load_rgb(path), image.content_hash, project.cache_dir
        )
    return f"{len(images)} embeddings ready ({segmenter.model_id})"

"""Pre-labeling: GRSer proposes masks (or absence) for every pair nobody has decided yet.

    report = prelabel_project(project, checkpoint="model.pt", group_size=8, batch_size=4)

For each expression, its group's undecided images are split into GRSer groups of ``N`` images
(``group_size``, at most the model's N); a short last group is topped up with other images of the
same group as context only. ``batch_size`` such groups go through the network per forward pass.
Each result is stored with ``store.propose`` as its own small transaction, so a crash loses nothing
already done, and a re-run skips pairs this model version already proposed (resumable). Human
decisions are never touched: they are skipped when planning and ``propose`` re-checks each pair.

A proposal's instances are the connected components of the predicted mask (specks dropped), its
score the presence score ``d_neg - d_pos``, its version the registered model name. With
``refine`` each instance is snapped to the image's edges by the project's click segmenter
(:mod:`labeler.refine`: GRSer's stride-4 masks are blobs; the segmenter keeps the object and fixes
its outline), through the embedding cache the editor reads, so those embeddings are then ready too.
The project setting ``prelabel_refine`` (under ``extra`` in project.json) makes it the default.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from labeler import mask_ops, rle
from labeler.domain import DecisionStatus
from labeler.progress_types import Progress
from labeler.project import Project
from pipelines.loop.registry import model_path, resolve_checkpoint


@dataclass(frozen=True)
class Chunk:
    """One GRSer group: an expression, the images to predict, then context-only images."""

    expression_id: int
    expression: str
    image_ids: tuple[int, ...]
    keep: int  # the first ``keep`` image ids are predicted and stored; the rest is context


@dataclass
class PrelabelReport:
    model_version: str
    proposed: int = 0  # pairs given a proposal in this run
    present: int = 0  # of those, proposals with masks
    skipped_human: int = 0  # pairs a person decided (never touched)
    skipped_done: int = 0  # pairs this model version had already proposed (resume)
    images: int = 0  # images run through the network (context included)
    seconds: float = 0.0
    refined: int = 0  # instances the segmenter snapped to the image's edges (refine on)
    refine_kept: int = 0  # instances left as GRSer drew them (the segmenter found something else)
    refine_seconds: float = 0.0  # of ``seconds``, spent refining (embeddings included)
    embeddings: str = ""

    @property
    def images_per_s(self) -> float:
        return self.images / self.seconds if self.seconds > 0 else 0.0

    def summary(self) -> str:
        text = (
            f"{self.proposed} proposals by {self.model_version} ({self.present} with masks); "
            f"skipped {self.skipped_human} human, {self.skipped_done} already proposed; "
            f"{self.images_per_s:.1f} images/s"
        )
        if self.refined or self.refine_kept:
            text += (
                f"; {self.refined} instances snapped to edges, {self.refine_kept} kept "
                f"({self.refine_seconds:.1f} s)"
            )
        return text + (f"; {self.embeddings}" if self.embeddings else "")


def plan_chunks(
    expression_id: int,
    expression: str,
    todo: Sequence[int],
    context: Sequence[int],
    group_size: int,
) -> list[Chunk]:
    """Split ``todo`` image ids into groups of ``group_size``; top up a short group with context.

    Context comes first from the other ``todo`` images, then from ``context`` (the group's decided
    images), so every GRSer group has as many prototypes as the group allows.
    """
    if group_size < 1:
        raise ValueError(f"group_size must be >= 1, got {group_size}")
    chunks = []
    for start in range(0, len(todo), group_size):
        new = list(todo[start : start + group_size])
        pool = [i for i in list(todo) + list(context) if i not in new]
        filler = pool[: group_size - len(new)]
        chunks.append(Chunk(expression_id, expression, tuple(new + filler), len(new)))
    return chunks


class _Pixels:
    """Each image decoded and resized to the model input once per run: ``[3, S, S]`` tensors."""

    def __init__(self, project: Project, size: int, max_items: int = 2048):
        self.project, self.size, self.max_items = project, size, max_items
        self._data: dict[int, tuple] = {}

    def get(self, image_id: int):
        if image_id not in self._data:
            from labeler.images import load_rgb
            from model.predictor import preprocess

            record = self.project.store.get_image(image_id)
            rgb = np.array(load_rgb(self.project.image_path(record)))  # writable for torch
            if len(self._data) >= self.max_items:
                self._data.pop(next(iter(self._data)))
            self._data[image_id] = (preprocess([rgb], self.size)[0], rgb.shape[:2])
        return self._data[image_id]


class _Refiner:
    """Snaps proposals to edges with the project's click segmenter (embeddings via the cache)."""

    def __init__(self, project: Project, segmenter=None):
        from pipelines.click_models.segmenters import project_segmenter

        self.project = project
        self.segmenter = segmenter if segmenter is not None else project_segmenter(project)

    def __call__(
        self, image_id: int, masks: list[np.ndarray], report: PrelabelReport
    ) -> list[np.ndarray]:
        from labeler.images import load_rgb
        from labeler.refine import refine_instances
        from pipelines.click_models.embedding_cache import cached_embedding

        started = time.perf_counter()
        record = self.project.store.get_image(image_id)
        path = self.project.image_path(record)
        embedding = cached_embedding(
            self.segmenter, lambda: load_rgb(path), record.content_hash, self.project.cache_dir
        )
        outcome = refine_instances(self.segmenter, embedding, masks)
        report.refined += outcome.replaced
        report.refine_kept += outcome.kept
        report.refine_seconds += time.perf_counter() - started
        return outcome.masks


def refine_default(project: Project) -> bool:
    """Whether the project asks for refined proposals (``prelabel_refine`` under ``extra``)."""
    return bool(project.settings.extra.get("prelabel_refine", False))


def plan_project(
    project: Project,
    model_version: str,
    group_id: int | None = None,
    expression_id: int | None = None,
    group_size: int = 8,
    report: PrelabelReport | None = None,
) -> list[Chunk]:
    """Every GRSer group to run: undecided pairs not yet proposed by ``model_version``."""
    store = project.store
    expressions = (
        [store.get_expression(expression_id)]
        if expression_id is not None
        else store.list_expressions(group_id)
    )
    chunks = []
    images_by_group: dict[int, list[int]] = {}
    for expression in expressions:
        if expression.group_id not in images_by_group:
            images_by_group[expression.group_id] = [
                i.id for i in store.list_images(expression.group_id)
            ]
        ids = images_by_group[expression.group_id]
        decisions = store.decisions_for_expression(expression.id, ids)
        todo, context = [], []
        for image_id in ids:
            d = decisions[image_id]
            if d.is_human:
                context.append(image_id)
                if report:
                    report.skipped_human += 1
            elif d.status is DecisionStatus.PROPOSED and d.model_version == model_version:
                context.append(image_id)
                if report:
                    report.skipped_done += 1
            else:
                todo.append(image_id)
        chunks += plan_chunks(expression.id, expression.text, todo, context, group_size)
    return chunks


def prelabel_project(
    project: Project,
    *,
    checkpoint: str | Path | None = None,
    model_version: str | None = None,
    group_id: int | None = None,
    expression_id: int | None = None,
    group_size: int | None = None,
    batch_size: int = 4,
    device: str = "cpu",
    threshold: float = 0.5,
    min_area_fraction: float = 5e-4,
    progress: Progress | None = None,
    embeddings: bool = False,
    refine: bool | None = None,
    segmenter=None,
    **_: object,
) -> PrelabelReport:
    """Propose a decision for every undecided pair (of one group / expression, or all).

    Args:
        checkpoint: GRSer checkpoint; default: the registry's current model, else ``grser_checkpoint``.
        model_version: version stamped into proposals; default: the registered name (or file hash).
        group_size: N images per GRSer group (default and maximum: the model's N).
        batch_size: GRSer groups per forward pass.
        device: "cpu", "cuda", ... (bf16 autocast on CUDA).
        progress: ``progress(fraction, message)`` (the job runner's callback), called per batch.
        embeddings: afterwards, also cache the click segmenter's image embeddings for the editor.
        refine: snap each proposed instance to the image's edges with the click segmenter
            (default: the project's ``prelabel_refine`` setting).
        segmenter: the click segmenter to refine with (default: the project's, SAM or classic).
    """
    import torch

    from model.checkpoint import load_checkpoint

    record = resolve_checkpoint(project, checkpoint)
    path, version = model_path(project, record), model_version or record.name
    model, _meta = load_checkpoint(path, map_location=device)
    config = model.config
    n = group_size or config.group_size
    if not 1 <= n <= config.group_size:
        raise ValueError(
            f"group size {n} must be between 1 and the model's N = {config.group_size}"
        )
    report = PrelabelReport(version)
    chunks = plan_project(project, version, group_id, expression_id, n, report)
    pixels = _Pixels(project, config.image_size)
    refine = refine_default(project) if refine is None else refine
    refiner = _Refiner(project, segmenter) if refine else None
    # One forward pass takes groups of equal size: batch chunks by their image count.
    by_size: dict[int, list[Chunk]] = {}
    for chunk in chunks:
        by_size.setdefault(len(chunk.image_ids), []).append(chunk)
    batches = [
        group[i : i + batch_size]
        for group in by_size.values()
        for i in range(0, len(group), batch_size)
    ]
    use_amp = torch.device(device).type == "cuda"
    started = time.perf_counter()
    for k, batch in enumerate(batches):
        if progress is not None:
            progress(k / max(len(batches), 1), f"pre-labeling: batch {k + 1} of {len(batches)}")
        loaded = [[pixels.get(i) for i in chunk.image_ids] for chunk in batch]
        images = torch.stack([torch.stack([p for p, _ in row]) for row in loaded]).to(device)
        with torch.inference_mode(), torch.autocast("cuda", dtype=torch.bfloat16, enabled=use_amp):
            out = model(images, [c.expression for c in batch])
        logits = out["mask_logits"].float()
        report.images += images.shape[0] * images.shape[1]
        for b, chunk in enumerate(batch):
            for slot in range(chunk.keep):
                height, width = loaded[b][slot][1]
                prob = (
                    torch.sigmoid(
                        torch.nn.functional.interpolate(
                            logits[b, slot][None, None],
                            size=(height, width),
                            mode="bilinear",
                            align_corners=False,
                        )
                    )[0, 0]
                    .cpu()
                    .numpy()
                )
                present = bool(out["is_present"][b, slot]) or not config.apply_presence
                mask = (prob > threshold) if present else np.zeros((height, width), bool)
                min_area = max(1, int(min_area_fraction * height * width))
                parts = mask_ops.split_components(mask, min_area=min_area)
                if refiner is not None and parts:
                    parts = refiner(chunk.image_ids[slot], parts, report)
                rles = [rle.encode(part) for part in parts if part.sum() >= min_area]
                saved = project.store.propose(
                    chunk.expression_id,
                    chunk.image_ids[slot],
                    rles,
                    score=float(out["presence_score"][b, slot]),
                    model_version=version,
                )
                if saved is None:
                    report.skipped_human += 1
                else:
                    report.proposed += 1
                    report.present += bool(rles)
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    report.seconds = time.perf_counter() - started
    if embeddings:
        report.embeddings = precompute_embeddings(project, group_id, progress)
    if progress is not None:
        progress(1.0, report.summary())
    return report


def precompute_embeddings(project: Project, group_id: int | None, progress: Progress | None) -> str:
    """Cache the editor's segmenter embeddings (:func:`embed_project_images`)."""
    from pipelines.click_models.segmenters import embed_project_images

    try:
        return embed_project_images(project, group_id, progress)
    except ModuleNotFoundError as exc:  # the segmenter back-ends are an optional part
        return f"embeddings not computed: {exc.name} is not installed"

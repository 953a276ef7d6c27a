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

import functools
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
    """The expression's GRSer groups (``model.predictor.plan_groups``): ``todo`` image ids in
    groups of ``group_size``, a short group topped up with the other ``todo`` images, then with
    ``context`` (the group's decided images)."""
    from model.predictor import plan_groups

    return [
        Chunk(expression_id, expression, ids, keep)
        for ids, keep in plan_groups(list(todo), group_size, list(context))
    ]


class _Pixels:
    """Each image decoded and resized to the model input once per run (bounded count):
    ``([S, S, 3] uint8, original (H, W))``."""

    def __init__(self, project: Project, size: int, max_items: int = 2048):
        self.project, self.size, self.max_items = project, size, max_items
        self._data: dict[int, tuple] = {}

    def get(self, image_id: int):
        if image_id not in self._data:
            from labeler.images import load_rgb
            from model.predictor import resize_image

            record = self.project.store.get_image(image_id)
            rgb = np.asarray(load_rgb(self.project.image_path(record)))
            if len(self._data) >= self.max_items:
                self._data.pop(next(iter(self._data)))
            self._data[image_id] = (resize_image(rgb, self.size), rgb.shape[:2])
        return self._data[image_id]

    def group(self, chunk: Chunk):
        """The chunk as the predictor's ``GroupInput``."""
        from model.predictor import GroupInput, to_pixels

        loaded = [self.get(i) for i in chunk.image_ids]
        return GroupInput(
            chunk.expression,
            to_pixels([p for p, _ in loaded]),
            tuple(tuple(size) for _, size in loaded),
            chunk.keep,
        )


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
    """Whether the project asks for refined proposals (``prelabel_refine`` under ``extra``).

    Off unless asked, whatever the click model: measured on coco_tiny and voc_tiny
    (``bench/bench_refine.py``), snapping made found objects' masks worse with MobileSAM too.
    """
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


@functools.lru_cache(maxsize=2)
def _cached_model(path: str, mtime_ns: int, size: int, device: str):
    from model.checkpoint import load_checkpoint

    return load_checkpoint(path, map_location=device)[0]


def loaded_model(path: str | Path, device: str = "cpu"):
    """The GRSer of a checkpoint file, loaded once per process and device (a queue worker runs
    one job per group: the first load of a model took 10 s here, the forward passes 0.1 s each).
    Keyed by the file's path, mtime and size, so a replaced file loads again. Eval mode; read-only
    use only (inference), which is safe from several threads."""
    stat = Path(path).stat()
    return _cached_model(str(Path(path).resolve()), stat.st_mtime_ns, stat.st_size, str(device))


def warm_up(project: Project, device: str = "cpu") -> str | None:
    """Load the registry's current model (a worker does this before taking jobs); its name, or
    None when there is none yet. Registers nothing: workers starting together would race to
    register a configured checkpoint (whoever starts a job registers it, once)."""
    record = project.store.current_model()
    if record is None:
        return None
    loaded_model(model_path(project, record), device)
    return record.name


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

    from model.predictor import GroupPredictor

    record = resolve_checkpoint(project, checkpoint)
    path, version = model_path(project, record), model_version or record.name
    model = loaded_model(path, device)
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
    predictor = GroupPredictor(model, device, threshold=threshold)
    window = max(1, batch_size)  # groups per forward pass (and per progress call)
    started = time.perf_counter()
    for k in range(0, len(chunks), window):
        if progress is not None:
            progress(
                k / max(len(chunks), 1),
                f"pre-labeling: batch {k // window + 1} of {-(-len(chunks) // window)}",
            )
        batch = chunks[k : k + window]
        inputs = [pixels.group(chunk) for chunk in batch]
        report.images += sum(int(g.pixels.shape[0]) for g in inputs)
        for chunk, predictions in zip(batch, predictor.predict_groups(inputs, batch_size)):
            for slot, prediction in enumerate(predictions):
                height, width = prediction.mask.shape
                min_area = max(1, int(min_area_fraction * height * width))
                parts = mask_ops.split_components(prediction.mask, min_area=min_area)
                if refiner is not None and parts:
                    parts = refiner(chunk.image_ids[slot], parts, report)
                rles = [rle.encode(part) for part in parts if part.sum() >= min_area]
                saved = project.store.propose(
                    chunk.expression_id,
                    chunk.image_ids[slot],
                    rles,
                    score=prediction.presence_score,
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

"""Propagation within a group: the confirmed images of an expression propose the others.

    report = propagate_project(project, group_id=None, expression_id=None)

For each expression with at least one human positive in its group: the click model's image
embeddings (from the shared cache the editor reads) give target and background prototypes from
the human decisions (:mod:`labeler.propagate`); every image nobody decided gets a presence score
and, above the threshold calibrated on those decisions, one point prompt (the peak) per blob of the
similarity map, decoded into an instance mask by the click model (SAM / MobileSAM). Proposals are
stored with ``store.propose`` (which never overwrites a human decision) and tagged
``propagated from N images; threshold T``. A propagated proposal replaces a GRSer one: on photos
it measures better (docs/assist.md). Nothing is written when the result equals the stored one.

The project setting ``propagation`` (under ``extra`` in project.json, default on) switches it off;
:func:`refresh_in_background` is what the app calls after a confirmation.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from labeler import propagate, rle
from labeler.clicks import iou
from labeler.domain import DecisionStatus
from labeler.errors import LabelerError
from labeler.images import load_rgb
from labeler.project import Project
from labeler.segmenter import Prompts
from labeler.store import Store

Progress = Callable[..., None]
SETTING = "propagation"
JOB_PREFIX = "propagate"
MIN_AREA_FRACTION = 5e-4  # decoded masks smaller than this share of the image are dropped
DUPLICATE_IOU = 0.5  # a decoded mask this close to a kept one is the same object
CANDIDATES = 6  # blobs decoded at most per image, best first, to find instances of a likely size
SIZE_FACTOR = 4.0  # an instance may be this much smaller / larger than the confirmed ones
SIZE_MAX = 0.5  # of the image: a larger mask is the background


class PropagationUnavailable(LabelerError):
    """The click segmenter has no image features to propagate with (the classic fallback)."""


@dataclass
class PropagationReport:
    expressions: int = 0  # expressions with a human positive to propagate from
    proposed: int = 0  # pairs given a new proposal
    present: int = 0  # of those, proposals with masks
    unchanged: int = 0  # pairs whose stored proposal already was this one
    skipped_human: int = 0  # pairs a person decided (never touched)
    seconds: float = 0.0

    def summary(self) -> str:
        return (
            f"propagation: {self.proposed} proposals ({self.present} with masks) for "
            f"{self.expressions} expressions; {self.unchanged} unchanged, "
            f"{self.skipped_human} human decisions kept; {self.seconds:.1f} s"
        )


def enabled(project: Project) -> bool:
    """Whether the project propagates (``propagation`` under ``extra``, default True)."""
    return bool(project.settings.extra.get(SETTING, True))


class _Embeddings:
    """Each image's embedding and tokens through the shared cache, once per run."""

    def __init__(self, project: Project, segmenter):
        from pipelines.click_models.embedding_cache import cached_embedding

        self.project, self.segmenter, self._cached = project, segmenter, cached_embedding
        self._tokens: dict[int, tuple[dict, propagate.Tokens]] = {}

    def get(self, image) -> tuple[dict, propagate.Tokens]:
        if image.id not in self._tokens:
            path = self.project.image_path(image)
            embedding = self._cached(
                self.segmenter, lambda: load_rgb(path), image.content_hash, self.project.cache_dir
            )
            if "features" not in embedding:
                raise PropagationUnavailable(
                    f"the click segmenter {getattr(self.segmenter, 'model_id', '?')} has no image "
                    "features; propagation needs SAM or MobileSAM (set sam_checkpoint)"
                )
            self._tokens[image.id] = (embedding, propagate.image_tokens(embedding))
        return self._tokens[image.id]


def size_range(examples) -> tuple[float, float]:
    """The share of the image a proposed instance may cover: from a quarter of the smallest
    confirmed instance's share to four times the largest (at most half the image). A peak
    decoded into a speck is a part of the object, into most of the image the background."""
    shares = [m.mean() for _, _, masks in examples for m in masks]
    if not shares:
        return 0.0, SIZE_MAX
    return min(shares) / SIZE_FACTOR, min(max(shares) * SIZE_FACTOR, SIZE_MAX)


def decode_instances(
    segmenter,
    embedding: dict,
    prompts: list[propagate.InstancePrompt],
    sizes: tuple[float, float] = (0.0, 1.0),
    use_box: bool = False,
) -> list[np.ndarray]:
    """Masks from the click model's decoder, prompts taken best first: the first mask of a
    plausible size (``sizes``, shares of the image), then others whose blob scores within
    ``INSTANCE_SPREAD`` of that one's; specks, implausible sizes and duplicates dropped.

    The point alone by default: the blob's box is a token grid's coarse extent, and with it
    MobileSAM's masks were accepted less often on the real-texture groups (docs/assist.md)."""
    h, w = (int(v) for v in embedding["original_size"])
    min_area = max(1, int(MIN_AREA_FRACTION * h * w))
    kept: list[np.ndarray] = []
    first_score = None
    for p in prompts:
        if len(kept) >= propagate.MAX_INSTANCES:
            break
        if first_score is not None and p.score < first_score - propagate.INSTANCE_SPREAD:
            break
        result = segmenter.predict(
            embedding, Prompts(points=(p.point,), labels=(1,), box=p.box if use_box else None)
        )
        mask = np.asarray(result.mask, bool)
        share = mask.mean()
        if mask.sum() < min_area or not sizes[0] <= share <= sizes[1]:
            continue
        if any(iou(mask, k) >= DUPLICATE_IOU for k in kept):
            continue
        kept.append(mask)
        first_score = p.score if first_score is None else first_score
    return kept


def calibrated_prototypes(examples) -> tuple[propagate.Prototypes, float, list, list]:
    """Prototypes from the decided images and the threshold calibrated on their leave-one-out
    scores: ``(prototypes, threshold, positive scores, negative scores)``."""
    prototypes = propagate.collect(examples)
    positives, negatives = [], []
    for image_id, tokens, masks in examples:
        held_out = prototypes.without(image_id)
        if len(held_out.target) == 0:
            continue  # the only positive: nothing else to score it against
        score = propagate.presence_score(propagate.presence_map(tokens, held_out))
        (positives if masks else negatives).append(score)
    return prototypes, propagate.calibrate(positives, negatives), positives, negatives


def propagate_expression(
    project: Project, expression_id: int, segmenter, report: PropagationReport, *, embeddings=None
) -> None:
    """Propose every undecided pair of one expression from its group's human decisions."""
    store = project.store
    expression = store.get_expression(expression_id)
    images = {i.id: i for i in store.list_images(expression.group_id)}
    decisions = store.decisions_for_expression(expression_id, list(images))
    human = {i: d for i, d in decisions.items() if d.is_human}
    if not any(d.status is DecisionStatus.POSITIVE for d in human.values()):
        return
    report.expressions += 1
    report.skipped_human += len(human)
    embeddings = embeddings or _Embeddings(project, segmenter)
    examples = []
    for image_id, d in sorted(human.items()):
        image = images[image_id]
        masks = (
            [rle.decode(i.rle) for i in d.instances] if d.status is DecisionStatus.POSITIVE else []
        )
        examples.append((image_id, embeddings.get(image)[1], masks))
    prototypes, threshold, _, _ = calibrated_prototypes(examples)
    sizes = size_range(examples)
    tag = propagate.source_tag(prototypes.images, threshold)
    for image_id, d in sorted(decisions.items()):
        if d.is_human:
            continue
        embedding, tokens = embeddings.get(images[image_id])
        presence = propagate.presence_map(tokens, prototypes)
        score = propagate.presence_score(presence)
        masks = []
        if score >= threshold:
            prompts = propagate.instance_prompts(
                presence, tokens, threshold, max_instances=CANDIDATES, spread=1.0
            )
            masks = decode_instances(segmenter, embedding, prompts, sizes)
        rles = [rle.encode(m) for m in masks]
        if _same(d, rles, tag):
            report.unchanged += 1
            continue
        saved = store.propose(expression_id, image_id, rles, score=score, model_version=tag)
        if saved is None:
            report.skipped_human += 1
        else:
            report.proposed += 1
            report.present += bool(rles)


def _same(decision, rles: list[dict], tag: str) -> bool:
    """Whether the stored proposal already is this one (same tag and masks): no new revision."""
    if decision.status is not DecisionStatus.PROPOSED or decision.model_version != tag:
        return False
    stored = [i.rle for i in decision.instances]
    return len(stored) == len(rles) and all(
        a["counts"] == b["counts"] and list(a["size"]) == list(b["size"])
        for a, b in zip(stored, rles)
    )


def propagate_project(
    project: Project,
    *,
    group_id: int | None = None,
    expression_id: int | None = None,
    segmenter=None,
    progress: Progress | None = None,
    **_: object,
) -> PropagationReport:
    """Propagate every expression (of one group, or one expression) that has a human positive."""
    from pipelines.click_models.segmenters import project_segmenter

    started = time.perf_counter()
    segmenter = segmenter if segmenter is not None else project_segmenter(project)
    store = project.store
    expressions = (
        [store.get_expression(expression_id)]
        if expression_id is not None
        else store.list_expressions(group_id)
    )
    report = PropagationReport()
    embeddings = _Embeddings(project, segmenter)
    for k, expression in enumerate(expressions):
        if progress is not None:
            progress(k / max(len(expressions), 1), f"propagating {expression.text!r}")
        propagate_expression(project, expression.id, segmenter, report, embeddings=embeddings)
    report.seconds = time.perf_counter() - started
    if progress is not None:
        progress(1.0, report.summary())
    return report


def propagate_job(
    progress, project: Project, expression_id: int | None = None, load_segmenter=None, **params
):
    """The job runner's form (``fn(progress, project, ...)``). Without a SAM-like click model
    it says so as its result rather than failing after every confirmation."""
    try:
        if load_segmenter is not None:
            params["segmenter"] = load_segmenter()
        return propagate_project(project, expression_id=expression_id, progress=progress, **params)
    except PropagationUnavailable as exc:
        return f"propagation skipped: {exc}"


def has_positive(store: Store, expression_id: int) -> bool:
    """Whether any person has marked the expression present on an image (from the kept counts)."""
    group_id = store.get_expression(expression_id).group_id
    return any(
        p.positive for p in store.expression_progress(group_id) if p.expression_id == expression_id
    )


def refresh_in_background(
    runner, project: Project, expression_id: int, load_segmenter=None
) -> str | None:
    """After a confirmation: queue a propagation of this expression unless the project switched
    it off, one is already queued (a running one may have missed the new decision, so it does
    not count), or the expression has no human positive yet (nothing to propagate from: a run of
    negatives on the sweep would otherwise queue a job per click). ``load_segmenter()``: returns
    the app's click model, called in the job (loading it may take seconds; default: load the
    project's). Returns the job id, or None."""
    if not enabled(project) or not has_positive(project.store, expression_id):
        return None
    name = f"{JOB_PREFIX} expression {expression_id}"
    from labeler.store import JobState

    if any(j.name == name and j.state is JobState.QUEUED for j in runner.active()):
        return None
    return runner.submit(
        name, propagate_job, project, expression_id=expression_id, load_segmenter=load_segmenter
    )

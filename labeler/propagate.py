"""Propagation within a group, the array math: prototypes, similarity maps, prompts, a threshold.

A group shares its target, so once a person has confirmed an expression on a few images the
click model's own image features say where the target is on the others. Everything here works on
an embedding in the click model's layout (:mod:`labeler.segmenter`: ``features`` ``C x G x G``
over the square, zero-padded model input whose longest side is ``max(input_size)``, plus
``original_size`` and ``input_size``) and on masks in the original frame; no model, no store.

- :func:`image_tokens`: an embedding -> its L2-normalised feature vectors (the padded part cut).
- :func:`prototypes_of`: one decided image -> target prototypes (k-means centroids of the tokens
  inside its masks) and background prototypes (outside them; a negative image is all
  background), each tagged with its image so a score can leave that image out.
- :func:`presence_map`: per token, ``sigmoid((max cos to target - max cos to background) / T)``.
- :func:`presence_score`: the mean of the ``TOP`` highest tokens of that map, in ``[0, 1]``.
- :func:`calibrate`: the presence threshold from the scores of the group's human positives and
  negatives (each scored leave-one-out), moving as decisions accumulate.
- :func:`instance_prompts`: one point (the peak) and one box per connected blob of the map above
  the threshold, in original pixels, for the click model's decoder (several for several objects).

The tag stored as a proposal's ``model_version`` says where it came from and holds the threshold,
so the app can say it in words (:func:`source_tag`, :func:`parse_source`, :func:`describe`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

TEMPERATURE = (
    0.1  # cosine margins of SAM features are a few hundredths to tenths; T maps them to [0, 1]
)
TOP = 3  # tokens averaged into an image's presence score: one stray token is not a presence
PRIOR_THRESHOLD = 0.5  # before any usable human evidence: target-like as often as not
MARGIN = 0.05  # how far past the nearest human score a one-sided threshold is put
FLOOR_SLACK = 0.1  # below the least similar confirmed target token, a token is no target
MISS_WEIGHT = 3.0  # a missed positive costs clicks, a false positive one action: weigh them so
MAX_INSTANCES = 3  # objects proposed per image at most
INSTANCE_SPREAD = 0.05  # a second blob must score this close to the best to be proposed too
TARGET_CENTROIDS = 4  # per confirmed image
BACKGROUND_CENTROIDS = 8  # per decided image
SOURCE_PREFIX = "propagated from "
_SOURCE = re.compile(r"^propagated from (\d+) images?; threshold (-?[0-9.]+)$")


# ---- tokens --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Tokens:
    """The valid feature vectors of one image: ``vectors`` is ``(gh * gw) x C``, L2-normalised,
    row-major over the ``gh x gw`` token grid; a token covers ``cell`` original pixels a side."""

    vectors: np.ndarray
    grid: tuple[int, int]
    cell: float
    original_size: tuple[int, int]


def image_tokens(embedding: dict[str, np.ndarray]) -> Tokens:
    """The tokens of an embedding that cover the image (not the padding), normalised."""
    features = np.asarray(embedding["features"], dtype=np.float32)
    if features.ndim != 3:
        raise ValueError(f"features must be C x G x G, got shape {features.shape}")
    original = tuple(int(v) for v in embedding["original_size"])
    input_size = tuple(int(v) for v in embedding["input_size"])
    side = max(input_size)
    stride = side / features.shape[-1]  # model-input pixels per token
    gh = min(features.shape[1], int(np.ceil(input_size[0] / stride)))
    gw = min(features.shape[2], int(np.ceil(input_size[1] / stride)))
    vectors = features[:, :gh, :gw].reshape(features.shape[0], -1).T
    vectors = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-6)
    cell = stride * max(original) / side  # original pixels per token
    return Tokens(np.ascontiguousarray(vectors), (gh, gw), cell, original)


def mask_fraction(mask: np.ndarray, tokens: Tokens) -> np.ndarray:
    """``gh x gw``: the share of each token's cell that ``mask`` (original frame) covers."""
    gh, gw = tokens.grid
    h, w = tokens.original_size
    mask = np.asarray(mask, dtype=np.float32)
    if mask.shape != (h, w):
        raise ValueError(f"mask is {mask.shape}, the image {(h, w)}")
    # Pad the mask to the cells' extent, then area-average each cell.
    ph, pw = int(round(gh * tokens.cell)), int(round(gw * tokens.cell))
    padded = np.zeros((max(ph, h), max(pw, w)), np.float32)
    padded[:h, :w] = mask
    return cv2.resize(padded[:ph, :pw], (gw, gh), interpolation=cv2.INTER_AREA)


# ---- prototypes ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Prototypes:
    """Unit vectors, each with the id of the image it came from (for leave-one-out scores)."""

    target: np.ndarray  # K_t x C
    target_from: np.ndarray  # K_t image ids
    target_floor: np.ndarray  # K_t: how close its image's own target tokens come to it, at worst
    background: np.ndarray  # K_b x C
    background_from: np.ndarray  # K_b image ids

    def without(self, image_id: int) -> Prototypes:
        t, b = self.target_from != image_id, self.background_from != image_id
        return Prototypes(
            self.target[t],
            self.target_from[t],
            self.target_floor[t],
            self.background[b],
            self.background_from[b],
        )

    @property
    def floor(self) -> float:
        """The similarity a token needs to count as target at all: what looks like neither the
        target nor any known background (a new kind of thing) is background, not target."""
        return float(self.target_floor.min()) - FLOOR_SLACK if len(self.target_floor) else 1.0

    @property
    def images(self) -> int:
        """How many images the target prototypes come from."""
        return len(set(self.target_from.tolist()))


def kmeans(vectors: np.ndarray, k: int, iterations: int = 8) -> np.ndarray:
    """Up to ``k`` unit centroids of unit ``vectors`` (spherical k-means, deterministic
    farthest-point start: the same input gives the same prototypes)."""
    if len(vectors) == 0:
        return np.zeros((0, vectors.shape[1]), np.float32)
    k = min(k, len(vectors))
    centres = [vectors.mean(axis=0)]
    for _ in range(1, k):
        sims = vectors @ np.stack(centres).T
        centres.append(vectors[int(np.argmin(sims.max(axis=1)))])
    centres = np.stack(centres)
    for _ in range(iterations):
        centres = centres / np.maximum(np.linalg.norm(centres, axis=1, keepdims=True), 1e-6)
        assign = np.argmax(vectors @ centres.T, axis=1)
        for j in range(k):
            members = vectors[assign == j]
            if len(members):
                centres[j] = members.mean(axis=0)
    centres = centres / np.maximum(np.linalg.norm(centres, axis=1, keepdims=True), 1e-6)
    return centres.astype(np.float32)


def prototypes_of(
    tokens: Tokens, masks: Sequence[np.ndarray]
) -> tuple[np.ndarray, float, np.ndarray]:
    """(target centroids, target floor, background centroids) of one decided image; ``masks``
    empty = a negative (no target). Target tokens are those at least half covered by a mask (for
    an object smaller than that, the most covered token of each instance); background tokens are
    those no mask touches. The floor: the 10th percentile of the target tokens' similarity to
    their nearest centroid."""
    covered = np.zeros(tokens.grid, np.float32)
    inside = np.zeros(tokens.grid, bool)
    for mask in masks:
        fraction = mask_fraction(mask, tokens)
        covered = np.maximum(covered, fraction)
        inside |= fraction >= 0.5
        if fraction.max() > 0 and not (fraction >= 0.5).any():
            inside.flat[int(np.argmax(fraction))] = True
    inside_vectors = tokens.vectors[inside.ravel()]
    target = kmeans(inside_vectors, TARGET_CENTROIDS)
    floor = (
        float(np.percentile((inside_vectors @ target.T).max(axis=1), 10)) if len(target) else 1.0
    )
    background = kmeans(tokens.vectors[(covered == 0).ravel()], BACKGROUND_CENTROIDS)
    return target, floor, background


def collect(examples: Sequence[tuple[int, Tokens, Sequence[np.ndarray]]]) -> Prototypes:
    """The prototypes of a group's decided images: ``(image id, tokens, masks)`` each."""
    c = examples[0][1].vectors.shape[1] if examples else 1
    t, tf, fl = [np.zeros((0, c), np.float32)], [], []
    b, bf = [np.zeros((0, c), np.float32)], []
    for image_id, tokens, masks in examples:
        target, floor, background = prototypes_of(tokens, masks)
        t.append(target)
        tf += [image_id] * len(target)
        fl += [floor] * len(target)
        b.append(background)
        bf += [image_id] * len(background)
    return Prototypes(
        np.concatenate(t),
        np.asarray(tf, np.int64),
        np.asarray(fl, np.float32),
        np.concatenate(b),
        np.asarray(bf, np.int64),
    )


# ---- maps, scores, threshold ---------------------------------------------------------------------
def presence_map(tokens: Tokens, prototypes: Prototypes) -> np.ndarray:
    """``gh x gw`` in ``[0, 1]``: how much closer each token is to the target than to anything
    known to be background, or to the target floor (0.5 = as close to both). No target
    prototype: all zeros."""
    if len(prototypes.target) == 0:
        return np.zeros(tokens.grid, np.float32)
    to_target = (tokens.vectors @ prototypes.target.T).max(axis=1)
    to_background = np.full_like(to_target, prototypes.floor)
    if len(prototypes.background):
        known = (tokens.vectors @ prototypes.background.T).max(axis=1)
        to_background = np.maximum(to_background, known)
    margin = (to_target - to_background) / TEMPERATURE
    return (1.0 / (1.0 + np.exp(-np.clip(margin, -50, 50)))).reshape(tokens.grid).astype(np.float32)


def presence_score(presence: np.ndarray, top: int = TOP) -> float:
    """An image's (or a blob's) presence: the mean of its ``top`` highest tokens."""
    values = np.sort(np.asarray(presence, dtype=np.float64).ravel())[::-1][:top]
    return float(values.mean()) if len(values) else 0.0


def calibrate(
    positives: Sequence[float], negatives: Sequence[float], prior: float = PRIOR_THRESHOLD
) -> float:
    """The presence threshold that best separates human positives from negatives (scores each
    computed without that image's own prototypes).

    Both kinds: the cut with the least weighted error (a missed positive counts ``MISS_WEIGHT``),
    midway between the two scores around it, nearest the prior on ties. One kind only: the prior,
    lowered below the lowest positive or raised above the highest negative by ``MARGIN``.
    """
    pos, neg = sorted(float(v) for v in positives), sorted(float(v) for v in negatives)
    if not pos and not neg:
        return prior
    if not neg:
        return float(min(prior, pos[0] - MARGIN))
    if not pos:
        return float(max(prior, neg[-1] + MARGIN))
    values = sorted(set(pos + neg))
    cuts = [values[0] - MARGIN] + [(a + b) / 2 for a, b in zip(values, values[1:])]
    cuts.append(values[-1] + MARGIN)

    def cost(t: float) -> tuple[float, float]:
        missed = sum(p < t for p in pos)
        false = sum(n >= t for n in neg)
        return (MISS_WEIGHT * missed + false, abs(t - prior))

    return float(min(cuts, key=cost))


# ---- prompts -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class InstancePrompt:
    """One object to decode: its peak point and the box of its blob (original pixels), and the
    blob's presence score."""

    point: tuple[float, float]
    box: tuple[float, float, float, float]
    score: float


def instance_prompts(
    presence: np.ndarray,
    tokens: Tokens,
    threshold: float,
    max_instances: int = MAX_INSTANCES,
    spread: float = INSTANCE_SPREAD,
) -> list[InstancePrompt]:
    """One prompt per 8-connected blob of tokens above ``threshold`` whose own score passes it
    and comes within ``spread`` of the best blob's, best first (a weaker blob is more often a
    look-alike than a second object, and every wrong instance costs a deletion). The point is
    the blob's most target-like token, the box its cells' extent."""
    above = (presence >= threshold).astype(np.uint8)
    count, labels = cv2.connectedComponents(above, connectivity=8)
    prompts = []
    for label in range(1, count):
        blob = labels == label
        values = np.where(blob, presence, 0.0)
        score = presence_score(presence[blob])
        if score < threshold:
            continue
        row, col = np.unravel_index(int(np.argmax(values)), presence.shape)
        rows, cols = np.nonzero(blob)
        h, w = tokens.original_size
        c = tokens.cell
        point = (min((col + 0.5) * c, w - 0.5), min((row + 0.5) * c, h - 0.5))
        box = (
            float(cols.min() * c),
            float(rows.min() * c),
            float(min((cols.max() + 1) * c, w)),
            float(min((rows.max() + 1) * c, h)),
        )
        prompts.append(InstancePrompt((float(point[0]), float(point[1])), box, score))
    prompts.sort(key=lambda p: -p.score)
    if prompts:
        prompts = [p for p in prompts if p.score >= prompts[0].score - spread]
    return prompts[:max_instances]


# ---- the source tag ------------------------------------------------------------------------------
def source_tag(images: int, threshold: float) -> str:
    """What a propagated proposal stores as its ``model_version``."""
    return f"{SOURCE_PREFIX}{images} image{'s' * (images != 1)}; threshold {threshold:.2f}"


def parse_source(model_version: str | None) -> tuple[int, float] | None:
    """``(images, threshold)`` of a propagated proposal's tag, None for any other version."""
    found = _SOURCE.match(model_version or "")
    return (int(found.group(1)), float(found.group(2))) if found else None


def describe(score: float | None, model_version: str | None, present: bool) -> str:
    """A proposal's score in plain words: ``likely present, 0.82; threshold 0.61 (propagated
    from 3 images)`` for a propagated one; ``likely absent, -0.66 (grser-1a2b)`` otherwise."""
    words = "likely present" if present else "likely absent"
    value = "" if score is None else f", {score:.2f}"
    parsed = parse_source(model_version)
    if parsed is not None:
        images, threshold = parsed
        return f"{words}{value}; threshold {threshold:.2f} ({SOURCE_PREFIX}{images} image{'s' * (images != 1)})"
    return f"{words}{value}" + (f" ({model_version})" if model_version else "")

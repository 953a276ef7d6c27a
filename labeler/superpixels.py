"""Superpixels, their adjacency graph, and a seeded random walker on it (numpy + OpenCV only).

The weight-free segmenter works on a few thousand edge-following regions instead of pixels: the
over-segmentation is computed once per image (it is part of the embedding), after which every
click is a small sparse linear solve.

    colour_gradient(rgb) -> H x W float32           superpixels(rgb, grad, step) -> H x W int32 labels
    region_graph(labels, grad) -> RegionGraph       random_walk(graph, weights, prior, lam, seeds) -> probs
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


def colour_gradient(rgb: np.ndarray, sigma: float = 1.0) -> np.ndarray:
    """Gradient magnitude of the CIE-Lab image (``H x W`` float32), summed over the channels."""
    lab = cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB).astype(np.float32)
    g2 = np.zeros(lab.shape[:2], np.float32)
    for c in range(3):
        ch = cv2.GaussianBlur(lab[..., c], (0, 0), sigma)
        gx = cv2.Sobel(ch, cv2.CV_32F, 1, 0, ksize=3)
        gy = cv2.Sobel(ch, cv2.CV_32F, 0, 1, ksize=3)
        g2 += gx * gx + gy * gy
    return np.sqrt(g2)


def superpixels(rgb: np.ndarray, grad: np.ndarray, step: int = 10) -> np.ndarray:
    """Watershed regions grown from a grid of seeds (one per ``step`` px), labels ``0..n-1``.

    Each seed moves to the flattest spot near its grid point so that it does not sit on an
    edge; regions then grow over the edge-preserving-smoothed colours and meet at colour edges.
    """
    h, w = grad.shape
    markers = np.zeros((h, w), np.int32)
    r = max(step // 4, 1)
    label = 1
    for y in range(step // 2, h, step):
        for x in range(step // 2, w, step):
            y0, x0 = max(y - r, 0), max(x - r, 0)
            window = grad[y0 : y + r + 1, x0 : x + r + 1]
            dy, dx = np.unravel_index(int(np.argmin(window)), window.shape)
            markers[y0 + dy, x0 + dx] = label
            label += 1
    if label == 1:  # an image smaller than one step: one region
        return np.zeros((h, w), np.int32)
    smooth = cv2.bilateralFilter(np.ascontiguousarray(rgb), 7, 30, 7)
    cv2.watershed(np.ascontiguousarray(smooth[..., ::-1]), markers)
    lines = markers <= 0  # watershed lines: give each line pixel a neighbouring region
    if lines.any():
        grown = cv2.dilate(
            np.where(lines, 0, markers).astype(np.float32), np.ones((3, 3), np.uint8)
        )
        markers[lines] = grown.astype(np.int32)[lines]
    markers[markers <= 0] = 1
    _, dense = np.unique(markers, return_inverse=True)
    return dense.reshape(h, w).astype(np.int32)


@dataclass(frozen=True)
class RegionGraph:
    """Adjacency of ``n`` regions: edge ``k`` joins ``i[k] < j[k]``.

    ``contrast[k]``: mean gradient along the shared boundary; ``length[k]``: its pixel count;
    ``area``: pixels per region.
    """

    n: int
    i: np.ndarray
    j: np.ndarray
    contrast: np.ndarray
    length: np.ndarray
    area: np.ndarray


def region_graph(labels: np.ndarray, grad: np.ndarray) -> RegionGraph:
    n = int(labels.max()) + 1
    a = np.concatenate([labels[:, :-1].ravel(), labels[:-1, :].ravel()]).astype(np.int64)
    b = np.concatenate([labels[:, 1:].ravel(), labels[1:, :].ravel()]).astype(np.int64)
    g = np.concatenate(
        [
            np.maximum(grad[:, :-1], grad[:, 1:]).ravel(),
            np.maximum(grad[:-1, :], grad[1:, :]).ravel(),
        ]
    )
    cut = a != b
    a, b, g = a[cut], b[cut], g[cut]
    keys, inverse = np.unique(np.minimum(a, b) * n + np.maximum(a, b), return_inverse=True)
    length = np.bincount(inverse).astype(np.float64)
    contrast = np.bincount(inverse, weights=g) / np.maximum(length, 1)
    area = np.bincount(labels.ravel(), minlength=n).astype(np.float64)
    return RegionGraph(
        n, (keys // n).astype(np.int64), (keys % n).astype(np.int64), contrast, length, area
    )


def random_walk(
    graph: RegionGraph,
    weights: np.ndarray,
    prior: np.ndarray,
    lam: float,
    seed_index: np.ndarray,
    seed_value: np.ndarray,
    iterations: int = 400,
    tol: float = 1e-5,
) -> np.ndarray:
    """Probability that each region is object, from seeds and a prior (Grady's random walker).

    Solves ``(L + lam I) x = lam * prior`` for the unseeded regions, with ``x`` fixed to
    ``seed_value`` at ``seed_index``; ``L`` is the graph Laplacian of ``weights``. Conjugate
    gradients with a Jacobi preconditioner; the matrix is only ever applied, never built.
    """
    n, i, j = graph.n, graph.i, graph.j
    degree = np.bincount(i, weights=weights, minlength=n) + np.bincount(
        j, weights=weights, minlength=n
    )
    fixed = np.zeros(n, bool)
    fixed[seed_index] = True
    x = np.asarray(prior, dtype=np.float64).copy()
    x[seed_index] = seed_value
    free = ~fixed

    def laplacian(v: np.ndarray) -> np.ndarray:
        return (
            degree * v
            - np.bincount(i, weights=weights * v[j], minlength=n)
            - np.bincount(j, weights=weights * v[i], minlength=n)
        )

    seeded = np.where(fixed, x, 0.0)
    rhs = np.where(free, lam * x - laplacian(seeded), 0.0)

    def apply(v: np.ndarray) -> np.ndarray:
        return np.where(free, laplacian(v) + lam * v, 0.0)

    inv_diag = np.where(free, 1.0 / (degree + lam + 1e-12), 0.0)
    y = np.where(free, x, 0.0)
    r = rhs - apply(y)
    z = inv_diag * r
    p = z.copy()
    rz = r @ z
    stop = tol * np.sqrt(rhs @ rhs + 1e-30)
    for _ in range(iterations):
        if np.sqrt(r @ r) <= stop:
            break
        ap = apply(p)
        alpha = rz / (p @ ap + 1e-30)
        y += alpha * p
        r -= alpha * ap
        z = inv_diag * r
        rz_next = r @ z
        p = z + (rz_next / (rz + 1e-30)) * p
        rz = rz_next
    return np.where(fixed, x, y)

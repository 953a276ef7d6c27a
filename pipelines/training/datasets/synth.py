"""Synthetic groups held in memory -> ``GresGroup`` (one per expression), without any store."""

from __future__ import annotations

from collections.abc import Sequence

from labeler import rle
from pipelines.training.datasets.base import GresGroup, GresItem, array_loader
from pipelines.training.synth import SynthGroup


def synth_groups(groups: Sequence[SynthGroup]) -> list[GresGroup]:
    out = []
    for group in groups:
        for text in group.expressions:
            items = tuple(
                GresItem(
                    key=image.name,
                    load_image=array_loader(image.image),
                    height=image.image.shape[0],
                    width=image.image.shape[1],
                    instances=tuple(rle.encode(m) for m in image.masks[text]),
                )
                for image in group.images
            )
            out.append(GresGroup(group.name, text, items))
    return out

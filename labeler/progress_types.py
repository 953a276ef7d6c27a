"""The two ways a long task reports how far it is, each defined once.

``Progress``: a callback, ``progress(fraction, message)``, ``fraction`` in 0..1 and a short line
saying what the task does now. Jobs in the app, pre-labeling, a feedback round, embeddings and
weight downloads report this way; the job runner's callback also raises when the job is cancelled.

``Track``: a wrapper around the loop itself, ``for x in track(items)`` (a terminal bar such as
``rich.progress.track`` with its description bound); for readers and writers whose work is one
loop over a known sequence.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Protocol, TypeVar

T = TypeVar("T")


class Progress(Protocol):
    def __call__(self, fraction: float, message: str = "", /) -> None: ...


Track = Callable[[Iterable[T]], Iterable[T]]


def tracking(progress: Progress, total: int, noun: str = "item") -> Track:
    """A :data:`Track` that reports each step of its loop to ``progress``
    (``"<noun> k of <total>"``), for a loop-shaped task run as a job."""

    def wrap(items: Iterable[T]) -> Iterator[T]:
        for k, item in enumerate(items):
            progress(k / max(total, 1), f"{noun} {k + 1} of {total}")
            yield item

    return wrap

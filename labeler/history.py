"""Undo / redo for one (expression, image) editing session.

An :class:`EditSession` holds the instance masks of one image for one expression and a command log.
Every edit is a :class:`Command`: a labelled tuple of :class:`Change`\\ s (insert / delete / replace
one instance), each carrying the instance before and after as a COCO RLE, so the log is compact
data and both directions are pure list edits. An edit that changes nothing is not logged, so undo
never steps over no-ops. A new edit after an undo drops the redo branch, as editors do.

The session never saves anything: callers read :meth:`EditSession.rles` and write them through the
store. Masks handed out by :attr:`EditSession.instances` are read-only, so nobody edits around the log.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from labeler import mask_ops, rle
from labeler.domain import RLE
from labeler.errors import NotFound


@dataclass(frozen=True)
class Change:
    """One instance inserted, deleted or replaced at ``index`` (RLEs before / after)."""

    kind: Literal["insert", "delete", "replace"]
    index: int
    before: RLE | None
    after: RLE | None


@dataclass(frozen=True)
class Command:
    """What one user action did, in order; ``label`` names it for the UI ("Undo brush")."""

    label: str
    changes: tuple[Change, ...]


def _frozen(mask: np.ndarray) -> np.ndarray:
    mask = np.array(mask, dtype=bool, copy=True)
    mask.flags.writeable = False
    return mask


def apply(instances: list[np.ndarray], command: Command) -> None:
    """Replay ``command`` on a list of masks, in place."""
    for ch in command.changes:
        if ch.kind == "insert":
            instances.insert(ch.index, _frozen(rle.decode(ch.after)))
        elif ch.kind == "delete":
            instances.pop(ch.index)
        else:
            instances[ch.index] = _frozen(rle.decode(ch.after))


def revert(instances: list[np.ndarray], command: Command) -> None:
    """Undo ``command`` on a list of masks, in place (changes reverted last to first)."""
    for ch in reversed(command.changes):
        if ch.kind == "insert":
            instances.pop(ch.index)
        elif ch.kind == "delete":
            instances.insert(ch.index, _frozen(rle.decode(ch.before)))
        else:
            instances[ch.index] = _frozen(rle.decode(ch.before))


class EditSession:
    """Instance masks of one image under edit, with undo / redo.

    Args:
        instances: starting masks, ``H x W`` arrays or COCO RLEs (the saved state).
        height, width: the image size in original pixels.
        max_history: commands kept for undo; the oldest are forgotten first.
    """

    def __init__(
        self, instances: Iterable = (), height: int = 0, width: int = 0, max_history: int = 500
    ):
        if height <= 0 or width <= 0:
            raise ValueError(f"an edit session needs the image size, got {height} x {width}")
        self.size = (int(height), int(width))
        self._instances = [_frozen(mask_ops.as_mask(m, self.size)) for m in instances]
        self._undo: list[Command] = []
        self._redo: list[Command] = []
        self._max_history = max_history
        self.revision = 0  # bumps on every edit, undo and redo (a cache key for renderings)
        self._saved_revision = 0

    # ---- state -----------------------------------------------------------------------------------
    @property
    def instances(self) -> tuple[np.ndarray, ...]:
        """Current masks, read-only ``H x W`` bool arrays (empty ones included)."""
        return tuple(self._instances)

    def __len__(self) -> int:
        return len(self._instances)

    def rles(self, drop_empty: bool = True) -> list[RLE]:
        """Current instances as COCO RLEs, empty ones left out unless ``drop_empty=False``."""
        return [rle.encode(m) for m in self._instances if m.any() or not drop_empty]

    @property
    def can_undo(self) -> bool:
        return bool(self._undo)

    @property
    def can_redo(self) -> bool:
        return bool(self._redo)

    @property
    def undo_label(self) -> str | None:
        return self._undo[-1].label if self._undo else None

    @property
    def redo_label(self) -> str | None:
        return self._redo[-1].label if self._redo else None

    @property
    def dirty(self) -> bool:
        """True when the masks differ (by history) from the last :meth:`mark_saved`."""
        return self.revision != self._saved_revision

    def mark_saved(self) -> None:
        """The instances as they are now are saved. Redo is gone: what it would bring back was
        undone before the save, and redoing it after would edit past the saved version unseen."""
        self._saved_revision = self.revision
        self._redo.clear()

    # ---- undo / redo -----------------------------------------------------------------------------
    def undo(self) -> str | None:
        """Revert the last command; returns its label, or None when there is nothing to undo."""
        if not self._undo:
            return None
        cmd = self._undo.pop()
        revert(self._instances, cmd)
        self._redo.append(cmd)
        self.revision += 1
        return cmd.label

    def redo(self) -> str | None:
        """Re-apply the last undone command; returns its label, or None."""
        if not self._redo:
            return None
        cmd = self._redo.pop()
        apply(self._instances, cmd)
        self._undo.append(cmd)
        self.revision += 1
        return cmd.label

    # ---- edits -----------------------------------------------------------------------------------
    def add_instance(self, mask) -> int:
        """Append a new instance; returns its index."""
        m = mask_ops.as_mask(mask, self.size)
        idx = len(self._instances)
        self._commit("add instance", [Change("insert", idx, None, rle.encode(m))])
        return idx

    def delete_instance(self, index: int) -> None:
        self._check(index)
        self._commit("delete instance", [Change("delete", index, self._rle(index), None)])

    def delete_instances(self, indices: Sequence[int]) -> None:
        """Delete several instances as one edit (one undo brings them all back)."""
        idx = sorted(set(int(i) for i in indices), reverse=True)
        for i in idx:
            self._check(i)
        if idx:
            self._commit("delete instances", [Change("delete", i, self._rle(i), None) for i in idx])

    def set_instance(self, index: int, mask, label: str = "set mask") -> None:
        """Replace an instance's mask wholesale (e.g. with a new model prediction after a click)."""
        self._replace(index, mask_ops.as_mask(mask, self.size), label)

    def add_region(self, index: int, region) -> None:
        self._replace(
            index, mask_ops.add_region(self._get(index), self._region(region)), "add region"
        )

    def subtract_region(self, index: int, region) -> None:
        """Cut ``region`` out of one instance (holes)."""
        self._replace(
            index,
            mask_ops.subtract_region(self._get(index), self._region(region)),
            "subtract region",
        )

    def brush(self, index: int, points, radius: float, erase: bool = False) -> None:
        """Paint or erase a stroke on one instance (points in original pixels, radius in pixels)."""
        new = mask_ops.brush(self._get(index), points, radius, erase=erase)
        self._replace(index, new, "erase" if erase else "brush")

    def clean(self, index: int, min_island: int = 0, max_hole: int = 0) -> None:
        """Drop islands under ``min_island`` px and fill holes up to ``max_hole`` px (explicit only)."""
        self._replace(index, mask_ops.clean(self._get(index), min_island, max_hole), "clean")

    def split(self, index: int, min_area: int = 1) -> list[int]:
        """Split an instance into its connected parts; returns the parts' indices (largest first).

        The largest part keeps the index; the others are inserted right after it. Parts under
        ``min_area`` pixels are discarded. An instance with one part is left alone.
        """
        parts = mask_ops.split_components(self._get(index), min_area=min_area)
        if len(parts) <= 1:
            return [index]
        changes = [Change("replace", index, self._rle(index), rle.encode(parts[0]))]
        changes += [
            Change("insert", index + k, None, rle.encode(p)) for k, p in enumerate(parts[1:], 1)
        ]
        self._commit("split", changes)
        return list(range(index, index + len(parts)))

    def merge(self, indices: Sequence[int]) -> int:
        """Merge instances into the one with the lowest index; returns that index."""
        idx = sorted(set(int(i) for i in indices))
        if not idx:
            raise ValueError("merge needs at least one instance index")
        for i in idx:
            self._check(i)
        if len(idx) == 1:
            return idx[0]
        union = mask_ops.merge([self._instances[i] for i in idx])
        changes = [Change("replace", idx[0], self._rle(idx[0]), rle.encode(union))]
        changes += [Change("delete", i, self._rle(i), None) for i in reversed(idx[1:])]
        self._commit("merge", changes)
        return idx[0]

    # ---- internals -------------------------------------------------------------------------------
    def _check(self, index: int) -> None:
        if not 0 <= index < len(self._instances):
            raise NotFound(f"no instance #{index}: this image has {len(self._instances)}")

    def _get(self, index: int) -> np.ndarray:
        self._check(index)
        return self._instances[index]

    def _rle(self, index: int) -> RLE:
        return rle.encode(self._instances[index])

    def _region(self, region) -> np.ndarray:
        return mask_ops.as_mask(region, self.size)

    def _replace(self, index: int, new: np.ndarray, label: str) -> None:
        if np.array_equal(self._get(index), new):
            return  # nothing changed: nothing to undo
        self._commit(label, [Change("replace", index, self._rle(index), rle.encode(new))])

    def _commit(self, label: str, changes: list[Change]) -> None:
        cmd = Command(label, tuple(changes))
        apply(self._instances, cmd)
        self._undo.append(cmd)
        del self._undo[: -self._max_history]
        self._redo.clear()
        self.revision += 1

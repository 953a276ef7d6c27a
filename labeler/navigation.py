"""The editor's walk through a group: an order fixed when the group is opened.

Sorting by the model's score is a good order to *start* in, but a decision changes the score
(a confirmed pair is no longer a proposal), so re-sorting on every rerun moved images under the
annotator: confirming image 2 of 8 and pressing Next landed on 7 of 8. The order is therefore taken
once, when the (group, expression) is opened, and kept (the sweep's rule,
:func:`labeler.sweep_order.held_order`: images added meanwhile join at the end, removed ones drop
out): Next / Previous walk it, a decision never moves an image, and
:meth:`ImageOrder.next_undecided` is the separate jump to work still to do.

    order = ImageOrder.held(previous_order_or_None, decisions)
    order.position(image_id), order.previous(image_id), order.next(image_id)
    order.next_undecided(image_id, undecided_ids)
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass

from labeler.domain import ExpressionDecision
from labeler.sweep_order import held_order


@dataclass(frozen=True)
class ImageOrder:
    """Image ids in the fixed order of one opened (group, expression)."""

    ids: tuple[int, ...]

    @classmethod
    def open(cls, ids: Iterable[int]) -> ImageOrder:
        seen: dict[int, None] = dict.fromkeys(int(i) for i in ids)  # de-duplicated, in order
        return cls(tuple(seen))

    @classmethod
    def held(
        cls, previous: ImageOrder | None, decisions: Mapping[int, ExpressionDecision]
    ) -> ImageOrder:
        """The order of an opened group: ``previous`` kept as it is (images gone dropped, new
        ones at the end), or, when the group is first opened, best proposals first."""
        frozen = previous.ids if previous is not None else None
        return cls.open(held_order(frozen, decisions, by="score", show="all"))

    def __len__(self) -> int:
        return len(self.ids)

    def __contains__(self, image_id: object) -> bool:
        return image_id in self.ids

    def _index(self, image_id: int) -> int:
        try:
            return self.ids.index(image_id)
        except ValueError:
            raise KeyError(f"image {image_id} is not in this group's order") from None

    def position(self, image_id: int) -> int:
        """1-based place of ``image_id`` (what "image 3 / 8" shows)."""
        return self._index(image_id) + 1

    def previous(self, image_id: int) -> int | None:
        k = self._index(image_id)
        return self.ids[k - 1] if k > 0 else None

    def next(self, image_id: int) -> int | None:
        k = self._index(image_id)
        return self.ids[k + 1] if k + 1 < len(self.ids) else None

    def next_undecided(self, image_id: int, undecided: Collection[int]) -> int | None:
        """The first undecided image after ``image_id``, wrapping round to the start; None when
        no other image is undecided."""
        k = self._index(image_id)
        for candidate in self.ids[k + 1 :] + self.ids[:k]:
            if candidate in undecided:
                return candidate
        return None

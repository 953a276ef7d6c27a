"""The editor's walk through a group: an order fixed when the group is opened.

Sorting by the model's score is a good order to *start* in, but a decision changes the score
(a confirmed pair is no longer a proposal), so re-sorting on every rerun moved images under the
annotator: confirming image 2 of 8 and pressing Next landed on 7 of 8. The order is therefore taken
once, when the (group, expression) is opened, and kept: Next / Previous walk it, a decision never
moves an image, and :meth:`ImageOrder.next_undecided` is the separate jump to work still to do.

    order = ImageOrder.open(annotate.grid_order(decisions, "score"))
    order.position(image_id), order.previous(image_id), order.next(image_id)
    order.next_undecided(image_id, undecided_ids)
    order = order.refreshed(current_image_ids)   # images added or removed meanwhile
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class ImageOrder:
    """Image ids in the fixed order of one opened (group, expression)."""

    ids: tuple[int, ...]

    @classmethod
    def open(cls, ids: Iterable[int]) -> ImageOrder:
        seen: dict[int, None] = dict.fromkeys(int(i) for i in ids)  # de-duplicated, in order
        return cls(tuple(seen))

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

    def refreshed(self, current: Iterable[int]) -> ImageOrder:
        """The same order over the group's images now: gone ones dropped, new ones appended
        (sorted by id) so nothing already placed moves."""
        now = [int(i) for i in current]
        present = set(now)
        kept = [i for i in self.ids if i in present]
        known = set(kept)
        return ImageOrder(tuple(kept) + tuple(sorted(i for i in now if i not in known)))

"""What an export will write and what it leaves out, before anything is written (pure).

    summary = export_summary(snapshot, "coco", incomplete="omit")
    summary.lines()   # ["Writes 5 images, 3 complete expressions, 4 object masks, 5 negative pairs.",
                      #  "Leaves out 1 incomplete expression (choose 'mark' to include it), ..."]

The CLI prints it after ``grd export``; the app's Export tab shows it before the download. Counts
follow the writers: ``exports.snapshot.selected_expressions`` picks the expressions, an object mask
is a distinct (image, mask) of their positive pairs (the COCO / D³ annotations), and a negative
pair is a person's "not on this image" that the format can hold (RefCOCO cannot).
"""

from __future__ import annotations

from dataclasses import dataclass

from exports.registry import format_named
from exports.snapshot import Incomplete, Snapshot, selected_expressions
from labeler import rle


def _plural(count: int, word: str) -> str:
    return f"{count:,} {word}{'' if count == 1 else 's'}"


@dataclass(frozen=True)
class ExportSummary:
    format: str
    incomplete: str
    images: int
    complete: int
    incomplete_marked: int
    incomplete_left_out: int
    objects: int
    positive_pairs: int
    negative_pairs: int
    negatives_left_out: int
    proposals_left_out: int

    @property
    def empty(self) -> bool:
        """Nothing decided would be written (an export of images only)."""
        return not (self.positive_pairs or self.negative_pairs)

    def written(self) -> str:
        parts = [
            _plural(self.images, "image"),
            _plural(self.complete, "complete expression"),
        ]
        if self.incomplete_marked:
            parts.append(f"{_plural(self.incomplete_marked, 'incomplete expression')} (marked)")
        parts += [
            _plural(self.objects, "object mask"),
            _plural(self.negative_pairs, "negative pair"),
        ]
        return f"{self.format} writes " + ", ".join(parts) + "."

    def left_out(self) -> str:
        parts = []
        if self.incomplete_left_out:
            parts.append(
                f"{_plural(self.incomplete_left_out, 'incomplete expression')} "
                "(choose 'mark' to include their decided pairs)"
            )
        if self.negatives_left_out:
            parts.append(
                f"{_plural(self.negatives_left_out, 'negative pair')} "
                f"({self.format} has no place for them)"
            )
        if self.proposals_left_out:
            parts.append(
                f"{_plural(self.proposals_left_out, 'model proposal')} (never exported as truth)"
            )
        return ("Leaves out " + "; ".join(parts) + ".") if parts else "Leaves nothing out."

    def lines(self) -> list[str]:
        return [self.written(), self.left_out()]


def export_summary(
    snapshot: Snapshot, fmt: str, *, incomplete: Incomplete = "omit"
) -> ExportSummary:
    """Count what ``fmt`` writes of ``snapshot`` with ``incomplete`` and what it leaves out."""
    writes_negatives = format_named(fmt).writes_negatives
    chosen = selected_expressions(snapshot, incomplete)
    complete = sum(c.complete for c in chosen)
    objects: set[tuple[int, str]] = set()
    positives = negatives = 0
    for c in chosen:
        for decision in snapshot.positives(c.expression.id):
            positives += 1
            for instance in decision.instances:
                objects.add((decision.image_id, rle.normalize(instance.rle)["counts"]))
        negatives += len(snapshot.negatives(c.expression.id))
    proposals = sum(len(snapshot.proposals(e.id)) for e in snapshot.expressions)
    return ExportSummary(
        format=fmt,
        incomplete=incomplete,
        images=len(snapshot.images),
        complete=complete,
        incomplete_marked=len(chosen) - complete,
        incomplete_left_out=len(snapshot.expressions) - len(chosen),
        objects=len(objects),
        positive_pairs=positives,
        negative_pairs=negatives if writes_negatives else 0,
        negatives_left_out=0 if writes_negatives else negatives,
        proposals_left_out=proposals,
    )

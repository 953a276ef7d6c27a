"""The one table of limits on what users and files may put into a project.

Every text that reaches the store is checked here, in the domain layer, so SQLite (which stores any
length) and PostgreSQL (which refuses an over-long ``String(n)`` or a NUL byte with a ``DataError``
half-way through a transaction) behave the same: the project refuses first, with a one-line
message naming the field. ``docs/exports.md`` states the table for users.

    check_text("expression", text) -> text            # or raises InvalidText
"""

from __future__ import annotations

import unicodedata

from labeler.errors import LabelerError

#: Longest text, in characters, each field may hold. Expressions are sentences, not paragraphs;
#: names fit the database columns (``String(200)``) with room to spare.
TEXT_LIMITS: dict[str, int] = {
    "group name": 200,
    "target keyword": 200,
    "scene keyword": 200,
    "expression": 500,
    "user name": 200,
    "image file": 500,
    "owner": 300,
    "license": 300,
    "source URL": 2000,
    "model version": 200,
    "reason": 2000,
    "server folder": 1000,
}

#: Deepest nesting of brackets an imported JSON file (COCO instances, expression file, refs,
#: manifest) may hold. Real files nest 4-6 levels; polygons and RLE lists add one or two.
MAX_JSON_DEPTH = 64

#: Most instance masks one (expression, image) decision may carry. A referring expression names a
#: few objects; a file with thousands is broken or hostile and is refused before any is decoded.
MAX_INSTANCES_PER_DECISION = 200

#: Most bytes one image may take once decoded (width x height x channels x bytes per sample, in
#: the file's own mode, before conversion to 8-bit RGB). 256 MiB admits an 80-megapixel 8-bit RGB
#: photo (240 MB) and refuses an 80-megapixel float or 16-bit RGB TIFF before a pixel is decoded.
#: A server may raise it with the environment variable below.
MAX_DECODED_BYTES = 256 * 1024 * 1024
MAX_DECODED_BYTES_ENV = "GRD_MAX_DECODED_BYTES"


def max_decoded_bytes() -> int:
    """``MAX_DECODED_BYTES``, or the value of ``$GRD_MAX_DECODED_BYTES`` when that is set."""
    import os

    value = os.environ.get(MAX_DECODED_BYTES_ENV, "").strip()
    return int(value) if value.isdigit() else MAX_DECODED_BYTES


class InvalidText(LabelerError, ValueError):
    """A text field is too long, empty where it must not be, or holds control characters."""


def check_text(field: str, value: str, *, allow_empty: bool = False) -> str:
    """``value`` if it fits ``field``'s limit; else :class:`InvalidText` naming the field.

    Refused: a non-string, more characters than ``TEXT_LIMITS[field]``, NUL and other control
    characters (a tab is kept; newlines only where a field is multi-line, which none is today),
    and an empty or all-blank text unless ``allow_empty``.
    """
    limit = TEXT_LIMITS[field]
    if not isinstance(value, str):
        raise InvalidText(f"{field} must be text, got {type(value).__name__}")
    if len(value) > limit:
        raise InvalidText(f"{field} is {len(value):,} characters long; the limit is {limit:,}")
    bad = next((c for c in value if c != "\t" and unicodedata.category(c) == "Cc"), None)
    if bad is not None:
        raise InvalidText(f"{field} holds a control character (U+{ord(bad):04X})")
    if not allow_empty and not value.strip():
        raise InvalidText(f"{field} is empty")
    return value

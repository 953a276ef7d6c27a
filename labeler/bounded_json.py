"""JSON parsing with a bounded nesting depth, for every file a user imports.

``json.loads`` on ``[[[[...]]]]`` nested 100,000 deep raises a ``RecursionError`` (a long traceback,
not a message), and a parse that succeeds at depth 900 can still make a later recursive walk fail.
``loads(text, name)`` measures the depth first, in one linear pass over the text that skips string
contents, and refuses anything deeper than ``MAX_JSON_DEPTH`` with a one-line ``ImportFormatError``.
"""

from __future__ import annotations

import json
import re
from typing import Any

import numpy as np

from labeler.errors import ImportFormatError
from labeler.limits import MAX_JSON_DEPTH

# A JSON string with its escapes; what is left once they are gone holds the brackets. Written as
# runs of plain characters between escapes, which the regex engine scans twice as fast as an
# alternation tried at every character.
_STRINGS = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_OPEN, _CLOSE = np.frombuffer(b"[{", np.uint8), np.frombuffer(b"]}", np.uint8)


def depth(text: str) -> int:
    """Deepest bracket nesting of a JSON text, string contents ignored (linear time: one regex
    pass drops the strings, numpy counts the brackets; a COCO file holds millions of strings,
    too many for a Python loop over them)."""
    skeleton = np.frombuffer(_STRINGS.sub("", text).encode("utf-8", "replace"), np.uint8)
    opening, closing = np.isin(skeleton, _OPEN), np.isin(skeleton, _CLOSE)
    steps = opening[opening | closing].astype(np.int64) * 2 - 1  # +1 opens, -1 closes
    return int(np.cumsum(steps).max(initial=0))


def loads(text: str, name: str) -> Any:
    """Parse ``text``; too deep or malformed is an ``ImportFormatError`` naming ``name``."""
    found = depth(text)
    if found > MAX_JSON_DEPTH:
        raise ImportFormatError(
            f"{name}: JSON nested {found} levels deep; the limit is {MAX_JSON_DEPTH} "
            "(labeler.limits.MAX_JSON_DEPTH)"
        )
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ImportFormatError(
            f"{name}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
        ) from None
    except RecursionError:  # a depth the scan above did not see (should not happen)
        raise ImportFormatError(f"{name}: JSON nested too deeply") from None

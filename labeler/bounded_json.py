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

from labeler.errors import ImportFormatError
from labeler.limits import MAX_JSON_DEPTH

# Strings (with escapes) or single brackets; everything else is skipped by finditer.
_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]', re.DOTALL)


def depth(text: str) -> int:
    """Deepest bracket nesting of a JSON text, string contents ignored (linear time)."""
    level = deepest = 0
    for match in _TOKENS.finditer(text):
        token = match.group()
        if token in "[{":
            level += 1
            deepest = max(deepest, level)
        elif token in "]}":
            level -= 1
    return deepest


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

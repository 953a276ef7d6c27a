"""docs/exports.md states the same text limits as labeler/limits.py (the one table)."""

import re
from pathlib import Path

from labeler.limits import TEXT_LIMITS

DOC = Path(__file__).resolve().parents[2] / "docs" / "exports.md"


def test_the_documented_limits_are_the_table():
    section = DOC.read_text().split("## Text limits", 1)[1].split("\n## ", 1)[0]
    documented = {}
    for fields, limit in re.findall(r"^\| ([^|]+?) \| (\d+) \|$", section, flags=re.M):
        for field in fields.split(", "):
            documented[field] = int(limit)
    assert documented == TEXT_LIMITS

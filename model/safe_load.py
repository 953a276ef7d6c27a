"""``torch.load`` of an untrusted file, with a one-line refusal.

``torch.load(..., weights_only=True)`` already refuses a checkpoint that names arbitrary code, but
its message is many lines long and suggests ``weights_only=False``, which is exactly what must not
be done with a file from elsewhere. ``load_weights(path, what)`` keeps the safe loader and turns
every failure into one ``CheckpointError`` line naming the file and, when there is one, the refused
global.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import torch

from model.errors import CheckpointError

_GLOBAL = re.compile(r"GLOBAL ([\w.]+)")  # torch: "Unsupported global: GLOBAL builtins.print"


def refusal(path: str | Path, what: str, exc: BaseException) -> CheckpointError:
    """One line for a failed safe load: the refused global if torch names one, else the reason."""
    text = str(exc)
    found = _GLOBAL.search(text)
    if found:
        name = found.group(1)
        return CheckpointError(
            f"{path}: refused to load this {what}: it names {name}, which is code, not weights "
            "(nothing from the file was run)"
        )
    first = next((line.strip() for line in text.splitlines() if line.strip()), type(exc).__name__)
    return CheckpointError(f"{path} is not a readable {what}: {first[:200]}")


def load_weights(path: str | Path, what: str = "checkpoint", map_location="cpu") -> Any:
    """``torch.load(path, weights_only=True)``; any failure is a one-line ``CheckpointError``."""
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # unpickling refusals, truncated or foreign files
        raise refusal(path, what, exc) from None

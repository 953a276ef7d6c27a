"""Atomic file writes: a temporary file in the target folder, flushed to disk, then renamed.

A reader (or a crash) sees either the old file or the complete new one, never half a file: the
rename is atomic on POSIX and Windows when both names are on the same file system, which is why
the temporary file lives next to the target. ``mkstemp`` creates the file ``-rw-------``; it is
given the mode an ordinary ``open`` would (``0o666`` less the umask) before the rename, so
teammates on a shared server can read an export as they can read any other file.
"""

from __future__ import annotations

import json
import os
import pickle
import tempfile
from pathlib import Path
from typing import Any


def _umask() -> int:
    """The process umask, read without changing it where the OS says (Linux), else set and reset."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except OSError:
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_bytes(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically; the parent folder is created if missing."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            os.fchmod(handle.fileno(), 0o666 & ~_umask())
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_text(path: str | Path, text: str) -> Path:
    return write_bytes(path, text.encode("utf-8"))


def write_json(path: str | Path, obj: Any, *, indent: int | None = None) -> Path:
    """JSON with non-ASCII text kept readable (expressions are often not English)."""
    text = json.dumps(
        obj, ensure_ascii=False, indent=indent, separators=None if indent else (",", ":")
    )
    return write_text(path, text)


def write_pickle(path: str | Path, obj: Any, *, protocol: int = 4) -> Path:
    """Pickle plain data. Protocol 4 keeps numpy arrays on the ``_reconstruct`` path that
    ``labeler.safe_pickle`` admits (protocol 5 may use out-of-band buffers)."""
    return write_bytes(path, pickle.dumps(obj, protocol=protocol))

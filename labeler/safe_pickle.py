"""A restricted pickle reader for annotation files (D³ / GRD ``*.pkl``).

``pickle.load`` runs whatever code a file names, so an annotation file from the internet could take
over the machine. ``load(path)`` admits plain data only: dict, list, tuple, set, str, bytes, int,
float, bool, None, and (unless ``allow_numpy=False``) numpy arrays and scalars of plain dtypes,
which the D³ files use for boxes. Any other global in the file is refused with ``UnsafePickle``
naming the file and the global; nothing from the file is executed.
"""

from __future__ import annotations

import io
import pickle
from pathlib import Path

from labeler.errors import ImportFormatError

# Globals a numpy array / scalar pickle needs; building them runs no code from the file.
_NUMPY_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "scalar"),
    ("numpy.core.numeric", "_frombuffer"),
    ("numpy._core.numeric", "_frombuffer"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
}
# Plain builtins that pickle protocol 0/1 may name as globals for ordinary containers.
_BUILTIN_GLOBALS = {
    ("builtins", name)
    for name in (
        "dict",
        "list",
        "tuple",
        "set",
        "frozenset",
        "str",
        "bytes",
        "bytearray",
        "int",
        "float",
        "bool",
        "complex",
    )
} | {("copyreg", "_reconstructor"), ("_codecs", "encode")}  # protocol <= 2 spells bytes this way


class UnsafePickle(ImportFormatError):
    """The pickle names a global outside the allow-list; it was not loaded."""


class _RestrictedUnpickler(pickle.Unpickler):
    def __init__(self, file, name: str, allow_numpy: bool):
        super().__init__(file)
        self._name = name
        self._allowed = _BUILTIN_GLOBALS | (_NUMPY_GLOBALS if allow_numpy else set())

    def find_class(self, module: str, name: str):
        if module == "__builtin__":  # Python 2 / protocol <= 2 name of builtins
            module = "builtins"
        if (module, name) not in self._allowed:
            raise UnsafePickle(
                f"{self._name}: refused to load, the pickle names the global {module}.{name}, which "
                "is not plain data (only containers, str, bytes, numbers, bool, None"
                f"{' and numpy arrays' if self._allowed & _NUMPY_GLOBALS else ''} are allowed)"
            )
        if module == "copyreg":
            # _reconstructor is only safe for builtin bases; check its arguments when called.
            return _safe_reconstructor(self._name)
        return super().find_class(module, name)

    def persistent_load(self, pid):
        raise UnsafePickle(f"{self._name}: refused to load, the pickle uses persistent ids")


def _safe_reconstructor(name: str):
    import copyreg

    plain = (dict, list, tuple, set, frozenset, str, bytes, int, float, bool, object)

    def reconstruct(cls, base, state):
        if cls not in plain or base not in plain:
            raise UnsafePickle(f"{name}: refused to load, it reconstructs {cls!r} from {base!r}")
        return copyreg._reconstructor(cls, base, state)

    return reconstruct


def _check_numpy_dtypes(obj, name: str):
    """Object arrays could hide anything behind numpy; refuse them after loading."""
    import numpy as np

    stack = [obj]
    while stack:
        item = stack.pop()
        if isinstance(item, np.ndarray) and item.dtype.hasobject:
            raise UnsafePickle(f"{name}: refused, it holds a numpy array of Python objects")
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, (list, tuple, set, frozenset)):
            stack.extend(item)
    return obj


def loads(data: bytes, name: str = "<bytes>", allow_numpy: bool = True):
    """Unpickle plain data from bytes; ``name`` appears in error messages."""
    try:
        obj = _RestrictedUnpickler(io.BytesIO(data), name, allow_numpy).load()
    except UnsafePickle:
        raise
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError) as exc:
        raise ImportFormatError(f"{name}: not a readable pickle ({exc})") from exc
    return _check_numpy_dtypes(obj, name) if allow_numpy else obj


def load(path: str | Path, allow_numpy: bool = True):
    """Unpickle plain data from a file; raises ``UnsafePickle`` / ``ImportFormatError``."""
    path = Path(path)
    return loads(path.read_bytes(), name=str(path), allow_numpy=allow_numpy)

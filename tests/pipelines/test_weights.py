"""Weights: the published table, checksum-verified add, resumable download against a local server."""

from __future__ import annotations

import hashlib
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from pipelines.click_models import weights as W

PAYLOAD = bytes(range(256)) * 4096  # 1 MiB of known bytes


def spec_for(payload: bytes, url: str, name: str = "test_sam") -> W.KnownWeights:
    return W.KnownWeights(name, "vit_b", url, len(payload), hashlib.sha256(payload).hexdigest())


class Server:
    """A local HTTP server for one file, with Range support and switchable faults."""

    def __init__(self, body: bytes):
        self.body = body
        self.drop_after: int | None = None  # close the first response after this many bytes
        self.honour_range = True
        self.ranges: list[str | None] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                rng = self.headers.get("Range")
                server.ranges.append(rng)
                start = 0
                if rng and server.honour_range:
                    start = int(rng.split("=")[1].split("-")[0])
                    if start >= len(server.body):
                        self.send_response(416)
                        self.end_headers()
                        return
                    self.send_response(206)
                    self.send_header(
                        "Content-Range", f"bytes {start}-{len(server.body) - 1}/{len(server.body)}"
                    )
                else:
                    self.send_response(200)
                data = server.body[start:]
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if server.drop_after is not None:
                    cut, server.drop_after = server.drop_after, None
                    self.wfile.write(data[:cut])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/sam_test.pth"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


def registry(tmp_path, spec):
    return W.WeightsRegistry(tmp_path / "weights", table={spec.name: spec})


def test_published_table_is_the_official_sam_release():
    assert set(W.KNOWN) == {"sam_vit_b", "sam_vit_l", "sam_vit_h"}
    b = W.known("vit_b")
    assert b.url == "https://dl.fbaipublicfiles.com/segment_anything/sam_vit_b_01ec64.pth"
    assert b.filename == "sam_vit_b_01ec64.pth" and b.size == 375_042_383
    assert b.sha256.startswith("ec2df627") and len(b.sha256) == 64
    assert all(
        w.sha256 != v.sha256 for w in W.KNOWN.values() for v in W.KNOWN.values() if w is not v
    )
    with pytest.raises(W.UnknownWeights):
        W.known("vit_x")


def test_download_verifies_and_registers(tmp_path):
    with Server(PAYLOAD) as server:
        spec = spec_for(PAYLOAD, server.url)
        reg = registry(tmp_path, spec)
        seen = []
        entry = reg.download(
            spec.name, progress=lambda fraction, message: seen.append((fraction, message))
        )
    path = reg.resolve(spec.name)
    assert path.read_bytes() == PAYLOAD and entry.sha256 == spec.sha256
    assert seen[-1] == (1.0, f"{len(PAYLOAD)} of {len(PAYLOAD)} bytes")
    assert reg.get(spec.name).path == str(path) and not path.with_name(path.name + ".part").exists()


def test_interrupted_download_resumes_with_range(tmp_path):
    with Server(PAYLOAD) as server:
        spec = spec_for(PAYLOAD, server.url)
        reg = registry(tmp_path, spec)
        server.drop_after = 300_000
        with pytest.raises(W.WeightsError, match="run the command again to resume"):
            reg.download(spec.name)
        part = reg.root / "sam_test.pth.part"
        assert part.stat().st_size == 300_000
        reg.download(spec.name)
    assert server.ranges == [None, "bytes=300000-"]
    assert reg.resolve(spec.name).read_bytes() == PAYLOAD


def test_server_ignoring_range_restarts_cleanly(tmp_path):
    with Server(PAYLOAD) as server:
        spec = spec_for(PAYLOAD, server.url)
        reg = registry(tmp_path, spec)
        (reg.root).mkdir(parents=True)
        (reg.root / "sam_test.pth.part").write_bytes(PAYLOAD[:1000])
        server.honour_range = False
        reg.download(spec.name)
    assert reg.resolve(spec.name).read_bytes() == PAYLOAD


def test_corrupted_download_is_refused_and_deleted(tmp_path):
    corrupted = bytearray(PAYLOAD)
    corrupted[123_456] ^= 0xFF
    with Server(bytes(corrupted)) as server:
        spec = spec_for(PAYLOAD, server.url)  # the published hash is that of the good bytes
        reg = registry(tmp_path, spec)
        with pytest.raises(W.ChecksumMismatch, match="corrupted"):
            reg.download(spec.name)
    assert not any(reg.root.iterdir()) and reg.get(spec.name) is None


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:{port}/x.pth", "http://no-such-host.invalid/x.pth"]
)
def test_no_route_fails_at_once_and_says_use_add(tmp_path, url):
    spec = spec_for(PAYLOAD, url.format(port=_closed_port()))
    start = time.monotonic()
    with pytest.raises(W.NoRoute, match="grd weights add FILE") as info:
        registry(tmp_path, spec).download(spec.name, timeout=10)
    assert time.monotonic() - start < 5
    assert spec.url in str(info.value)


def test_add_verifies_the_checksum(tmp_path):
    spec = spec_for(PAYLOAD, "http://example.invalid/sam_test.pth")
    reg = registry(tmp_path, spec)
    good = tmp_path / "downloaded_elsewhere.pth"
    good.write_bytes(PAYLOAD)
    entry = reg.add(good)
    assert entry.name == spec.name and reg.resolve(spec.name) == good.resolve()
    bad = tmp_path / "truncated.pth"
    bad.write_bytes(PAYLOAD[:-1])
    with pytest.raises(W.ChecksumMismatch, match="not test_sam"):
        reg.add(bad, name=spec.name)
    with pytest.raises(W.UnknownWeights, match="none of the known"):
        reg.add(bad)
    assert reg.resolve(spec.name) == good.resolve()  # the bad file did not replace the good one


def test_add_with_copy_and_resolve(tmp_path):
    spec = spec_for(PAYLOAD, "http://example.invalid/sam_test.pth")
    reg = registry(tmp_path, spec)
    src = tmp_path / "x.pth"
    src.write_bytes(PAYLOAD)
    entry = reg.add(src, copy=True)
    assert entry.path == str(reg.root / "sam_test.pth")
    src.unlink()
    assert reg.resolve(spec.name).read_bytes() == PAYLOAD
    assert (
        reg.resolve(str(reg.root / "sam_test.pth")) == reg.root / "sam_test.pth"
    )  # a path works too
    with pytest.raises(FileNotFoundError, match="grd weights list"):
        reg.resolve("nothing_like_this")

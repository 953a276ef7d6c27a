"""A local HTTP server that speaks Flickr's REST API (JSON format) and serves the photo files.

Methods: ``flickr.photos.search`` (text / tags, license filter, paging, extras ``url_l/c/z``),
``flickr.photos.licenses.getInfo``, ``flickr.photos.getInfo``, ``flickr.photos.getSizes``. Errors
take Flickr's shape (``{"stat": "fail", "code": 100, "message": ...}``, HTTP 200). Faults can be
queued per REST method or per photo file: ``"500"``, ``"timeout"`` (answer after ``delay_s``),
``"105"`` (Flickr's "service unavailable"). A removed photo stays in search results but its file
redirects to Flickr's ``photo_unavailable.png`` placeholder (or answers 404).
"""

from __future__ import annotations

import io
import json
import math
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

import numpy as np
from PIL import Image

GOOD_KEY = "0123456789abcdef0123456789abcdef"

LICENSE_ROWS = [
    (0, "All Rights Reserved", ""),
    (
        1,
        "Attribution-NonCommercial-ShareAlike License",
        "https://creativecommons.org/licenses/by-nc-sa/2.0/",
    ),
    (2, "Attribution-NonCommercial License", "https://creativecommons.org/licenses/by-nc/2.0/"),
    (4, "Attribution License", "https://creativecommons.org/licenses/by/2.0/"),
    (5, "Attribution-ShareAlike License", "https://creativecommons.org/licenses/by-sa/2.0/"),
    (9, "Public Domain Dedication (CC0)", "https://creativecommons.org/publicdomain/zero/1.0/"),
    (11, "CC BY 4.0", "https://creativecommons.org/licenses/by/4.0/"),
    (14, "CC BY-NC 4.0", "https://creativecommons.org/licenses/by-nc/4.0/"),
]


def scene_image(seed: int, size: tuple[int, int] = (160, 120)) -> Image.Image:
    """A smooth random picture: distinct seeds give perceptually distinct images."""
    rng = np.random.default_rng(seed)
    low = (rng.random((5, 7, 3)) * 255).astype(np.uint8)
    return Image.fromarray(low, "RGB").resize(size, Image.Resampling.BICUBIC)


def jpeg(img: Image.Image, quality: int = 90) -> bytes:
    buffer = io.BytesIO()
    img.save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


@dataclass
class FakePhoto:
    id: str
    words: set[str]
    license: int = 4
    owner: str = "12345678@N00"
    ownername: str = "Ann Example"
    title: str = ""
    image: bytes = b""
    removed: str = ""  # "", "redirect" (placeholder image), "404", or "gone" (not even getInfo)
    sizes: tuple[str, ...] = ("l", "c", "z")
    secret: str = "abcdef1234"
    server: str = "65535"

    def __post_init__(self):
        self.title = self.title or f"photo {self.id}"
        self.image = self.image or jpeg(scene_image(int(self.id)))


_SUFFIX = {"l": "b", "c": "c", "z": "z"}
_LABEL = {"l": ("Large", 1024), "c": ("Medium 800", 800), "z": ("Medium 640", 640)}


@dataclass
class FakeFlickr:
    photos: list[FakePhoto]
    keys: set[str] = field(default_factory=lambda: {GOOD_KEY})
    honour_license: bool = True
    delay_s: float = 1.0
    faults: dict[str, list[str]] = field(default_factory=dict)
    #: Every request: {"verb", "path", "query", "params"}; params without the api_key.
    requests: list[dict] = field(default_factory=list)
    keys_seen: list[str] = field(default_factory=list)

    # -- server lifecycle --------------------------------------------------------------------
    def __enter__(self) -> FakeFlickr:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def do_GET(self):
                fake._handle(self, b"")

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                fake._handle(self, self.rfile.read(length))

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    @property
    def api_url(self) -> str:
        return f"{self.base}/services/rest/"

    def by_id(self, photo_id: str) -> FakePhoto | None:
        return next((p for p in self.photos if p.id == photo_id), None)

    def searches(self) -> list[dict]:
        return [
            r["params"]
            for r in self.requests
            if r["params"].get("method") == "flickr.photos.search"
        ]

    def downloads(self, photo_id: str) -> int:
        return sum(1 for r in self.requests if re.search(rf"/{photo_id}_", r["path"]))

    # -- request handling --------------------------------------------------------------------
    def _handle(self, handler: BaseHTTPRequestHandler, body: bytes) -> None:
        parts = urlsplit(handler.path)
        params = dict(parse_qsl(parts.query))
        if body:
            params.update(parse_qsl(body.decode()))
        key = params.pop("api_key", None)
        if key is not None:
            self.keys_seen.append(key)
        self.requests.append(
            {"verb": handler.command, "path": parts.path, "query": parts.query, "params": params}
        )
        try:
            if parts.path == "/services/rest/":
                self._rest(handler, params, key)
            else:
                self._file(handler, parts.path)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout test)
            pass

    def _fault(self, handler, name: str) -> str | None:
        queue = self.faults.get(name)
        if not queue:
            return None
        fault = queue.pop(0)
        if fault == "500":
            self._send(handler, 500, b"Internal Server Error", "text/plain")
            return fault
        if fault == "429":
            self._send(handler, 429, b"Too Many Requests", "text/plain", {"Retry-After": "7"})
            return "500"  # answered
        if fault == "timeout":
            time.sleep(self.delay_s)
            return None  # then answer normally: too late for the client
        return fault

    def _send(
        self, handler, status: int, data: bytes, ctype: str, headers: dict | None = None
    ) -> None:
        handler.send_response(status)
        handler.send_header("Content-Type", ctype)
        handler.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(data)

    def _json(self, handler, obj: dict) -> None:
        self._send(handler, 200, json.dumps(obj).encode(), "application/json")

    def _rest(self, handler, params: dict, key: str | None) -> None:
        method = params.get("method", "")
        fault = self._fault(handler, method)
        if fault == "500":
            return
        if fault == "105":
            return self._json(
                handler, {"stat": "fail", "code": 105, "message": "Service currently unavailable"}
            )
        if not key or key not in self.keys:
            message = (
                "Invalid API Key (Key has invalid format)"
                if key and len(key) != 32
                else "Invalid API Key (Key not found)"
            )
            return self._json(handler, {"stat": "fail", "code": 100, "message": message})
        if method == "flickr.photos.search":
            return self._json(handler, self.search(params))
        if method == "flickr.photos.licenses.getInfo":
            rows = [{"id": i, "name": n, "url": u} for i, n, u in LICENSE_ROWS]
            return self._json(handler, {"licenses": {"license": rows}, "stat": "ok"})
        if method in ("flickr.photos.getInfo", "flickr.photos.getSizes"):
            photo = self.by_id(params.get("photo_id", ""))
            if photo is None or photo.removed == "gone":
                return self._json(
                    handler, {"stat": "fail", "code": 1, "message": "Photo not found"}
                )
            return self._json(
                handler, self.info(photo) if method.endswith("getInfo") else self.sizes(photo)
            )
        self._json(
            handler, {"stat": "fail", "code": 112, "message": f'Method "{method}" not found'}
        )

    def _url(self, photo: FakePhoto, size: str) -> str:
        return f"{self.base}/static/{photo.server}/{photo.id}_{photo.secret}_{_SUFFIX[size]}.jpg"

    def search(self, params: dict) -> dict:
        if params.get("tags"):
            words = {w.strip().lower() for w in params["tags"].split(",")}
        else:
            words = set(params.get("text", "").lower().split())
        found = [p for p in self.photos if words and words <= p.words and p.removed != "gone"]
        if self.honour_license and params.get("license"):
            allowed = {int(i) for i in params["license"].split(",")}
            found = [p for p in found if p.license in allowed]
        per_page, page = int(params.get("per_page", 100)), int(params.get("page", 1))
        pages = math.ceil(len(found) / per_page)
        rows = []
        for p in found[(page - 1) * per_page : page * per_page]:
            row = {
                "id": p.id,
                "owner": p.owner,
                "secret": p.secret,
                "server": p.server,
                "farm": 66,
                "title": p.title,
                "ispublic": 1,
                "isfriend": 0,
                "isfamily": 0,
                "license": str(p.license),
                "ownername": p.ownername,
            }
            for size in p.sizes:
                row[f"url_{size}"] = self._url(p, size)
            rows.append(row)
        return {
            "photos": {
                "page": page,
                "pages": pages,
                "perpage": per_page,
                "total": len(found),
                "photo": rows,
            },
            "stat": "ok",
        }

    def info(self, p: FakePhoto) -> dict:
        page = f"https://www.flickr.com/photos/{p.owner}/{p.id}/"
        return {
            "photo": {
                "id": p.id,
                "secret": p.secret,
                "server": p.server,
                "farm": 66,
                "license": str(p.license),
                "owner": {"nsid": p.owner, "username": "ann", "realname": p.ownername},
                "title": {"_content": p.title},
                "urls": {"url": [{"type": "photopage", "_content": page}]},
            },
            "stat": "ok",
        }

    def sizes(self, p: FakePhoto) -> dict:
        rows = [
            {"label": _LABEL[s][0], "width": _LABEL[s][1], "source": self._url(p, s)}
            for s in p.sizes
        ]
        return {"sizes": {"canblog": 0, "size": rows}, "stat": "ok"}

    def _file(self, handler, path: str) -> None:
        if path == "/images/photo_unavailable.png":
            buffer = io.BytesIO()
            Image.new("RGB", (500, 374), (200, 200, 200)).save(buffer, format="PNG")
            return self._send(handler, 200, buffer.getvalue(), "image/png")
        match = re.fullmatch(r"/static/\d+/(\d+)_[0-9a-f]+_\w\.jpg", path)
        photo = self.by_id(match.group(1)) if match else None
        if photo is None:
            return self._send(handler, 404, b"not found", "text/plain")
        if self._fault(handler, f"img:{photo.id}") == "500":
            return
        if photo.removed == "redirect":
            return self._send(
                handler,
                302,
                b"",
                "text/plain",
                {"Location": f"{self.base}/images/photo_unavailable.png"},
            )
        if photo.removed:
            return self._send(handler, 404, b"not found", "text/plain")
        self._send(handler, 200, photo.image, "image/jpeg")

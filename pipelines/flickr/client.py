"""Flickr REST client: photo search with paging, the license table, photo info, polite downloads.

Only this module speaks HTTP to Flickr, so tests point ``api_url`` at a local fake server.

Secrecy of the API key: it travels in the POST body of each REST call (Flickr's REST endpoint takes
GET or POST), never in a URL, so neither urllib3's debug log nor an exception that quotes the URL
can carry it; and every message built from a server or transport error goes through ``redact``.

Politeness: one request at a time, at most one REST call per ``min_interval_s`` (Flickr allows
3,600 calls an hour per key), retries with exponential backoff on HTTP 5xx / 429, timeouts and
Flickr's "service unavailable" answers.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlsplit

import requests

from labeler.errors import LabelerError
from pipelines.flickr.licenses import LICENSES, License, license_from
from pipelines.flickr.photos import (
    DEFAULT_STATIC_URL,
    FlickrPhoto,
    SearchPage,
    as_int,
    parse_photo_info,
    parse_search_page,
)

log = logging.getLogger(__name__)

DEFAULT_API_URL = "https://api.flickr.com/services/rest/"
KEY_HELP = (
    "get a free non-commercial key at https://www.flickr.com/services/apps/create/ "
    "and set it with `export FLICKR_API_KEY=...`"
)
#: Extras asked for with every search, so no photo needs a call of its own.
SEARCH_EXTRAS = "license,owner_name,url_l,url_c,url_z,url_n,url_m"
#: Flickr error codes worth a retry: 10 search API unavailable, 105 service unavailable.
_TRANSIENT_CODES = {10, 105}
_KEY_CODES = {100}
_NOT_FOUND_CODES = {1}
MAX_DOWNLOAD_BYTES = 50 * 1024 * 1024


# -- errors --------------------------------------------------------------------------------------
class FlickrError(LabelerError):
    """Something went wrong talking to Flickr. Messages never contain the API key."""


class FlickrKeyError(FlickrError):
    """No API key, or Flickr refused it (error 100)."""


class FlickrNetworkError(FlickrError):
    """Flickr could not be reached at all (no network, DNS failure, connection refused)."""


class FlickrUnavailable(FlickrError):
    """Flickr answered with server errors or timed out, even after the retries."""


class FlickrAPIError(FlickrError):
    """Flickr answered ``stat: fail`` with another error code."""

    def __init__(self, message: str, code: int | None = None):
        super().__init__(message)
        self.code = code


class PhotoUnavailable(FlickrError):
    """The photo was removed, made private, or its file is gone (404 / 410 / placeholder image)."""


# -- the client ----------------------------------------------------------------------------------
class _Interval:
    """At most one event per ``seconds`` (a simple spacing limiter; calls are sequential)."""

    def __init__(self, seconds: float, sleep: Callable[[float], None], clock: Callable[[], float]):
        self.seconds, self.sleep, self.clock = seconds, sleep, clock
        self.last = float("-inf")

    def wait(self) -> None:
        delay = self.last + self.seconds - self.clock()
        if delay > 0:
            self.sleep(delay)
        self.last = self.clock()


class FlickrClient:
    """Calls Flickr's REST API with one API key; see the module docstring for secrecy and politeness."""

    def __init__(
        self,
        api_key: str,
        *,
        api_url: str = DEFAULT_API_URL,
        static_url: str = DEFAULT_STATIC_URL,
        timeout_s: float = 30.0,
        retries: int = 3,
        backoff_s: float = 1.0,
        min_interval_s: float = 1.0,
        download_interval_s: float = 0.1,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ):
        self._key = (api_key or "").strip()
        self.api_url = api_url
        self.static_url = static_url
        self.timeout_s = timeout_s
        self.retries = max(0, retries)
        self.backoff_s = backoff_s
        self.session = session or requests.Session()
        self.session.headers.setdefault("User-Agent", "grd-labeler (GRES dataset builder)")
        self._sleep = sleep
        self._api_pace = _Interval(min_interval_s, sleep, clock)
        self._download_pace = _Interval(download_interval_s, sleep, clock)
        self.calls = 0

    def __repr__(self) -> str:  # never show the key
        return f"FlickrClient(api_url={self.redact(self.api_url)!r})"

    def redact(self, text: str) -> str:
        """``text`` with every occurrence of the API key replaced by ``***``."""
        if self._key and len(self._key) >= 4:
            text = text.replace(self._key, "***")
        return text

    # -- transport -------------------------------------------------------------------------------
    def _send(
        self, pace: _Interval, what: str, method: str, url: str, **kwargs
    ) -> requests.Response:
        """One HTTP request with retries. Raises FlickrNetworkError / FlickrUnavailable after them."""
        problem, network, wait_at_least = "", False, 0.0
        for attempt in range(self.retries + 1):
            if attempt:
                delay = max(self.backoff_s * 2 ** (attempt - 1), wait_at_least)
                log.warning(
                    "%s: %s; retry %d of %d in %.2g s", what, problem, attempt, self.retries, delay
                )
                self._sleep(delay)
            pace.wait()
            try:
                response = self.session.request(method, url, timeout=self.timeout_s, **kwargs)
            except requests.Timeout:
                problem, network = f"no answer within {self.timeout_s:g} s", False
                continue
            except requests.ConnectionError as exc:
                problem, network = f"connection failed ({self.redact(_reason(exc))})", True
                continue
            except requests.RequestException as exc:  # a malformed URL and the like: no retry
                raise FlickrError(f"{what}: {self.redact(_reason(exc))}") from None
            if response.status_code >= 500 or response.status_code == 429:
                problem, network = f"HTTP {response.status_code}", False
                # "Too many requests" may say how long to wait; honour it, within reason.
                wait_at_least = min(float(as_int(response.headers.get("Retry-After"), 0)), 60.0)
                response.close()
                continue
            return response
        host = self.redact(urlsplit(url).netloc)
        if network:
            raise FlickrNetworkError(
                f"cannot reach {host}: {problem} after {self.retries + 1} tries; check the network connection"
            )
        raise FlickrUnavailable(
            f"{what}: {problem} after {self.retries + 1} tries; try again later"
        )

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        """One REST call; returns the JSON object of a ``stat: ok`` answer. Retries transient failures."""
        if not self._key:
            raise FlickrKeyError(f"no Flickr API key: {KEY_HELP}")
        data = {k: v for k, v in params.items() if v not in (None, "")}
        data.update(method=method, api_key=self._key, format="json", nojsoncallback=1)
        for attempt in range(self.retries + 1):
            self.calls += 1
            response = self._send(self._api_pace, method, "POST", self.api_url, data=data)
            try:
                body = response.json()
            except ValueError:
                raise FlickrAPIError(
                    f"{method}: the answer from {urlsplit(self.api_url).netloc} is not Flickr JSON "
                    f"(HTTP {response.status_code}); is the API URL right?"
                ) from None
            if not isinstance(body, dict):
                raise FlickrAPIError(f"{method}: unexpected answer {self.redact(str(body))[:80]!r}")
            if body.get("stat") == "ok":
                return body
            code, message = as_int(body.get("code"), -1), self.redact(str(body.get("message", "")))
            if code in _KEY_CODES:
                raise FlickrKeyError(f"Flickr refused the API key ({message}); {KEY_HELP}")
            if code in _TRANSIENT_CODES and attempt < self.retries:
                delay = self.backoff_s * 2**attempt
                log.warning(
                    "%s: Flickr error %d (%s); retry in %.2g s", method, code, message, delay
                )
                self._sleep(delay)
                continue
            if code in _NOT_FOUND_CODES:
                raise PhotoUnavailable(f"{method}: {message or 'not found'}")
            raise FlickrAPIError(f"{method}: Flickr error {code}: {message}", code)
        raise FlickrUnavailable(
            f"{method}: Flickr stayed unavailable after {self.retries + 1} tries"
        )

    # -- methods ---------------------------------------------------------------------------------
    def search(
        self,
        *,
        text: str = "",
        tags: Iterable[str] = (),
        page: int = 1,
        per_page: int = 100,
        licenses: Iterable[int] = (),
    ) -> SearchPage:
        """One page of ``flickr.photos.search``: relevance order, safe search on, photos only."""
        tags = ",".join(t.strip() for t in tags if t.strip())
        body = self.call(
            "flickr.photos.search",
            text=text,
            tags=tags,
            tag_mode="all" if tags else None,
            sort="relevance",
            safe_search=1,
            content_type=1,
            media="photos",
            license=",".join(str(i) for i in sorted(licenses)),
            extras=SEARCH_EXTRAS,
            per_page=min(max(per_page, 1), 500),
            page=page,
        )
        return parse_search_page(body)

    def licenses(self) -> dict[int, License]:
        """The live license table (``flickr.photos.licenses.getInfo``), falling back to ``LICENSES`` rows."""
        body = self.call("flickr.photos.licenses.getInfo")
        table = dict(LICENSES)
        for row in (body.get("licenses") or {}).get("license", []):
            table[as_int(row.get("id"))] = license_from(
                as_int(row.get("id")), row.get("name", ""), row.get("url", "")
            )
        return table

    def photo(self, photo_id: str) -> FlickrPhoto:
        """Owner, title, license and image sizes of one photo (two calls). ``PhotoUnavailable`` if gone."""
        info = self.call("flickr.photos.getInfo", photo_id=photo_id)
        sizes = self.call("flickr.photos.getSizes", photo_id=photo_id)
        return parse_photo_info(info, sizes)

    def download(self, url: str, max_bytes: int = MAX_DOWNLOAD_BYTES) -> bytes:
        """The bytes of one image. ``PhotoUnavailable`` for a removed photo (404 / 410 / placeholder)."""
        response = self._send(self._download_pace, "download", "GET", url, stream=True)
        with response:
            if response.status_code in (403, 404, 410) or "photo_unavailable" in response.url:
                raise PhotoUnavailable(
                    f"{url}: photo removed or unavailable (HTTP {response.status_code})"
                )
            if response.status_code != 200:
                raise PhotoUnavailable(f"{url}: download refused (HTTP {response.status_code})")
            chunks, size = [], 0
            try:
                for chunk in response.iter_content(1 << 16):
                    size += len(chunk)
                    if size > max_bytes:
                        raise PhotoUnavailable(f"{url}: larger than {max_bytes >> 20} MiB")
                    chunks.append(chunk)
            except requests.RequestException as exc:
                raise FlickrUnavailable(
                    f"{url}: download broke off ({self.redact(_reason(exc))})"
                ) from None
        return b"".join(chunks)


def _reason(exc: BaseException) -> str:
    """The innermost cause of a requests error, short (its str() often quotes the whole URL)."""
    inner = exc
    for _ in range(10):  # chains are short; the bound guards against a cycle
        nxt = inner.__cause__ or inner.__context__
        if nxt is None:
            break
        inner = nxt
    text = str(inner.args[-1] if getattr(inner, "args", None) else inner)
    text = re.sub(r"\(Caused by .*", "", text)
    return f"{type(inner).__name__}: {text}"[:160]

"""Less to download: cache headers for versioned assets and cached gzip compression.

A dashboard page loads ~10 MB of JavaScript (the widget frontend, plotly.js, Voilà's
own bundle), the same files for every page view. Two output transforms of the tornado
application (:class:`kaptools.server.KaptoolsVoila` installs them) make that cheaper:

- :class:`AssetCacheHeaders`: a static file whose name carries its content hash (the
  JupyterLab extensions' ``remoteEntry.<hash>.js`` and ``<n>.<hash>.js`` chunks, Voilà's
  hashed fonts and images) or whose URL carries a ``?v=<hash>`` version is cached by the
  browser for a year, ``immutable``: a repeat view does not even ask for it. A static
  file without a hash in its name (``voila.js`` and its numbered chunks, which change
  with the Voilà version under the same names) is revalidated on every view
  (``no-cache``: a 304 answer when unchanged), so an upgrade can never leave a browser
  with a stale bundle.
- :class:`VersionedStaticFileHandler`: Voilà's own bundle (``voila.js`` and its ~100
  numbered chunks, ``1187.voila.js``...) has no hash in its file names, so under its
  plain URL it can only be revalidated. kaptools serves it (and everything else under
  ``/voila/static/``) at ``/voila/static/v/<version>/...`` too, where ``<version>``
  (:func:`static_version`) is a hash of the names and contents of every file served
  there, taken when the server starts: an upgraded Voilà, widget manager or template
  gives new URLs, so a browser can keep these files a year (``immutable``) and still
  never mix an old bundle with new chunks. The page names the versioned URL
  (``fullStaticUrl`` in its page config, from which voila.js loads its chunks). A file
  changed on disk after the version was taken (an upgrade under a running server) is
  served revalidated (``no-cache``), and so is a request naming another version (a
  page served before a restart).
- :class:`CachedGzip`: text responses (HTML, JavaScript, CSS, JSON, SVG) are
  gzip-compressed, like tornado's ``compress_response``; static files are compressed
  once per version (keyed by URL path and ETag, or Last-Modified where there is none)
  and kept in memory (:data:`GZIP_CACHE_MAX_BYTES` at most), so serving the ~10 MB
  bundle to each page view costs no compression CPU after the first view. Streamed
  pages (a dashboard's HTML is sent cell by cell) stay streamed: every flush is a sync
  flush of the gzip stream.
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
from collections import OrderedDict
from collections.abc import Sequence
from io import BytesIO
from typing import Any

from tornado import httputil
from tornado.web import GZipContentEncoding, OutputTransform
from voila.static_file_handler import MultiStaticFileHandler

__all__ = [
    "GZIP_CACHE_MAX_BYTES",
    "IMMUTABLE",
    "VERSIONED_STATIC",
    "AssetCacheHeaders",
    "CachedGzip",
    "VersionedStaticFileHandler",
    "is_versioned_asset",
    "static_version",
]

#: The browser keeps a versioned asset a year and never revalidates it.
IMMUTABLE = "public, max-age=31536000, immutable"
#: Compressed static files kept in memory, at most (bytes).
GZIP_CACHE_MAX_BYTES = 64 * 1024 * 1024

#: Static URL prefixes (the dashboards' assets; pages and APIs are never cached).
_STATIC = re.compile(r"^/(voila/)?(static|labextensions|templates/[^/]+/static)/")
#: A content hash in the file name: remoteEntry.1dda3c8f6e5cd2a3.js, 0.03957c7088ad5ed0.js,
#: 1cb1c39ea642f26a4dfe.woff (8+ hex digits next to a dot or at the start of the name).
_HASHED_NAME = re.compile(r"(^|[./-])[0-9a-f]{8,}\.[a-z0-9]+$")
_VERSION_QUERY = re.compile(r"(^|&)v=[0-9a-f]{8,}(&|$)")
#: Where Voilà's static files are served under their version (after the base URL).
VERSIONED_STATIC = "voila/static/v/"
#: A versioned static URL: its Cache-Control is set by VersionedStaticFileHandler.
_VERSIONED_PATH = re.compile(r"^/(voila/)?static/v/[0-9a-f]{16}/")


def static_version(paths: Sequence[str]) -> str:
    """A hash (16 hex digits) of every file served from ``paths`` under ``/voila/static/``:
    each relative name and its contents, the first directory holding a name winning (as
    Voilà's MultiStaticFileHandler looks them up). Any changed, added or removed file
    changes it."""
    digest = hashlib.sha256()
    seen: set[str] = set()
    for root in paths:
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames.sort()
            for name in sorted(filenames):
                full = os.path.join(dirpath, name)
                rel = os.path.relpath(full, root).replace(os.sep, "/")
                if rel in seen or not os.path.isfile(full):
                    continue
                seen.add(rel)
                digest.update(rel.encode() + b"\0")
                with open(full, "rb") as f:
                    digest.update(hashlib.sha256(f.read()).digest())
    return digest.hexdigest()[:16]


class VersionedStaticFileHandler(MultiStaticFileHandler):
    """``/voila/static/v/<version>/<path>``: the file ``/voila/static/<path>`` serves,
    cached a year when ``<version>`` is the server's and the file is unchanged since the
    version was taken; revalidated (``no-cache``) otherwise."""

    def initialize(
        self, paths: list[str], version: str, taken_at: float, **kwargs: Any
    ) -> None:
        self.version = version
        self.taken_at = taken_at
        self._current = False
        super().initialize(paths, **kwargs)

    async def get(self, version: str, path: str, include_body: bool = True) -> None:
        self._current = version == self.version
        await super().get(path, include_body)

    def set_extra_headers(self, path: str) -> None:
        try:
            unchanged = os.stat(self.absolute_path).st_mtime <= self.taken_at
        except (OSError, TypeError):
            unchanged = False
        self.set_header("Cache-Control", IMMUTABLE if self._current and unchanged else "no-cache")


def is_versioned_asset(path: str, query: str = "") -> bool:
    """Whether the static file at ``path`` (URL path, no query) is named by its content."""
    if not _STATIC.match(path):
        return False
    if _VERSIONED_PATH.match(path):
        return True
    name = path.rsplit("/", 1)[-1]
    return bool(_HASHED_NAME.search(name)) or bool(_VERSION_QUERY.search(query))


class AssetCacheHeaders(OutputTransform):
    """Cache-Control for static files: a year for versioned ones, revalidation otherwise."""

    def __init__(self, request: httputil.HTTPServerRequest) -> None:
        self._path = request.path
        self._query = request.query or ""
        self._static = (
            request.method in ("GET", "HEAD")
            and bool(_STATIC.match(self._path))
            and not _VERSIONED_PATH.match(self._path)  # the handler sets its own
        )

    def transform_first_chunk(
        self, status_code: int, headers: httputil.HTTPHeaders, chunk: bytes, finishing: bool
    ) -> tuple[int, httputil.HTTPHeaders, bytes]:
        if self._static and status_code in (200, 304):
            headers["Cache-Control"] = (
                IMMUTABLE if is_versioned_asset(self._path, self._query) else "no-cache"
            )
            headers.pop("Expires", None)
        return status_code, headers, chunk


class _Cache:
    """Compressed static bodies by (path, ETag), least recently used dropped first."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._items: OrderedDict[tuple[str, str], bytes] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def get(self, key: tuple[str, str]) -> bytes | None:
        with self._lock:
            body = self._items.get(key)
            if body is not None:
                self._items.move_to_end(key)
            return body

    def put(self, key: tuple[str, str], body: bytes) -> None:
        if len(body) > self.max_bytes // 4:
            return
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._size -= len(old)
            self._items[key] = body
            self._size += len(body)
            while self._size > self.max_bytes and self._items:
                _, dropped = self._items.popitem(last=False)
                self._size -= len(dropped)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._size = 0


_CACHE = _Cache(GZIP_CACHE_MAX_BYTES)


class CachedGzip(GZipContentEncoding):
    """tornado's gzip transform, with static files compressed once per ETag."""

    cache = _CACHE

    def __init__(self, request: httputil.HTTPServerRequest) -> None:
        super().__init__(request)
        self._path = request.path
        self._cacheable = request.method == "GET" and bool(_STATIC.match(request.path))
        self._key: tuple[str, str] | None = None
        self._served_cached = False
        self._whole = BytesIO()

    def transform_first_chunk(
        self, status_code: int, headers: httputil.HTTPHeaders, chunk: bytes, finishing: bool
    ) -> tuple[int, httputil.HTTPHeaders, bytes]:
        etag = headers.get("Etag") or headers.get("Last-Modified")
        if (
            self._gzipping
            and self._cacheable
            and status_code == 200
            and etag
            and "Content-Range" not in headers
        ):
            self._key = (self._path, etag)
            cached = self.cache.get(self._key)
            if cached is not None:
                if "Vary" in headers:
                    headers["Vary"] += ", Accept-Encoding"
                else:
                    headers["Vary"] = "Accept-Encoding"
                headers["Content-Encoding"] = "gzip"
                headers["Content-Length"] = str(len(cached))
                self._served_cached = True
                self._gzipping = False
                return status_code, headers, cached
        status_code, headers, out = super().transform_first_chunk(
            status_code, headers, chunk, finishing
        )
        if not self._gzipping:
            self._key = None  # (transform_chunk kept the compressed body when gzipping)
        return status_code, headers, out

    def transform_chunk(self, chunk: bytes, finishing: bool) -> bytes:
        if self._served_cached:
            return b""  # the whole compressed body went out with the first chunk
        out = super().transform_chunk(chunk, finishing)
        if self._key is not None:
            self._whole.write(out)
            if finishing:
                self.cache.put(self._key, self._whole.getvalue())
                self._whole = BytesIO()
        return out

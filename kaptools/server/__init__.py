"""Serve the dashboards: Voilà as `make run` and the tests run it, with its gaps closed.

``python -m kaptools.server DIRECTORY [--port=N] [--Voila.ip=ADDR]`` serves the notebooks
of DIRECTORY like ``voila DIRECTORY`` does, with these settings and fixes built in (so
`make run`, the tests and the load test cannot drift apart):

- **Host and Origin allowlists.** Every request (pages, static files, websockets) whose
  ``Host`` is not one of :attr:`KaptoolsVoila.allowed_hosts` is refused with 403 before
  any handler runs: a DNS-rebinding page (``Host: evil.example``) reaches nothing. A
  state-changing request (POST/PUT/PATCH/DELETE) or websocket whose ``Origin`` is not the
  server's own is refused too, and so is a cross-site sub-resource request (an ``<img>``
  or ``fetch`` from another site, ``Sec-Fetch-Site: cross-site``) for a dashboard.
- **A strict Content-Security-Policy**: everything from this server only (no CDN, no
  external connection, no framing, no plugins). Voilà's pages need inline scripts and
  styles (its templates and the widget manager), so those stay allowed.
- **Every asset local**: the ``kaptools`` template (``share/voila/templates/kaptools``) is
  Voilà's ``lab`` template with the Font Awesome icon font served from this server (the
  ``lab`` template loads it from a public CDN).
- **Kernels of closed pages are freed**: Voilà's page sends a shutdown beacon when it
  closes, which Voilà refuses ("'_xsrf' argument missing", voila #1458); here the beacon
  is accepted when it comes from the server's own origin. Disconnected idle kernels are
  culled after :data:`CULL_IDLE_S` seconds as the backstop (a page that is open keeps its
  kernel: ``cull_connected=False``); a page that never connects (a plain GET) loses its
  kernel within :data:`CULL_UNCONNECTED_S` + :data:`CULL_INTERVAL_S` seconds (<= 60 s)
  of being served. A browser's page navigation (``Sec-Fetch-Mode: navigate``, ``Sec-Fetch-
  Dest: document``) gets :data:`CULL_LOADING_BROWSER_S` to connect instead: on a loaded
  machine loading the widget frontend can take longer than a minute, and a page whose
  kernel was culled while it loaded comes up blank.
- **A cap on page kernels** (:attr:`KaptoolsVoila.max_kernels`): past it a request gets a
  "busy, try again" page (503 with Retry-After) instead of a kernel, never a blank page.
- **A preheated kernel that died is never handed out**: before a page takes a kernel from
  the pool, dead or failed pool kernels are discarded (and replaced).
- Cells get time: ``VoilaExecutor.iopub_timeout`` is raised so a loaded machine renders
  slowly rather than blank ("Timeout waiting for IOPub output").
- **Less to load** (issue 14): only the frontend extensions the dashboards use
  (:data:`FRONTEND_EXTENSIONS`); versioned assets, Voilà's own bundle included (served
  under a hash of its files), cached by the browser for a year and text compressed
  (:mod:`kaptools.server.transport`); the kernel websocket compressed
  (:data:`WEBSOCKET_COMPRESSION`: the widget state a dashboard sends at each view is
  ~0.2-0.6 MB of repetitive JSON, ~15x smaller deflated); and the preheated pool
  refilled :data:`POOL_FILL_DELAY_S` seconds after a page took its kernel, not 1 s, so
  the refill (2.5-3 CPU-seconds per dashboard kernel) does not compete with the page
  being loaded.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import sys
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import tornado.web
from traitlets import Bool, Int, List, Unicode
from traitlets.config import Config
from voila.app import Voila
from voila.shutdown_kernel_handler import VoilaShutdownKernelHandler
from voila.tornado.handler import TornadoVoilaHandler

from kaptools.server.kernels import (
    _BROWSER_NAVIGATION,
    CULL_LOADING_BROWSER_S,
    CULL_UNCONNECTED_S,
    _harden_kernel_manager,
    _track_restarts,
    page_kernels,
)
from kaptools.server.transport import (
    VERSIONED_STATIC,
    AssetCacheHeaders,
    CachedGzip,
    VersionedStaticFileHandler,
    static_version,
)

__all__ = [
    "CONTENT_SECURITY_POLICY",
    "CULL_IDLE_S",
    "CULL_INTERVAL_S",
    "CULL_LOADING_BROWSER_S",
    "FRONTEND_EXTENSIONS",
    "POOL_FILL_DELAY_S",
    "WEBSOCKET_COMPRESSION",
    "KaptoolsVoila",
    "default_config",
    "main",
]

#: Where the kaptools Voilà template lives (a Jupyter data directory).
SHARE_DIR = Path(__file__).resolve().parent / "share"

#: Disconnected kernels idle this long are shut down (the page-close beacon is the
#: fast path; this catches tabs that vanish without it, and plain GETs of a page).
CULL_IDLE_S = 40
CULL_INTERVAL_S = 10

#: The JupyterLab frontend extensions a dashboard page loads: the widget managers,
#: anywidget (the dashboards' own small widgets) and plotly's renderer. Everything else
#: installed in the environment (e.g. jupyterlab_pygments: no code is shown) is not
#: sent to the browser.
FRONTEND_EXTENSIONS = (
    "@jupyter-widgets/jupyterlab-manager",
    "@voila-dashboards/widgets-manager8",
    "anywidget",
    "jupyterlab-plotly",
)
#: Seconds after a page took a preheated kernel before the pool starts its replacement
#: (Voilà's default is 1 s). Refilling runs the dashboard notebook (2.5-3.1 CPU-seconds)
#: and on a 2-core machine competed with the browser loading the page; the trade-off: a
#: second view of the same dashboard within this time gets a kernel started for it.
POOL_FILL_DELAY_S = 8.0

#: permessage-deflate for the kernel websocket (tornado's compression options; the
#: browser offers it). At each view the page asks the kernel for every widget's state in
#: one message (eligibility: ~650 widgets, ~0.6 MB of JSON that repeats the same keys);
#: deflated it is ~15x smaller, for ~10 ms of server CPU and ~0.3 MB of compressor
#: memory per open page. (Compression lets an observer who can inject text into the
#: same stream learn about the rest from its size; the server is loopback-only and only
#: the page's own browser writes to its websocket.)
WEBSOCKET_COMPRESSION: dict[str, int] = {"compression_level": 6, "mem_level": 8}

def is_browser_navigation(headers: Any) -> bool:
    """A browser loading a page (Fetch Metadata headers), not a plain HTTP client."""
    return (
        headers.get("Sec-Fetch-Mode") == "navigate"
        and headers.get("Sec-Fetch-Dest") in ("document", "iframe")
    )



#: Everything from this server only. 'unsafe-inline' is needed by Voilà's own page
#: (inline bootstrap scripts, widget styles); 'unsafe-eval' and blob: by the widget
#: manager and anywidget modules. No other origin can be loaded, connected to, framed
#: or posted to.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self' 'unsafe-inline' 'unsafe-eval' blob:",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data: blob:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "worker-src 'self' blob:",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)

SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
}


def default_config() -> Config:
    """How kaptools serves the dashboards. A voila.json or the command line overrides it."""
    c = Config()
    c.Voila.open_browser = False
    c.Voila.ip = "127.0.0.1"
    vc = c.VoilaConfiguration
    vc.template = "kaptools"
    vc.allow_template_override = "NO"
    vc.allow_theme_override = "NO"
    vc.preheat_kernel = True
    vc.default_pool_size = 1
    vc.extension_allowlist = list(FRONTEND_EXTENSIONS)
    c.VoilaKernelManager.fill_delay = POOL_FILL_DELAY_S
    vc.show_tracebacks = False
    mkm = c.MappingKernelManager
    mkm.cull_idle_timeout = CULL_IDLE_S
    mkm.cull_interval = CULL_INTERVAL_S
    mkm.cull_connected = False
    mkm.cull_busy = False
    # a loaded machine renders slowly rather than blank ("Timeout waiting for IOPub")
    c.VoilaExecutor.iopub_timeout = 60
    c.VoilaExecutor.timeout = 300
    return c


_STATE_CHANGING = {"POST", "PUT", "PATCH", "DELETE"}
_HOST_PORT_RE = re.compile(r"^(\[[^\]]+\]|[^:]+)(?::(\d+))?$")


def _split_host(host: str) -> tuple[str, str | None]:
    m = _HOST_PORT_RE.match(host.strip().lower())
    if not m:
        return "", None
    name = m.group(1)
    if name.startswith("[") and name.endswith("]"):
        name = name[1:-1]
    return name, m.group(2)


class RefusedHandler(tornado.web.RequestHandler):
    """Answers a refused request: 403 with a one-line reason, nothing else runs."""

    def initialize(self, reason: str) -> None:
        self.reason = reason

    def set_default_headers(self) -> None:
        for name, value in SECURITY_HEADERS.items():
            self.set_header(name, value)

    def prepare(self) -> None:
        self.set_status(403)
        self.set_header("Content-Type", "text/plain; charset=utf-8")
        self.finish(f"Refused: {self.reason}\n")


class GuardedApplication(tornado.web.Application):
    """A tornado Application that checks Host, Origin and fetch metadata first."""

    def refusal(self, request: Any) -> str | None:
        allowed = self.settings.get("kaptools_allowed_hosts", ())
        name, port = _split_host(request.host or "")
        if name not in allowed:
            return (
                f"the Host header {request.host!r} is not one this server answers to "
                f"({', '.join(sorted(allowed))}); DNS-rebinding protection."
            )
        own_port = str(self.settings.get("kaptools_port", ""))
        if port is not None and own_port and port != own_port:
            return f"the Host header {request.host!r} names another port."
        origin = request.headers.get("Origin")
        is_ws = request.headers.get("Upgrade", "").lower() == "websocket"
        if origin is not None and (is_ws or request.method in _STATE_CHANGING):
            parsed = urlparse(origin)
            o_name, o_port = _split_host(parsed.netloc)
            if (
                parsed.scheme not in ("http", "https")
                or o_name not in allowed
                or (o_port or "80") != (port or "80")
            ):
                return f"a request from the origin {origin!r} is not accepted here."
        if request.headers.get("Sec-Fetch-Site") == "cross-site" and request.headers.get(
            "Sec-Fetch-Mode"
        ) not in ("navigate", None):
            return "another site may not load this server's pages or data."
        return None

    def find_handler(self, request: Any, **kwargs: Any) -> Any:
        reason = self.refusal(request)
        if reason is not None:
            return self.get_handler_delegate(request, RefusedHandler, {"reason": reason})
        return super().find_handler(request, **kwargs)


class ShutdownBeaconHandler(VoilaShutdownKernelHandler):
    """Voilà's page-close beacon, accepted without the _xsrf argument it cannot carry.

    ``navigator.sendBeacon`` cannot set headers, so Voilà's handler refuses it (403
    "'_xsrf' argument missing", voila #1458) and the kernel lives on. The beacon is a
    same-origin POST: the browser sets ``Origin`` and the application already refused
    any other origin; here the Origin must be present and be this server's own.
    """

    def check_xsrf_cookie(self) -> None:
        origin = self.request.headers.get("Origin")
        if origin is None or urlparse(origin).netloc.lower() != (self.request.host or "").lower():
            raise tornado.web.HTTPError(403, "Kernel shutdown needs this server's own Origin.")

    async def post(self, kernel_id: str) -> None:
        if kernel_id not in self.kernel_manager:
            self.set_status(204)
            self.finish()
            return
        await super().post(kernel_id)


class GuardedVoilaHandler(TornadoVoilaHandler):
    """Voilà's page handler with a kernel cap and a pool that holds only live kernels."""

    def initialize(self, **kwargs: Any) -> None:
        self.max_kernels: int = kwargs.pop("max_kernels")
        super().initialize(**kwargs)

    async def get(self, path: str | None = None) -> None:
        km = self.kernel_manager
        prune = getattr(km, "discard_dead_pool_kernels", None)
        if prune is not None:
            await prune(path)
        if path and path.endswith(".ipynb") and page_kernels(km) >= self.max_kernels:
            self.set_status(503)
            self.set_header("Retry-After", "30")
            self.set_header("Cache-Control", "no-store")
            html = self.render_template(
                "busy.html", base_url=self.base_url, retry_after=30, page_title="busy"
            )
            self.finish(html)
            return
        token = _BROWSER_NAVIGATION.set(is_browser_navigation(self.request.headers))
        try:
            rendering = self._render_page(path)  # None: redirected to sign in
            if rendering is not None:
                await rendering
        finally:
            _BROWSER_NAVIGATION.reset(token)

    @tornado.web.authenticated
    async def _render_page(self, path: str | None) -> None:
        """Voilà's page (TornadoVoilaHandler.get), with the first paint streamed in before
        the widget view (kaptools.server.firstpaint) when the request names a patient."""
        painting = None
        if path and self.settings.get("kaptools_first_paint", True):
            painting = asyncio.ensure_future(
                asyncio.to_thread(_first_paint_fragment, path, self.request.query)
            )
        async for html in self.get_generator(path=path):
            if painting is not None and _CELLS_MARK in html:
                head, rest = html.split(_CELLS_MARK, 1)
                self.write(head)  # the browser starts on the page's head meanwhile
                self.flush()
                html = (await painting) + _CELLS_MARK + rest
                painting = None
            self.write(html)
            self.flush()
        if painting is not None:
            await painting  # (the page had no cells: nothing to paint into)


#: Where the first paint goes: just before the widget view's (hidden) container.
_CELLS_MARK = '<div id="rendered_cells"'


def _first_paint_fragment(path: str, query: str) -> str:
    """The first paint's HTML for a page request ('' when there is none or it failed:
    the page is then served as before, the widget view shows the patient)."""
    try:
        from kaptools.server.firstpaint import first_paint, page_fragment

        fp = first_paint(path, query)
        return page_fragment(fp) if fp is not None else ""
    except Exception:  # never break the page: the widget view follows anyway
        logging.getLogger("kaptools.server").exception("first paint failed for %s", path)
        return ""




class KaptoolsVoila(Voila):
    """Voilà with kaptools' serving defaults and fixes (see the module docstring)."""

    name = "kaptools-voila"

    allowed_hosts = List(
        Unicode(),
        ["127.0.0.1", "localhost", "::1"],
        config=True,
        help="Host names this server answers to; any other Host header is refused.",
    )
    cull_unconnected_after = Int(
        CULL_UNCONNECTED_S,
        config=True,
        help="Seconds a page kernel whose client has not connected yet is kept before "
        "culling may end it (a plain GET, no browser navigation).",
    )
    cull_loading_browser_after = Int(
        CULL_LOADING_BROWSER_S,
        config=True,
        help="The same for a browser's page navigation: its page is still loading the "
        "widget frontend and must not lose its kernel.",
    )
    first_paint = Bool(
        True,
        config=True,
        help="Stream each dashboard's key result for the ?patient= of the request into the "
        "page before the widget frontend loads (kaptools.server.firstpaint).",
    )
    max_kernels = Int(
        24,
        config=True,
        help="Page kernels allowed at once (the preheated pool not counted); past it "
        "a request gets a 'busy, try again' page.",
    )

    def initialize(self, argv: Any = None) -> None:
        # the kaptools template, found like any Jupyter data directory
        extra = filter(None, os.environ.get("JUPYTER_PATH", "").split(os.pathsep))
        os.environ["JUPYTER_PATH"] = os.pathsep.join(dict.fromkeys([str(SHARE_DIR), *extra]))
        super().initialize(argv)

    def init_settings(self) -> dict:
        import voila.app as voila_app

        self._static_version_taken_at = time.time()
        self.static_version = static_version(self.static_paths)
        self.voila_configuration.page_config_hook = _versioned_static_hook(
            self.static_version, self.voila_configuration.page_config_hook
        )
        original = voila_app.voila_kernel_manager_factory

        def factory(base_class: type, *args: Any, **kwargs: Any) -> Any:
            return _harden_kernel_manager(original(_track_restarts(base_class), *args, **kwargs))

        voila_app.voila_kernel_manager_factory = factory
        try:
            settings = super().init_settings()
        finally:
            voila_app.voila_kernel_manager_factory = original
        settings["allow_remote_access"] = False
        settings["local_hostnames"] = list(self.allowed_hosts)
        settings["kaptools_allowed_hosts"] = frozenset(h.lower() for h in self.allowed_hosts)
        settings["kaptools_port"] = self.port
        settings["kaptools_first_paint"] = self.first_paint
        settings["headers"] = dict(SECURITY_HEADERS)
        settings["websocket_compression_options"] = dict(WEBSOCKET_COMPRESSION)
        return settings

    def init_handlers(self) -> list:
        handlers = []
        for spec in super().init_handlers():
            pattern, handler, *rest = spec
            if pattern.endswith("/voila/static/(.*)"):
                # the same files under their version first (kaptools.server.transport)
                handlers.append(
                    (
                        pattern[: -len("(.*)")] + r"v/([0-9a-f]{16})/(.*)",
                        VersionedStaticFileHandler,
                        {
                            "paths": self.static_paths,
                            "version": self.static_version,
                            "taken_at": self._static_version_taken_at,
                        },
                    )
                )
                handlers.append(spec)
            elif handler is VoilaShutdownKernelHandler:
                handlers.append((pattern, ShutdownBeaconHandler, *rest))
            elif handler is TornadoVoilaHandler:
                kwargs = dict(rest[0]) if rest else {}
                kwargs["max_kernels"] = self.max_kernels
                handlers.append((pattern, GuardedVoilaHandler, kwargs))
            else:
                handlers.append(spec)
        return handlers

    def start(self) -> None:
        # Voilà's start() with the guarded Application (Host/Origin checked first).
        import tempfile

        self.connection_dir = tempfile.mkdtemp(prefix="voila_", dir=self.connection_dir_root)
        settings = self.init_settings()
        self.app = GuardedApplication(transforms=[AssetCacheHeaders, CachedGzip], **settings)
        self.app.settings.update(self.tornado_settings)
        self.app.add_handlers(".*$", self.init_handlers())
        if self.first_paint:
            # import the first paint's modules now, not on the first page request
            threading.Thread(target=_first_paint_fragment, args=("-", ""), daemon=True).start()
        self.listen()


def _versioned_static_hook(version: str, user_hook: Any) -> Any:
    """A page-config hook pointing the page at the versioned static URL (voila.js and,
    through webpack's public path, its chunks), after the configured hook if any."""

    def hook(page_config: dict, **kwargs: Any) -> dict:
        if user_hook is not None:
            page_config = user_hook(page_config, **kwargs)
        base_url = kwargs.get("base_url") or "/"
        page_config["fullStaticUrl"] = base_url.rstrip("/") + "/" + VERSIONED_STATIC + version
        return page_config

    return hook


def main(argv: list[str] | None = None) -> None:
    """``python -m kaptools.server DIRECTORY [options]``: the defaults, then your options."""
    args = sys.argv[1:] if argv is None else argv
    KaptoolsVoila.launch_instance(argv=args, config=default_config())

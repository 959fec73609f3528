"""The kernels behind the dashboard pages: what kaptools adds to Voilà's kernel manager.

- A page that has not connected yet (its browser still loading the widget frontend) is
  not culled for :data:`CULL_UNCONNECTED_S` seconds (a plain GET) or
  :data:`CULL_LOADING_BROWSER_S` (a browser's page navigation) after its kernel was
  handed to it.
- Page kernels are counted (:func:`page_kernels`) for the server's kernel cap; the
  preheated pool never counts.
- A preheated kernel that died, was restarted or whose pre-render failed is never handed
  to a page (``discard_dead_pool_kernels``).

:class:`kaptools.server.KaptoolsVoila` builds its kernel manager class with
:func:`_track_restarts` and :func:`_harden_kernel_manager`.
"""

from __future__ import annotations

import time
from contextvars import ContextVar
from typing import Any

from jupyter_core.utils import ensure_async

__all__ = ["CULL_LOADING_BROWSER_S", "CULL_UNCONNECTED_S", "page_kernels"]

#: A page kernel whose browser has not connected (yet) is kept this long (seconds) after
#: it was handed to its page, and at least ``cull_idle_timeout`` after its last activity
#: (the end of its page's rendering): so an unconnected GET frees its kernel within
#: this plus one cull interval of the page being served (45 + 10 = 55 s <= 60 s).
CULL_UNCONNECTED_S = 45
#: The same for a browser's page navigation (seconds): its page is loading the widget
#: frontend, which took over a minute with 16 pages opening at once on 2 cores.
CULL_LOADING_BROWSER_S = 180

#: Whether the page request being served is a browser's page navigation (set by the page
#: handler, read where its kernel is handed out or started).
_BROWSER_NAVIGATION: ContextVar[bool] = ContextVar("kaptools_browser_navigation", default=False)


def _note_page_kernel(km: Any, kernel_id: str) -> None:
    """Remember when a page got its kernel and how long it may take to connect."""
    km.__dict__.setdefault("kaptools_page_kernels", set()).add(kernel_id)
    km.__dict__.setdefault("kaptools_handed_out", {})[kernel_id] = time.monotonic()
    parent = getattr(km, "parent", None)
    grace = (
        getattr(parent, "cull_loading_browser_after", CULL_LOADING_BROWSER_S)
        if _BROWSER_NAVIGATION.get()
        else getattr(parent, "cull_unconnected_after", CULL_UNCONNECTED_S)
    )
    km.__dict__.setdefault("kaptools_grace", {})[kernel_id] = grace


def page_kernels(km: Any) -> int:
    """Kernels serving pages (handed out from the pool or started for a request); the
    preheated pool, ready or refilling, never counts against the cap."""
    pages: set[str] = km.__dict__.setdefault("kaptools_page_kernels", set())
    pages &= set(km.list_kernel_ids())
    return len(pages)


def _track_restarts(base: type) -> type:
    """A kernel manager that remembers which kernels died or were restarted.

    jupyter_client restarts a kernel that dies; the restarted kernel is alive but empty
    (the preheated notebook is gone), so "alive" is not enough to hand it to a page.
    """

    class RestartTrackingKernelManager(base):
        async def start_kernel(self, *args: Any, **kwargs: Any) -> str:
            kernel_id = await ensure_async(super().start_kernel(*args, **kwargs))
            self.__dict__.setdefault("kaptools_started", {})[kernel_id] = time.monotonic()
            restarted: set[str] = self.__dict__.setdefault("kaptools_restarted", set())
            if (kwargs.get("env") or {}).get("VOILA_PREHEAT") != "True":
                # started for a request, not for the preheated pool
                _note_page_kernel(self, str(kernel_id))

            def mark() -> None:
                restarted.add(kernel_id)

            kernel = self.get_kernel(kernel_id)
            kernel.add_restart_callback(mark, "restart")
            kernel.add_restart_callback(mark, "dead")
            return str(kernel_id)

    return RestartTrackingKernelManager


async def _dead_pool_entry(
    manager: Any, task: Any, *, wait_for_render: bool, restarted: set[str]
) -> tuple[bool, str | None]:
    """Whether a finished entry of ``manager``'s kernel pool is dead (its start failed,
    its kernel is gone, restarted or not alive, or its pre-render failed), and its
    kernel id."""
    if task.cancelled() or task.exception() is not None:
        return True, None
    content = task.result()
    kernel_id = content["kernel_id"]
    render = content["task"]
    if wait_for_render and not render.done():
        # The page is about to take this kernel: let its pre-render finish
        # first, so a kernel that died while rendering (its page would come back
        # without cells) is caught below.
        try:
            await render
        except Exception:  # judged below as a failed render
            pass
    dead = (
        kernel_id not in manager
        or kernel_id in restarted
        or (render.done() and (render.cancelled() or render.exception() is not None))
    )
    if not dead:
        try:
            dead = not await manager.get_kernel(kernel_id).is_alive()
        except Exception:
            dead = True
    return dead, kernel_id


def _harden_kernel_manager(cls: type) -> type:
    """Add 'discard dead pool kernels' to Voilà's (preheating) kernel manager."""

    class KaptoolsKernelManager(cls):
        def notify_connect(self, kernel_id: str) -> None:
            self.__dict__.setdefault("kaptools_connected", set()).add(kernel_id)
            super().notify_connect(kernel_id)

        async def cull_kernel_if_idle(self, kernel_id: str) -> None:
            """Cull idle disconnected kernels, but give a page that has not connected yet
            (its browser still loading) ``KaptoolsVoila.cull_unconnected_after`` seconds
            from the moment its kernel was handed to it (a preheated kernel's last
            activity is its pre-render, long before the page: the idle time alone would
            cull it while the browser loads). A busy kernel (still rendering its page) is
            never culled; after that the idle timeout counts from its last activity."""
            if kernel_id not in self.__dict__.get("kaptools_connected", set()):
                since = self.__dict__.get("kaptools_handed_out", {}).get(
                    kernel_id, self.__dict__.get("kaptools_started", {}).get(kernel_id)
                )
                grace = self.__dict__.get("kaptools_grace", {}).get(
                    kernel_id, getattr(self.parent, "cull_unconnected_after", CULL_UNCONNECTED_S)
                )
                if since is not None and time.monotonic() - since < grace:
                    return
            await super().cull_kernel_if_idle(kernel_id)

        async def get_rendered_notebook(self, *args: Any, **kwargs: Any) -> Any:
            result = await super().get_rendered_notebook(*args, **kwargs)
            _note_page_kernel(self, result[2])
            return result

        async def discard_dead_pool_kernels(self, notebook_name: str | None = None) -> int:
            """Drop pool entries whose kernel died, restarted or whose pre-render failed.

            With ``notebook_name`` (a page is about to take one of its kernels), entries
            still starting are awaited first, so a kernel that died while starting is
            caught too.
            """
            restarted: set[str] = self.__dict__.get("kaptools_restarted", set())
            for task in list(getattr(self, "_pools", {}).get(notebook_name, ())):
                if not task.done():
                    try:
                        await task
                    except Exception:  # judged below as a failed entry
                        pass
            dropped = 0
            for name, pool in list(getattr(self, "_pools", {}).items()):
                dropped_here = 0
                for task in list(pool):
                    if not task.done():
                        continue
                    dead, kernel_id = await _dead_pool_entry(
                        self, task, wait_for_render=name == notebook_name, restarted=restarted
                    )
                    if dead:
                        pool.remove(task)
                        dropped_here += 1
                        self.log.warning(
                            "Discarding a dead preheated kernel (%s) of %s", kernel_id, name
                        )
                        if kernel_id is not None and kernel_id in self:
                            try:
                                await self.shutdown_kernel(kernel_id, now=True)
                            except Exception:  # already gone
                                pass
                if dropped_here:
                    self.fill_if_needed(delay=0, notebook_name=name)
                dropped += dropped_here
            return dropped

    return KaptoolsKernelManager

"""Helpers for testing and benchmarking the dashboards: a Voilà server and Chromium.

Not clinical logic; used by tests/browser and benchmarks/.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

__all__ = ["CHROMIUM_ARGS", "VOILA_ARGS", "chromium_path", "free_port", "voila_server"]

#: Flags for Debian's Chromium on these machines (voila-notes.md: browser tests).
CHROMIUM_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)

#: How `make run` serves the dashboards (keep the two in step).
VOILA_ARGS = ("--no-browser", "--preheat_kernel=True", "--pool_size=1", "--show_tracebacks=False")


def chromium_path() -> str | None:
    """Debian's Chromium when installed, else None (Playwright's own browser)."""
    for candidate in (
        "/usr/bin/chromium",
        shutil.which("chromium"),
        shutil.which("chromium-browser"),
    ):
        if candidate and os.path.exists(candidate):
            return candidate
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def voila_server(
    directory: Path,
    *,
    env: Mapping[str, str] | None = None,
    extra_args: tuple[str, ...] = (),
    start_timeout: float = 90,
    log_path: Path | None = None,
) -> Iterator[str]:
    """Serve ``directory`` with Voilà on a free loopback port; yields the base URL.

    The server's output goes to ``log_path`` (or a temporary file).
    """
    port = free_port()
    voila = Path(sys.executable).with_name("voila")
    cmd = [str(voila), ".", "--Voila.ip=127.0.0.1", f"--port={port}", *VOILA_ARGS, *extra_args]
    full_env = {**os.environ, **(env or {})}
    with open(log_path, "w+") if log_path else tempfile.TemporaryFile("w+") as log:
        proc = subprocess.Popen(
            cmd,
            cwd=directory,
            env=full_env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + start_timeout
        try:
            while True:
                try:
                    with urllib.request.urlopen(base + "/", timeout=2) as r:
                        if r.status == 200:
                            break
                except OSError:
                    pass
                if proc.poll() is not None or time.monotonic() > deadline:
                    log.seek(0)
                    raise RuntimeError(f"Voilà did not start; its log:\n{log.read()}")
                time.sleep(0.3)
            yield base
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)

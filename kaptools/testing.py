"""Helpers for testing and benchmarking the dashboards: a Voilà server and Chromium.

Not clinical logic; used by tests/browser and benchmarks/.
"""

from __future__ import annotations

import ipaddress
import os
import re
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
from urllib.parse import urlparse

__all__ = [
    "CHROMIUM_ARGS",
    "ServerURL",
    "chromium_path",
    "free_port",
    "is_loopback_url",
    "kernel_ids",
    "kernel_pids",
    "voila_server",
]

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


def is_loopback_url(url: str) -> bool:
    """True for URLs that stay on this machine (loopback hosts, data:, blob:, about:)."""
    parsed = urlparse(url)
    if parsed.scheme in ("data", "blob", "about", "chrome", "chrome-extension"):
        return True
    host = (parsed.hostname or "").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class ServerURL(str):
    """A served base URL that also knows the server's process id (``.pid``)."""

    pid: int

    def __new__(cls, url: str, pid: int) -> ServerURL:
        obj = super().__new__(cls, url)
        obj.pid = pid
        return obj


def kernel_pids(server: ServerURL) -> list[int]:
    """Process ids of the Jupyter kernels a server started (its ipykernel children; Linux)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            if ppid != server.pid:
                continue
            cmdline = (entry / "cmdline").read_bytes()
        except (OSError, ValueError, IndexError):
            continue
        if b"ipykernel" in cmdline:
            pids.append(int(entry.name))
    return sorted(pids)


def kernel_connection_file(pid: int) -> str:
    """The connection file of the kernel with process id ``pid`` (its ``-f`` argument)."""
    args = Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")
    return args[args.index("-f") + 1]


def run_in_kernel(pid: int, code: str, expression: str, timeout: float = 300) -> object:
    """Run ``code`` in the kernel with process id ``pid`` (e.g. a server's preheated
    kernel), then return ``expression``'s value, which must be JSON text, parsed.

    No ``wait_for_ready``: on a loaded machine its heartbeat check reads a busy kernel as
    dead; the execute request simply waits in the kernel's queue. Raises RuntimeError
    naming the kernel when the code or the expression fails.
    """
    import ast
    import json

    from jupyter_client import BlockingKernelClient

    kc = BlockingKernelClient()
    kc.load_connection_file(kernel_connection_file(pid))
    kc.start_channels()
    try:
        msg_id = kc.execute(code, silent=False, user_expressions={"r": expression})
        while True:
            reply = kc.get_shell_msg(timeout=timeout)
            if reply["parent_header"].get("msg_id") == msg_id:
                break
        content = reply["content"]
        if content["status"] != "ok":
            msg = f"kernel {pid}: {content.get('ename')}: {content.get('evalue')}"
            raise RuntimeError(msg)
        result = content["user_expressions"]["r"]
        if result["status"] != "ok":
            raise RuntimeError(f"kernel {pid}: {result}")
        return json.loads(ast.literal_eval(result["data"]["text/plain"]))
    finally:
        kc.stop_channels()


def kernel_ids(server: ServerURL) -> set[str]:
    """Ids of the kernels a server is running (from their connection-file names)."""
    ids = set()
    for pid in kernel_pids(server):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue
        ids.update(re.findall(r"kernel-([0-9a-f-]{36})\.json", cmdline))
    return ids


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
) -> Iterator[ServerURL]:
    """Serve ``directory`` as `make run` does (``python -m kaptools.server``, so with the
    same settings) on a free loopback port; yields the base URL.

    The server's output goes to ``log_path`` (or a temporary file).
    """
    port = free_port()
    cmd = [sys.executable, "-m", "kaptools.server", ".", f"--port={port}", *extra_args]
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
            yield ServerURL(base, proc.pid)
        finally:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

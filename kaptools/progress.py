"""Progress bars for long runs (tqdm): in a terminal, and as widgets in notebooks.

Every function that can take more than a few seconds takes ``progress=``:

- ``None`` (the default): a bar when someone is watching: standard error is a
  terminal, or the code runs in a Jupyter kernel (a widget bar there);
- ``True`` / ``False``: always / never.

The command line turns bars off with ``--quiet``, and they are off whenever its
output is not a terminal (a pipe, a log file, CI), so logs stay clean.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from typing import Any, TypeVar

__all__ = ["StageBar", "progress_bar", "watching"]

T = TypeVar("T")


def _in_kernel() -> bool:
    shell = sys.modules.get("IPython")
    if shell is None:
        return False
    try:
        ip = shell.get_ipython()
    except AttributeError:  # pragma: no cover - very old IPython
        return False
    return ip is not None and "IPKernelApp" in getattr(ip, "config", {})


def watching(progress: bool | None) -> bool:
    """Whether to draw a bar for ``progress`` (see the module docstring)."""
    if progress is not None:
        if not isinstance(progress, bool):
            from kaptools.errors import InvalidInputError

            raise InvalidInputError(f"progress: True, False or None (automatic); got {progress!r}.")
        return progress
    stream = sys.stderr
    return bool(getattr(stream, "isatty", lambda: False)()) or _in_kernel()


def progress_bar(
    iterable: Iterable[T],
    *,
    progress: bool | None = None,
    total: int | None = None,
    desc: str = "",
    unit: str = "it",
) -> Iterator[T]:
    """``iterable``, drawing a tqdm bar while it is consumed when :func:`watching`."""
    if not watching(progress):
        yield from iterable
        return
    if _in_kernel():
        from tqdm.auto import tqdm
    else:
        from tqdm import tqdm
    bar: Any = tqdm(iterable, total=total, desc=desc, unit=unit, leave=False)
    try:
        yield from bar
    finally:
        bar.close()


class StageBar:
    """A bar over named stages of one run: ``advance("parse")`` after each stage."""

    def __init__(self, stages: int, *, progress: bool | None, desc: str):
        self._bar: Any = None
        if watching(progress):
            if _in_kernel():
                from tqdm.auto import tqdm
            else:
                from tqdm import tqdm
            self._bar = tqdm(total=stages, desc=desc, unit="step", leave=False)

    def advance(self, done: str) -> None:
        if self._bar is not None:
            self._bar.set_postfix_str(done, refresh=False)
            self._bar.update(1)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()

    def __enter__(self) -> StageBar:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

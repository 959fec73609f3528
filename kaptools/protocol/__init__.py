"""A clinic's protocol: every rule and threshold kaptools applies, in one TOML file.

kaptools ships ``default.toml`` (the decisions in the project's default-protocol
page, each value with its unit and source). A clinic copies it, changes what it
needs, and points kaptools at the copy: ``load_protocol(path)``, or the
``KAPTOOLS_PROTOCOL`` environment variable for the dashboards. Every result
records ``Protocol.info`` (name, version, content hash) so it can be traced to
the exact file that produced it.
"""

from __future__ import annotations

import functools
import hashlib
import html
import os
import re
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from kaptools.errors import ProtocolError
from kaptools.protocol._common import Section, Source, Threshold
from kaptools.protocol._courses import CoursesSection, MonitoringSection
from kaptools.protocol._measures import MeasuresSection
from kaptools.protocol._screening import ScreeningSection

__all__ = [
    "DEFAULT_PROTOCOL_PATH",
    "PROTOCOL_ENV_VAR",
    "Protocol",
    "ProtocolInfo",
    "Threshold",
    "default_protocol",
    "load_protocol",
    "protocol_from_env",
]

PROTOCOL_ENV_VAR = "KAPTOOLS_PROTOCOL"
DEFAULT_PROTOCOL_PATH = Path(str(resources.files("kaptools.protocol") / "default.toml"))


@dataclass(frozen=True, slots=True)
class ProtocolInfo:
    """What every result records about the protocol that produced it."""

    name: str
    version: str
    sha256: str

    @property
    def short(self) -> str:
        return f"{self.name} v{self.version} ({self.sha256[:12]})"

    def __str__(self) -> str:
        return self.short


class _Header(Section):
    name: str
    version: str
    description: str = ""
    based_on: str = ""


class _ProtocolModel(Section):
    protocol: _Header
    measures: MeasuresSection
    screening: ScreeningSection
    courses: CoursesSection
    monitoring: MonitoringSection


@dataclass(frozen=True)
class Protocol:
    """A validated protocol. Sections are frozen pydantic models."""

    info: ProtocolInfo
    measures: MeasuresSection
    screening: ScreeningSection
    courses: CoursesSection
    monitoring: MonitoringSection
    path: Path | None = None
    description: str = ""

    @property
    def summary(self) -> str:
        return f"Protocol {self.info.short}" + (f" from {self.path}" if self.path else "")

    def _repr_html_(self) -> str:
        return f"<p class='kap-protocol'>{html.escape(self.summary)}</p>"


def _line_of(text: str, loc: tuple[Any, ...]) -> int | None:
    """Best-effort line number (1-based) of the key at ``loc`` in TOML ``text``."""
    lines = text.splitlines()
    keys = [str(p) for p in loc if not isinstance(p, int)]
    if not keys:
        return None
    # Walk down: find the deepest table header or key that matches the path.
    start = 0
    found: int | None = None
    for depth in range(len(keys), 0, -1):
        header = ".".join(keys[:depth])
        pat = re.compile(r"^\s*\[\[?\s*" + re.escape(header) + r"\s*\]\]?\s*$")
        for i, line in enumerate(lines):
            if pat.match(line):
                found, start = i + 1, i
                rest = keys[depth:]
                break
        else:
            continue
        break
    else:
        rest = keys
    for key in rest:
        pat = re.compile(r"^\s*" + re.escape(key) + r"\s*=|[{,]\s*" + re.escape(key) + r"\s*=")
        for i in range(start, len(lines)):
            if pat.search(lines[i]):
                found, start = i + 1, i
                break
    return found


def _format_errors(err: ValidationError, text: str, origin: str) -> str:
    parts = []
    for e in err.errors():
        loc = tuple(e["loc"])
        key = ".".join(str(p) for p in loc) or "(top level)"
        line = _line_of(text, loc)
        where = f" (line {line})" if line else ""
        got = e.get("input")
        got_s = "" if isinstance(got, dict) else f"; got {got!r}"
        msg = e["msg"]
        if e["type"] == "missing":
            msg = "required key is missing: add it (see the default protocol for its form)"
        elif e["type"] == "extra_forbidden":
            msg = "unknown key: check its spelling against the default protocol"
        parts.append(f"  - {key}{where}: {msg}{got_s}")
    return f"Protocol {origin} does not match the protocol schema:\n" + "\n".join(parts)


def parse_protocol(text: str, *, origin: str = "<text>", path: Path | None = None) -> Protocol:
    """Validate TOML ``text`` as a protocol. Raises ProtocolError naming key and line."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ProtocolError(
            f"Protocol {origin} is not valid TOML: {exc}. Fix the syntax there."
        ) from None
    try:
        model = _ProtocolModel.model_validate(data)
    except ValidationError as exc:
        raise ProtocolError(_format_errors(exc, text, origin)) from None
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    info = ProtocolInfo(model.protocol.name, model.protocol.version, digest)
    protocol = Protocol(
        info=info,
        measures=model.measures,
        screening=model.screening,
        courses=model.courses,
        monitoring=model.monitoring,
        path=path,
        description=model.protocol.description,
    )
    _check_cross_section(protocol, text, origin)
    return protocol


def _check_cross_section(protocol: Protocol, text: str, origin: str) -> None:
    """Hook for checks that span sections (section models validate themselves)."""
    check = getattr(protocol.screening, "check_protocol", None)
    if callable(check):
        check(protocol)


def load_protocol(path: str | os.PathLike[str] | None = None) -> Protocol:
    """Load and validate a protocol file; ``None`` loads the shipped default."""
    if path is None:
        return default_protocol()
    p = Path(path)
    if not p.is_file():
        raise ProtocolError(
            f"Protocol file {str(p)!r} does not exist or is not a file. "
            f"Give the path of a TOML protocol (copy {DEFAULT_PROTOCOL_PATH} to start)."
        )
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ProtocolError(f"Protocol file {str(p)!r} cannot be read: {exc}.") from None
    return parse_protocol(text, origin=repr(str(p)), path=p)


@functools.cache
def default_protocol() -> Protocol:
    """The protocol kaptools ships (cached: it is immutable)."""
    text = DEFAULT_PROTOCOL_PATH.read_text(encoding="utf-8")
    return parse_protocol(text, origin="default.toml", path=DEFAULT_PROTOCOL_PATH)


def protocol_from_env() -> Protocol:
    """The protocol named by ``KAPTOOLS_PROTOCOL``, or the default when it is unset."""
    value = os.environ.get(PROTOCOL_ENV_VAR, "").strip()
    return load_protocol(value) if value else default_protocol()


__all__ += ["Source", "parse_protocol"]

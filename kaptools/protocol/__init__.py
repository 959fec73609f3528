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
import json
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import ValidationError, model_validator

from kaptools.arguments import check_exports as _check_exports
from kaptools.arguments import checks_itself
from kaptools.errors import ProtocolError, dotted_path, problems_from_validation
from kaptools.limits import size_limit
from kaptools.printer import escape
from kaptools.protocol._common import Section, Source, Threshold
from kaptools.protocol._courses import (
    CoursesSection,
    FixedLabelDose,
    NamedTemplate,
    RoundingMode,
    RouteCourse,
    WeightBasedDose,
)
from kaptools.protocol._measures import MeasuresSection
from kaptools.protocol._monitoring import MonitoringSection
from kaptools.protocol._screening import (
    HistoryQuestion,
    MedicationClass,
    QuestionRule,
    ScreeningSection,
    normalise_icd10,
)
from kaptools.vocabulary import Route

__all__ = [
    "DEFAULT_PROTOCOL_PATH",
    "PROTOCOL_ENV_VAR",
    "CoursesSection",
    "FixedLabelDose",
    "HistoryQuestion",
    "MeasuresSection",
    "MedicationClass",
    "MonitoringSection",
    "NamedTemplate",
    "Protocol",
    "ProtocolInfo",
    "QuestionRule",
    "RoundingMode",
    "RouteCourse",
    "ScreeningSection",
    "Threshold",
    "WeightBasedDose",
    "default_protocol",
    "load_protocol",
    "normalise_icd10",
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

    @model_validator(mode="after")
    def _contraindications_are_rules(self) -> _ProtocolModel:
        known = set(type(self.screening.rules).model_fields)
        for route in Route:
            course = getattr(self.courses, route.value)
            unknown = sorted(set(course.contraindications) - known) if course else []
            if unknown:
                msg = (
                    f"courses.{route.value}.contraindications names {unknown}, which are not "
                    f"screening rules; use rule ids from [screening.rules]"
                )
                raise ValueError(msg)
        return self


@dataclass(frozen=True)
class Protocol:
    """A validated protocol. Sections are frozen pydantic models.

    Provenance is computed, never stored: ``info.sha256`` is the SHA-256 of the
    protocol's content (header and every section, as canonical JSON), so any
    protocol that differs in one value has a different hash, however it was made.
    A protocol whose content differs from what was loaded or derived through
    :meth:`with_changes` (e.g. ``dataclasses.replace`` with an edited section)
    says so in its name and version. Use :meth:`with_changes` for what-if
    protocols: it validates the changes like a protocol file and names them.
    """

    header: _Header
    measures: MeasuresSection
    screening: ScreeningSection
    courses: CoursesSection
    monitoring: MonitoringSection
    path: Path | None = None
    _made_digest: str = field(default="", repr=False, compare=False)
    """Sections digest when this protocol was parsed or derived (see ``info``)."""

    @property
    def description(self) -> str:
        return self.header.description

    @functools.cached_property
    def _model(self) -> _ProtocolModel:
        return _ProtocolModel(
            protocol=self.header,
            measures=self.measures,
            screening=self.screening,
            courses=self.courses,
            monitoring=self.monitoring,
        )

    @functools.cached_property
    def info(self) -> ProtocolInfo:
        """Name, version and content hash, computed from the content."""
        sections = _sections_digest(self._model)
        name, version = self.header.name, self.header.version
        if sections != self._made_digest:
            # Content edited outside with_changes: never report the old provenance.
            name = f"{name} (modified outside with_changes; changes not recorded)"
            version = f"{version}+modified.{sections[:12]}"
        header = {"name": name, "version": version, "based_on": self.header.based_on}
        digest = _digest({"protocol": header, "sections": sections})
        return ProtocolInfo(name, version, digest)

    @property
    def summary(self) -> str:
        return f"Protocol {self.info.short}" + (f" from {self.path}" if self.path else "")

    def _repr_html_(self) -> str:
        return f"<p class='kap-protocol'>{escape(self.summary)}</p>"

    def as_dict(self) -> dict[str, Any]:
        """The protocol's content as plain data (the shape of the TOML file)."""
        return self._model.model_dump(mode="json")

    def value(self, key_path: str) -> Any:
        """The value at a dotted key path, e.g. ``"measures.response_reduction_min"``."""
        node: Any = self.as_dict()
        for part in key_path.split("."):
            node = _child(node, part, key_path)
        return node

    def with_changes(self, changes: Mapping[str, Any], *, name: str | None = None) -> Protocol:
        """A new, validated protocol with ``changes`` applied, for what-if comparisons.

        ``changes`` maps dotted key paths to new values, e.g.
        ``{"screening.thresholds.bp_caution_systolic_above": 130}``. A plain number
        (or text) given for a threshold ``{ value, unit, source }`` replaces its
        ``value`` and keeps its unit and source, noting the old value; a table
        replaces the whole entry. The result is validated exactly like a protocol
        file (ProtocolError naming the key, the problem and the value). Its name
        says it is modified and lists the changes (or is ``name`` when given, still
        marked modified), its version gains a ``+whatif.<hash>`` suffix, its content
        hash is new, and every rule message is built from the new values.
        """
        if not isinstance(changes, Mapping) or not changes:
            raise ProtocolError(
                f"Protocol.with_changes needs a non-empty mapping of key paths to values "
                f"(got {changes!r}); e.g. {{'measures.response_reduction_min': 0.4}}."
            )
        data = self.as_dict()
        described = []
        for key_path, new_value in changes.items():
            if not isinstance(key_path, str) or not key_path.strip():
                raise ProtocolError(
                    f"Protocol.with_changes: key path {key_path!r} is not a dotted key such "
                    f"as 'measures.response_reduction_min'."
                )
            parts = key_path.split(".")
            if parts[0] == "protocol":
                raise ProtocolError(
                    f"Protocol.with_changes: {key_path!r} is the protocol's header; it is "
                    f"set from the changes (use name= to name the what-if protocol)."
                )
            parent: Any = data
            for part in parts[:-1]:
                parent = _child(parent, part, key_path)
            last: Any = parts[-1]
            old = _child(parent, last, key_path)
            if isinstance(parent, list):
                last = int(last)
            if _is_threshold(old) and not isinstance(new_value, Mapping):
                parent[last] = {
                    **old,
                    "value": new_value,
                    "note": f"what-if: changed from {_plain(old['value'])} {old['unit']}",
                }
                described.append(f"{key_path}={_plain(new_value)}")
            else:
                parent[last] = dict(new_value) if isinstance(new_value, Mapping) else new_value
                described.append(f"{key_path}={_plain(new_value)}")
        origin = f"{self.info.name!r} with changes {', '.join(described)}"
        try:
            model = _ProtocolModel.model_validate(data)
        except ValidationError as exc:
            raise _schema_error(exc, "", origin) from None
        sections = _sections_digest(model)
        base = self.info
        label = name.strip() if name and name.strip() else base.name
        header = model.protocol.model_copy(
            update={
                "name": f"{label} (modified: {'; '.join(described)})",
                "version": f"{base.version}+whatif.{sections[:12]}",
                "based_on": f"{base.name} v{base.version} ({base.sha256[:12]})",
            }
        )
        protocol = Protocol(
            header=header,
            measures=model.measures,
            screening=model.screening,
            courses=model.courses,
            monitoring=model.monitoring,
            path=None,
            _made_digest=sections,
        )
        _check_cross_section(protocol, "", origin)
        return protocol


def _digest(data: Any) -> str:
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _sections_digest(model: _ProtocolModel) -> str:
    """Digest of every section (the rules and numbers), without the header."""
    return _digest(model.model_dump(mode="json", exclude={"protocol"}))


def _child(node: Any, part: str, key_path: str) -> Any:
    """``node[part]``: a table's key, or an array-of-tables index (``phases.0``)."""
    if isinstance(node, dict) and part in node:
        return node[part]
    if isinstance(node, list) and part.isdigit() and int(part) < len(node):
        return node[int(part)]
    raise ProtocolError(_unknown_key(key_path, part))


def _is_threshold(node: Any) -> bool:
    return isinstance(node, dict) and {"value", "unit", "source"} <= node.keys()


def _plain(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _unknown_key(key_path: str, part: str) -> str:
    return (
        f"Protocol key path {key_path!r}: {part!r} is not a key of the protocol there "
        f"(arrays of tables take an index, e.g. 'courses.iv_ketamine.phases.0'); check its "
        f"spelling against the default protocol (kaptools/protocol/default.toml)."
    )


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


_PROTOCOL_FIXES = {
    "missing": "add it (see the default protocol for its form)",
    "extra_forbidden": "check its spelling against the default protocol",
}


def _schema_error(err: ValidationError, text: str, origin: str) -> ProtocolError:
    """A ProtocolError naming each key, its line in ``text``, the rule, the value and the fix."""
    problems = problems_from_validation(
        err,
        path=dotted_path,
        top="(top level)",
        fixes=_PROTOCOL_FIXES,
        default_fix="see the default protocol (kaptools/protocol/default.toml) for its form",
        line_of=lambda loc: _line_of(text, loc),
    )
    return ProtocolError.of(f"Protocol {origin} (protocol schema)", problems)


def _depth(value: object, stop: int) -> int:
    """How deep tables and arrays nest in ``value`` (counting stops at ``stop``)."""
    if stop <= 0 or not isinstance(value, dict | list):
        return 0
    children = value.values() if isinstance(value, dict) else value
    return 1 + max((_depth(v, stop - 1) for v in children), default=0)


# text: its own check is a ProtocolError, as for every other unusable protocol
@checks_itself("text")
def parse_protocol(text: str, *, origin: str = "<text>", path: Path | None = None) -> Protocol:
    """Validate TOML ``text`` as a protocol. Raises ProtocolError naming key and line."""
    if not isinstance(text, str):
        msg = f"text: a protocol is TOML text, a str (got {type(text).__name__})"
        raise ProtocolError(msg)
    max_bytes = size_limit("protocol_file_max_bytes")
    if len(text) > max_bytes:
        msg = (
            f"Protocol {origin} is {len(text):,} characters; the limit is {max_bytes:,} "
            f"(protocol_file_max_bytes): a protocol is a short file, check it is the right one"
        )
        raise ProtocolError(msg)
    nesting = size_limit("protocol_nesting_max")
    too_deep = (
        f"Protocol {origin} nests tables or arrays more than {nesting} deep "
        f"(protocol_nesting_max): flatten the nested values"
    )
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ProtocolError(
            f"Protocol {origin} is not valid TOML: {exc}. Fix the syntax there."
        ) from None
    except RecursionError:
        raise ProtocolError(too_deep) from None
    if _depth(data, nesting + 1) > nesting:
        raise ProtocolError(too_deep)
    try:
        model = _ProtocolModel.model_validate(data)
    except ValidationError as exc:
        raise _schema_error(exc, text, origin) from None
    protocol = Protocol(
        header=model.protocol,
        measures=model.measures,
        screening=model.screening,
        courses=model.courses,
        monitoring=model.monitoring,
        path=path,
        _made_digest=_sections_digest(model),
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
    max_bytes = size_limit("protocol_file_max_bytes")
    try:
        size = p.stat().st_size
    except OSError as exc:
        raise ProtocolError(f"Protocol file {str(p)!r} cannot be read: {exc}.") from None
    if size > max_bytes:
        msg = (
            f"Protocol file {str(p)!r} is {size:,} bytes; the limit is {max_bytes:,} "
            f"(protocol_file_max_bytes): a protocol is a short file, check it is the right one"
        )
        raise ProtocolError(msg)
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

# Every function listed above refuses wrong argument types by name (issue 13).
_check_exports(globals())

"""The sources behind kaptools' bracketed citations, shipped with the package.

A rule, a table row or a docstring cites its source by section number in brackets:
``[2.1]`` (the SPRAVATO label), ``[4.8, 7]`` (the C-SSRS screener and crisis safety).
``sources.toml`` beside this module holds each section's facts, in the project's
words, and the citations they rest on::

    >>> from kaptools.sources import source, citations_in
    >>> source("2.1").title
    'SPRAVATO (esketamine nasal spray): US label'
    >>> citations_in("BP above 140/90 [2.1]; hypertensive urgency [2.3, 5.3]")
    ('2.1', '2.3', '5.3')
"""

from __future__ import annotations

import functools
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources

from kaptools.errors import InvalidInputError

__all__ = ["CITATION_RE", "Source", "citations_in", "source", "sources"]

CITATION_RE = re.compile(
    r"(?<![\w\]\)\[`'\"(])(?<!e\.g\. )"  # not an index (x[2]), a list or an example
    r"\[((?:[1-9]\d?(?:\.\d{1,2})?)(?:\s*[,;]\s*[1-9]\d?(?:\.\d{1,2})?)*)\]"
    r"(?!\s*[*(])"
)
"""A bracketed citation: one or more section numbers, ``[2.1]``, ``[1.5, 2.4]``, ``[7]``."""

_SEPARATOR = re.compile(r"\s*[,;]\s*")


@dataclass(frozen=True)
class Source:
    """One cited section: what it is about, the facts kaptools uses, their citations."""

    key: str
    title: str
    strength: str
    facts: tuple[str, ...]
    cites: tuple[str, ...]

    @property
    def summary(self) -> str:
        """The section as plain text: ``[key] title``, its facts, then its citations."""
        lines = [f"[{self.key}] {self.title} ({self.strength})"]
        lines += [f"  - {fact}" for fact in self.facts]
        lines += [f"  Source: {cite}" for cite in self.cites]
        return "\n".join(lines)


@functools.cache
def sources() -> Mapping[str, Source]:
    """Every cited section, keyed by its number (``"2.1"``), in file order."""
    text = (resources.files("kaptools") / "sources.toml").read_text("utf-8")
    table = tomllib.loads(text)["sections"]
    return {
        key: Source(
            key=key,
            title=entry["title"],
            strength=entry["strength"],
            facts=tuple(entry["facts"]),
            cites=tuple(entry["cites"]),
        )
        for key, entry in table.items()
    }


def source(key: str) -> Source:
    """The section cited as ``[key]``; an unknown key is an InvalidInputError."""
    found = sources().get(str(key).strip().strip("[]"))
    if found is None:
        raise InvalidInputError(
            f"citation: [{key}] names no section of kaptools/sources.toml "
            f"(rule: a citation is a section number there, one of {', '.join(sources())}); "
            "fix: cite an existing section or add the source to sources.toml"
        )
    return found


def citations_in(text: str) -> tuple[str, ...]:
    """The section numbers cited in ``text``, in order of appearance.

    A bracket that repeats a number (``[1, 1, 2]``) is a list of values, not a citation.
    """
    keys: list[str] = []
    for match in CITATION_RE.finditer(text):
        parts = _SEPARATOR.split(match.group(1))
        if len(set(parts)) == len(parts):
            keys += parts
    return tuple(keys)

"""Every bracketed citation in kaptools/ resolves to a shipped source, and none is unused."""

from __future__ import annotations

import doctest
import io
import tokenize
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

import kaptools.sources
from kaptools.errors import InvalidInputError
from kaptools.sources import citations_in, source, sources

PACKAGE = Path(kaptools.sources.__file__).parent
PROTOCOL_FILE = PACKAGE / "protocol" / "default.toml"
TEXT_SUFFIXES = {".md", ".csv", ".json"}


def _toml_strings(value: object) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _toml_strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _toml_strings(item)


def _prose(path: Path) -> Iterator[str]:
    """The human-written text of a file: strings and comments, not code or number arrays."""
    if path.suffix not in TEXT_SUFFIXES | {".py", ".toml"}:
        return
    text = path.read_text("utf-8")
    if path.suffix == ".py":
        for tok in tokenize.generate_tokens(io.StringIO(text).readline):
            if tok.type in (tokenize.STRING, tokenize.COMMENT) or tok.type == getattr(
                tokenize, "FSTRING_MIDDLE", -1
            ):
                # doctest lines hold Python lists such as score("PHQ-9", [1, 1, 2, ...])
                yield "\n".join(ln for ln in tok.string.splitlines() if ">>>" not in ln)
    elif path.suffix == ".toml":
        yield from _toml_strings(tomllib.loads(text))
        yield from (ln for ln in text.splitlines() if ln.lstrip().startswith("#"))
    elif path.suffix in TEXT_SUFFIXES:
        yield text


def _cited() -> dict[str, list[str]]:
    """Every section number cited in kaptools/ (sources.toml itself aside) → where."""
    found: dict[str, list[str]] = {}
    for path in sorted(PACKAGE.rglob("*")):
        if path.name == "sources.toml" or "__pycache__" in path.parts or not path.is_file():
            continue
        for text in _prose(path):
            for key in citations_in(text):
                found.setdefault(key, []).append(str(path.relative_to(PACKAGE.parent)))
    return found


def test_every_citation_in_the_package_resolves_to_a_source():
    """A citation like [2.1] anywhere in kaptools/ names a section of sources.toml."""
    cited = _cited()
    assert len(cited) > 20  # the scan really reads the code, tables and protocol
    unresolved = {key: places[:3] for key, places in cited.items() if key not in sources()}
    assert unresolved == {}


def test_every_citation_in_the_protocol_file_resolves():
    """The protocol file's rules cite their sources, and each citation resolves."""
    keys = [key for text in _prose(PROTOCOL_FILE) for key in citations_in(text)]
    assert len(set(keys)) >= 10
    assert sorted(set(keys) - set(sources())) == []


def test_no_source_is_unused():
    """Every section shipped in sources.toml is cited somewhere in kaptools/."""
    assert sorted(set(sources()) - set(_cited())) == []


def test_each_source_has_facts_and_citations():
    """A section states at least one fact and where it comes from."""
    for entry in sources().values():
        assert entry.title and entry.facts and entry.cites, entry.key
        assert entry.summary.startswith(f"[{entry.key}] {entry.title}")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("label [2.1]", ("2.1",)),
        ("practice lists [1.5, 2.4].", ("1.5", "2.4")),
        ("crisis [4.8; 7]", ("4.8", "7")),
        ("diagnoses[2] is unknown", ()),
        ('score("PHQ-9", [1, 1, 2])', ()),
        ("pass e.g. [3, 4]", ()),
        ("[0.4] * 16", ()),
    ],
)
def test_citations_in_reads_citations_not_indexes_or_lists(text, expected):
    """Only bracketed section numbers count; indexes, lists and examples do not."""
    assert citations_in(text) == expected


def test_unknown_citation_is_an_invalid_input_error_naming_it():
    """Looking up a section that does not exist names it and the fix."""
    with pytest.raises(InvalidInputError, match=r"\[9\.9\].*fix"):
        source("9.9")
    assert source("[2.1]").key == "2.1"


def test_module_examples():
    """The module docstring's examples run."""
    assert doctest.testmod(kaptools.sources).failed == 0


def test_no_file_points_to_a_sources_document_outside_the_package():
    """Citations point to kaptools/sources.toml, never to the project's research notes
    (clinical-sources.md), which the package does not ship."""
    outside = "clinical-sources" + ".md"
    pointing = sorted(
        str(p.relative_to(PACKAGE))
        for p in PACKAGE.rglob("*")
        if p.is_file()
        and p.suffix in {".py", ".toml", *TEXT_SUFFIXES}
        and outside in p.read_text(encoding="utf-8", errors="replace")
    )
    assert pointing == [], f"point these to kaptools/sources.toml: {pointing}"

"""ICD-10-CM codes: does a code exist, what it is called, and which codes it falls under.

The code hierarchy and descriptions come from the maintained ``simple-icd-10-cm``
package (PyPI), which ships the CMS ICD-10-CM tabular list with it and works offline
(:func:`release` names the release). kaptools types no code lists of its own: a
screening rule names the codes (or blocks such as ``F10-F19``) it covers in the
protocol file, and every code under them in the hierarchy fires it.

The package loads its whole tabular list on first use (2-3 CPU-seconds and ~170 MB in
every dashboard kernel that screened a code, issue 14), so kaptools answers from
:data:`INDEX_FILE` instead: every category, subcategory and block of the installed
release with the items above it and its description, exactly as the package gives them,
written by ``python -m kaptools.icd10 --write-index`` (tests/test_icd10.py checks that
the shipped file is what the installed package writes). In memory the index stays
compressed (about 1 MB, in gzip members of 256 lines); a look-up is a binary search over
the members' first items and decompresses one member. With another release of the
package installed, the package itself answers, so the index is never stale.
:func:`descendants` (tests and tools, never a dashboard) always asks the package.
"""

from __future__ import annotations

import functools
import gzip
import re
import sys
import warnings
import zlib
from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from kaptools.errors import InvalidInputError

__all__ = [
    "ICD10_CODE_PATTERN",
    "covered_by",
    "descendants",
    "describe",
    "is_code",
    "is_item",
    "load_code_set",
    "normalise_code",
    "release",
    "validate_code",
]

ICD10_CODE_PATTERN = re.compile(r"([A-Z][0-9][0-9A-Z])\.?([0-9A-Z]{0,4})")
"""The shape of an ICD-10-CM code: a letter, a digit, a digit or letter, then up to
four characters after an optional dot."""

_BLOCK = re.compile(r"[A-Z][0-9][0-9A-Z]-[A-Z][0-9][0-9A-Z]")

#: Every ICD-10-CM category, subcategory and block of the installed release, one a line
#: sorted by item: ``item<TAB>up<TAB>description``, after a header naming the release.
#: ``up`` is the parent (empty under a chapter). A few names are both a block and its only
#: category (``F99``, ``H59``): the package answers for the category, whose parent is the
#: block of the same name, so their ``up`` lists that block and the block's parent
#: (``F99`` or ``C7A,C00-C96``). Descriptions carry Python's backslash escapes.
INDEX_FILE = Path(__file__).with_name("icd10cm_index.txt.gz")
_HEADER = "# simple-icd-10-cm {version}: item, up (comma-separated), description"


def load_code_set() -> None:
    """Load what answers ICD-10-CM look-ups now (the index; the package only when the
    index was written for another release)."""
    if _index() is None:
        _icd()


def _package_version() -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("simple-icd-10-cm")
    except PackageNotFoundError:
        return None


#: Lines per gzip member of :data:`INDEX_FILE`: a look-up decompresses one member.
_LINES_PER_MEMBER = 256


@dataclass(frozen=True, eq=False)
class _Index:
    """The index in memory, as the file holds it: gzip members of 256 sorted lines each
    (about 1 MB in all), with the first item of each; a look-up decompresses one member
    (tens of microseconds), and the last few members read are kept."""

    firsts: tuple[bytes, ...]
    members: tuple[bytes, ...]

    def items(self) -> int:
        """How many items (codes and blocks) the index holds."""
        return sum(self._lines(i).count(b"\n") - 1 for i in range(len(self.members)))

    @functools.lru_cache(maxsize=16)  # noqa: B019 (one index per process, kept for good)
    def _lines(self, i: int) -> bytes:
        return b"\n" + zlib.decompress(self.members[i], wbits=31)

    def entry(self, item: str) -> tuple[tuple[str, ...], str] | None:
        """(up, description) of ``item`` (dotted code or block), None when absent."""
        key = item.encode("ascii", "replace")
        i = bisect_right(self.firsts, key) - 1
        if i < 0 or b"\t" in key or b"\n" in key:
            return None
        lines = self._lines(i)
        at = lines.find(b"\n" + key + b"\t")
        if at < 0:
            return None
        end = lines.find(b"\n", at + 1)
        _, up, description = lines[at + 1 : end].split(b"\t", 2)
        return tuple(up.decode("ascii").split(",")) if up else (), description.decode(
            "unicode_escape"
        )

    def lineage(self, item: str) -> tuple[str, ...] | None:
        """The items above ``item`` (chapters left out), as the package's ancestors."""
        entry = self.entry(item)
        if entry is None:
            return None
        out: list[str] = []
        while entry is not None and entry[0]:
            out.extend(entry[0])
            if entry[0][-1] == item:  # a block named as its category, under a chapter
                break
            item = entry[0][-1]
            entry = self.entry(item)
        return tuple(out)


@functools.cache
def _index() -> _Index | None:
    """:data:`INDEX_FILE` when it was written from the installed package; None otherwise
    (the package answers)."""
    try:
        data = INDEX_FILE.read_bytes()
    except OSError:
        return None
    members: list[bytes] = []
    firsts: list[bytes] = []
    header = None
    while data:
        inflate = zlib.decompressobj(wbits=31)
        lines = inflate.decompress(data)
        member, data = data[: len(data) - len(inflate.unused_data)], inflate.unused_data
        if header is None:
            header = lines.rstrip(b"\n").decode("utf-8")
            continue
        members.append(member)
        firsts.append(lines[: lines.index(b"\t")])
    if header != _HEADER.format(version=_package_version()):
        return None
    return _Index(tuple(firsts), tuple(members))


def index_text() -> str:
    """The index as :data:`INDEX_FILE` holds it, from the installed package (slow)."""
    return "".join(_index_members())


def _index_members() -> list[str]:
    """The header line, then the lines sorted by item, :data:`_LINES_PER_MEMBER` a member."""
    icd = _icd()
    lines = []
    for item in dict.fromkeys(icd.get_all_codes(True)):  # a block named as its category: once
        if icd.is_chapter(item):
            continue
        ancestors = [a for a in icd.get_ancestors(item) if not icd.is_chapter(a)]
        up = ancestors[:2] if ancestors[:1] == [item] else ancestors[:1]  # F99: F99, F99's
        # backslash escapes (a few descriptions hold a tab): one ASCII line per item
        description = str(icd.get_description(item)).encode("unicode_escape").decode("ascii")
        lines.append(f"{item}\t{','.join(up)}\t{description}\n")
    lines.sort(key=lambda line: line.split("\t", 1)[0].encode("ascii"))
    n = _LINES_PER_MEMBER
    chunks = ["".join(lines[i : i + n]) for i in range(0, len(lines), n)]
    return [_HEADER.format(version=_package_version()) + "\n", *chunks]


def _dotted(code: str) -> str:
    return f"{code[:3]}.{code[3:]}" if len(code) > 3 and "." not in code else code


@functools.cache
def _icd() -> ModuleType:
    # The package reads its data with importlib.resources.read_text, deprecated since
    # Python 3.11: the warning is about its loader, not about kaptools' use of it.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=DeprecationWarning, message="read_text")
        warnings.filterwarnings("ignore", category=DeprecationWarning, message="open_text")
        import simple_icd_10_cm

    return simple_icd_10_cm


@functools.cache
def release() -> str:
    """The ICD-10-CM release shipped, e.g. "ICD-10-CM April 2026 (simple-icd-10-cm 1.5.0)"."""
    from importlib.metadata import version
    from importlib.util import find_spec

    spec = find_spec("simple_icd_10_cm")  # found, not imported (importing loads the data)
    origin = spec.origin if spec is not None else None
    data = Path(str(origin)).parent / "data"
    tabular = sorted(p.stem for p in data.glob("icd10cm*tabular*.xml")) + sorted(
        p.stem for p in data.glob("icd10c-tabular*.xml")
    )
    name = tabular[-1] if tabular else "tabular list"
    m = re.search(r"([A-Z][a-z]+)-(?:1-)?(\d{4})", name)
    when = f"{m.group(1)} {m.group(2)}" if m else name
    return f"ICD-10-CM {when} (simple-icd-10-cm {version('simple-icd-10-cm')})"


def normalise_code(code: str) -> str | None:
    """``code`` upper-cased with its dot after the category, or None if it is not code-shaped."""
    m = ICD10_CODE_PATTERN.fullmatch(code.strip().upper())
    if m is None:
        return None
    category, rest = m.groups()
    return f"{category}.{rest}" if rest else category


@functools.cache
def is_code(code: str) -> bool:
    """True when ``code`` (normalised) is a category or subcategory in ICD-10-CM."""
    index = _index()
    if index is not None:
        return "-" not in code and index.entry(_dotted(code)) is not None
    icd = _icd()
    return bool(icd.is_valid_item(code) and icd.is_category_or_subcategory(code))


@functools.cache
def is_item(item: str) -> bool:
    """True when ``item`` is an ICD-10-CM code or a block such as ``F10-F19``."""
    if _BLOCK.fullmatch(item):
        index = _index()
        if index is not None:
            return index.entry(item) is not None
        icd = _icd()
        return bool(icd.is_valid_item(item) and icd.is_block(item))
    return is_code(item)


def validate_code(value: object, field: str) -> str:
    """``value`` as a normalised ICD-10-CM code, or InvalidInputError naming it and ``field``."""
    norm = normalise_code(value) if isinstance(value, str) else None
    if norm is None:
        msg = (
            f"{field}: {value!r} is not an ICD-10-CM code: write a letter, two characters and "
            f"optionally a dot and up to four more, e.g. 'F33.1'"
        )
        raise InvalidInputError(msg)
    if not is_code(norm):
        msg = (
            f"{field}: {value!r} is not a code in {release()}: check it against the "
            f"ICD-10-CM tabular list (e.g. 'F33.1' Major depressive disorder, recurrent, moderate)"
        )
        raise InvalidInputError(msg)
    return norm


@functools.cache
def describe(code: str) -> str:
    """The ICD-10-CM description of ``code`` (a code or block); "" when it does not exist."""
    if not is_item(code):
        return ""
    index = _index()
    if index is not None:
        entry = index.entry(code if "-" in code else _dotted(code))
        return entry[1] if entry is not None else ""
    return str(_icd().get_description(code))


@functools.cache
def _lineage(code: str) -> tuple[str, ...]:
    """``code`` and every code and block above it (chapters left out)."""
    index = _index()
    if index is None:
        icd = _icd()
        return (code, *(a for a in icd.get_ancestors(code) if not icd.is_chapter(a)))
    return (code, *(index.lineage(code if "-" in code else _dotted(code)) or ()))


def covered_by(
    code: str,
    roots: Iterable[str],
    excepted: Iterable[str] = (),
    *,
    described_as: Iterable[str] = (),
    except_described_as: Iterable[str] = (),
) -> bool:
    """True when ``code`` is, or falls under, one of ``roots`` in the ICD-10-CM hierarchy.

    ``excepted`` codes (and everything under them) do not count. When ``described_as``
    is given, the description of the code or of one of its ancestors below the root
    must contain one of the phrases (case-insensitive); ``except_described_as`` phrases
    rule a code out the same way (e.g. "in remission").
    """
    if not is_code(code):
        return False
    lineage = _lineage(code)
    roots = set(roots)
    if not roots.intersection(lineage) or set(excepted).intersection(lineage):
        return False
    below = []
    for item in lineage:
        below.append(describe(item).lower())
        if item in roots:
            break
    want = [p.lower() for p in described_as]
    if want and not any(p in d for p in want for d in below):
        return False
    return not any(p.lower() in d for p in except_described_as for d in below)


@functools.cache
def descendants(item: str) -> tuple[str, ...]:
    """Every code under ``item`` (a code or block) in the hierarchy, ``item`` excluded."""
    icd = _icd()
    return tuple(d for d in icd.get_descendants(item) if is_code(d))


def write_index() -> None:
    """Write :data:`INDEX_FILE` from the installed package (after upgrading it): one
    gzip member per :data:`_LINES_PER_MEMBER` lines (``gzip.decompress`` reads it whole)."""
    members = [gzip.compress(m.encode("ascii"), 9, mtime=0) for m in _index_members()]
    INDEX_FILE.write_bytes(b"".join(members))


if __name__ == "__main__":  # python -m kaptools.icd10 --write-index
    if sys.argv[1:] != ["--write-index"]:
        raise SystemExit("usage: python -m kaptools.icd10 --write-index")
    write_index()
    print(f"wrote {INDEX_FILE}")

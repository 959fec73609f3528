"""ICD-10-CM codes: does a code exist, what it is called, and which codes it falls under.

The code hierarchy and descriptions come from the maintained ``simple-icd-10-cm``
package (PyPI), which ships the CMS ICD-10-CM tabular list with it and works offline
(:data:`RELEASE` names the release). kaptools types no code lists of its own: a
screening rule names the codes (or blocks such as ``F10-F19``) it covers in the
protocol file, and every code under them in the hierarchy fires it.

The package loads its data on first use (2-3 CPU-seconds and ~170 MB: every dashboard
kernel paid it, because loading the protocol checks its codes), so it is imported lazily,
only when a code's hierarchy or description is needed. Whether a code or block exists
is answered from :data:`INDEX_FILE`, the package's codes and blocks written out for the
installed release (``python -m kaptools.icd10 --write-index`` rewrites it; with another
release of the package installed the package itself answers, so it is never stale).
"""

from __future__ import annotations

import functools
import gzip
import re
import sys
import warnings
from collections.abc import Iterable
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

#: Every ICD-10-CM category and subcategory, then every block, of the installed release.
INDEX_FILE = Path(__file__).with_name("icd10cm_index.txt.gz")
_BLOCKS_HEADER = "# blocks"


def load_code_set() -> None:
    """Load the package's whole code set now (hierarchy and descriptions), e.g. in a
    dashboard kernel before any request, so the first code typed is answered at once."""
    _icd()


def _package_version() -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("simple-icd-10-cm")
    except PackageNotFoundError:
        return None


@functools.cache
def _index() -> tuple[frozenset[str], frozenset[str]] | None:
    """(codes, blocks) from :data:`INDEX_FILE` when it was written from the installed
    package; None otherwise (the package answers)."""
    try:
        lines = gzip.decompress(INDEX_FILE.read_bytes()).decode("utf-8").splitlines()
    except OSError:
        return None
    if not lines or lines[0] != f"# simple-icd-10-cm {_package_version()}":
        return None
    at = lines.index(_BLOCKS_HEADER)
    return frozenset(lines[1:at]), frozenset(lines[at + 1 :])


def index_text() -> str:
    """The index as :data:`INDEX_FILE` holds it, from the installed package (slow)."""
    icd = _icd()
    items = icd.get_all_codes(True)
    codes = [c for c in items if icd.is_category_or_subcategory(c)]
    blocks = [c for c in items if icd.is_block(c)]
    header = f"# simple-icd-10-cm {_package_version()}"
    return "\n".join([header, *codes, _BLOCKS_HEADER, *blocks]) + "\n"


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
        return _dotted(code) in index[0]
    icd = _icd()
    return bool(icd.is_valid_item(code) and icd.is_category_or_subcategory(code))


@functools.cache
def is_item(item: str) -> bool:
    """True when ``item`` is an ICD-10-CM code or a block such as ``F10-F19``."""
    if _BLOCK.fullmatch(item):
        index = _index()
        if index is not None:
            return item in index[1]
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
    icd = _icd()
    return str(icd.get_description(code)) if is_item(code) else ""


@functools.cache
def _lineage(code: str) -> tuple[str, ...]:
    """``code`` and every code and block above it (chapters left out)."""
    icd = _icd()
    up = [a for a in icd.get_ancestors(code) if not icd.is_chapter(a)]
    return (code, *up)


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
    """Write :data:`INDEX_FILE` from the installed package (after upgrading it)."""
    INDEX_FILE.write_bytes(gzip.compress(index_text().encode("utf-8"), 9, mtime=0))


if __name__ == "__main__":  # python -m kaptools.icd10 --write-index
    if sys.argv[1:] != ["--write-index"]:
        raise SystemExit("usage: python -m kaptools.icd10 --write-index")
    write_index()
    print(f"wrote {INDEX_FILE}")

"""ICD-10-CM codes: does a code exist, what it is called, and which codes it falls under.

The code hierarchy and descriptions come from the maintained ``simple-icd-10-cm``
package (PyPI), which ships the CMS ICD-10-CM tabular list with it and works offline
(:data:`RELEASE` names the release). kaptools types no code lists of its own: a
screening rule names the codes (or blocks such as ``F10-F19``) it covers in the
protocol file, and every code under them in the hierarchy fires it.

The package loads its data on first use (a few seconds), so it is imported lazily.
"""

from __future__ import annotations

import functools
import re
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
    "normalise_code",
    "release",
    "validate_code",
]

ICD10_CODE_PATTERN = re.compile(r"([A-Z][0-9][0-9A-Z])\.?([0-9A-Z]{0,4})")
"""The shape of an ICD-10-CM code: a letter, a digit, a digit or letter, then up to
four characters after an optional dot."""

_BLOCK = re.compile(r"[A-Z][0-9][0-9A-Z]-[A-Z][0-9][0-9A-Z]")


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

    data = Path(str(_icd().__file__)).parent / "data"
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
    icd = _icd()
    return bool(icd.is_valid_item(code) and icd.is_category_or_subcategory(code))


@functools.cache
def is_item(item: str) -> bool:
    """True when ``item`` is an ICD-10-CM code or a block such as ``F10-F19``."""
    icd = _icd()
    if _BLOCK.fullmatch(item):
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

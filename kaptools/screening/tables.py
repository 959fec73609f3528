"""The drug tables screening reads: minimum antidepressant doses, diazepam equivalents, classes.

The tables are CSV files in ``data/`` beside this module, each row with a source key
explained in ``data/sources.csv``; ``data/README.md`` describes the columns. They are
package data, not clinic policy: a drug missing from them is never guessed but
marked for clinician review.
"""

from __future__ import annotations

import csv
import functools
import html
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from types import MappingProxyType

from kaptools.errors import InvalidInputError
from kaptools.protocol._screening import MedicationClass

__all__ = [
    "DrugInfo",
    "DrugTables",
    "drug_tables",
    "normalise_drug_name",
]

_DATA = "data"

_FORMULATION_WORDS = frozenset(
    {"xr", "xl", "sr", "er", "cr", "ir", "la", "odt", "hcl", "hydrochloride"}
)
"""Trailing words that name a release form or salt, not a different drug ("bupropion xl")."""


def normalise_drug_name(name: str) -> str:
    """A drug name as the tables key it: lower case, single spaces, no release-form suffix."""
    words = re.sub(r"[\s_]+", " ", name.strip().lower()).split(" ")
    while len(words) > 1 and words[-1] in _FORMULATION_WORDS:
        words.pop()
    return " ".join(w for w in words if w)


@dataclass(frozen=True, slots=True)
class DrugInfo:
    """What the tables say about one drug name (all empty when the drug is not listed)."""

    name: str
    classes: frozenset[MedicationClass]
    min_daily_dose_mg: float | None = None
    """Minimum adequate daily dose for an antidepressant trial; None if not an antidepressant."""
    min_dose_source: str = ""
    diazepam_mg_per_mg: float | None = None
    """Diazepam-equivalent mg per mg of this benzodiazepine; None if not a benzodiazepine."""
    diazepam_source: str = ""

    @property
    def recognised(self) -> bool:
        """True when any kaptools table lists the drug."""
        return bool(self.classes)


@dataclass(frozen=True)
class DrugTables:
    """The three drug tables, keyed by normalised drug name."""

    min_doses: Mapping[str, tuple[float, str]]
    benzodiazepines: Mapping[str, tuple[float, str]]
    """drug -> (mg equivalent to 10 mg diazepam, source)."""
    classes: Mapping[str, frozenset[MedicationClass]]
    class_sources: Mapping[tuple[str, MedicationClass], str]

    def lookup(self, name: str) -> DrugInfo:
        """Everything the tables hold about ``name`` (normalised first)."""
        key = normalise_drug_name(name)
        classes = set(self.classes.get(key, ()))
        min_dose = self.min_doses.get(key)
        benzo = self.benzodiazepines.get(key)
        if min_dose is not None:
            classes.add(MedicationClass.ANTIDEPRESSANT)
        if benzo is not None:
            classes.add(MedicationClass.BENZODIAZEPINE)
        return DrugInfo(
            name=key,
            classes=frozenset(classes),
            min_daily_dose_mg=None if min_dose is None else min_dose[0],
            min_dose_source="" if min_dose is None else min_dose[1],
            diazepam_mg_per_mg=None if benzo is None else 10.0 / benzo[0],
            diazepam_source="" if benzo is None else benzo[1],
        )

    @property
    def summary(self) -> str:
        return (
            f"Drug tables: {len(self.min_doses)} antidepressant minimum doses, "
            f"{len(self.benzodiazepines)} benzodiazepine equivalents, "
            f"{len(self.classes)} drugs with interaction classes."
        )

    def _repr_html_(self) -> str:
        return f"<p class='kap-drug-tables'>{html.escape(self.summary)}</p>"


def _rows(filename: str) -> list[dict[str, str]]:
    text = (resources.files("kaptools.screening") / _DATA / filename).read_text(encoding="utf-8")
    return list(csv.DictReader(text.splitlines()))


def _positive(value: str, where: str) -> float:
    try:
        number = float(value)
    except ValueError:
        number = math.nan
    if not (math.isfinite(number) and number > 0):
        msg = f"{where}: {value!r} is not a positive number; fix the package data table"
        raise InvalidInputError(msg)
    return number


@functools.cache
def drug_tables() -> DrugTables:
    """Load and check the shipped drug tables (cached: they are immutable)."""
    sources = {row["key"]: row["source"] for row in _rows("sources.csv")}

    def source_of(key: str, where: str) -> str:
        if key not in sources:
            msg = f"{where}: source key {key!r} is not in data/sources.csv; add it there"
            raise InvalidInputError(msg)
        return sources[key]

    min_doses: dict[str, tuple[float, str]] = {}
    for i, row in enumerate(_rows("antidepressant_min_doses.csv"), start=2):
        where = f"antidepressant_min_doses.csv line {i}"
        name = normalise_drug_name(row["drug"])
        min_doses[name] = (
            _positive(row["min_daily_dose_mg"], where),
            source_of(row["source"], where),
        )
    benzos: dict[str, tuple[float, str]] = {}
    for i, row in enumerate(_rows("benzodiazepine_equivalents.csv"), start=2):
        where = f"benzodiazepine_equivalents.csv line {i}"
        name = normalise_drug_name(row["drug"])
        benzos[name] = (
            _positive(row["mg_equivalent_to_10_mg_diazepam"], where),
            source_of(row["source"], where),
        )
    classes: dict[str, set[MedicationClass]] = {}
    class_sources: dict[tuple[str, MedicationClass], str] = {}
    for i, row in enumerate(_rows("medication_classes.csv"), start=2):
        where = f"medication_classes.csv line {i}"
        try:
            cls = MedicationClass(row["class"])
        except ValueError:
            msg = f"{where}: unknown class {row['class']!r}; use one of {list(MedicationClass)}"
            raise InvalidInputError(msg) from None
        name = normalise_drug_name(row["drug"])
        classes.setdefault(name, set()).add(cls)
        class_sources[(name, cls)] = source_of(row["source"], where)
    for name in min_doses:
        classes.setdefault(name, set()).add(MedicationClass.ANTIDEPRESSANT)
    for name in benzos:
        classes.setdefault(name, set()).add(MedicationClass.BENZODIAZEPINE)
    return DrugTables(
        min_doses=MappingProxyType(min_doses),
        benzodiazepines=MappingProxyType(benzos),
        classes=MappingProxyType({k: frozenset(v) for k, v in classes.items()}),
        class_sources=MappingProxyType(class_sources),
    )

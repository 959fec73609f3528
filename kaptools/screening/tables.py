"""The drug tables screening reads: minimum antidepressant doses, diazepam equivalents, classes.

The tables are CSV files in ``data/`` beside this module, each row with a source key
explained in ``data/sources.csv``; ``data/README.md`` describes the columns. They are
package data, not clinic policy: a drug missing from them is never guessed but
marked for clinician review.
"""

from __future__ import annotations

import csv
import enum
import functools
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from types import MappingProxyType

from kaptools.errors import InvalidInputError
from kaptools.printer import escape
from kaptools.protocol import MedicationClass
from kaptools.screening.names import DrugName, resolve_drug_name

__all__ = [
    "DrugInfo",
    "DrugTables",
    "TrialRole",
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


class TrialRole(enum.StrEnum):
    """What a drug in the minimum-dose table is, for counting trials [1.2, 1.3]."""

    ANTIDEPRESSANT = "antidepressant"
    AUGMENTATION = "augmentation"
    """An augmentation agent (aripiprazole, lithium, liothyronine, ...): whether its trials
    count is the protocol's ``[screening.trials] augmentation_counts``."""


@dataclass(frozen=True, slots=True)
class DrugInfo:
    """What the tables say about one entered drug name (all empty when nothing resolves)."""

    name: str
    classes: frozenset[MedicationClass]
    min_daily_dose_mg: float | None = None
    """Minimum adequate daily dose for a trial; None if not in the minimum-dose table."""
    min_dose_source: str = ""
    diazepam_mg_per_mg: float | None = None
    """Diazepam-equivalent mg per mg; None if not in the equivalence table."""
    diazepam_source: str = ""
    resolution: DrugName | None = None
    """How the entered name resolved to its ingredient(s), or why it did not."""
    trial_role: TrialRole | None = None
    """Antidepressant or augmentation agent (minimum-dose table); None otherwise."""
    min_dose_of: str = ""
    """For a combination product, the ingredient whose mg the minimum dose counts."""
    unclassified: tuple[str, ...] = ()
    """Resolved ingredients that no kaptools table lists (clinician checks them)."""

    @property
    def recognised(self) -> bool:
        """True when the name resolved and every ingredient is in a kaptools table."""
        resolved = self.resolution is None or self.resolution.resolved
        return bool(self.classes) and resolved and not self.unclassified

    @property
    def unrecognised_detail(self) -> str:
        """What the clinician must check: the name as entered, with suggestions or parts."""
        r = self.resolution
        if r is None:
            return self.name
        if not r.ingredients or r.unresolved_parts:
            return r.summary
        return f"{r.summary}; not in kaptools' tables: {', '.join(self.unclassified)}"


@dataclass(frozen=True)
class DrugTables:
    """The three drug tables, keyed by ingredient name (combinations: "a+b", sorted)."""

    min_doses: Mapping[str, tuple[float, str]]
    benzodiazepines: Mapping[str, tuple[float, str]]
    """drug -> (mg equivalent to 10 mg diazepam, source)."""
    classes: Mapping[str, frozenset[MedicationClass]]
    class_sources: Mapping[tuple[str, MedicationClass], str]
    trial_roles: Mapping[str, TrialRole] = field(default_factory=dict)
    dose_of: Mapping[str, str] = field(default_factory=dict)
    """combination key -> the ingredient whose mg its minimum dose counts."""
    z_drugs: frozenset[str] = frozenset()
    """Drugs in the equivalence table that are not benzodiazepines (zolpidem, ...)."""

    def lookup(self, name: str) -> DrugInfo:
        """Everything the tables hold about the drug ``name`` resolves to."""
        resolution = resolve_drug_name(name)
        ingredients = resolution.ingredients
        if not ingredients:
            return DrugInfo(name=name, classes=frozenset(), resolution=resolution)
        classes: set[MedicationClass] = set()
        unclassified: list[str] = []
        for ingredient in ingredients:
            found = self.classes.get(ingredient)
            if found:
                classes |= found
            else:
                unclassified.append(ingredient)
        key = _combination_key(ingredients)
        # A name with a part that did not resolve is never judged on the parts that did.
        min_dose = self.min_doses.get(key) if resolution.resolved else None
        single = len(ingredients) == 1
        benzo = self.benzodiazepines.get(key) if single and resolution.resolved else None
        return DrugInfo(
            name=resolution.ingredient_text,
            classes=frozenset(classes),
            min_daily_dose_mg=None if min_dose is None else min_dose[0],
            min_dose_source="" if min_dose is None else min_dose[1],
            diazepam_mg_per_mg=None if benzo is None else 10.0 / benzo[0],
            diazepam_source="" if benzo is None else benzo[1],
            resolution=resolution,
            trial_role=self.trial_roles.get(key),
            min_dose_of=self.dose_of.get(key, ""),
            unclassified=tuple(unclassified),
        )

    @property
    def summary(self) -> str:
        return (
            f"Drug tables: {len(self.min_doses)} antidepressant minimum doses, "
            f"{len(self.benzodiazepines)} benzodiazepine equivalents, "
            f"{len(self.classes)} drugs with interaction classes."
        )

    def _repr_html_(self) -> str:
        return f"<p class='kap-drug-tables'>{escape(self.summary)}</p>"


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
    roles: dict[str, TrialRole] = {}
    dose_of: dict[str, str] = {}
    for i, row in enumerate(_rows("antidepressant_min_doses.csv"), start=2):
        where = f"antidepressant_min_doses.csv line {i}"
        name = _combination_key(tuple(normalise_drug_name(p) for p in row["drug"].split("+")))
        min_doses[name] = (
            _positive(row["min_daily_dose_mg"], where),
            source_of(row["source"], where),
        )
        try:
            roles[name] = TrialRole(row["role"])
        except ValueError:
            roles_ok = [r.value for r in TrialRole]
            msg = f"{where}: unknown role {row['role']!r}; use one of {roles_ok}"
            raise InvalidInputError(msg) from None
        if "+" in name:
            of = normalise_drug_name(row["dose_of"])
            if of not in name.split("+"):
                msg = f"{where}: dose_of {row['dose_of']!r} must name one of the ingredients"
                raise InvalidInputError(msg)
            dose_of[name] = of
    benzos: dict[str, tuple[float, str]] = {}
    z_drugs: set[str] = set()
    for i, row in enumerate(_rows("benzodiazepine_equivalents.csv"), start=2):
        where = f"benzodiazepine_equivalents.csv line {i}"
        name = normalise_drug_name(row["drug"])
        benzos[name] = (
            _positive(row["mg_equivalent_to_10_mg_diazepam"], where),
            source_of(row["source"], where),
        )
        if row["kind"] == "z_drug":
            z_drugs.add(name)
        elif row["kind"] != "benzodiazepine":
            msg = f"{where}: kind {row['kind']!r} is neither 'benzodiazepine' nor 'z_drug'"
            raise InvalidInputError(msg)
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
    for name, role in roles.items():
        cls = (
            MedicationClass.ANTIDEPRESSANT
            if role == TrialRole.ANTIDEPRESSANT
            else MedicationClass.AUGMENTATION
        )
        for part in name.split("+"):
            classes.setdefault(part, set()).add(cls)
    for name in benzos:
        cls = MedicationClass.CNS_DEPRESSANT if name in z_drugs else MedicationClass.BENZODIAZEPINE
        classes.setdefault(name, set()).add(cls)
    return DrugTables(
        min_doses=MappingProxyType(min_doses),
        benzodiazepines=MappingProxyType(benzos),
        classes=MappingProxyType({k: frozenset(v) for k, v in classes.items()}),
        class_sources=MappingProxyType(class_sources),
        trial_roles=MappingProxyType(roles),
        dose_of=MappingProxyType(dose_of),
        z_drugs=frozenset(z_drugs),
    )


def _combination_key(ingredients: tuple[str, ...]) -> str:
    return "+".join(sorted(ingredients))

"""The drug tables: every row parses with a source, names are matched the same way
everywhere, and diazepam equivalents follow the table."""

from __future__ import annotations

import csv
from importlib import resources

import pytest

from kaptools.screening import MedicationClass, drug_tables
from kaptools.screening.tables import normalise_drug_name

DATA = resources.files("kaptools.screening") / "data"


def rows(name: str) -> list[dict[str, str]]:
    return list(csv.DictReader((DATA / name).read_text(encoding="utf-8").splitlines()))


def test_every_table_is_described_in_the_readme() -> None:
    """data/README.md names every table file and its columns."""
    readme = (DATA / "README.md").read_text(encoding="utf-8")
    for name in (
        "antidepressant_min_doses.csv",
        "benzodiazepine_equivalents.csv",
        "medication_classes.csv",
        "sources.csv",
    ):
        assert f"`{name}`" in readme
        for column in rows(name)[0]:
            assert f"`{column}`" in readme, (name, column)


def test_every_row_cites_a_known_source() -> None:
    """Each row's source key exists in sources.csv and every source is used."""
    keys = {r["key"] for r in rows("sources.csv")}
    used = {
        r["source"]
        for name in (
            "antidepressant_min_doses.csv",
            "benzodiazepine_equivalents.csv",
            "medication_classes.csv",
        )
        for r in rows(name)
    }
    assert used <= keys and keys <= used


def test_tables_load_with_expected_values() -> None:
    """Known rows read as written: sertraline 50 mg; lorazepam 1 mg = 10 mg diazepam."""
    tables = drug_tables()
    assert tables.min_doses["sertraline"][0] == 50
    assert tables.lookup("lorazepam").diazepam_mg_per_mg == 10.0
    assert tables.lookup("clonazepam").diazepam_mg_per_mg == 20.0
    assert "drug tables" in tables.summary.lower() and "<p" in tables._repr_html_()


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Sertraline", "sertraline"),
        ("  bupropion   XL ", "bupropion"),
        ("Venlafaxine XR", "venlafaxine"),
        ("valproic acid", "valproic acid"),
        ("XR", "xr"),
    ],
)
def test_names_are_normalised(name: str, expected: str) -> None:
    """Case, spacing and a trailing release-form word do not change the drug."""
    assert normalise_drug_name(name) == expected


def test_lookup_gives_every_class_of_a_drug() -> None:
    """Lamotrigine is a mood stabiliser and attenuates ketamine; phenelzine is an MAOI
    and an antidepressant; an unknown drug has no class and is not recognised."""
    tables = drug_tables()
    assert tables.lookup("lamotrigine").classes == {
        MedicationClass.MOOD_STABILISER,
        MedicationClass.ATTENUATES_KETAMINE,
    }
    assert tables.lookup("Phenelzine").classes == {
        MedicationClass.MAOI,
        MedicationClass.ANTIDEPRESSANT,
    }
    unknown = tables.lookup("zuranolone")
    assert not unknown.recognised and unknown.min_daily_dose_mg is None


def test_every_class_is_used_by_a_table() -> None:
    """Every medication class has at least one drug, so every medication rule can fire."""
    tables = drug_tables()
    present = set().union(*tables.classes.values())
    assert present == set(MedicationClass)

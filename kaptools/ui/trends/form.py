"""The new-assessment form of the trends page (an entry form: its values are input)."""

from __future__ import annotations

import datetime as dt

import ipywidgets as w

from kaptools.scores import Instrument, definition
from kaptools.ui.common import escape
from kaptools.ui.widgets import lock_author
from kaptools.vocabulary import NO_ANSWER

__all__ = ["AssessmentForm"]


class AssessmentForm:
    """Measure, date, author (the signed-in person) and one dropdown per item; every
    item starts unanswered (:data:`kaptools.vocabulary.NO_ANSWER`)."""

    def __init__(self, *, author: str, today: dt.date | None):
        self.instrument = w.Dropdown(
            description="Measure", options=[(definition(i).title, i) for i in Instrument]
        )
        self.instrument.add_class("kap-entry-instrument")
        self.date = w.DatePicker(
            description="Completed on",
            value=today or dt.date.today(),
            style={"description_width": "initial"},
        )
        self.date.add_class("kap-entry-date")
        self.author = w.Text(description="Entered by", value=author)
        self.author.add_class("kap-entry-author")
        lock_author(self.author)
        self.items = w.VBox()
        self.items.add_class("kap-entry-items")
        self.instrument.observe(lambda _c: self.build_items(), names="value")
        self.build_items()

    def build_items(self) -> None:
        """One unanswered dropdown per item of the chosen measure."""
        d = definition(self.instrument.value)
        labels = d.answer_labels
        opts: list[tuple[str, int | str]] = [("— unanswered —", NO_ANSWER)]
        for v in range(d.item_min, d.item_max + 1):
            lab = labels[v - d.item_min] if labels else ""
            opts.append((f"{v} {lab}".strip(), v))
        texts = d.item_texts
        rows = []
        for i in range(1, d.item_count + 1):
            dd = w.Dropdown(
                options=opts, value=NO_ANSWER, layout=w.Layout(width="230px", flex="0 0 auto")
            )
            dd.add_class("kap-entry-item")
            text = texts[i - 1] if texts else f"Item {i}"
            rows.append(w.HBox([dd, w.HTML(f"<span>{i}. {escape(text)}</span>")]))
        self.items.children = rows

    def answers(self) -> list[int | None]:
        """The answers in item order; None where an item is unanswered."""
        return [
            None if (v := row.children[0].value) == NO_ANSWER else v for row in self.items.children
        ]

    def widgets(self) -> list[w.Widget]:
        return [w.HBox([self.instrument, self.date]), self.author, self.items]

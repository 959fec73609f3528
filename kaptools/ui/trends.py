"""The symptom-trends dashboard: one patient's measures over time, and new assessments."""

from __future__ import annotations

import datetime as dt
from typing import Any

import ipywidgets as w
from IPython.display import HTML, display

from kaptools.assessments import record_assessment
from kaptools.errors import IncompleteAnswersError, NotFoundError
from kaptools.protocol import Protocol
from kaptools.scores import Instrument, definition
from kaptools.store import Store
from kaptools.trends import PatientTrends, patient_trends
from kaptools.ui.charts import loading_figure_spec, trend_figure_spec
from kaptools.ui.common import (
    CSS,
    ErrorBox,
    PatientAlertsPanel,
    PatientApp,
    escape,
    guarded,
    lock_author,
    show_figure,
)
from kaptools.vocabulary import NO_ANSWER

__all__ = ["TrendsApp"]

_UNANSWERED = NO_ANSWER
"""The entry form's "unanswered" choice (an ipywidgets Dropdown cannot show a None choice)."""

DISCLAIMER = (
    "Decision support for clinicians: kaptools shows scores against the protocol's "
    "thresholds and never replaces clinical judgement. Synthetic demo data only."
)


def _yes_no(value: bool | None) -> str:
    if value is None:
        return "<span class='kap-badge kap-no'>not defined</span>"
    return (
        "<span class='kap-badge kap-yes'>yes</span>"
        if value
        else "<span class='kap-badge kap-no'>no</span>"
    )


def summary_html(trends: PatientTrends) -> str:
    """The per-measure summary table (latest, band, change, response, remission)."""
    if not trends.measures:
        return "<p class='kap-muted'>No assessments recorded for this patient yet.</p>"
    rows = []
    for m in trends.measures.values():
        ch = m.change
        latest = m.latest.result
        change = (
            "–"
            if ch is None
            else (
                f"{ch.delta:+d}"
                + ("" if ch.percent_change is None else f" ({ch.percent_change:+.0f} %)")
            )
        )
        rows.append(
            f"<tr><td>{escape(m.definition.title)}</td>"
            f"<td>{m.baseline.result.total} "
            f"<span class='kap-muted'>{m.baseline.administered_on:%d %b %Y}</span></td>"
            f"<td><b>{latest.total}</b> {escape(latest.band.label)} "
            f"<span class='kap-muted'>{m.latest.administered_on:%d %b %Y}</span></td>"
            f"<td>{change}</td>"
            f"<td>{'–' if ch is None else _yes_no(ch.response)}</td>"
            f"<td>{'–' if ch is None else _yes_no(ch.remission)}</td>"
            f"<td>{'–' if ch is None else _yes_no(ch.mcid_met)}</td>"
            f"<td>{'–' if ch is None else _yes_no(ch.worsening)}</td></tr>"
        )
    history = trends.alert_history
    alerts = (
        "<div class='kap-period-alerts'><b>Safety alerts in this period "
        f"({len(history)})</b><ul>"
        + "".join(
            f"<li>{p.administered_on:%d %b %Y}: {escape(a.message)} "
            f"<span class='kap-muted'>{escape(a.action)}</span></li>"
            for p, a in history
        )
        + "</ul></div>"
        if history
        else ""
    )
    return (
        "<table class='kap-table kap-summary-table'><tr><th>Measure</th><th>Baseline</th>"
        "<th>Latest</th><th>Change</th><th>Response</th><th>Remission</th>"
        "<th>Clinically important change</th><th>Worsening</th></tr>"
        + "".join(rows)
        + "</table>"
        + alerts
    )


def items_html(trends: PatientTrends, instrument: Instrument | None) -> str:
    """Baseline vs latest answer per item: which items moved."""
    m = trends.measures.get(instrument) if instrument else None
    if m is None:
        return "<p class='kap-muted'>No assessments of this measure.</p>"
    texts = m.definition.item_texts
    rows = []
    for item, base, latest in m.item_changes():
        moved = latest - base
        style = "kap-yes" if moved < 0 else ("kap-warn" if moved > 0 else "kap-no")
        text = escape(texts[item - 1]) if texts else f"Item {item}"
        rows.append(
            f"<tr><td>{item}</td><td>{text}</td><td>{base}</td><td>{latest}</td>"
            f"<td><span class='kap-badge {style}'>{moved:+d}</span></td></tr>"
        )
    return (
        f"<table class='kap-table kap-item-table'><tr><th>#</th><th>Item</th>"
        f"<th>Baseline {m.baseline.administered_on:%d %b}</th>"
        f"<th>Latest {m.latest.administered_on:%d %b}</th><th>Change</th></tr>"
        + "".join(rows)
        + "</table>"
    )


def side_effects_html(trends: PatientTrends) -> str:
    if not trends.sessions:
        return "<p class='kap-muted'>No dosing sessions recorded.</p>"
    rows = []
    for s in trends.sessions:
        effects = ", ".join(
            f"{escape(n.replace('_', ' '))} ({escape(sev)})" for n, sev in s.side_effects
        )
        rows.append(
            f"<tr><td>{s.session_date:%a %d %b %Y}</td><td>{escape(s.label)}</td>"
            f"<td>{effects or '<span class=kap-muted>none recorded</span>'}</td></tr>"
        )
    return (
        "<table class='kap-table kap-side-effect-table'><tr><th>Date</th><th>Session</th>"
        "<th>Side effects (severity)</th></tr>" + "".join(rows) + "</table>"
    )


class TrendsApp(PatientApp):
    """Symptom trends for one patient at a time. ``app.container`` is what the dashboard shows."""

    def __init__(
        self,
        store: Store,
        protocol: Protocol,
        *,
        patient_id: str | None = None,
        author: str | None = None,
        today: dt.date | None = None,
        defer: bool = False,
    ):
        self._init_patient(store, protocol, defer=defer)
        self.today = today
        self.trends: PatientTrends | None = None

        self.summary = w.HTML()
        self.summary.add_class("kap-summary")
        self.chart = w.Output()
        self.chart.add_class("kap-trend-chart")
        self.item_measure = w.Dropdown(description="Measure")
        self.item_measure.add_class("kap-item-measure")
        self.items = w.HTML()
        self.items.add_class("kap-items")
        self.side_effects = w.HTML()
        self.side_effects.add_class("kap-side-effects")

        # New-assessment form
        self.form_instrument = w.Dropdown(
            description="Measure", options=[(definition(i).title, i) for i in Instrument]
        )
        self.form_instrument.add_class("kap-entry-instrument")
        self.form_date = w.DatePicker(
            description="Completed on",
            value=today or dt.date.today(),
            style={"description_width": "initial"},
        )
        self.form_date.add_class("kap-entry-date")
        self.form_author = w.Text(description="Entered by", value=author or store.identity.user)
        self.form_author.add_class("kap-entry-author")
        lock_author(self.form_author)
        self.alerts = PatientAlertsPanel(
            store, protocol, author=lambda: self.form_author.value, on_change=self._update
        )
        self.banner = self.alerts.banner
        self.form_items = w.VBox()
        self.form_items.add_class("kap-entry-items")
        self.save_button = w.Button(
            description="Save assessment", button_style="primary", icon="save"
        )
        self.save_button.add_class("kap-entry-save")
        self.form_error = ErrorBox()
        self.protocol_note = w.HTML(
            f"<p class='kap-muted kap-protocol'>{escape(DISCLAIMER)} "
            f"Protocol: {escape(protocol.info.short)}.</p>"
        )

        self.item_measure.observe(self._on_item_measure, names="value")
        self.form_instrument.observe(self._on_form_instrument, names="value")
        self.save_button.on_click(self._on_save)
        self._build_form_items()
        self.container = self._layout()
        if defer:
            self.summary.value = "<p class='kap-muted kap-loading'>Loading…</p>"
            # An empty chart in the pre-rendered page makes the browser load plotly's
            # JavaScript while the page loads, not after the patient's data arrive.
            show_figure(self.chart, loading_figure_spec())
        else:
            self.select_patient(patient_id)

    # ---- construction -------------------------------------------------------
    def _warm_up(self) -> None:
        # Compile the queries once against no patient: nothing patient-related is read.
        self.store.latest_records("assessment", "-")
        self.store.latest_records("dosing_session", "-")

    def _layout(self) -> w.VBox:
        def h(text: str) -> w.HTML:
            return w.HTML(f"<h3 style='margin:0.8em 0 0.2em'>{escape(text)}</h3>")

        box = w.VBox(
            [
                w.HTML(CSS),
                self.url,
                self.alerts.container,
                self.picker,
                self.notice,
                self.summary,
                self.chart,
                h("Which items moved"),
                self.item_measure,
                self.items,
                h("Side effects per dosing session"),
                self.side_effects,
                h("Enter a new assessment"),
                w.HBox([self.form_instrument, self.form_date]),
                self.form_author,
                self.form_items,
                self.save_button,
                self.form_error,
                self.protocol_note,
            ]
        )
        box.add_class("kap-app")
        box.add_class("kap-trends-app")
        return box

    def _build_form_items(self) -> None:
        d = definition(self.form_instrument.value)
        labels = d.answer_labels
        opts: list[tuple[str, int | str]] = [("— unanswered —", _UNANSWERED)]
        for v in range(d.item_min, d.item_max + 1):
            lab = labels[v - d.item_min] if labels else ""
            opts.append((f"{v} {lab}".strip(), v))
        texts = d.item_texts
        rows = []
        for i in range(1, d.item_count + 1):
            dd = w.Dropdown(
                options=opts, value=_UNANSWERED, layout=w.Layout(width="230px", flex="0 0 auto")
            )
            dd.add_class("kap-entry-item")
            text = texts[i - 1] if texts else f"Item {i}"
            rows.append(w.HBox([dd, w.HTML(f"<span>{i}. {escape(text)}</span>")]))
        self.form_items.children = rows

    # ---- the single update path --------------------------------------------
    def _load_patient(self) -> None:
        self._update()

    def _update(self) -> None:
        pid = self.picker.value
        if pid is None:
            self.trends = None
            self.summary.value = "<p>No patients in this database yet.</p>"
            self.alerts.load(None)
            return
        try:
            self.trends = patient_trends(self.store, pid, protocol=self.protocol)
        except NotFoundError as exc:
            self.notice.error(str(exc))
            return
        t = self.trends
        self.alerts.load(pid)  # every stored alert of the patient; the trends' are among them
        self.summary.value = summary_html(t)
        show_figure(self.chart, trend_figure_spec(t, self.protocol))
        current = self.item_measure.value
        self.item_measure.options = [(m.definition.title, i) for i, m in t.measures.items()]
        if t.measures:
            self.item_measure.value = current if current in t.measures else next(iter(t.measures))
        self.items.value = items_html(t, self.item_measure.value)
        self.side_effects.value = side_effects_html(t)

    @guarded(lambda self: self.notice)
    def _on_item_measure(self, change: dict[str, Any]) -> None:
        if self.trends is not None:
            self.items.value = items_html(self.trends, change["new"])

    @guarded(lambda self: self.form_error)
    def _on_form_instrument(self, change: dict[str, Any]) -> None:
        self._build_form_items()
        self.form_error.clear()

    # ---- writes -------------------------------------------------------------
    def answers(self) -> list[int | None]:
        """The form's answers in item order; None where an item is unanswered."""
        return [
            None if (v := row.children[0].value) == _UNANSWERED else v
            for row in self.form_items.children
        ]

    @guarded(lambda self: self.form_error)
    def _on_save(self, _button: Any = None) -> None:
        self.form_error.clear()
        pid = self.picker.value
        if pid is None:
            self.form_error.error("Pick a patient first.")
            return
        try:
            a = record_assessment(
                self.store,
                pid,
                self.form_instrument.value,
                self.answers(),
                administered_on=self.form_date.value,
                author=self.form_author.value,
                protocol=self.protocol,
                today=self.today,
            )
        except IncompleteAnswersError as exc:
            if exc.alerts:  # the alert was stored although the answers were not
                self.alerts.reload()
            raise
        self._update()
        self._build_form_items()
        self.form_error.ok(f"Saved: {a.summary}")

    def show(self) -> None:
        display(HTML(""))
        display(self.container)

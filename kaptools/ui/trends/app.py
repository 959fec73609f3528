"""The trends App: the patient's summary, chart, item changes and side effects, rendered
from one frozen :class:`~kaptools.ui.trends.state.TrendsState`; and the entry form."""

from __future__ import annotations

import datetime as dt
from typing import Any

import ipywidgets as w
from IPython.display import HTML, display

from kaptools.assessments import record_assessment
from kaptools.errors import IncompleteAnswersError, NotFoundError
from kaptools.protocol import Protocol
from kaptools.store import Store
from kaptools.trends import PatientTrends, patient_trends
from kaptools.ui.charts import trend_figure_spec
from kaptools.ui.common import CSS, PatientApp, escape, guarded
from kaptools.ui.trends.form import AssessmentForm
from kaptools.ui.trends.state import (
    TrendsState,
    chosen_measure,
    measure_options,
    summary_html,
)
from kaptools.ui.widgets import ErrorBox, PatientAlertsPanel, show_figure

__all__ = ["DISCLAIMER", "TrendsApp"]

DISCLAIMER = (
    "Decision support for clinicians: kaptools shows scores against the protocol's "
    "thresholds and never replaces clinical judgement. Synthetic demo data only."
)


class TrendsApp(PatientApp[TrendsState]):
    """Symptom trends for one patient at a time. ``app.container`` is what the dashboard shows.

    Choosing a patient reads its trends into a new state; choosing a measure for the
    item view replaces the state's measure; :meth:`render` shows the state.
    """

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
        self._init_state(TrendsState(loading=defer))
        self.today = today
        self._charted: PatientTrends | None = None

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

        self.form = AssessmentForm(author=author or store.identity.user, today=today)
        self.alerts = PatientAlertsPanel(
            store, protocol, author=lambda: self.form.author.value, on_change=self._reload
        )
        self.banner = self.alerts.banner
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
        self.form.instrument.observe(self._on_form_instrument, names="value")
        self.save_button.on_click(self._on_save)
        self.container = self._layout()
        if defer:
            # No chart until a patient is loaded: a pre-rendered empty plotly chart made the
            # browser evaluate plotly.js (seconds) before sending the page's ?patient=, and
            # the server's first paint already draws the chart as SVG meanwhile (issue 14).
            self.update()
        else:
            self.select_patient(patient_id)

    # ---- the entry form's widgets under their old names ---------------------------------
    @property
    def form_instrument(self) -> w.Dropdown:
        return self.form.instrument

    @property
    def form_date(self) -> w.DatePicker:
        return self.form.date

    @property
    def form_author(self) -> w.Text:
        return self.form.author

    @property
    def form_items(self) -> w.VBox:
        return self.form.items

    def answers(self) -> list[int | None]:
        """The form's answers in item order; None where an item is unanswered."""
        return self.form.answers()

    @property
    def trends(self) -> PatientTrends | None:
        """The shown patient's trends (the state's)."""
        return self.state.trends

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
                *self.form.widgets(),
                self.save_button,
                self.form_error,
                self.protocol_note,
            ]
        )
        box.add_class("kap-app")
        box.add_class("kap-trends-app")
        return box

    # ---- actions: each makes a new state ------------------------------------------------
    def _load_patient(self) -> None:
        self._reload()

    def _reload(self) -> None:
        """Read the chosen patient's trends and alerts into a new state."""
        pid = self.picker.value
        if pid is None:
            self.alerts.load(None)
            self.replace(TrendsState(no_patients=True))
            return
        try:
            trends = patient_trends(self.store, pid, protocol=self.protocol)
        except NotFoundError as exc:
            self.notice.error(str(exc))
            return
        self.alerts.load(pid)  # every stored alert of the patient; the trends' are among them
        self.replace(TrendsState(trends=trends, measure=self.state.measure))

    @guarded(lambda self: self.notice)
    def _on_item_measure(self, change: dict[str, Any]) -> None:
        if not self.rendering and change["new"] != self.state.measure:
            self.replace(measure=change["new"])

    @guarded(lambda self: self.form_error)
    def _on_form_instrument(self, change: dict[str, Any]) -> None:
        self.form_error.clear()

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
                self.form.instrument.value,
                self.form.answers(),
                administered_on=self.form.date.value,
                author=self.form.author.value,
                protocol=self.protocol,
                today=self.today,
            )
        except IncompleteAnswersError as exc:
            if exc.alerts:  # the alert was stored although the answers were not
                self.alerts.reload()
            raise
        self._reload()
        self.form.build_items()
        self.form_error.ok(f"Saved: {a.summary}")

    # ---- the one render path ---------------------------------------------------------
    def render(self, state: TrendsState) -> None:
        summary = summary_html(state)
        if summary is not None:
            self.summary.value = summary
        t = state.trends
        if t is None:
            return
        self.item_measure.options = measure_options(state)
        measure = chosen_measure(state)
        if measure is not None:
            self.item_measure.value = measure
        self.items.value = t.items_html(measure)
        self.side_effects.value = t.sessions_html()

    def draw(self, state: TrendsState) -> None:
        t = state.trends
        if t is not None and t is not self._charted:  # a new read: draw the chart once
            show_figure(self.chart, trend_figure_spec(t, self.protocol))
            self._charted = t

    def show(self) -> None:
        display(HTML(""))
        display(self.container)

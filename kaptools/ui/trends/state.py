"""The trends page's state and the pure functions that derive what it shows."""

from __future__ import annotations

from dataclasses import dataclass

from kaptools.scores import Instrument
from kaptools.trends import PatientTrends

__all__ = ["TrendsState", "chosen_measure", "measure_options", "summary_html"]

LOADING_HTML = "<p class='kap-muted kap-loading'>Loading…</p>"
NO_PATIENTS_HTML = "<p>No patients in this database yet.</p>"


@dataclass(frozen=True)
class TrendsState:
    """What the trends page shows: the patient's trends and the measure whose items are
    shown. ``loading`` until the page's URL parameters arrive; ``trends`` None without a
    patient (``no_patients``: the database has none)."""

    loading: bool = False
    trends: PatientTrends | None = None
    measure: Instrument | None = None
    no_patients: bool = False

    @property
    def patient_id(self) -> str | None:
        return None if self.trends is None else self.trends.patient.patient_id


def measure_options(state: TrendsState) -> list[tuple[str, Instrument]]:
    """The measures the item view offers (the patient's measures, in table order)."""
    if state.trends is None:
        return []
    return [(m.definition.title, i) for i, m in state.trends.measures.items()]


def chosen_measure(state: TrendsState) -> Instrument | None:
    """The measure whose items are shown: the one asked for while the patient has it,
    else the patient's first measure."""
    if state.trends is None or not state.trends.measures:
        return None
    if state.measure in state.trends.measures:
        return state.measure
    return next(iter(state.trends.measures))


def summary_html(state: TrendsState) -> str | None:
    """The summary panel (None: keep what it shows, e.g. a patient that could not be read)."""
    if state.loading:
        return LOADING_HTML
    if state.no_patients:
        return NO_PATIENTS_HTML
    if state.trends is None:
        return None
    return state.trends.measures_html()

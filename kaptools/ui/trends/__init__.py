"""The symptom-trends dashboard: one patient's measures over time, and new assessments.

A small package: :mod:`~kaptools.ui.trends.state` holds the frozen page state and the
pure functions that derive what the page shows, :mod:`~kaptools.ui.trends.form` the
new-assessment form, :mod:`~kaptools.ui.trends.app` the App with its one render path.
The tables are the domain's own (:class:`kaptools.trends.PatientTrends`), the chart is
:func:`kaptools.ui.charts.trend_figure_spec`.
"""

from kaptools.ui.trends.app import DISCLAIMER, TrendsApp
from kaptools.ui.trends.form import AssessmentForm
from kaptools.ui.trends.state import TrendsState, chosen_measure, measure_options

__all__ = [
    "DISCLAIMER",
    "AssessmentForm",
    "TrendsApp",
    "TrendsState",
    "chosen_measure",
    "measure_options",
]

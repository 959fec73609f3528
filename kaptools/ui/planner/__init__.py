"""The course-planner dashboard, by concept (as icalendar's ``cal`` package):

* :mod:`~kaptools.ui.planner.state`: the one frozen state and the pure view of it;
* :mod:`~kaptools.ui.planner.form`: the plan inputs (route, course, calendars);
* :mod:`~kaptools.ui.planner.report`: the HTML of the screening, plan, table, REMS list;
* :mod:`~kaptools.ui.planner.timeline`: the plan's timeline (plotly JSON);
* :mod:`~kaptools.ui.planner.app`: :class:`PlannerApp`, the one update path.

The names the old ``kaptools.ui.planner`` module had are re-exported here.
"""

from kaptools.ui.planner.app import DISCLAIMER, PlannerApp
from kaptools.ui.planner.form import DEFAULT_COUNTRY, PlanControls, parse_closures
from kaptools.ui.planner.report import PLANNER_CSS, plan_table_html
from kaptools.ui.planner.state import PlannerState, PlannerView, derive_view
from kaptools.ui.planner.timeline import plan_timeline_spec

__all__ = [
    "DEFAULT_COUNTRY",
    "DISCLAIMER",
    "PLANNER_CSS",
    "PlanControls",
    "PlannerApp",
    "PlannerState",
    "PlannerView",
    "derive_view",
    "parse_closures",
    "plan_table_html",
    "plan_timeline_spec",
]

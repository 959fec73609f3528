"""Dashboard apps (ipywidgets): thin shells over kaptools' clinical logic.

Each ``*App`` owns its widgets, has one update path, and is built by a dashboard
notebook in ``dashboards/``. Import this package only where ipywidgets and plotly
are installed (the ``dashboards`` extra).

The apps are imported on first use (``from kaptools.ui import TrendsApp`` imports the
trends app only): a dashboard kernel holds its own app's modules, not the other
dashboards' (issue 14, kernel memory).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kaptools.arguments import lazy_exports

if TYPE_CHECKING:
    from kaptools.ui.eligibility import EligibilityApp
    from kaptools.ui.planner import PlannerApp
    from kaptools.ui.trends import TrendsApp
    from kaptools.ui.whatif import WhatIfApp

__all__ = ["EligibilityApp", "PlannerApp", "TrendsApp", "WhatIfApp"]

_HOMES = {
    "EligibilityApp": "kaptools.ui.eligibility",
    "PlannerApp": "kaptools.ui.planner",
    "TrendsApp": "kaptools.ui.trends",
    "WhatIfApp": "kaptools.ui.whatif",
}


__getattr__ = lazy_exports(globals(), _HOMES)

"""Dashboard apps (ipywidgets): thin shells over kaptools' clinical logic.

Each ``*App`` owns its widgets, has one update path, and is built by a dashboard
notebook in ``dashboards/``. Import this package only where ipywidgets and plotly
are installed (the ``dashboards`` extra).
"""

from kaptools.ui.eligibility import EligibilityApp
from kaptools.ui.planner import PlannerApp
from kaptools.ui.trends import TrendsApp
from kaptools.ui.whatif import WhatIfApp

__all__ = ["EligibilityApp", "PlannerApp", "TrendsApp", "WhatIfApp"]

"""What-if dashboard: a clinic lead tries screening thresholds on the synthetic cohort.

A small package: :mod:`~kaptools.ui.whatif.state` holds the frozen state and the pure
function that derives the view from it, :mod:`~kaptools.ui.whatif.report` the figure and
the downloads, :mod:`~kaptools.ui.whatif.app` the App (one render path). The comparison
is :func:`kaptools.whatif.compare_screening`; the changes go through
``Protocol.with_changes`` (validated like a protocol file), so the page decides nothing
clinical and every figure names both protocols.
"""

from kaptools.ui.whatif.app import COHORT_SEED, COHORT_SIZE, DISCLAIMER, WhatIfApp
from kaptools.ui.whatif.report import download_link, transition_figure
from kaptools.ui.whatif.state import THRESHOLD_KEYS, WhatIfState, WhatIfView, derive

__all__ = [
    "COHORT_SEED",
    "COHORT_SIZE",
    "DISCLAIMER",
    "THRESHOLD_KEYS",
    "WhatIfApp",
    "WhatIfState",
    "WhatIfView",
    "derive",
    "download_link",
    "transition_figure",
]

"""The routes a course is given by: shared by the course templates and the screening
rules (per-route severities), so neither imports the other."""

from __future__ import annotations

import enum

__all__ = ["Route"]


class Route(enum.StrEnum):
    """How the drug is given (clinical-sources.md §3.1, §3.2, §3.4)."""

    IV_KETAMINE = "iv_ketamine"
    """Racemic ketamine by intravenous infusion, weight-based (off-label) [3.1]."""
    IM_KETAMINE = "im_ketamine"
    """Racemic ketamine by intramuscular injection, weight-based (off-label) [3.2]."""
    ESKETAMINE_NASAL = "esketamine_nasal"
    """Esketamine nasal spray (SPRAVATO), fixed doses on the US label schedule [2.1, 3.4]."""

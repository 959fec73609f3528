"""The ``[courses]`` and ``[monitoring]`` tables (placeholder until the planner lands)."""

from __future__ import annotations

from pydantic import ConfigDict

from kaptools.protocol._common import Section

__all__ = ["CoursesSection", "MonitoringSection"]


class CoursesSection(Section):
    model_config = ConfigDict(extra="allow", frozen=True)


class MonitoringSection(Section):
    model_config = ConfigDict(extra="allow", frozen=True)

"""The ``[screening]`` table (placeholder until the screening rules land)."""

from __future__ import annotations

from pydantic import ConfigDict

from kaptools.protocol._common import Section

__all__ = ["ScreeningSection"]


class ScreeningSection(Section):
    model_config = ConfigDict(extra="allow", frozen=True)

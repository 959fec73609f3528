"""A trainer's scenario: one named synthetic patient who shows one branch of the protocol."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

from kaptools.printer import escape
from kaptools.protocol import Protocol
from kaptools.store import Store

__all__ = ["SCENARIO_AUTHOR", "SCENARIO_CLINICIAN", "Scenario"]

SCENARIO_AUTHOR = "synthetic-scenario-generator"
SCENARIO_CLINICIAN = "Dr Trainer (synthetic)"
"""Who acknowledges, overrides and confirms in the scenarios."""


@dataclass(frozen=True, slots=True)
class Scenario:
    """One trainer's scenario: a synthetic patient who shows one branch of the protocol."""

    number: int
    key: str
    title: str
    """The patient's display name: what the patient shows."""
    teaches: str
    rule: str
    """The rule it triggers (a protocol rule id, or the flag / check it shows)."""
    expect: frozenset[str]
    """Facts :func:`observed_facts` must find for this patient (see its docstring)."""
    dashboard: str
    """The dashboard that shows it (eligibility, planner or trends)."""
    build: Callable[[Store, Scenario, Protocol, random.Random], None]

    @property
    def patient_id(self) -> str:
        return f"TRN-{self.number:02d}"

    def deep_link(self, base_url: str = "http://127.0.0.1:8866") -> str:
        """The dashboard page that opens this patient (``make run``'s address by default)."""
        return (
            f"{base_url.rstrip('/')}/voila/render/{self.dashboard}.ipynb?patient={self.patient_id}"
        )

    @property
    def summary(self) -> str:
        return f"{self.patient_id} {self.title}: {self.teaches} (rule: {self.rule})"

    def _repr_html_(self) -> str:
        return (
            f"<div class='kap-scenario'><b>{escape(self.patient_id)} {escape(self.title)}</b>"
            f"<br>{escape(self.teaches)}<br><small>Rule: <code>{escape(self.rule)}</code>"
            "</small></div>"
        )

"""The placement engine behind :func:`~kaptools.scheduling.plan_course` and ``replan``.

How sessions are placed (the policy; every rule is checked in :mod:`constraints`):

* **Preparation** sessions go on the first open days from the start, each at least
  ``preparation_min_gap_days`` after the one before; the first dose comes at least
  that long after the last.
* **Doses** follow the phase rhythm on fixed weekdays counted from the phase's first
  dose, never closer than the route's minimum spacing (*rhythm mode*); a dose whose
  day does not work moves to the next day that does, and only when no later day
  keeps the phase's maximum gap is an earlier day taken. When a phase cannot keep
  its rhythm that way, the phase is planned again in *compact mode*: each dose on the
  earliest day every rule allows, up to the protocol's most doses per period. The
  earliest-day choice is optimal here: every rule is a lower bound that moves later
  when an earlier dose moves later, so no other choice finishes the phase sooner.
* **Integration** follows every dose on the first day of the protocol's window that
  a place the protocol allows is open: the clinic, video on the therapist's own
  calendar, or (when the protocol turns it on) the next dose's day, before the dose.
* **Benefit check**: with a fixed day (esketamine label: day 28 of induction) on the
  first open day from then, even when induction ran late (the plan says so); the
  next phase starts no earlier. Otherwise with the integration after the phase's
  last dose.
* **Measures**: baseline on the first preparation day (or the first dose day), then
  every ``interval_days`` on a day the patient is already in when there is one,
  and at the end of the course on the last integration day.

Every step is linear in the number of sessions (bisect over sorted dates, no scans
of the whole plan per session).

The engine is split by section of that policy: :mod:`.context` (what a run reads and
the rows it emits), :mod:`.state` (what the sections share), :mod:`.doses` (preparation,
doses and their integrations), :mod:`.checks` (benefit check and measures) and
:mod:`.builder` (the run, section by section, and the assembled plan).
"""

from __future__ import annotations

from kaptools.scheduling.placement.builder import build
from kaptools.scheduling.placement.context import ROW_FIELDS, Ctx, Key, Row, fail

__all__ = ["ROW_FIELDS", "Ctx", "Key", "Row", "build", "fail"]

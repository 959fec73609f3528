"""Build the demo database of synthetic patients (``python -m kaptools.demo``).

Used by ``make run`` (creates ``var/demo.sqlite`` when it is missing) and by the
tests, which build a private copy. Everything in it is synthetic.

Each patient gets, through the same public APIs the dashboards use:

* the patient record and every synthetic assessment (:mod:`kaptools.assessments`);
* a screening (:func:`kaptools.screening.save_screening`) built from the patient:
  age on the screening day, sex, weight, recurrent major depression with two or
  three failed adequate antidepressant trials, blood pressure and heart rate from
  the first session's pre-dose reading, and a C-SSRS screener (a warning for the
  patients whose PHQ-9 item 9 is positive). Most patients meet the protocol's
  criteria, some with cautions (age 65 or over, blood pressure above the caution
  line, a benzodiazepine, a substance use disorder in remission);
* a course plan (:func:`kaptools.scheduling.save_plan`) for the patient's route
  from the first preparation day, made on :data:`DEMO_CALENDAR`, then re-planned
  (version 2) onto the dates the synthetic course was held;
* every dosing session as a completed :class:`kaptools.sessions.DosingSession`
  (vitals at their protocol time points, MOAA/S, CADSS-6, side effects with
  severity, the discharge checklist), linked to its session of the plan.

Safety alerts (for trainers): every alert found before a patient's latest assessment
is acknowledged by :data:`DEMO_CLINICIAN` with a note (they were followed up at the
time), so the history shows acknowledged alerts; the alerts of the latest assessment
of the patients whose PHQ-9 item 9 stays positive (``SYN-0003``, ``SYN-0008``) stay
open, and ``SYN-0008`` also has an open alert from an incomplete PHQ-9 (item 9
answered, item 6 left blank: the assessment is not saved, its alert is).

The last patient (``SYN-0012`` in the default demo of 12) is re-screened a week
after the course's last follow-up with a blood pressure at the protocol's defer
line: the latest screening does not meet the criteria, so no new course can be
planned for them (:func:`not_eligible_patient_id`).

The package: ``demo.course`` (screening records and course plans), ``demo.sessions``
(dosing sessions and the showcase patient), ``demo.build`` (:func:`build_demo_database`),
``demo.command`` (the command line; ``python -m kaptools.demo``).
"""

from __future__ import annotations

from kaptools.demo.build import DEMO_CLINICIAN, build_demo_database
from kaptools.demo.command import add_arguments, main, run
from kaptools.demo.course import DEMO_CALENDAR, demo_screening_record, not_eligible_patient_id
from kaptools.demo.sessions import SESSION_SHOWCASE_PATIENT, demo_dosing_session
from kaptools.demo_database import (
    DEMO_AUTHOR,
    check_demo_store,
    refuse_non_demo_database,
    require_demo_database,
)

__all__ = [
    "DEMO_AUTHOR",
    "DEMO_CALENDAR",
    "DEMO_CLINICIAN",
    "SESSION_SHOWCASE_PATIENT",
    "add_arguments",
    "build_demo_database",
    "check_demo_store",
    "demo_dosing_session",
    "demo_screening_record",
    "main",
    "not_eligible_patient_id",
    "refuse_non_demo_database",
    "require_demo_database",
    "run",
]

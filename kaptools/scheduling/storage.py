"""Course plans in the store: versioned and audit-logged like every clinical record.

A plan is saved as a ``"course_plan"`` record. A re-planned course is a new
version of the same record (the store keeps every version and asks for a
reason: by default the re-plan's own line in ``plan.changes``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from kaptools.errors import IncompleteInputError, InvalidInputError, NotPlannableError
from kaptools.protocol import Protocol, default_protocol
from kaptools.scheduling.plan import CoursePlan
from kaptools.scheduling.planner import plan_course
from kaptools.store.saved import SavedRecord

if TYPE_CHECKING:
    from kaptools.screening.result import ScreeningResult
    from kaptools.store import Store, StoredRecord

__all__ = [
    "COURSE_PLAN_KIND",
    "Plannability",
    "SavedPlan",
    "load_latest_plan",
    "plan_for_patient",
    "plan_history",
    "plannable",
    "save_plan",
]

COURSE_PLAN_KIND = "course_plan"


class SavedPlan(SavedRecord[CoursePlan]):
    """A plan as stored: which record and version it is, who saved it and when
    (:class:`~kaptools.store.saved.SavedRecord` of a ``course_plan`` record)."""

    __slots__ = ()
    noun = "Plan record"

    @staticmethod
    def parse(payload: Mapping[str, Any]) -> CoursePlan:
        return CoursePlan.from_dict(payload)

    @property
    def plan(self) -> CoursePlan:
        """The stored plan."""
        return self.value


def save_plan(
    store: Store,
    plan: CoursePlan,
    author: str | None = None,
    *,
    record_id: str | None = None,
    reason: str | None = None,
    acknowledge_deviations: str | None = None,
    protocol: Protocol | None = None,
    based_on_version: int | None = None,
) -> StoredRecord:
    """Save ``plan``; with ``record_id``, as a new version of that plan record.

    A new version needs ``based_on_version`` (the version it was made from: a stale one
    is refused with StaleVersionError) and a reason; for a re-planned course the reason
    defaults to the re-plan's line in ``plan.changes``. A plan with a deviation (a rule it
    cannot keep) is saved only with a clinician's acknowledgement: ``acknowledge_deviations``
    is the clinician's reason (at least the protocol's ``override_reason_min_length``
    characters); it is stored on the plan and in the store's audit log.

    Raises:
        IncompleteInputError: the plan has no ``patient_id``, or it has a deviation
            and no acknowledgement.
        InvalidInputError / NotFoundError / StoreError: from the store.
    """
    if not isinstance(plan, CoursePlan):
        msg = f"plan: must be a CoursePlan (got {type(plan).__name__})"
        raise InvalidInputError(msg)
    if not plan.patient_id:
        msg = "patient_id: the plan names no patient; plan with patient_id=... to save it"
        raise IncompleteInputError(msg, missing=("patient_id",))
    patient_id = plan.patient_id
    author = store.author_for(author)  # the signed-in person; another name is refused
    if plan.deviations and plan.acknowledgement is None:
        text = _acknowledgement(plan, acknowledge_deviations, protocol)
        plan = plan.acknowledged(author, text, _now())
        reason = f"{reason}; " if reason else ""
        reason += f"deviation acknowledged: {text}"
    if record_id is not None and reason is None and plan.changes:
        reason = plan.changes[-1]
    return store.save_record(
        COURSE_PLAN_KIND,
        patient_id,
        plan.to_dict(),
        author=author,
        record_id=record_id,
        reason=reason,
        based_on_version=based_on_version,
    )


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def _acknowledgement(plan: CoursePlan, reason: object, protocol: Protocol | None) -> str:
    """The clinician's reason for saving a plan with deviations, checked."""
    protocol = protocol or default_protocol()
    minimum = protocol.screening.thresholds.override_reason_min_length
    named = "; ".join(d.message for d in plan.deviations)
    if reason is None or (isinstance(reason, str) and not reason.strip()):
        msg = (
            f"acknowledge_deviations: the plan does not meet the protocol's scheduling rules "
            f"({named}); a clinician must acknowledge the deviation with a written reason "
            f"(acknowledge_deviations='...') to save it, or re-plan with one of the fixes"
        )
        raise IncompleteInputError(msg, missing=("acknowledge_deviations",))
    if not isinstance(reason, str) or len(reason.strip()) < minimum.value:
        msg = (
            f"acknowledge_deviations: {reason!r} is too short; the protocol asks for a reason "
            f"of at least {minimum}. Say why the deviation is acceptable for this patient."
        )
        raise InvalidInputError(msg)
    return reason.strip()


def load_latest_plan(store: Store, patient_id: str) -> SavedPlan | None:
    """The patient's most recent course plan (newest version), or None when there is none."""
    records = store.latest_records(COURSE_PLAN_KIND, patient_id)
    if not records:
        return None
    return SavedPlan.from_record(records[-1])


def plan_history(store: Store, record_id: str) -> list[SavedPlan]:
    """Every version of one plan record, oldest first."""
    return [SavedPlan.from_record(r) for r in store.record_history(record_id)]


def plan_for_patient(
    store: Store,
    patient_id: str,
    route: str,
    start: dt.date,
    **kwargs: Any,
) -> CoursePlan:
    """:func:`plan_course` with weight, age (on ``start``) and screening from the store.

    The planner reads the patient's latest stored screening (with its overrides) and
    gates on it: its status, findings (route contraindications) and cautions. A
    ``screening_status`` passed as well must agree with it; with no stored screening
    nothing is planned. Every other argument (``calendar``, ``cautions``, …) is passed
    on to :func:`plan_course`.
    """
    for name in ("weight_kg", "age", "patient_id", "screening"):
        if name in kwargs:
            msg = f"{name}: taken from the patient record; do not pass it to plan_for_patient"
            raise InvalidInputError(msg)
    patient = store.get_patient(patient_id)
    facts: Mapping[str, Any] = {
        "weight_kg": patient.weight_kg,
        "age": patient.age_on(start) if isinstance(start, dt.date) else None,
        "patient_id": patient.patient_id,
        "screening": _latest_screening(store, patient.patient_id),
    }
    return plan_course(route, start, **facts, **kwargs)


@dataclass(frozen=True, slots=True)
class Plannability:
    """Whether the planner's own gates let a course be planned, and if not, why.

    True in a boolean context when a course can be planned. ``reason`` is the planner's
    own message and ``rule`` the gate that refused (``screening``, ``age_under_minimum``,
    or a route contraindication's rule id), as :class:`~kaptools.errors.NotPlannableError`
    gives them.
    """

    allowed: bool
    reason: str = ""
    rule: str | None = None

    def __bool__(self) -> bool:
        return self.allowed


def plannable(
    store: Store,
    patient_id: str,
    on: dt.date,
    *,
    route: str | None = None,
    protocol: Protocol | None = None,
) -> Plannability:
    """Whether a course can be planned for the patient from ``on``, without planning one.

    The same gates :func:`plan_for_patient` applies, in its order: the latest stored
    screening must meet the protocol's criteria (none on record, ``incomplete`` and
    ``not_eligible`` refuse), the patient's age on ``on`` must reach the protocol's
    minimum, and, when ``route`` is given, the screening must not list one of that
    route's contraindications. Dashboards ask this instead of planning to find out.
    """
    from kaptools.scheduling.gates import age_gate, route_gate, screening_gate
    from kaptools.vocabulary import Route

    protocol = protocol or default_protocol()
    patient = store.get_patient(patient_id)
    try:
        screening = _latest_screening(store, patient.patient_id)
        screening_gate(None, (), screening)
        age_gate(patient.age_on(on), protocol)
        if route is not None:
            route_gate(Route(route), screening, protocol)
    except NotPlannableError as exc:
        return Plannability(False, str(exc), exc.rule)
    return Plannability(True)


def _latest_screening(store: Store, patient_id: str) -> ScreeningResult:
    from kaptools.screening.persistence import latest_screening

    latest = latest_screening(store, patient_id)
    if latest is None:
        msg = (
            f"No screening on record for patient {patient_id}: a course can only be planned "
            "after a screening that meets the protocol's criteria. Complete a screening first."
        )
        raise NotPlannableError(msg, rule="screening")
    return latest.result

"""The planner's own gates: what must hold before any course is planned, whatever a caller says.

* The screening: only a screening that meets the protocol's criteria (``eligible``
  or ``eligible_with_cautions``) lets a course be planned. Where the stored
  screening is at hand (:func:`~kaptools.scheduling.plan_for_patient`) its status,
  findings and cautions are used, never a caller's string.
* Age: below the protocol's ``age_minimum`` nothing is planned, whatever status is
  passed (esketamine label [2.1]).
* The route: a route whose contraindications (the protocol's ``contraindications``
  rule ids for that route) the screening lists is refused.
* Weight: a weight-based dose for a weight above ``weight_review_above_kg`` is
  planned, flagged for clinician review.
"""

from __future__ import annotations

from collections.abc import Iterable

from kaptools.errors import InvalidInputError, NotPlannableError
from kaptools.protocol import Protocol
from kaptools.scheduling.doses import fmt_number
from kaptools.screening import Severity
from kaptools.screening.result import ScreeningResult, ScreeningStatus
from kaptools.vocabulary import Route

__all__ = ["age_gate", "route_gate", "screening_gate", "weight_reviews"]


def _status(status: object) -> ScreeningStatus:
    if status is None:
        msg = (
            "No screening on record: a course can only be planned after a screening that "
            "meets the protocol's criteria. Complete a screening first."
        )
        raise NotPlannableError(msg, rule="screening")
    raw = getattr(status, "value", status)
    try:
        return ScreeningStatus(str(raw).strip().lower())
    except ValueError:
        msg = (
            f"screening_status: {status!r} is not a screening status; use one of "
            f"{[s.value for s in ScreeningStatus]}"
        )
        raise InvalidInputError(msg) from None


def screening_gate(
    status: object, cautions: object, screening: ScreeningResult | None = None
) -> tuple[ScreeningStatus, tuple[str, ...]]:
    """The screening status and caution texts, when they allow a course; else an error.

    With ``screening`` (the stored result), its status and cautions are used; a
    ``status`` passed as well must agree with it.
    """
    if screening is not None:
        if status is not None and _status(status) is not screening.status:
            msg = (
                f"screening_status: {status!r} was passed, but the patient's latest stored "
                f"screening is {screening.status.value!r}; the stored screening is used. Leave "
                "screening_status out, or record a new screening."
            )
            raise InvalidInputError(msg)
        status = screening.status
        if not cautions:
            cautions = screening.cautions
    value = _status(status)
    if value is ScreeningStatus.NOT_ELIGIBLE:
        msg = (
            "The latest screening does not meet the protocol's criteria (not eligible): "
            "no course can be planned. Review the screening's exclusion findings."
        )
        raise NotPlannableError(msg, rule="screening")
    if value is ScreeningStatus.INCOMPLETE:
        msg = (
            "The latest screening is incomplete: a course can only be planned once its "
            "required answers are in. Complete the screening first."
        )
        raise NotPlannableError(msg, rule="screening")
    return value, _caution_texts(value, cautions)


def _caution_texts(value: ScreeningStatus, cautions: object) -> tuple[str, ...]:
    if isinstance(cautions, str):
        cautions = (cautions,)
    if not isinstance(cautions, Iterable):
        msg = f"cautions: must be a list of caution messages (got {cautions!r})"
        raise InvalidInputError(msg)
    texts = tuple(cautions)
    if any(not isinstance(c, str) or not c.strip() for c in texts):
        msg = f"cautions: each caution must be a non-empty text (got {list(texts)!r})"
        raise InvalidInputError(msg)
    if value is ScreeningStatus.ELIGIBLE_WITH_CAUTIONS and not texts:
        texts = ("The screening lists cautions: read them on the screening before dosing.",)
    return tuple(c.strip() for c in texts)


def age_gate(age: int | None, protocol: Protocol) -> None:
    """Refuse an age below the protocol's minimum, whatever the screening status passed."""
    minimum = protocol.screening.thresholds.age_minimum
    if age is not None and age < minimum.value:
        msg = (
            f"Age {age} is under the protocol's minimum of {minimum} (rule age_under_minimum; "
            f"{minimum.source}): no course can be planned, whatever screening status is passed."
        )
        raise NotPlannableError(msg, rule="age_under_minimum")


def route_gate(route: Route, screening: ScreeningResult | None, protocol: Protocol) -> None:
    """Refuse a route whose contraindications the screening lists (not overridden).

    A contraindication is a finding that excludes this route in the per-route screening
    (the labels differ: Ketalar SmPC for IV/IM, SPRAVATO for esketamine), or one the
    protocol's ``courses.<route>.contraindications`` names for it.
    """
    if screening is None:
        return
    course = protocol.courses.route(route)
    fired = [
        f
        for f in screening.findings
        if not f.overridden
        and (f.severity_for(route) is Severity.EXCLUSION or f.rule_id in course.contraindications)
    ]
    if fired:
        named = "; ".join(f"{f.rule_id}: {f.message}" for f in fired)
        msg = (
            f"The latest screening lists a contraindication to {course.label} ({named}): this "
            f"route cannot be planned ({course.contraindications_source}). Choose another route "
            "only if the screening allows it."
        )
        raise NotPlannableError(msg, rule=fired[0].rule_id)


def weight_reviews(weight_kg: float | None, route: Route, protocol: Protocol) -> tuple[str, ...]:
    """A review flag when a weight-based dose is for a weight above the protocol's review line."""
    course = protocol.courses.route(route)
    line = protocol.courses.weight_review_above_kg
    if course.dose.basis != "weight" or weight_kg is None or line is None:
        return ()
    if weight_kg <= line.value:
        return ()
    return (
        f"Review: weight {fmt_number(weight_kg)} kg is above the protocol's review line of "
        f"{line} for a weight-based dose; the clinician confirms the dose ({line.source}).",
    )


def offered_routes(
    protocol: Protocol, screening: ScreeningResult | None = None
) -> tuple[Route, ...]:
    """The routes a course may be planned on: those the protocol has a course template
    for, in the order of :class:`~kaptools.vocabulary.Route`; given a screening, only the
    ones whose criteria it meets (:attr:`ScreeningResult.routes_meeting_criteria`).

    Examples:
        >>> from kaptools.protocol import default_protocol
        >>> [r.value for r in offered_routes(default_protocol())]
        ['iv_ketamine', 'im_ketamine', 'esketamine_nasal']
    """
    routes = tuple(r for r in Route if _has_course(protocol, r))
    if screening is None:
        return routes
    met = set(screening.routes_meeting_criteria)
    return tuple(r for r in routes if r in met)


def _has_course(protocol: Protocol, route: Route) -> bool:
    try:
        protocol.courses.route(route)
    except InvalidInputError:
        return False
    return True

"""The planner's own gates: age, route contraindications, the stored screening, weight review."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kaptools.errors import InvalidInputError, NotPlannableError
from kaptools.identity import Identity, Role
from kaptools.protocol import ProtocolError, default_protocol
from kaptools.scheduling import ClinicCalendar, Route, plan_course, plan_for_patient
from kaptools.screening import override_finding, save_screening, screen
from kaptools.screening.synthetic import synthetic_screening_records
from kaptools.store import Store

CAL = ClinicCalendar()
START = dt.date(2026, 3, 2)
MINIMUM = int(default_protocol().screening.thresholds.age_minimum.value)


def _record(status: str, seed: int = 5, **changes):
    for record in synthetic_screening_records(400, seed=seed):
        if screen(record).status.value == status:
            data = record.model_dump(mode="json")
            data.update(changes)
            return data
    raise AssertionError(f"no synthetic record screens {status}")


@pytest.fixture
def store():
    with Store.in_memory(identity=Identity("dr.test", Role.CLINICIAN)) as s:
        s.add_patient(
            "SYN-0100",
            "Synthetic Patient",
            birth_date=dt.date(1980, 5, 1),
            sex="female",
            weight_kg=70,
        )
        yield s


@settings(max_examples=30, deadline=None)
@given(
    age=st.integers(0, MINIMUM - 1),
    route=st.sampled_from(list(Route)),
    status=st.sampled_from(["eligible", "eligible_with_cautions"]),
)
def test_age_below_the_protocol_minimum_is_refused_whatever_the_status(age, route, status):
    """A 17-year-old's esketamine or a 10-year-old's IV course is refused, naming the rule."""
    with pytest.raises(NotPlannableError) as err:
        plan_course(route, START, calendar=CAL, screening_status=status, age=age, weight_kg=40)
    assert err.value.rule == "age_under_minimum"
    assert str(MINIMUM) in str(err.value)


def test_the_issues_two_children_are_refused():
    """The issue's cases: esketamine 56 mg for a 17-year-old, IV for a 10-year-old."""
    for route, age in (("esketamine_nasal", 17), ("iv_ketamine", 10)):
        with pytest.raises(NotPlannableError, match="age_under_minimum"):
            plan_course(
                route, START, calendar=CAL, screening_status="eligible", age=age, weight_kg=35
            )


def test_plan_for_patient_reads_the_stored_screening_not_the_callers_string(store):
    """A stored not-eligible screening refuses; a caller's 'eligible' that disagrees is an error."""
    data = _record("not_eligible", patient_id="SYN-0100")
    save_screening(store, "SYN-0100", data, screen(data), "dr.test")
    with pytest.raises(NotPlannableError):
        plan_for_patient(store, "SYN-0100", "iv_ketamine", START, calendar=CAL)
    with pytest.raises(InvalidInputError, match="stored screening"):
        plan_for_patient(
            store, "SYN-0100", "iv_ketamine", START, calendar=CAL, screening_status="eligible"
        )


def test_plan_for_patient_without_a_stored_screening_is_refused(store):
    """No stored screening: nothing is planned, whatever status is passed."""
    with pytest.raises(NotPlannableError, match="No screening on record"):
        plan_for_patient(
            store, "SYN-0100", "iv_ketamine", START, calendar=CAL, screening_status="eligible"
        )


def test_a_route_whose_contraindication_the_screening_lists_is_refused(store):
    """A finding the protocol lists as a route contraindication refuses that route only."""
    data = _record("eligible_with_cautions", patient_id="SYN-0100")
    result = screen(data)
    cautions = [f.rule_id for f in result.findings if f.severity.value == "caution"]
    assert cautions, "the synthetic record has a caution"
    protocol = default_protocol().with_changes(
        {"courses.iv_ketamine.contraindications": [cautions[0]]}
    )
    save_screening(store, "SYN-0100", data, result, "dr.test")
    with pytest.raises(NotPlannableError) as err:
        plan_for_patient(store, "SYN-0100", "iv_ketamine", START, calendar=CAL, protocol=protocol)
    assert err.value.rule == cautions[0]
    plan = plan_for_patient(
        store, "SYN-0100", "im_ketamine", START, calendar=CAL, protocol=protocol
    )
    assert plan.doses


def test_an_overridden_contraindication_does_not_refuse_the_route(store):
    """A clinician's override (with its reason, audit-logged) lifts the route gate."""
    data = _record("eligible_with_cautions", patient_id="SYN-0100")
    result = screen(data)
    caution = next(f.rule_id for f in result.findings if f.severity.value == "caution")
    protocol = default_protocol().with_changes({"courses.iv_ketamine.contraindications": [caution]})
    saved = save_screening(store, "SYN-0100", data, result, "dr.test")
    override_finding(store, saved.record_id, caution, "Reviewed with the patient's GP", "dr.test")
    plan = plan_for_patient(
        store, "SYN-0100", "iv_ketamine", START, calendar=CAL, protocol=protocol
    )
    assert plan.doses


def test_contraindications_must_be_screening_rules():
    """A protocol naming an unknown rule as a contraindication is refused on load."""
    with pytest.raises(ProtocolError, match="contraindications"):
        default_protocol().with_changes({"courses.iv_ketamine.contraindications": ["no_such"]})


def test_weight_above_the_review_line_is_flagged():
    """A weight-based dose above the protocol's review weight carries a review note."""
    line = default_protocol().courses.weight_review_above_kg
    assert line is not None
    heavy = plan_course(
        "iv_ketamine",
        START,
        calendar=CAL,
        screening_status="eligible",
        weight_kg=line.value + 10,
        age=40,
    )
    assert any(n.startswith("Review: weight") for n in heavy.notes)
    assert "Review: weight" in heavy.summary
    light = plan_course(
        "iv_ketamine",
        START,
        calendar=CAL,
        screening_status="eligible",
        weight_kg=line.value,
        age=40,
    )
    assert not any(n.startswith("Review:") for n in light.notes)
    fixed = plan_course(
        "esketamine_nasal",
        START,
        calendar=CAL,
        screening_status="eligible",
        weight_kg=line.value + 10,
        age=40,
    )
    assert not any(n.startswith("Review:") for n in fixed.notes)


def test_a_route_the_per_route_screening_excludes_is_refused(store):
    """A finding that excludes some routes only (the labels differ: the Ketalar SmPC for
    IV/IM) refuses those routes and leaves the routes whose criteria are met plannable."""
    from kaptools.screening import Severity

    per_route = {rid for rid, rule in default_protocol().screening.rules if rule.route_severity}
    assert per_route, "the default protocol has rules whose severity differs by route"
    data = _record("eligible", patient_id="SYN-0100")
    # An acute myocardial infarction code (I21.9) fires a rule that differs by route.
    coded = dict(data, diagnoses=[*data["diagnoses"], "I21.9"])
    result = screen(coded)
    excluded = [
        r
        for r in Route
        if any(
            f.severity_for(r) is Severity.EXCLUSION and f.rule_id in per_route
            for f in result.findings
        )
    ]
    assert excluded and set(excluded) != set(Route), result.routes
    assert result.routes_meeting_criteria, result.routes
    save_screening(store, "SYN-0100", coded, result, "dr.test")
    for route in excluded:
        with pytest.raises(NotPlannableError) as err:
            plan_for_patient(store, "SYN-0100", route, START, calendar=CAL)
        assert err.value.rule in per_route
    for route in result.routes_meeting_criteria:
        assert plan_for_patient(store, "SYN-0100", route, START, calendar=CAL).doses


def _racemic_only_rules() -> dict[str, set[Route]]:
    """Screening rules that exclude IV/IM racemic ketamine only (per-route severity)."""
    from kaptools.screening import Severity

    return {
        rid: {r for r, sev in rule.route_severity.items() if sev is Severity.EXCLUSION}
        for rid, rule in default_protocol().screening.rules
        if rule.severity is not Severity.EXCLUSION
        and any(sev is Severity.EXCLUSION for sev in rule.route_severity.values())
    }


def test_the_protocol_lists_every_racemic_only_exclusion_as_a_route_contraindication():
    """Every rule the per-route screening makes an exclusion for IV or IM only (Ketalar
    SmPC) is named in that route's courses.<route>.contraindications, and not in
    esketamine's (where the label makes it a caution)."""
    rules = _racemic_only_rules()
    assert {"hyperthyroidism", "previous_stroke_or_cerebral_trauma"} <= set(rules)
    courses = default_protocol().courses
    for rid, routes in rules.items():
        for route in Route:
            listed = rid in courses.route(route).contraindications
            assert listed == (route in routes), (rid, route)


# One synthetic input per racemic-only rule: a coded diagnosis, or the screening BP.
_RACEMIC_TRIGGERS = {
    "hyperthyroidism": {"code": "E05.90"},
    "previous_stroke_or_cerebral_trauma": {"code": "S06.0X0A"},
    "severe_coronary_or_myocardial_disease": {"code": "I50.9"},
    "recent_mi_stroke_or_tia": {"code": "G45.9"},
    "blood_pressure_racemic_limit": {"systolic_bp_mmhg": 175, "diastolic_bp_mmhg": 108},
}


def test_every_racemic_only_rule_has_a_trigger_here():
    """The route-gate test below covers every racemic-only rule of the protocol."""
    assert set(_RACEMIC_TRIGGERS) == set(_racemic_only_rules())


@pytest.mark.parametrize("rule_id", sorted(_RACEMIC_TRIGGERS))
@pytest.mark.parametrize("per_route_severity", [True, False])
def test_a_racemic_only_contraindication_refuses_iv_and_im_and_leaves_esketamine(
    store, rule_id, per_route_severity
):
    """A stored screening listing a racemic-only rule refuses IV and IM (rule named) and
    leaves esketamine plannable; the protocol's contraindications list refuses them even
    with the per-route severities taken out of the protocol."""
    protocol = default_protocol()
    if not per_route_severity:
        protocol = protocol.with_changes(
            {f"screening.rules.{rid}.route_severity": {} for rid in _racemic_only_rules()}
        )
    data = _record("eligible", patient_id="SYN-0100")
    trigger = dict(_RACEMIC_TRIGGERS[rule_id])
    code = trigger.pop("code", None)
    if code is not None:
        trigger["diagnoses"] = [*data["diagnoses"], code]
    data.update(trigger)
    result = screen(data, protocol=protocol)
    assert rule_id in {f.rule_id for f in result.findings}, result.findings
    save_screening(store, "SYN-0100", data, result, "dr.test")
    listed = set(protocol.courses.route(Route.IV_KETAMINE).contraindications)
    for route in (Route.IV_KETAMINE, Route.IM_KETAMINE):
        with pytest.raises(NotPlannableError) as err:
            plan_for_patient(store, "SYN-0100", route, START, calendar=CAL, protocol=protocol)
        assert err.value.rule in listed
        assert rule_id in str(err.value)
    plan = plan_for_patient(
        store, "SYN-0100", Route.ESKETAMINE_NASAL, START, calendar=CAL, protocol=protocol
    )
    assert plan.doses

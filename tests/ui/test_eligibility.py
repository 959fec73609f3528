"""The eligibility App's Python side: one update path, unknown stays unknown, validation at
the widget boundary, saving and overriding through the screening package, escaping."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kaptools.identity import Identity, Role
from kaptools.protocol import default_protocol
from kaptools.screening import (
    Answer,
    CssrsQuestion,
    HistoryQuestion,
    ListStatus,
    ScreeningStatus,
    Sex,
    StopReason,
    TrialOutcome,
    load_screening,
    save_screening,
    screen,
)
from kaptools.store import Store
from kaptools.ui import EligibilityApp
from kaptools.ui.eligibility import NOT_SCREENED, _DrugRow
from kaptools.vocabulary import NO_ANSWER

TODAY = dt.date(2026, 11, 27)
MALICIOUS = "<img src=x onerror=alert(1)>"
PROTOCOL = default_protocol()


@pytest.fixture
def store() -> Store:
    s = Store.in_memory(identity=Identity("dr-test", Role.CLINICIAN))
    s.add_patient(
        "SYN-E01",
        "Quinn E. (synthetic)",
        birth_date=dt.date(1980, 3, 1),
        sex="female",
        weight_kg=68.5,
    )
    s.add_patient("SYN-E02", MALICIOUS, birth_date=None, sex="male", weight_kg=None)
    return s


def _app(store: Store, search: str = "?patient=SYN-E01") -> EligibilityApp:
    app = EligibilityApp(store, PROTOCOL, defer=True, today=TODAY)
    app.url.observe(app._on_url, names="search")
    app.url.search = search
    return app


@pytest.fixture
def app(store: Store) -> EligibilityApp:
    return _app(store)


def status(app: EligibilityApp) -> str:
    """The status the page's state holds (what the status badge shows: see
    test_the_page_is_the_state_rendered_once_per_change)."""
    return app.state.status


def fill_eligible(app: EligibilityApp) -> None:
    """Answer every step so that the default protocol's criteria are met, through the widgets."""
    app.age.value = "45"
    app.sex.value = Sex.FEMALE
    app.pregnant.value = Answer.NO
    app.breastfeeding.value = Answer.NO
    app.diagnoses.add({"code": "F33.1"})
    for drug, dose, weeks, outcome in (
        ("sertraline", "150", "10", TrialOutcome.NO_RESPONSE),
        ("venlafaxine", "150", "8", TrialOutcome.PARTIAL_RESPONSE),
    ):
        app.trials.add(
            {
                "drug": drug,
                "daily_dose_mg": dose,
                "weeks": weeks,
                "outcome": outcome,
                "stop_reason": StopReason.LACK_OF_EFFECT,
            }
        )
    app.medication_list.value = ListStatus.RECORDED
    for tb in app.history.values():
        tb.value = Answer.NO
    app.systolic.value = "120"
    app.diastolic.value = "80"
    app.heart_rate.value = "72"
    app.pregnancy_prevention.value = Answer.YES


def audit_count(app: EligibilityApp) -> int:
    return len(app.store.audit_entries())


# ---- loading ----------------------------------------------------------------------


def test_nothing_is_loaded_before_the_url_arrives(store: Store) -> None:
    """A deferred app (a preheated kernel) holds no patient list and no patient."""
    app = EligibilityApp(store, PROTOCOL, defer=True)
    assert app.picker.options == ()
    assert app.patient is None


def test_from_environment_reads_nothing_until_the_url_arrives(
    store: Store, monkeypatch: pytest.MonkeyPatch, tmp_path
) -> None:
    """The dashboard's constructor builds an empty app on the configured database."""
    monkeypatch.setenv("KAPTOOLS_DATABASE_URL", f"sqlite:///{tmp_path / 'db.sqlite'}")
    app = EligibilityApp.from_environment()
    assert app.picker.options == () and app.patient is None
    assert "kap-loading" in app.patient_header.value


def test_url_patient_is_selected_and_age_sex_weight_prefilled(app: EligibilityApp) -> None:
    """?patient= picks the patient; age on today, sex and weight come from the stored patient."""
    assert app.picker.value == "SYN-E01"
    assert (app.age.value, app.sex.value, app.weight.value) == ("46", Sex.FEMALE, "68.5")
    assert "Quinn E." in app.patient_header.value


def test_patient_without_birth_date_or_weight_leaves_them_empty(store: Store) -> None:
    """Nothing is invented: a patient with no birth date or weight leaves those fields empty."""
    app = _app(store, "?patient=SYN-E02")
    assert (app.age.value, app.sex.value, app.weight.value) == ("", Sex.MALE, "")


@pytest.mark.parametrize("search", ["?patient=%3Cscript%3E", "?patient=SYN-9999"])
def test_bad_or_unknown_url_patient_is_named_and_first_patient_shown(
    store: Store, search: str
) -> None:
    """A malformed or unknown ?patient= gives an escaped message and the first patient."""
    app = _app(store, search)
    assert app.notice.layout.display is None
    assert "<script>" not in app.notice.value
    assert app.picker.value == "SYN-E01"


# ---- unknown stays unknown ------------------------------------------------------------


def test_every_question_starts_unknown_and_every_number_empty(app: EligibilityApp) -> None:
    """A fresh form answers nothing: every yes/no is unknown, numbers empty, lists unknown."""
    record = app.result.record
    assert all(record.history.answer(q) is Answer.UNKNOWN for q in HistoryQuestion)
    assert (record.pregnant, record.breastfeeding) == (Answer.UNKNOWN, Answer.UNKNOWN)
    assert record.systolic_bp_mmhg is None and record.diastolic_bp_mmhg is None
    assert record.antidepressant_trials is None and record.current_medications is None
    assert record.diagnoses is None
    assert record.phq9 is None and record.cssrs is None
    assert (app.systolic.value, app.diastolic.value, app.heart_rate.value) == ("", "", "")
    assert all("kap-unanswered" in row._dom_classes for row in app._question_rows.values())
    assert {f"{q.value}_unknown" for q in HistoryQuestion} <= set(app.result.rule_ids)


def test_answering_one_question_leaves_the_others_unknown(app: EligibilityApp) -> None:
    """Answering "no" to one checklist question changes that answer only."""
    app.history[HistoryQuestion.PSYCHOSIS].value = Answer.NO
    record = app.result.record
    assert record.history.answer(HistoryQuestion.PSYCHOSIS) is Answer.NO
    others = [q for q in HistoryQuestion if q is not HistoryQuestion.PSYCHOSIS]
    assert all(record.history.answer(q) is Answer.UNKNOWN for q in others)
    assert "psychosis_unknown" not in app.result.rule_ids
    rows = {q: app._question_rows[app.history[q]]._dom_classes for q in HistoryQuestion}
    assert "kap-unanswered" not in rows[HistoryQuestion.PSYCHOSIS]
    assert all("kap-unanswered" in rows[q] for q in others)


# ---- the status follows the answers ------------------------------------------------------


def test_status_follows_answers_through_all_four_statuses(app: EligibilityApp) -> None:
    """Each change re-screens: blank, a diagnosis, complete, a caution, unknown, an exclusion."""
    assert status(app) == "incomplete"  # nothing answered, the diagnoses included
    assert "indication_not_met" not in app.result.rule_ids
    app.diagnoses.add({"code": "F33.1"})
    assert app.diagnosis_list.value is ListStatus.RECORDED
    assert status(app) == "incomplete"
    fill_eligible(app)
    app.diagnoses.remove(app.diagnoses.rows[0])  # fill_eligible added a second F33.1
    assert status(app) == "eligible"
    assert "kap-finding" in app.findings.value
    app.systolic.value = "150"
    assert status(app) == "eligible_with_cautions"
    assert "blood_pressure_raised" in app.findings.value
    app.history[HistoryQuestion.BLADDER_SYMPTOMS].value = Answer.UNKNOWN
    assert status(app) == "incomplete"
    app.history[HistoryQuestion.ANEURYSM_OR_AVM].value = Answer.YES
    assert status(app) == "not_eligible"
    assert app.result.status is ScreeningStatus.NOT_ELIGIBLE


def test_findings_are_one_element_each_with_source_and_detail(app: EligibilityApp) -> None:
    """Every finding of the result is one kap-finding element with its source and detail."""
    fill_eligible(app)
    app.systolic.value = "150"
    html = app.findings.value
    assert html.count("class='kap-finding ") == len(app.result.findings)
    for f in app.result.findings:
        assert f"data-rule-id='{f.rule_id}'" in html
        assert f.source.replace("'", "&#x27;") in html
    assert "150/80 mmHg" in html


def test_trial_table_says_which_trials_counted_and_why(app: EligibilityApp) -> None:
    """The trial table lists every trial with its verdict and reasons, and the count."""
    fill_eligible(app)
    app.trials.add({"drug": "sertraline", "daily_dose_mg": "25", "weeks": "6"})
    table = app.trial_table.value
    assert "Failed adequate trials counted: <b>2</b>" in table
    assert table.count("kap-trial-verdict-failed_adequate") == 2
    assert "kap-trial-verdict-not_failed_adequate" in table
    assert "below the minimum adequate dose" in table


def test_phq9_item9_positive_raises_the_warning_banner(app: EligibilityApp) -> None:
    """PHQ-9 item 9 answered 1 shows the 988 banner; back to not asked hides it."""
    assert app.banner.layout.display == "none"
    app.phq9[8].value = 1
    assert app.banner.layout.display is None and "988" in app.banner.value
    assert "kap-critical" not in app.banner._dom_classes
    app.phq9[8].value = NO_ANSWER
    assert app.banner.layout.display == "none"


def test_cssrs_intent_is_critical_and_does_not_meet_criteria(app: EligibilityApp) -> None:
    """C-SSRS intent "yes" gives the critical banner and the urgent-risk exclusion."""
    fill_eligible(app)
    app.cssrs[CssrsQuestion.ACTIVE_THOUGHTS].value = Answer.YES
    assert "kap-critical" not in app.banner._dom_classes and "988" in app.banner.value
    assert status(app) == "incomplete"  # intent, plan and behaviour now unanswered
    app.cssrs[CssrsQuestion.INTENT].value = Answer.YES
    assert "kap-critical" in app.banner._dom_classes
    assert status(app) == "not_eligible"
    assert "cssrs_urgent_risk" in app.findings.value


# ---- invalid input -----------------------------------------------------------------------


def _set(app: EligibilityApp, field: str, value: str) -> None:
    if field == "diagnosis":
        app.diagnoses.add({"code": value})
    elif field == "trial_dose":
        app.trials.add({"drug": "sertraline", "daily_dose_mg": value})
    elif field == "bp":
        app.systolic.value, app.diastolic.value = value.split("/")
    else:
        getattr(app, field).value = value


@pytest.mark.parametrize(
    ("field", "value", "named"),
    [
        ("weight", "-5", "Weight (kg)"),
        ("bp", "500/20", "Systolic blood pressure (mmHg)"),
        ("bp", "80/120", "Blood pressure"),
        ("diagnosis", "F3X..1", "Diagnosis 2 (ICD-10-CM)"),
        ("age", "abc", "Age (years)"),
        ("age", "45.5", "Age (years)"),
        ("trial_dose", "-3", "Trial 3: daily dose (mg)"),
        ("heart_rate", "nan", "Heart rate (beats/min)"),
    ],
)
def test_invalid_input_is_named_inline_and_nothing_is_saved(
    app: EligibilityApp, field: str, value: str, named: str
) -> None:
    """Bad widget input shows an inline error naming the field; Save writes nothing."""
    fill_eligible(app)
    before = audit_count(app)
    _set(app, field, value)
    assert app.result is None
    assert status(app) == NOT_SCREENED
    assert named in app.form_error.value and "kap-error" in app.form_error._dom_classes
    assert any("kap-invalid" in wid._dom_classes for p in app.problems for wid in p.widgets)
    app._on_save()
    assert "kap-error" in app.save_message._dom_classes and named in app.save_message.value
    assert audit_count(app) == before
    assert app.export.html == ""


def test_fixing_the_input_clears_the_error_and_screens_again(app: EligibilityApp) -> None:
    """Correcting a bad value removes the error and its mark and shows a status again."""
    fill_eligible(app)
    app.weight.value = "-5"
    app.weight.value = "70"
    assert app.form_error.layout.display == "none"
    assert "kap-invalid" not in app.weight._dom_classes
    assert status(app) == "eligible"


def test_safety_alerts_still_show_while_another_field_is_invalid(app: EligibilityApp) -> None:
    """A typo elsewhere never hides the crisis banner of the C-SSRS answers."""
    app.cssrs[CssrsQuestion.BEHAVIOUR_PAST_3_MONTHS].value = Answer.YES
    app.weight.value = "-5"
    assert app.result is None
    assert app.banner.layout.display is None and "kap-critical" in app.banner._dom_classes


def test_filled_rows_under_an_unknown_list_are_an_error(app: EligibilityApp) -> None:
    """Adding a trial marks the history recorded; setting it back to unknown is an error."""
    app.trials.add({"drug": "sertraline"})
    assert app.trial_history.value is ListStatus.RECORDED
    app.trial_history.value = ListStatus.UNKNOWN
    assert app.result is None and "Antidepressant trial" in app.form_error.value


def test_diagnoses_start_unknown_and_no_diagnosis_is_said_explicitly(
    app: EligibilityApp,
) -> None:
    """A blank diagnosis list is unknown (incomplete); "recorded" with no rows is no diagnosis."""
    fill_eligible(app)
    app.diagnoses.clear()
    app.diagnosis_list.value = ListStatus.UNKNOWN
    assert app.result.record.diagnoses is None
    assert status(app) == "incomplete" and "diagnoses_unknown" in app.findings.value
    assert "kap-unanswered" in app.diagnosis_list._dom_classes
    app.diagnosis_list.value = ListStatus.RECORDED
    assert app.result.record.diagnoses == ()
    assert status(app) == "not_eligible" and "indication_not_met" in app.result.rule_ids
    assert "kap-unanswered" not in app.diagnosis_list._dom_classes


def test_a_blank_diagnosis_row_is_no_answer(app: EligibilityApp) -> None:
    """Adding an empty row leaves the diagnoses unknown; typing a code records them."""
    row = app.diagnoses.add()
    assert app.diagnosis_list.value is ListStatus.UNKNOWN
    assert "diagnoses_unknown" in app.result.rule_ids
    row.fields["code"].value = "F33.1"
    assert app.diagnosis_list.value is ListStatus.RECORDED
    assert app.result.record.diagnoses == ("F33.1",)


def test_diagnosis_rows_under_an_unknown_list_are_an_error(app: EligibilityApp) -> None:
    """Codes entered while the diagnoses are marked unknown are named, not screened."""
    app.diagnoses.add({"code": "F33.1"})
    app.diagnosis_list.value = ListStatus.UNKNOWN
    assert app.result is None and "Diagnosis (ICD-10-CM)" in app.form_error.value
    assert "kap-invalid" in app.diagnosis_list._dom_classes


@pytest.mark.parametrize("diagnoses", [None, [], ["F33.1"]])
def test_loading_a_record_restores_the_diagnosis_list_status(
    app: EligibilityApp, diagnoses: list[str] | None
) -> None:
    """fill() sets the diagnoses unknown, recorded and empty, or recorded with codes."""
    fill_eligible(app)
    record = app.form_record().model_copy(update={"diagnoses": diagnoses})
    app.fill(record)
    assert app.form_record().diagnoses == (None if diagnoses is None else tuple(diagnoses))


def test_rows_are_added_and_removed(app: EligibilityApp) -> None:
    """Rows can be removed; a blank row is not a medication."""
    fill_eligible(app)
    first = app.medications.add({"drug": "lorazepam", "daily_dose_mg": "1"})
    app.medications.add({"drug": "lamotrigine", "daily_dose_mg": "100"})
    app.medications.add()
    assert [m.drug for m in app.result.record.current_medications] == ["lorazepam", "lamotrigine"]
    first.remove.click()
    assert [m.drug for m in app.result.record.current_medications] == ["lamotrigine"]
    assert len(app.medications.box.children) == 2


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=st.text(max_size=12))
def test_any_text_in_a_number_field_screens_or_names_the_field(
    app: EligibilityApp, text: str
) -> None:
    """Whatever is typed into weight, the form screens it or names the field; never a crash."""
    app.weight.value = text
    if app.result is None:
        assert "Weight (kg)" in app.form_error.value
    else:
        assert app.form_error.layout.display == "none"
        assert app.result.record.weight_kg is None or 1 <= app.result.record.weight_kg <= 400


# ---- saving, loading, overriding -------------------------------------------------------------


def test_saving_writes_one_screening_with_protocol_and_author(app: EligibilityApp) -> None:
    """Save stores one screening (protocol name, version, hash) by the signed-in person;
    "Screened by" only shows that name (a value sent from the page is put back)."""
    fill_eligible(app)
    app.screened_by.value = "dr-lee"  # what a forged widget message would do
    assert app.screened_by.value == "dr-test" and app.screened_by.disabled
    app._on_save()
    stored = app.store.latest_records("screening", "SYN-E01")
    assert len(stored) == 1
    rec = stored[0]
    assert rec.author == "dr-test"
    info = PROTOCOL.info
    assert rec.payload["protocol"] == {
        "name": info.name,
        "version": info.version,
        "sha256": info.sha256,
    }
    assert rec.payload["status"] == "eligible"
    assert "kap-ok" in app.save_message._dom_classes
    assert "dr-test" in app.status_panel.value
    before = audit_count(app)
    app._on_save()  # unchanged form: nothing new
    assert audit_count(app) == before
    assert len(app.store.latest_records("screening", "SYN-E01")) == 1


def test_the_page_cannot_blank_or_change_the_author(app: EligibilityApp) -> None:
    """No free-text author: a blank or another name sent from the page is put back."""
    fill_eligible(app)
    app.screened_by.value = "  "
    app._on_save()
    assert app.store.latest_records("screening", "SYN-E01")[0].author == "dr-test"


def test_screened_by_defaults_to_the_current_user(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without an author, "Screened by" is the signed-in person (the store's identity,
    by default KAPTOOLS_USER)."""
    assert EligibilityApp(store, PROTOCOL, defer=True).screened_by.value == "dr-test"
    monkeypatch.setenv("KAPTOOLS_USER", "dr-env")
    assert EligibilityApp(Store.in_memory(), PROTOCOL, defer=True).screened_by.value == "dr-env"


def test_latest_saved_screening_is_offered_and_loads_into_the_form(
    store: Store, app: EligibilityApp
) -> None:
    """A patient with a saved screening gets an offer; loading refills every answer."""
    fill_eligible(app)
    app.systolic.value = "150"
    app.phq9[0].value = 2
    app.cssrs[CssrsQuestion.WISH_TO_BE_DEAD].value = Answer.NO
    app.cssrs[CssrsQuestion.ACTIVE_THOUGHTS].value = Answer.NO
    app.cssrs[CssrsQuestion.BEHAVIOUR_LIFETIME].value = Answer.NO
    app.cssrs[CssrsQuestion.BEHAVIOUR_PAST_3_MONTHS].value = Answer.NO
    app.medications.add({"drug": "lorazepam", "daily_dose_mg": "1.5"})
    record = app.form_record()
    save_screening(
        store.as_identity(Identity("dr-lee", Role.CLINICIAN)), "SYN-E01", record, screen(record)
    )

    fresh = _app(store)
    assert fresh.offer_box.layout.display is None
    assert "dr-lee" in fresh.saved_offer.value
    assert "kap-eligibility-status" not in fresh.saved_offer.value
    assert status(fresh) == "incomplete"  # the form starts blank, not from the saved one
    fresh.load_button.click()
    assert fresh.form_record() == record
    assert status(fresh) == "eligible_with_cautions"
    assert "saved" in fresh.status_panel.value and "dr-lee" in fresh.status_panel.value


def test_override_needs_a_saved_screening_and_a_written_reason(app: EligibilityApp) -> None:
    """No override before saving or without a reason; with one, original and override show."""
    fill_eligible(app)
    app.systolic.value = "150"
    assert app.override_button.disabled
    app._on_override()
    assert "Save the screening first" in app.override_message.value

    app._on_save()
    assert not app.override_button.disabled
    assert [v for _, v in app.override_rule.options] == ["blood_pressure_raised"]
    for reason, says in (("", "written reason"), ("too short", "at least")):
        app.override_reason.value = reason
        app._on_override()
        assert "kap-error" in app.override_message._dom_classes
        assert says in app.override_message.value
    assert app.store.latest_records("screening_override", "SYN-E01") == []

    app.override_reason.value = "Home readings over two weeks average 128/82 <b>"
    app._on_override()
    overrides = app.store.latest_records("screening_override", "SYN-E01")
    assert len(overrides) == 1 and overrides[0].author == "dr-test"
    assert status(app) == "eligible"
    assert "Before clinician overrides" in app.status_panel.value
    assert "kap-original-status-badge kap-status-eligible_with_cautions" in app.status_panel.value
    assert "Overridden" in app.findings.value and "128/82 &lt;b&gt;" in app.findings.value
    stored = load_screening(app.store, app.saved.record_id)
    assert stored.original_status is ScreeningStatus.ELIGIBLE_WITH_CAUTIONS


def test_changing_the_form_after_saving_disables_overrides(app: EligibilityApp) -> None:
    """Overrides apply to the saved screening only, so a changed form must be saved first."""
    fill_eligible(app)
    app.systolic.value = "150"
    app._on_save()
    app.heart_rate.value = "75"
    assert app.override_button.disabled
    assert "changed since" in app.status_panel.value


# ---- summary and escaping ------------------------------------------------------------------


def test_summary_has_status_findings_protocol_and_disclaimer(app: EligibilityApp) -> None:
    """The downloadable summary names status, findings with sources, trials, protocol, 988."""
    fill_eligible(app)
    app.phq9[8].value = 2
    app._on_save()
    doc, text = app.export.html, app.export.text
    info = PROTOCOL.info
    for part in ("eligible", info.name, info.version, info.sha256, "Decision support", "988"):
        assert part in doc and part in text
    assert "kap-trial-verdict-failed_adequate" in doc
    assert all(f.rule_id in doc for f in app.result.findings)
    assert "dr-test" in doc and "Summary made" in doc and "not saved" not in doc
    assert app.export.filename == "screening-SYN-E01-2026-11-27"


def test_patient_text_is_shown_escaped(store: Store) -> None:
    """A malicious display name, drug name or reason is displayed as text, never as HTML."""
    app = _app(store, "?patient=SYN-E02")
    app.medication_list.value = ListStatus.RECORDED
    app.medications.add({"drug": MALICIOUS})
    app.trials.add({"drug": MALICIOUS, "daily_dose_mg": "10"})
    escaped = "&lt;img src=x onerror=alert(1)&gt;"
    shown = {
        "header": app.patient_header.value,
        "findings": app.findings.value,
        "trials": app.trial_table.value,
        "summary": app.export.html,
    }
    for where, html in shown.items():
        assert "<img" not in html, where
        assert escaped in html, where


def test_saved_offer_hides_while_the_form_shows_that_screening(app: EligibilityApp) -> None:
    """After saving, the offer to load is hidden; a change makes the saved one loadable again."""
    fill_eligible(app)
    assert app.offer_box.layout.display == "none"
    app._on_save()
    assert app.offer_box.layout.display == "none"
    app.heart_rate.value = "75"
    assert app.offer_box.layout.display is None
    app.load_button.click()
    assert app.heart_rate.value == "72" and app.offer_box.layout.display == "none"


def test_summary_lists_every_unanswered_question_unfolded(app: EligibilityApp) -> None:
    """The panel folds a long "answers needed" list; the printable summary never does."""
    assert "(click to show)" in app.findings.value
    doc = app.export.html
    assert "(click to show)" not in doc
    assert doc.count("class='kap-finding kap-finding-missing") == len(
        [f for f in app.result.findings if f.severity.value == "missing"]
    )
    assert "<details class='kap-findings-group kap-findings-missing' open>" in doc


def test_a_saved_record_without_patient_id_matches_the_patients_form(
    store: Store, app: EligibilityApp
) -> None:
    """A screening saved without a patient id loads as saved, not as "changed since"."""
    fill_eligible(app)
    record = app.form_record().model_copy(update={"patient_id": None})
    save_screening(store, "SYN-E01", record, screen(record))
    fresh = _app(store)
    fresh.load_button.click()
    assert fresh.shown is fresh.saved.result
    assert "changed since" not in fresh.status_panel.value


def test_saved_screenings_crisis_alert_shows_on_arrival_until_acknowledged(
    store: Store,
) -> None:
    """A saved screening with C-SSRS intent: the critical banner and the summary
    downloads carry it as soon as the patient is opened, before anything is loaded into
    the form; acknowledged with a note, it leaves the banner and stays in the history."""
    first = _app(store)
    fill_eligible(first)
    first.cssrs[CssrsQuestion.INTENT].value = Answer.YES
    first._on_save()
    assert first.alert_panel.stored.open

    app = _app(store)  # a fresh page: nothing loaded into the form
    assert app.shown is None or not app.shown.alerts
    assert "kap-critical" in app.banner._dom_classes and "988" in app.banner.value
    assert "cssrs_urgent_risk" in str([a.alert.rule_id for a in app.alert_panel.stored.open])
    fill_eligible(app)  # any form on show: the downloads carry the open alert
    assert "OPEN SAFETY ALERTS OF THIS PATIENT" in app.export.text
    assert "Open safety alerts of this patient" in app.export.html
    panel = app.alert_panel
    panel.note.value = ""
    panel.button.click()
    assert "note" in panel.message.value and panel.stored.open
    while panel.stored.open:
        panel.choice.value = panel.stored.open[0].alert_id
        panel.note.value = "Immediate risk assessment done; crisis plan in place"
        panel.button.click()
    assert app.banner.layout.display == "none"
    assert "OPEN SAFETY ALERTS" not in app.export.text
    assert "Immediate risk assessment done" in panel.history.value


def test_medication_rows_show_the_resolved_ingredient_and_how(app: EligibilityApp) -> None:
    """A brand-name benzodiazepine shows "→ alprazolam (brand name)" and fires its caution."""
    fill_eligible(app)
    row = app.medications.add({"drug": "Xanax XR", "daily_dose_mg": "1"})
    assert isinstance(row, _DrugRow)
    assert "→ alprazolam" in row.resolution.value and "brand name" in row.resolution.value
    assert "XR" in row.resolution.value
    assert row.accept.children == ()
    assert status(app) == "eligible_with_cautions"
    assert app.result is not None and "benzodiazepine" in app.result.rule_ids
    assert "Xanax XR → alprazolam (brand name" in app.result.summary


def test_unrecognised_drug_offers_suggestions_the_clinician_can_accept(
    app: EligibilityApp,
) -> None:
    """ "Xanaks" is never guessed: the list is incomplete and "xanax" is offered; accepting
    it puts the suggestion in the row, which then resolves and fires the benzodiazepine rule."""
    fill_eligible(app)
    row = app.medications.add({"drug": "Xanaks", "daily_dose_mg": "1"})
    assert isinstance(row, _DrugRow)
    assert "not recognised" in row.resolution.value
    assert status(app) == "incomplete"
    assert app.result is not None and "benzodiazepine" not in app.result.rule_ids
    buttons = list(row.accept.children)
    assert buttons and buttons[0].description == "Use xanax (alprazolam)"
    buttons[0].click()
    assert row.fields["drug"].value == "xanax"
    assert "→ alprazolam" in row.resolution.value and row.accept.children == ()
    assert "benzodiazepine" in app.result.rule_ids
    assert status(app) == "eligible_with_cautions"


def test_trial_rows_show_resolution_and_the_trial_table_names_it(app: EligibilityApp) -> None:
    """A trial written as a brand ("Lexapro") shows its ingredient and counts."""
    fill_eligible(app)
    app.trials.rows[1].fields["drug"].value = "Lexapro"
    app.trials.rows[1].fields["daily_dose_mg"].value = "20"
    row = app.trials.rows[1]
    assert isinstance(row, _DrugRow) and "→ escitalopram" in row.resolution.value
    assert "Lexapro → escitalopram (brand name)" in app.trial_table.value
    assert app.result is not None and app.result.failed_adequate_trials == 2


def test_the_page_is_the_state_rendered_once_per_change(app: EligibilityApp) -> None:
    """A form change makes one new frozen state and one render; the status badge, the
    findings and the trial table are the state's result rendered by the domain's printer."""
    import dataclasses

    from kaptools.screening.report import findings_html, status_badge

    before, renders = app.state, app.renders
    app.systolic.value = "150"
    assert app.renders == renders + 1 and app.state is not before
    state = app.state
    with pytest.raises(dataclasses.FrozenInstanceError):
        state.result = None  # type: ignore[misc]
    assert state.record is not None and state.record.systolic_bp_mmhg == 150
    assert state.shown is state.result and "blood_pressure_raised" in state.result.rule_ids
    assert status_badge(state.status) in app.status_panel.value
    assert app.findings.value == findings_html(state.result)
    app.weight.value = "heavy"
    assert app.state.status == NOT_SCREENED and app.state.result is None
    assert [p.label for p in app.state.problems] == ["Weight (kg)"]
    assert status_badge(NOT_SCREENED) in app.status_panel.value


def test_filling_the_form_renders_once(app: EligibilityApp) -> None:
    """Loading a record into the form (many widgets) renders the page once, at the end."""
    record = app.form_record().model_copy(update={"systolic_bp_mmhg": 150.0})
    renders = app.renders
    app.fill(record)
    assert app.renders == renders + 1 and app.state.record == record

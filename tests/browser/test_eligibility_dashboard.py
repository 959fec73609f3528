"""The eligibility dashboard in a real browser against a live Voilà server."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Locator, Page, expect

from kaptools.protocol import default_protocol
from kaptools.screening import HistoryQuestion, load_screening
from kaptools.store import Store

pytestmark = pytest.mark.browser
TIMEOUT = 60_000
MALICIOUS = "<img src=x onerror=alert(1)>"
WALKED = "SYN-0010"  # read only: the walk saves nothing
SAVED = "SYN-0009"  # gets one more screening, with the status its demo screening has


def open_eligibility(page: Page, base: str, patient: str) -> None:
    page.goto(f"{base}/voila/render/eligibility.ipynb?patient={patient}", timeout=TIMEOUT)
    expect(page.locator(".kap-patient-header b")).to_be_visible(timeout=TIMEOUT)


def status(page: Page) -> Locator:
    return page.locator(".kap-eligibility-status")


def step(page: Page, number: int) -> None:
    page.locator(".kap-steps .lm-TabBar-tab").nth(number - 1).click()


def answer(scope: Locator, label: str) -> None:
    """Click one button of a yes/no/unknown toggle."""
    scope.get_by_role("button", name=label, exact=True).click()


def type_in(field: Locator, text: str) -> None:
    """Type into a text widget; Enter sends it (the form updates on commit, not per key)."""
    box = field.locator("input")
    box.fill(text)
    box.press("Enter")


def choose(select: Locator, pattern: str) -> None:
    """ipywidgets' <select> carries labels as values, with non-breaking spaces."""
    label = select.locator("option", has_text=re.compile(pattern)).first.text_content()
    select.select_option(label=label)


def test_walk_through_every_status_and_the_crisis_banner(page: Page, voila_server: str) -> None:
    """A patient walked through the five steps reaches each status; C-SSRS intent is critical."""
    open_eligibility(page, voila_server, WALKED)
    expect(status(page)).to_have_text("incomplete")  # nothing answered, diagnoses included
    expect(page.locator(".kap-findings")).not_to_contain_text("indication_not_met")
    expect(page.locator(".kap-crisis-banner")).to_be_hidden()
    expect(page.locator(".kap-question.kap-unanswered")).to_have_count(len(HistoryQuestion))

    # 1. demographics (age, sex and weight are prefilled from the patient record)
    expect(page.locator(".kap-age input")).not_to_have_value("")
    type_in(page.locator(".kap-age"), "45")
    answer(page.locator(".kap-pregnant"), "no")
    answer(page.locator(".kap-breastfeeding"), "no")
    answer(page.locator(".kap-pregnancy-prevention"), "yes")

    # 2. diagnoses and antidepressant trials: "recorded", no rows, is an explicit "none"
    step(page, 2)
    answer(page.locator(".kap-dx-list"), "recorded below")
    expect(status(page)).to_have_text("not_eligible", timeout=TIMEOUT)
    expect(page.locator(".kap-finding-exclusion")).to_contain_text("rule indication_not_met")
    page.locator(".kap-add-dx").click()
    expect(page.locator(".kap-dx-row")).to_have_count(1)
    type_in(page.locator(".kap-dx-code"), "F33.1")
    expect(status(page)).to_have_text("incomplete", timeout=TIMEOUT)
    trials = (
        ("sertraline", "150", "10", r"^no\sresponse"),
        ("venlafaxine", "150", "8", r"^partial\sresponse"),
    )
    for n, (drug, dose, weeks, outcome) in enumerate(trials, start=1):
        page.locator(".kap-add-trial").click()
        expect(page.locator(".kap-trial-row")).to_have_count(n)  # the new row has arrived
        row = page.locator(".kap-trial-row").nth(n - 1)
        type_in(row.locator(".kap-trial-drug"), drug)
        type_in(row.locator(".kap-trial-dose"), dose)
        type_in(row.locator(".kap-trial-weeks"), weeks)
        choose(row.locator(".kap-trial-outcome select"), outcome)
        choose(row.locator(".kap-trial-stop select"), r"^lack\sof\seffect")
    expect(page.locator(".kap-trial-table .kap-trial-verdict-failed_adequate")).to_have_count(2)

    # 3. medications: the list was taken and is empty
    step(page, 3)
    answer(page.locator(".kap-med-list"), "recorded below")

    # 4. the checklist
    step(page, 4)
    for q in HistoryQuestion:
        answer(page.locator(f".kap-q-{q.value}"), "no")
    expect(page.locator(".kap-question.kap-unanswered")).to_have_count(0)
    expect(status(page)).to_have_text("incomplete")  # blood pressure still unknown

    # 5. vitals and scores
    step(page, 5)
    type_in(page.locator(".kap-systolic"), "120")
    type_in(page.locator(".kap-diastolic"), "80")
    expect(status(page)).to_have_text("incomplete", timeout=TIMEOUT)  # heart rate unknown
    type_in(page.locator(".kap-heart-rate"), "72")
    expect(status(page)).to_have_text("eligible", timeout=TIMEOUT)
    expect(page.locator(".kap-finding")).to_have_count(1)  # the indication, for information
    type_in(page.locator(".kap-systolic"), "150")
    expect(status(page)).to_have_text("eligible_with_cautions")
    expect(page.locator(".kap-finding-caution")).to_contain_text("Blood pressure")
    expect(page.locator(".kap-finding-caution")).to_contain_text("Source:")

    banner = page.locator(".kap-crisis-banner")
    choose(page.locator(".kap-phq9-item select").nth(8), r"^1\s")
    expect(banner).to_be_visible()
    expect(banner).to_contain_text("988")
    expect(banner).not_to_have_class(re.compile("kap-critical"))
    answer(page.locator(".kap-cssrs-active_thoughts"), "yes")
    answer(page.locator(".kap-cssrs-intent"), "yes")
    expect(banner).to_have_class(re.compile("kap-critical"))
    expect(status(page)).to_have_text("not_eligible")
    expect(page.locator(".kap-finding-exclusion")).to_contain_text("rule cssrs_urgent_risk")
    assert banner.bounding_box()["y"] < page.locator(".kap-status-panel").bounding_box()["y"]

    # the summary file
    with page.expect_download() as download:
        page.locator(".kap-download-html").click()
    text = download.value.path().read_text()
    assert "not_eligible" in text and default_protocol().info.sha256 in text
    assert "988" in text and "Decision support" in text


def test_load_saved_screening_reject_bad_input_escape_text_and_save(
    page: Page, voila_server: str, demo_database: str
) -> None:
    """The latest saved screening loads; bad input is named and not saved; free text is
    shown escaped; a changed screening is saved with the screener's name."""
    store = Store(demo_database)
    saved = store.latest_records("screening", SAVED)
    expected = load_screening(store, saved[-1].record_id).status.value
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    open_eligibility(page, voila_server, SAVED)
    page.locator(".kap-load-saved").click()
    expect(page.locator(".kap-save-message")).to_contain_text("Loaded", timeout=TIMEOUT)
    expect(status(page)).to_have_text(expected)

    # invalid input: an inline error naming the field, and nothing written
    before = len(store.audit_entries())
    weight = page.locator(".kap-weight input").input_value()
    type_in(page.locator(".kap-weight"), "-5")
    expect(page.locator(".kap-form-error")).to_contain_text("Weight (kg)")
    expect(status(page)).to_have_text("not_screened")
    page.locator(".kap-save").click()
    expect(page.locator(".kap-save-message")).to_contain_text("Nothing was saved")
    assert len(store.audit_entries()) == before
    type_in(page.locator(".kap-weight"), weight)
    expect(status(page)).to_have_text(expected)

    # free text is displayed as text
    step(page, 3)
    answer(page.locator(".kap-med-list"), "recorded below")
    meds = page.locator(".kap-med-row")
    count = meds.count()
    page.locator(".kap-add-med").click()
    expect(meds).to_have_count(count + 1)
    type_in(meds.nth(count).locator(".kap-med-drug"), MALICIOUS)
    expect(page.locator(".kap-findings")).to_contain_text(MALICIOUS)
    expect(page.locator(".kap-app img")).to_have_count(0)
    meds.nth(count).locator(".kap-remove-row").click()
    expect(meds).to_have_count(count)
    expect(page.locator(".kap-findings")).not_to_contain_text(MALICIOUS)
    assert dialogs == []

    # an unchanged screening is not saved twice; a changed one is saved once
    page.locator(".kap-save").click()
    expect(page.locator(".kap-save-message")).to_contain_text("nothing new to save")
    step(page, 5)
    rate = "71" if page.locator(".kap-heart-rate input").input_value() != "71" else "72"
    type_in(page.locator(".kap-heart-rate"), rate)
    page.locator(".kap-save").click()
    expect(page.locator(".kap-save-message.kap-ok")).to_contain_text("Saved", timeout=TIMEOUT)
    after = store.latest_records("screening", SAVED)
    assert len(after) == len(saved) + 1
    assert after[-1].author == "browser-test" and after[-1].payload["status"] == expected
    expect(page.locator(".kap-status-panel")).to_contain_text("by browser-test")


def test_brand_name_benzodiazepine_resolves_and_fires_its_caution(
    page: Page, voila_server: str
) -> None:
    """A medication written by brand ("Xanax XR") shows "→ alprazolam (brand name …)" and
    the benzodiazepine caution; a misspelling ("Xanaks") is never guessed, offers "xanax",
    and accepting it fires the same caution."""
    open_eligibility(page, voila_server, WALKED)
    step(page, 3)
    answer(page.locator(".kap-med-list"), "recorded below")
    meds = page.locator(".kap-med-row")
    page.locator(".kap-add-med").click()
    expect(meds).to_have_count(1)
    type_in(meds.nth(0).locator(".kap-med-drug"), "Xanax XR")
    type_in(meds.nth(0).locator(".kap-med-dose"), "1")
    resolution = meds.nth(0).locator(".kap-drug-resolution")
    expect(resolution).to_contain_text("→ alprazolam", timeout=TIMEOUT)
    expect(resolution).to_contain_text("brand name")
    caution = page.locator(".kap-finding-caution[data-rule-id='benzodiazepine']")
    expect(caution).to_contain_text("Benzodiazepine", timeout=TIMEOUT)
    expect(caution).to_contain_text("Xanax XR (alprazolam, brand name)")
    high = page.locator(".kap-finding-caution[data-rule-id='benzodiazepine_high_dose']")
    expect(high).to_contain_text("20.0 mg diazepam-equivalent")

    # a misspelling: not recognised, nothing fires, the suggestion is offered
    type_in(meds.nth(0).locator(".kap-med-drug"), "Xanaks")
    expect(resolution).to_contain_text("not recognised", timeout=TIMEOUT)
    expect(caution).to_have_count(0)
    expect(page.locator("[data-rule-id='medication_unrecognised']")).to_contain_text(
        "did you mean xanax (alprazolam)"
    )
    accept = meds.nth(0).locator(".kap-accept-suggestion", has_text="xanax (alprazolam)")
    accept.click()
    expect(meds.nth(0).locator(".kap-med-drug input")).to_have_value("xanax")
    expect(resolution).to_contain_text("→ alprazolam", timeout=TIMEOUT)
    expect(caution).to_contain_text("xanax (alprazolam, brand name)", timeout=TIMEOUT)
    expect(page.locator("[data-rule-id='medication_unrecognised']")).to_have_count(0)


def test_coded_aneurysm_answered_no_is_not_eligible_for_esketamine_with_the_disagreement(
    page: Page, voila_server: str
) -> None:
    """A cerebral aneurysm entered as an ICD-10-CM code, with the checklist answer "no":
    the code's description is shown, esketamine (every route) does not meet the criteria,
    and the finding says the code and the answer disagree. A racemic-only contraindication
    then shows the routes differing."""
    open_eligibility(page, voila_server, WALKED)
    type_in(page.locator(".kap-age"), "45")
    answer(page.locator(".kap-pregnant"), "no")
    answer(page.locator(".kap-breastfeeding"), "no")
    answer(page.locator(".kap-pregnancy-prevention"), "yes")
    step(page, 2)
    answer(page.locator(".kap-dx-list"), "recorded below")
    for n, code in enumerate(("F33.1", "I67.1"), start=1):
        page.locator(".kap-add-dx").click()
        expect(page.locator(".kap-dx-row")).to_have_count(n)
        type_in(page.locator(".kap-dx-row").nth(n - 1).locator(".kap-dx-code"), code)
    expect(page.locator(".kap-dx-description-list")).to_contain_text(
        "Cerebral aneurysm, nonruptured", timeout=TIMEOUT
    )
    answer(page.locator(".kap-trial-history"), "recorded below")
    step(page, 3)
    answer(page.locator(".kap-med-list"), "recorded below")
    step(page, 4)
    for q in HistoryQuestion:
        answer(page.locator(f".kap-q-{q.value}"), "no")
    step(page, 5)
    type_in(page.locator(".kap-systolic"), "120")
    type_in(page.locator(".kap-diastolic"), "80")
    type_in(page.locator(".kap-heart-rate"), "72")
    expect(status(page)).to_have_text("not_eligible", timeout=TIMEOUT)
    esketamine = page.locator(".kap-route-esketamine_nasal")
    expect(esketamine).to_contain_text("not_eligible")
    aneurysm = page.locator(".kap-finding-exclusion[data-rule-id='aneurysm_or_avm']")
    expect(aneurysm).to_contain_text("I67.1 (Cerebral aneurysm, nonruptured)")
    expect(aneurysm).to_contain_text("disagree")
    expect(page.locator("[data-rule-id='diagnosis_answer_disagreement']")).to_be_visible()

    # Without the aneurysm, a racemic-only contraindication: the routes differ.
    step(page, 2)
    type_in(page.locator(".kap-dx-row").nth(1).locator(".kap-dx-code"), "F41.1")
    step(page, 4)
    answer(page.locator(f".kap-q-{HistoryQuestion.HYPERTHYROIDISM.value}"), "yes")
    expect(status(page)).to_have_text("eligible_with_cautions", timeout=TIMEOUT)
    expect(page.locator(".kap-route-iv_ketamine")).to_contain_text("not_eligible")
    expect(page.locator(".kap-route-esketamine_nasal")).to_contain_text("eligible_with_cautions")
    expect(page.locator(".kap-route-iv_ketamine")).to_contain_text("hyperthyroidism")

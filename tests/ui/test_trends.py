"""The trends App's Python side: one update path, validation at the widget boundary."""

from __future__ import annotations

import datetime as dt

import pytest

from kaptools.demo import build_demo_database
from kaptools.identity import Identity, Role
from kaptools.protocol import default_protocol
from kaptools.store import Store
from kaptools.ui import TrendsApp
from kaptools.vocabulary import NO_ANSWER

TODAY = dt.date(2026, 11, 27)


@pytest.fixture
def app() -> TrendsApp:
    store = Store.in_memory(identity=Identity("dr-test", Role.CLINICIAN))
    build_demo_database(store, n=4)
    a = TrendsApp(store, default_protocol(), defer=True, today=TODAY)
    return a


def _arrive(app: TrendsApp, search: str) -> None:
    app.url.observe(app._on_url, names="search")
    app.url.search = search


def test_nothing_is_loaded_before_the_url_arrives(app: TrendsApp) -> None:
    """A deferred app (a preheated kernel) holds no patient list or data."""
    assert app.picker.options == ()
    assert app.trends is None


def test_url_patient_is_selected_and_banner_follows_alerts(app: TrendsApp) -> None:
    """?patient=SYN-0003 (item 9 positive) shows that patient and the visible banner; the
    banner stays while any stored alert is open and goes once each is acknowledged."""
    _arrive(app, "?patient=SYN-0003")
    assert app.picker.value == "SYN-0003"
    assert app.banner.layout.display is None and "988" in app.banner.value
    panel = app.alerts
    opened = {a.alert_id for a in panel.stored.open}
    assert opened
    while panel.stored.open:
        assert app.banner.layout.display is None
        panel.choice.value = panel.stored.open[0].alert_id
        panel.note.value = "C-SSRS completed: low risk; safety plan reviewed"
        panel.button.click()
    assert app.banner.layout.display == "none"
    assert panel.ack_box.layout.display == "none"
    assert "acknowledged" in panel.history.value
    assert all(
        a.acknowledgement.who == "dr-test" for a in panel.stored.alerts if a.alert_id in opened
    )


def test_acknowledging_without_a_note_is_refused_in_the_dashboard(app: TrendsApp) -> None:
    """No note: the message names the note; the alert stays open and on the banner."""
    _arrive(app, "?patient=SYN-0003")
    panel = app.alerts
    before = len(panel.stored.open)
    panel.note.value = "   "
    panel.button.click()
    assert "note" in panel.message.value and "kap-error" in panel.message._dom_classes
    assert len(panel.stored.open) == before > 0
    assert app.banner.layout.display is None


def test_incomplete_item9_positive_form_raises_the_banner(app: TrendsApp) -> None:
    """PHQ-9 with item 9 = 3 and item 2 blank: error names item 2, banner shows the alert."""
    _arrive(app, "?patient=SYN-0002")
    for a in app.alerts.stored.open:
        app.store.acknowledge_alert(a.alert_id, note="seen")
    app.picker.value = "SYN-0001"
    app.picker.value = "SYN-0002"
    assert app.banner.layout.display == "none"
    rows = app.form_items.children
    for i, row in enumerate(rows, start=1):
        if i != 2:
            row.children[0].value = 3 if i == 9 else 1
    app.save_button.click()
    assert "item 2" in app.form_error.value
    assert app.banner.layout.display is None and "item 9" in app.banner.value
    assert app.store.latest_records("assessment", "SYN-0002") == [
        r for r in app.store.latest_records("assessment", "SYN-0002")
    ]


@pytest.mark.parametrize("search", ["?patient=%3Cscript%3E", "?patient=SYN-9999"])
def test_bad_or_unknown_url_patient_is_named_and_first_patient_shown(
    app: TrendsApp, search: str
) -> None:
    """A malformed or unknown ?patient= gives a message (escaped) and falls back to the list."""
    _arrive(app, search)
    assert app.notice.layout.display is None
    assert "<script>" not in app.notice.value
    assert app.picker.value == "SYN-0001"


def test_incomplete_form_shows_error_and_saves_nothing(app: TrendsApp) -> None:
    """Saving with an unanswered item shows which item and writes nothing."""
    _arrive(app, "?patient=SYN-0002")
    before = len(app.store.audit_entries())
    for row in app.form_items.children[:8]:
        row.children[0].value = 1
    app._on_save()
    assert "item 9" in app.form_error.value
    assert len(app.store.audit_entries()) == before


def test_complete_form_saves_and_updates_summary(app: TrendsApp) -> None:
    """A complete PHQ-9 is stored with the form's author and becomes the latest score."""
    _arrive(app, "?patient=SYN-0002")
    for row in app.form_items.children:
        row.children[0].value = 2
    app._on_save()
    assert "Saved" in app.form_error.value
    latest = app.trends.measures[next(iter(app.trends.measures))].latest
    assert (latest.result.total, latest.entered_by, latest.administered_on) == (
        18,
        "dr-test",
        TODAY,
    )
    assert "18" in app.summary.value


def test_form_rebuilds_items_for_the_chosen_instrument(app: TrendsApp) -> None:
    """Switching the form to PCL-5 shows 20 items answered 0-4."""
    app.form_instrument.value = "pcl5"
    assert len(app.form_items.children) == 20
    values = [v for _, v in app.form_items.children[0].children[0].options]
    assert values == [NO_ANSWER, 0, 1, 2, 3, 4]
    assert app.answers() == [None] * 20


def test_a_failure_while_loading_is_shown_not_swallowed(app: TrendsApp, monkeypatch) -> None:
    """If reading the patient fails unexpectedly, the page says so instead of staying blank."""
    import kaptools.ui.trends.app as ui

    def boom(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(ui, "patient_trends", boom)
    _arrive(app, "?patient=SYN-0002")
    assert app.notice.layout.display is None
    assert "Something went wrong" in app.notice.value


def test_item_view_shows_the_first_measure_of_a_patient(app: TrendsApp) -> None:
    """On arrival the item view names a measure and lists its items, never an empty choice."""
    _arrive(app, "?patient=SYN-0002")
    assert app.item_measure.value is not None
    assert "kap-item-table" in app.items.value


def test_dashboard_uses_the_clinics_protocol_and_names_a_bad_one(monkeypatch, tmp_path) -> None:
    """KAPTOOLS_PROTOCOL points the dashboard at a clinic's copy; an unusable file gives a
    page naming the problem, not an error cell."""
    from kaptools.protocol import DEFAULT_PROTOCOL_PATH
    from kaptools.ui.common import ConfigurationProblem

    copy = tmp_path / "clinic.toml"
    copy.write_text(
        DEFAULT_PROTOCOL_PATH.read_text().replace('version = "', 'version = "clinic-', 1)
    )
    monkeypatch.setenv("KAPTOOLS_PROTOCOL", str(copy))
    app = TrendsApp.from_environment()
    assert isinstance(app, TrendsApp) and app.protocol.info.version.startswith("clinic-")
    assert app.protocol.info.version in app.protocol_note.value

    copy.write_text("[protocol]\nname = 'x'\n")
    problem = TrendsApp.from_environment()
    assert isinstance(problem, ConfigurationProblem)
    assert "cannot start" in problem.container.children[1].value
    assert "measures" in problem.message


def test_the_page_is_the_state_rendered_once_per_change(app: TrendsApp) -> None:
    """Loading, the patient's trends and the item view's measure are the state; choosing a
    patient or a measure renders the page once, from the new state."""
    from kaptools.ui.trends import TrendsState, chosen_measure

    assert app.state == TrendsState(loading=True)
    _arrive(app, "?patient=SYN-0002")
    state = app.state
    assert not state.loading and state.patient_id == "SYN-0002"
    assert app.item_measure.value == chosen_measure(state) == next(iter(state.trends.measures))
    measures = list(state.trends.measures)
    before = app.renders
    app.item_measure.value = measures[1]
    assert app.renders == before + 1 and app.state.measure == measures[1]
    assert app.state.trends is state.trends  # the patient was not read again
    assert state.trends.items_html(measures[1]) == app.items.value
    app.picker.value = "SYN-0001"  # the chosen measure is kept when the patient has it
    assert app.state.patient_id == "SYN-0001" and app.item_measure.value == measures[1]
    assert app.summary.value == app.state.trends.measures_html()


def test_chosen_measure_falls_back_to_the_patients_first(app: TrendsApp) -> None:
    """A measure the patient has no assessments of is never offered as the item view's."""
    from kaptools.scores import Instrument
    from kaptools.ui.trends import TrendsState, chosen_measure, measure_options

    _arrive(app, "?patient=SYN-0001")
    trends = app.state.trends
    assert Instrument.PCL5 not in trends.measures
    asked = TrendsState(trends=trends, measure=Instrument.PCL5)
    assert chosen_measure(asked) == next(iter(trends.measures))
    assert [i for _, i in measure_options(asked)] == list(trends.measures)
    assert chosen_measure(TrendsState()) is None and measure_options(TrendsState()) == []

"""Trainers' scenario demo: each scenario produces its branch through the real engine, and
the demo never writes to a database that is not a demo / training database."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from kaptools.cli import main as cli
from kaptools.demo import build_demo_database
from kaptools.errors import InvalidInputError
from kaptools.protocol import default_protocol
from kaptools.scenarios import (
    SCENARIOS,
    Scenario,
    build_scenario_database,
    observed_facts,
    scenario,
)
from kaptools.screening import ScreeningStatus
from kaptools.store import DEMO_DATABASE_ACTION, Store


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Store:
    store = Store(f"sqlite:///{tmp_path_factory.mktemp('scenarios') / 'training.sqlite'}")
    build_scenario_database(store, progress=False)
    return store


@pytest.mark.parametrize("s", SCENARIOS, ids=[s.key for s in SCENARIOS])
def test_each_scenario_produces_its_branch_through_the_engine(trained: Store, s: Scenario) -> None:
    """The facts the engine finds (screening re-run from the stored record, stored alerts,
    the latest plan, each session's checks) include every fact the scenario promises, the
    rule it names among them, and exactly the screening status it promises."""
    facts = observed_facts(trained, s.patient_id)
    assert s.expect <= facts, sorted(s.expect - facts)
    assert any(f.split(":")[-1] == s.rule or f":{s.rule}:" in f for f in facts), s.rule
    statuses = {f for f in facts if f.startswith("status:")}
    assert statuses == {f for f in s.expect if f.startswith("status:")}
    patient = trained.get_patient(s.patient_id)
    assert patient.synthetic and s.title in patient.display_name
    assert s.teaches and s.rule and s.patient_id.startswith("TRN-")


def test_the_scenarios_cover_every_branch_a_trainer_shows() -> None:
    """Every screening status; cautions, exclusions and incompletes of several families
    (an unrecognised drug name among them); warning and critical alerts with the 988
    line; an acknowledged alert; a plan deviation; held doses with and without an
    override; an urgent post-dose flag; a discharge not ready."""
    promised = set().union(*(s.expect for s in SCENARIOS))
    assert {f"status:{st.value}" for st in ScreeningStatus} <= promised
    by_status = {
        st: [s for s in SCENARIOS if f"status:{st.value}" in s.expect] for st in ScreeningStatus
    }
    assert len(by_status[ScreeningStatus.ELIGIBLE_WITH_CAUTIONS]) >= 6
    assert len([s for s in by_status[ScreeningStatus.NOT_ELIGIBLE] if "exclusion" in s.key]) >= 8
    assert "rule:medication_unrecognised" in promised
    for fact in (
        "alert:warning:cssrs_ideation",
        "alert:critical:cssrs_urgent_risk",
        "alert:crisis_line",
        "alert:acknowledged",
        "plan:deviation:rhythm:induction",
        "plan:acknowledged",
        "session:hold_overridden",
        "session:no_dose",
        "session:urgent:urgent_systolic",
        "session:discharge_not_ready:sedation",
    ):
        assert fact in promised, fact
    assert (
        len({s.key for s in SCENARIOS}) == len({s.patient_id for s in SCENARIOS}) == len(SCENARIOS)
    )
    assert [s.number for s in SCENARIOS] == list(range(1, len(SCENARIOS) + 1))


def test_scenarios_follow_the_protocol_they_are_built_with() -> None:
    """Not hard-coded: under a protocol whose older-adult caution starts at 75, the
    71-year-old scenario meets the criteria without that caution (what the engine says)."""
    changed = default_protocol().with_changes({"screening.thresholds.age_caution_from": 75})
    store = Store.in_memory()
    build_scenario_database(store, protocol=changed, progress=False)
    facts = observed_facts(store, scenario("caution-age").patient_id, changed)
    assert "status:eligible" in facts and "rule:age_older_adult" not in facts
    # the stored result is checked against the engine: read under another protocol it differs
    with pytest.raises(InvalidInputError, match="differs from the engine"):
        observed_facts(store, scenario("caution-age").patient_id, default_protocol())


def test_the_seed_draws_incidental_values_only() -> None:
    """Two seeds: other weights, the same branches."""
    one, two = Store.in_memory(), Store.in_memory()
    build_scenario_database(one, seed=1, progress=False)
    build_scenario_database(two, seed=2, progress=False)
    weights = [
        (one.get_patient(s.patient_id).weight_kg, two.get_patient(s.patient_id).weight_kg)
        for s in SCENARIOS
    ]
    assert any(a != b for a, b in weights)
    for s in SCENARIOS[:12]:
        a, b = observed_facts(one, s.patient_id), observed_facts(two, s.patient_id)
        assert {f for f in a if not f.startswith("route")} == {
            f for f in b if not f.startswith("route")
        }


def test_a_new_scenario_database_is_marked_as_a_demo_database(trained: Store) -> None:
    """The mark is the database's first audit row, written before any patient."""
    assert trained.is_demo_database()
    assert trained.audit_entries()[0].action == DEMO_DATABASE_ACTION
    assert trained.verify_audit().ok


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _clinic(tmp_path: Path, *, synthetic: bool) -> tuple[str, Path]:
    db = tmp_path / "clinic.sqlite"
    store = Store(f"sqlite:///{db}")
    store.add_patient(
        "PT-1001",
        "A Clinic Patient",
        birth_date=None,
        sex="female",
        weight_kg=None,
        synthetic=synthetic,
    )
    store.close()
    return f"sqlite:///{db}", db


@pytest.mark.parametrize(
    ("synthetic", "message"),
    [(False, "not marked synthetic"), (True, "not marked as a kaptools demo")],
)
def test_the_scenario_demo_refuses_a_clinic_database_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], synthetic: bool, message: str
) -> None:
    """A clinic database (a real patient; or only patients flagged synthetic but never
    marked a demo database) is refused by the command and the API; its file is unchanged."""
    url, db = _clinic(tmp_path, synthetic=synthetic)
    before = _digest(db)
    assert cli(["demo", "--scenarios", "--database", url, "-q"]) == 2
    assert message in capsys.readouterr().err
    with pytest.raises(InvalidInputError, match=message):
        build_scenario_database(Store(url, create=False), progress=False)
    assert _digest(db) == before
    assert [p.patient_id for p in Store(url).list_patients()] == ["PT-1001"]


def test_an_unmarked_database_with_only_an_audit_trail_is_refused(tmp_path: Path) -> None:
    """No patients but a history (a clinic's new database that has been used) is not empty:
    refused, not marked."""
    store = Store(f"sqlite:///{tmp_path / 'used.sqlite'}")
    store.log("login")
    with pytest.raises(InvalidInputError, match="not marked as a kaptools demo"):
        build_scenario_database(store, progress=False)
    assert not store.is_demo_database() and len(store.audit_entries()) == 1
    with pytest.raises(InvalidInputError, match="cannot be marked a demo database"):
        store.mark_demo_database()


def test_the_scenario_demo_refuses_the_clinic_default_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Naming KAPTOOLS_HOME/kaptools.sqlite is refused before the file is created."""
    monkeypatch.setenv("KAPTOOLS_HOME", str(tmp_path))
    clinic = tmp_path / "kaptools.sqlite"
    assert cli(["demo", "--scenarios", "--database", f"sqlite:///{clinic}", "-q"]) == 2
    assert not clinic.exists() or Store(f"sqlite:///{clinic}").is_empty()


def test_the_command_builds_the_scenarios_into_a_new_demo_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`kaptools demo --scenarios` lists each scenario with its rule; running it again on
    the same file is refused (it already has patients) and changes nothing."""
    url = f"sqlite:///{tmp_path / 'training.sqlite'}"
    assert cli(["demo", "--scenarios", "--database", url, "-q"]) == 0
    out = capsys.readouterr().out
    for s in SCENARIOS:
        assert f"{s.patient_id}  {s.title}  [{s.rule}]" in out
    store = Store(url)
    assert store.is_demo_database()
    assert [p.patient_id for p in store.list_patients()] == [s.patient_id for s in SCENARIOS]
    rows = len(store.audit_entries())
    assert cli(["demo", "--scenarios", "--database", url, "-q"]) == 2
    with pytest.raises(InvalidInputError, match="already holds the scenario patients"):
        build_scenario_database(store, progress=False)
    assert len(store.audit_entries()) == rows


def test_scenarios_can_join_the_demo_patients_of_a_marked_demo_database() -> None:
    """A database `kaptools demo` made (marked at creation) takes the scenarios too."""
    store = Store.in_memory()
    build_demo_database(store, n=2, progress=False)
    assert store.is_demo_database()
    build_scenario_database(store, progress=False)
    assert len(store.list_patients()) == 2 + len(SCENARIOS)


def test_scenario_lookup_and_deep_links() -> None:
    """By key or patient id; an unknown key names the choices; links open the dashboard."""
    s = scenario("plan-deviation")
    assert scenario(s.patient_id) is s
    assert (
        s.deep_link() == f"http://127.0.0.1:8866/voila/render/planner.ipynb?patient={s.patient_id}"
    )
    assert s.patient_id in s.summary and s.title in s._repr_html_()
    with pytest.raises(InvalidInputError, match="eligible"):
        scenario("nope")


@pytest.mark.parametrize("s", SCENARIOS[::5] + SCENARIOS[-6:], ids=lambda s: s.key)
def test_each_deep_link_opens_its_patient_on_its_dashboard(trained: Store, s: Scenario) -> None:
    """The scenario's link (`?patient=TRN-..`) opens that patient on the dashboard it names,
    with no error on the page."""
    from kaptools.ui import EligibilityApp, PlannerApp, TrendsApp

    apps = {"eligibility": EligibilityApp, "planner": PlannerApp, "trends": TrendsApp}
    app = apps[s.dashboard](trained, default_protocol(), defer=True)
    app.url.observe(app._on_url, names="search")
    app.url.search = "?" + s.deep_link().split("?", 1)[1]
    assert app.picker.value == s.patient_id
    assert app.notice.value == ""

"""A patient's symptom trends: every measure over time against its baseline.

This is what the symptom-trends dashboard shows, computed here so notebooks and
dashboards show the same thing and the dashboard holds no clinical logic.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from kaptools.alerts import Alert, StoredAlert, alerts_html, alerts_text
from kaptools.assessments import Assessment, assessments
from kaptools.printer import Html, escape, table_html
from kaptools.protocol import Protocol, ProtocolInfo, default_protocol
from kaptools.scores import Change, Instrument, InstrumentDefinition, compare, definition
from kaptools.sessions import SessionRecordStatus, dosing_sessions
from kaptools.store import Patient, Store

__all__ = ["MeasureTrend", "PatientTrends", "SessionMark", "patient_trends"]

MEASURE_COLUMNS = (
    "Measure",
    "Baseline",
    "Latest",
    "Change",
    "Response",
    "Remission",
    "Clinically important change",
    "Worsening",
)
SESSION_COLUMNS = ("Date", "Session", "Side effects (severity)")


@dataclass(frozen=True, slots=True)
class SessionMark:
    """A recorded dosing session, as marked on trend charts."""

    session_date: dt.date
    label: str
    side_effects: tuple[tuple[str, str], ...]  # (side effect, severity)
    record_id: str


@dataclass(frozen=True, slots=True)
class MeasureTrend:
    """One instrument's series for a patient; the first assessment is the baseline."""

    instrument: Instrument
    definition: InstrumentDefinition
    points: tuple[Assessment, ...]

    @property
    def baseline(self) -> Assessment:
        return self.points[0]

    @property
    def latest(self) -> Assessment:
        return self.points[-1]

    @property
    def change(self) -> Change | None:
        """Latest against baseline; None while there is only the baseline."""
        if len(self.points) < 2:
            return None
        return compare(self.baseline.result, self.latest.result)

    def response_threshold(self, protocol: Protocol) -> float:
        """The total at or below which the latest score counts as response."""
        frac = protocol.measures.response_reduction_min.value
        return self.baseline.result.total * (1 - frac)

    def item_changes(self) -> list[tuple[int, int, int]]:
        """(item number, baseline answer, latest answer) for every item."""
        b, latest = self.baseline.result.answers, self.latest.result.answers
        return [(i + 1, b[i], latest[i]) for i in range(len(b))]


@dataclass(frozen=True, slots=True)
class PatientTrends:
    patient: Patient
    measures: dict[Instrument, MeasureTrend]
    sessions: tuple[SessionMark, ...]
    protocol: ProtocolInfo
    open_alerts: tuple[StoredAlert, ...] = ()
    """The patient's stored alerts not yet acknowledged (any source), shown first."""

    @property
    def alert_history(self) -> tuple[tuple[Assessment, Alert], ...]:
        """Every safety alert of every assessment in the period, oldest first."""
        points = sorted(
            (p for m in self.measures.values() for p in m.points),
            key=lambda p: (p.administered_on, p.instrument.value),
        )
        return tuple((p, a) for p in points for a in p.result.alerts)

    @property
    def alerts(self) -> tuple[Alert, ...]:
        """Every safety alert in the period (not only the latest score's), oldest first."""
        return tuple(a for _, a in self.alert_history)

    @property
    def latest_alerts(self) -> tuple[Alert, ...]:
        """Alerts of the latest assessment of each measure."""
        out: list[Alert] = []
        for m in self.measures.values():
            out.extend(m.latest.result.alerts)
        return tuple(out)

    @property
    def summary(self) -> str:
        lines = alerts_text(self.open_alerts, heading="OPEN SAFETY ALERTS (until acknowledged)")
        lines.append(f"{self.patient.label}: {len(self.sessions)} dosing sessions recorded")
        for m in self.measures.values():
            ch = m.change
            lines.append(
                f"  {m.definition.title}: latest {m.latest.result.total} "
                f"({m.latest.result.band.label})" + (f", {ch.summary}" if ch else ", baseline only")
            )
        history = self.alert_history
        if history:
            lines.append(f"Safety alerts in this period ({len(history)}):")
            lines.extend(
                f"  {p.administered_on.isoformat()} ALERT: {a.summary}" for p, a in history
            )
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        """The patient's open alerts, the measures table and the dosing sessions: what the
        trends dashboard shows (it reuses :meth:`measures_html`, :meth:`items_html` and
        :meth:`sessions_html`)."""
        head = f"<p><strong>{escape(self.patient.label)}</strong></p>"
        alerts = alerts_html(self.open_alerts, heading="Open safety alerts (until acknowledged)")
        body = self.measures_html() + self.sessions_html()
        return f"<div class='kap-trends'>{alerts}{head}{body}</div>"

    def measures_html(self) -> str:
        """The per-measure table (baseline, latest and its band, change, response,
        remission, clinically important change, worsening) and this period's safety alerts."""
        if not self.measures:
            return "<p class='kap-muted'>No assessments recorded for this patient yet.</p>"
        rows = [_measure_row(m) for m in self.measures.values()]
        history = self.alert_history
        alerts = (
            "<div class='kap-period-alerts'><b>Safety alerts in this period "
            f"({len(history)})</b><ul>"
            + "".join(
                f"<li>{p.administered_on:%d %b %Y}: {escape(a.message)} "
                f"<span class='kap-muted'>{escape(a.action)}</span></li>"
                for p, a in history
            )
            + "</ul></div>"
            if history
            else ""
        )
        return table_html(MEASURE_COLUMNS, rows, css="kap-table kap-summary-table") + alerts

    def items_html(self, instrument: Instrument | None) -> str:
        """Baseline against latest answer of each item of ``instrument``: which items moved."""
        m = self.measures.get(instrument) if instrument else None
        if m is None:
            return "<p class='kap-muted'>No assessments of this measure.</p>"
        texts = m.definition.item_texts
        rows = []
        for item, base, latest in m.item_changes():
            moved = latest - base
            style = "kap-yes" if moved < 0 else ("kap-warn" if moved > 0 else "kap-no")
            text = texts[item - 1] if texts else f"Item {item}"
            badge = Html(f"<span class='kap-badge {style}'>{moved:+d}</span>")
            rows.append((item, text, base, latest, badge))
        columns = (
            "#",
            "Item",
            f"Baseline {m.baseline.administered_on:%d %b}",
            f"Latest {m.latest.administered_on:%d %b}",
            "Change",
        )
        return table_html(columns, rows, css="kap-table kap-item-table")

    def sessions_html(self) -> str:
        """Each recorded dosing session with its side effects (severity)."""
        if not self.sessions:
            return "<p class='kap-muted'>No dosing sessions recorded.</p>"
        rows = []
        for s in self.sessions:
            effects = ", ".join(f"{n.replace('_', ' ')} ({sev})" for n, sev in s.side_effects)
            none = Html("<span class=kap-muted>none recorded</span>")
            rows.append((f"{s.session_date:%a %d %b %Y}", s.label, effects or none))
        return table_html(SESSION_COLUMNS, rows, css="kap-table kap-side-effect-table")


def _yes_no(value: bool | None) -> str:
    if value is None:
        return "<span class='kap-badge kap-no'>not defined</span>"
    return (
        "<span class='kap-badge kap-yes'>yes</span>"
        if value
        else "<span class='kap-badge kap-no'>no</span>"
    )


def _measure_row(m: MeasureTrend) -> tuple[object, ...]:
    ch = m.change
    latest = m.latest.result
    change = (
        "–"
        if ch is None
        else (
            f"{ch.delta:+d}"
            + ("" if ch.percent_change is None else f" ({ch.percent_change:+.0f} %)")
        )
    )
    marks: tuple[object, ...] = (
        ("–",) * 4
        if ch is None
        else tuple(Html(_yes_no(v)) for v in (ch.response, ch.remission, ch.mcid_met, ch.worsening))
    )
    return (
        m.definition.title,
        Html(
            f"{m.baseline.result.total} "
            f"<span class='kap-muted'>{m.baseline.administered_on:%d %b %Y}</span>"
        ),
        Html(
            f"<b>{latest.total}</b> {escape(latest.band.label)} "
            f"<span class='kap-muted'>{m.latest.administered_on:%d %b %Y}</span>"
        ),
        change,
        *marks,
    )


def _session_marks(store: Store, patient_id: str) -> tuple[SessionMark, ...]:
    """The patient's recorded dosing sessions (newest version of each), in date order.

    Labelled "Dose n" by their order; a record not yet marked complete says so.
    Side effects are ``(SideEffect value, Severity value)`` pairs.
    """
    saved = sorted(dosing_sessions(store, patient_id), key=lambda s: s.session.session_date)
    marks = []
    for n, s in enumerate(saved, start=1):
        session = s.session
        open_ = session.status is not SessionRecordStatus.COMPLETE
        marks.append(
            SessionMark(
                session.session_date,
                f"Dose {n}" + (" (record in progress)" if open_ else ""),
                tuple((r.effect.value, r.severity.value) for r in session.side_effects or ()),
                s.record_id,
            )
        )
    return tuple(marks)


def patient_trends(
    store: Store, patient_id: str, *, protocol: Protocol | None = None
) -> PatientTrends:
    """Every measure of a patient over time, with the recorded dosing sessions."""
    protocol = protocol or default_protocol()
    patient = store.get_patient(patient_id)
    by_inst: dict[Instrument, list[Assessment]] = {}
    for a in assessments(store, patient_id, protocol=protocol):
        by_inst.setdefault(a.instrument, []).append(a)
    measures = {
        inst: MeasureTrend(inst, definition(inst), tuple(points))
        for inst, points in sorted(by_inst.items(), key=lambda kv: list(Instrument).index(kv[0]))
    }
    return PatientTrends(
        patient,
        measures,
        _session_marks(store, patient_id),
        protocol.info,
        tuple(store.patient_alerts(patient_id, open_only=True)),
    )

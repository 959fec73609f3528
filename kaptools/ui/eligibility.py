"""The eligibility dashboard: one patient walked through screening, step by step.

The clinician answers five steps (demographics; diagnoses and antidepressant
history; current medications; the medical-history checklist; vitals and symptom
scores). Every change re-screens the form with :func:`kaptools.screening.screen`;
the status, findings, trial table and safety alerts shown are exactly what the
screening package returns. Nothing clinical is decided here: this module turns
widget values into a :class:`~kaptools.screening.ScreeningRecord` (the record
validates them) and renders results.

Unknown is never "no": every yes/no question starts as "unknown" and every number
starts empty.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import anywidget
import ipywidgets as w
import traitlets
from IPython.display import display
from pydantic import ValidationError

from kaptools.alerts import Alert, StoredAlert, alerts_html, alerts_text
from kaptools.errors import InvalidInputError, KaptoolsError, NotFoundError
from kaptools.protocol import Protocol
from kaptools.scores import Instrument, definition
from kaptools.screening import (
    Answer,
    AntidepressantTrial,
    CssrsQuestion,
    CssrsScreener,
    Finding,
    HistoryQuestion,
    ListStatus,
    ScreeningRecord,
    ScreeningResult,
    Severity,
    Sex,
    StopReason,
    TrialOutcome,
    TrialVerdict,
    drug_tables,
    latest_screening,
    load_screening,
    override_finding,
    save_screening,
    screen,
)
from kaptools.screening.names import DrugName, resolve_drug_name
from kaptools.screening.record import record_problems
from kaptools.screening.result import ROUTE_LABELS
from kaptools.store import Patient, Store
from kaptools.ui.common import (
    CSS,
    ErrorBox,
    PatientAlertsPanel,
    PatientApp,
    escape,
    guarded,
    lock_author,
)
from kaptools.vocabulary import NO_ANSWER

__all__ = ["EligibilityApp", "SummaryExport", "summary_document", "summary_text"]

DISCLAIMER = (
    "Decision support, never a decision: kaptools says whether the answers meet the "
    "protocol's criteria; the clinician decides. Synthetic demo data only."
)

#: Styles of this dashboard (the shared ones are in kaptools.ui.common.CSS).
ELIGIBILITY_CSS = """
<style>
.kap-status-panel .widget-html-content, .kap-findings .widget-html-content,
.kap-trials .widget-html-content, .kap-saved-offer .widget-html-content,
.kap-hint .widget-html-content { line-height: 1.4; }
.kap-findings-group > summary { font-weight: 600; margin: 0.7em 0 0.2em; cursor: pointer; }
.kap-status-panel { border: 1px solid #d0d7de; border-radius: 8px; padding: 0.5em 0.9em;
  margin: 0.3em 0; background: #fafbfc; }
.kap-status-line { font-size: 1.15em; margin: 0.1em 0 0.3em; }
.kap-badge-status { display: inline-block; font-family: ui-monospace, monospace;
  font-weight: 600; padding: 2px 10px; border-radius: 12px; margin-right: 0.5em; }
.kap-status-eligible { background: #e6f4ea; color: #0a5c2c; }
.kap-status-eligible_with_cautions { background: #fef7e0; color: #7a4f01; }
.kap-status-incomplete { background: #e8eaed; color: #3c4043; }
.kap-status-not_eligible { background: #fce8e6; color: #8a0010; }
.kap-status-not_screened { background: #fff3f3; color: #8a0010; }
.kap-counts span { margin-right: 1.1em; }
.kap-finding { border-left: 4px solid #9aa0a6; background: #fff; padding: 0.25em 0.6em;
  margin: 0.25em 0; font-size: 0.93em; }
.kap-finding-exclusion { border-left-color: #b00020; }
.kap-finding-missing { border-left-color: #5f6368; }
.kap-finding-caution { border-left-color: #e37400; }
.kap-finding-info { border-left-color: #1a73e8; }
.kap-finding.kap-overridden { background: #f8f9fa; }
.kap-finding-meta { color: #555; font-size: 0.88em; }
.kap-finding-override { color: #174ea6; margin-top: 0.2em; }
.kap-step { padding: 0.4em 0.2em; }
.kap-question { align-items: center; margin: 1px 0; padding: 1px 4px; }
.kap-question .widget-html { margin-left: 0.6em; }
.kap-unanswered { background: #fff8e1; border-left: 4px solid #f2a900; }
.kap-invalid input, .kap-invalid select, input.kap-invalid { border: 2px solid #b00020 !important;
  background: #fff3f3 !important; }
.kap-row-header { color: #444; font-size: 0.85em; font-weight: 600; white-space: nowrap; }
.kap-trial-table td { vertical-align: top; }
.kap-trial-why { min-width: 16em; }
.kap-download button:disabled { opacity: 0.45; }
/* the shared banner's source notes are grey: keep them readable on the critical red */
.kap-hint { color: #555; font-size: 0.88em; margin: 0.1em 0 0.4em; }
.kap-section-title h3 { margin: 0.9em 0 0.2em; }
.kap-patient-header { font-size: 1.02em; margin: 0.2em 0; }
.kap-saved-offer { background: #e8f0fe; padding: 0.3em 0.6em; border-radius: 6px; }
</style>
"""

_SEVERITY_HEADINGS = {
    Severity.EXCLUSION: "Exclusions",
    Severity.MISSING: "Answers needed",
    Severity.CAUTION: "Cautions",
    Severity.INFO: "For information",
}
_SEVERITIES = sorted(Severity, key=lambda s: s.rank)
_UNFOLDED_MISSING_MAX = 4
"""Up to this many "answers needed" findings are shown open; more are folded."""
_VERDICT_WORDS = {
    TrialVerdict.FAILED_ADEQUATE: "counted: failed adequate trial",
    TrialVerdict.NOT_FAILED_ADEQUATE: "not counted",
    TrialVerdict.NOT_JUDGED: "not judged (not counted)",
}
NOT_SCREENED = "not_screened"
"""Text of the status badge while the form holds invalid input (not a screening status)."""

_NOT_ASKED = NO_ANSWER
_ANSWER_OPTIONS = [("yes", Answer.YES), ("no", Answer.NO), ("unknown", Answer.UNKNOWN)]
_CSSRS_OPTIONS = [("not asked", _NOT_ASKED), *_ANSWER_OPTIONS]
_PHQ9_NOT_ASKED = NO_ANSWER
"""The PHQ-9 dropdowns' "not asked" choice (:data:`kaptools.vocabulary.NO_ANSWER`)."""
_LIST_OPTIONS = [("unknown", ListStatus.UNKNOWN), ("recorded below", ListStatus.RECORDED)]

#: Clinician-facing names of the record's fields (error messages name them).
FIELD_LABELS = {
    "age_years": "Age (years)",
    "sex": "Sex",
    "weight_kg": "Weight (kg)",
    "pregnant": "Currently pregnant",
    "breastfeeding": "Currently breastfeeding",
    "pregnancy_prevention_discussed": "Contraception discussed / pregnancy test done",
    "diagnoses": "Diagnosis (ICD-10-CM)",
    "antidepressant_trials": "Antidepressant trial",
    "current_medications": "Current medication",
    "systolic_bp_mmhg": "Systolic blood pressure (mmHg)",
    "diastolic_bp_mmhg": "Diastolic blood pressure (mmHg)",
    "heart_rate_bpm": "Heart rate (beats/min)",
    "phq9": "PHQ-9",
    "cssrs": "C-SSRS",
    "history": "Medical history",
}
_ROW_FIELD_LABELS = {
    "drug": "drug",
    "daily_dose_mg": "daily dose (mg)",
    "weeks": "weeks",
    "outcome": "outcome",
    "stop_reason": "reason stopped",
}
_NUMBER_RE = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")


def _words(value: str) -> str:
    return value.replace("_", " ")


def _num(value: float | None) -> str:
    if value is None:
        return ""
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


# ---------------------------------------------------------------------------
# Rendering results (no clinical logic: everything shown comes from the result)


def status_badge(status: str, css: str = "kap-eligibility-status") -> str:
    """A status badge; the page's one ``kap-eligibility-status`` element has the status value
    exactly as its text. Other badges (before overrides, a saved screening) use ``css``."""
    return (
        f"<span class='kap-badge-status {css} kap-status-{escape(status)}'>{escape(status)}</span>"
    )


def finding_html(f: Finding) -> str:
    """One finding: message, what made it fire, source, and any override."""
    classes = f"kap-finding kap-finding-{escape(f.severity.value)}"
    over = ""
    if f.override is not None:
        classes += " kap-overridden"
        o = f.override
        over = (
            f"<div class='kap-finding-override'><b>Overridden</b> by {escape(o.author)} on "
            f"{o.created_at:%Y-%m-%d %H:%M} UTC: “{escape(o.reason)}”. The protocol's finding "
            f"is kept above; it no longer counts towards the status.</div>"
        )
    detail = f"<div>Why: {escape(f.detail)}</div>" if f.detail else ""
    if f.route_note:
        detail += f"<div class='kap-finding-routes'>By route: {escape(f.route_note)}</div>"
    return (
        f"<div class='{classes}' data-rule-id='{escape(f.rule_id)}'>"
        f"<div class='kap-finding-message'>{escape(f.message)}</div>{detail}"
        f"<div class='kap-finding-meta'>Source: {escape(f.source)} · rule "
        f"<code>{escape(f.rule_id)}</code></div>{over}</div>"
    )


def findings_html(result: ScreeningResult | None, *, fold: bool = True) -> str:
    """The findings, grouped by severity (exclusions first); ``fold`` folds a long
    list of unanswered questions (the form marks them too)."""
    if result is None:
        return "<p class='kap-muted'>No findings: the form has input errors (see above).</p>"
    if not result.findings:
        return "<p class='kap-muted'>No findings.</p>"
    groups = []
    for sev in _SEVERITIES:
        found = result.by_severity(sev)
        if found:
            folded = fold and sev is Severity.MISSING and len(found) > _UNFOLDED_MISSING_MAX
            groups.append(
                f"<details class='kap-findings-group kap-findings-{escape(sev.value)}'"
                f"{'' if folded else ' open'}><summary>{escape(_SEVERITY_HEADINGS[sev])} "
                f"({len(found)}){' (click to show)' if folded else ''}</summary>"
                + "".join(finding_html(f) for f in found)
                + "</details>"
            )
    return "".join(groups)


def routes_html(result: ScreeningResult | None) -> str:
    """Per route the clinic offers: whether the criteria are met, and the rules that differ."""
    if result is None:
        return ""
    rows = "".join(
        f"<tr class='kap-route kap-route-{escape(r.value)}'><td>{escape(ROUTE_LABELS[r])}</td>"
        f"<td>{status_badge(st.value, f'kap-route-status kap-route-status-{r.value}')} "
        f"{escape(st.label)}</td><td>{escape(why) or '—'}</td></tr>"
        for r, st, why in result.route_rows()
    )
    return (
        "<table class='kap-table kap-routes'><caption>By route (the status above is the best "
        "route's)</caption><tr><th>Route</th><th>Status</th><th>Rules that differ by route</th>"
        f"</tr>{rows}</table>"
    )


def diagnoses_html(result: ScreeningResult | None) -> str:
    """Each recorded ICD-10-CM code with its description."""
    if result is None or not result.diagnoses:
        return ""
    items = "".join(
        f"<li class='kap-dx-described'><code>{escape(c)}</code> {escape(d)}</li>"
        for c, d in result.diagnoses
    )
    return f"<ul class='kap-dx-descriptions'>{items}</ul>"


def trials_html(result: ScreeningResult | None, protocol: Protocol) -> str:
    """Which antidepressant trials counted towards the indication, and why."""
    if result is None:
        return ""
    needed = protocol.screening.thresholds.failed_adequate_trials_min
    trials = result.record.antidepressant_trials
    if trials is None:
        head = "Trial history: unknown (not recorded)."
    else:
        head = (
            f"Failed adequate trials counted: <b>{result.failed_adequate_trials}</b> "
            f"(the protocol's primary indication needs at least {escape(_num(needed.value))})."
        )
    if not result.trials:
        none = "" if trials is None else " No trials recorded."
        return f"<p class='kap-trial-count'>{head}{none}</p>"
    rows = "".join(
        f"<tr class='kap-trial-verdict-{escape(t.verdict.value)}'><td>{t.number}</td>"
        f"<td>{escape(t.drug_resolution or t.drug)}</td>"
        f"<td>{escape(_num(t.daily_dose_mg)) or '?'} "
        f"<span class='kap-muted'>({escape(_num(t.min_daily_dose_mg)) or 'not in table'})</span>"
        f"</td><td>{escape(_num(t.weeks)) or '?'}</td>"
        f"<td>{escape(_words(t.outcome.value))}<br><span class='kap-muted'>stopped: "
        f"{escape(_words(t.stop_reason.value))}</span></td>"
        f"<td><b>{escape(_VERDICT_WORDS[t.verdict])}</b></td>"
        f"<td class='kap-trial-why'>{'<br>'.join(escape(r) for r in t.reasons)}</td></tr>"
        for t in result.trials
    )
    return (
        f"<p class='kap-trial-count'>{head}</p>"
        "<table class='kap-table kap-trial-table'><tr><th>#</th><th>Drug</th>"
        "<th>mg/day (minimum adequate)</th><th>Weeks</th><th>Outcome</th><th>Verdict</th>"
        "<th>Why</th></tr>" + rows + "</table>"
    )


def status_html(result: ScreeningResult | None, protocol: Protocol, saved_note: str = "") -> str:
    """The status panel: badge, plain wording, counts per severity, protocol, save state."""
    proto = (
        f"<span class='kap-protocol'>Protocol {escape(protocol.info.name)} "
        f"version {escape(protocol.info.version)}</span>"
    )
    if result is None:
        return (
            f"<div class='kap-status-line'>{status_badge(NOT_SCREENED)} Not screened: correct "
            f"the input named below.</div><div class='kap-muted'>{proto}</div>"
        )
    counts = []
    for sev in _SEVERITIES:
        found = result.by_severity(sev)
        active = sum(not f.overridden for f in found)
        over = len(found) - active
        extra = f" (+{over} overridden)" if over else ""
        counts.append(
            f"<span class='kap-count-{escape(sev.value)}'>{escape(_SEVERITY_HEADINGS[sev])}: "
            f"<b>{active}</b>{extra}</span>"
        )
    before = ""
    if result.overridden:
        original = result.original_status or result.status
        before = (
            f"<div class='kap-original-status'>Before clinician overrides the protocol gave "
            f"{status_badge(original.value, 'kap-original-status-badge')} "
            f"{escape(original.label)}.</div>"
        )
    alerts = ""
    if result.alerts:
        alerts = (
            f"<div class='kap-alert-count'><b>{len(result.alerts)} safety alert(s)</b>: see the "
            "banner above; they are separate from the status.</div>"
        )
    return (
        f"<div class='kap-status-line'>{status_badge(result.status.value)} "
        f"<span class='kap-status-label'>{escape(result.status.label)}</span></div>{before}"
        f"<div class='kap-counts'>{''.join(counts)}</div>{alerts}{routes_html(result)}"
        f"<div class='kap-muted'>{proto} · {escape(saved_note)}</div>"
    )


@dataclass(frozen=True)
class SavedScreening:
    """A screening as stored: its record id, who saved it and when, and the result
    with its overrides applied (``load_screening``)."""

    record_id: str
    author: str
    saved_at: dt.datetime
    result: ScreeningResult

    @property
    def note(self) -> str:
        return (
            f"saved {self.saved_at:%Y-%m-%d %H:%M} UTC by {self.author} "
            f"(record {self.record_id[:8]})"
        )


def _header_lines(
    patient: Patient | None, screened_by: str, saved: SavedScreening | None, at: dt.datetime
) -> list[tuple[str, str]]:
    who = "–" if patient is None else f"{patient.display_name} ({patient.patient_id})"
    if patient is not None and patient.synthetic:
        who += ", synthetic"
    return [
        ("Patient", who),
        ("Summary made", f"{at:%Y-%m-%d %H:%M} UTC"),
        ("Screened by", screened_by or "–"),
        ("Saved", "not saved" if saved is None else saved.note.removeprefix("saved ")),
    ]


def summary_text(
    result: ScreeningResult,
    *,
    patient: Patient | None,
    screened_by: str,
    saved: SavedScreening | None = None,
    at: dt.datetime | None = None,
    open_alerts: Sequence[StoredAlert] = (),
) -> str:
    """A plain-text screening summary: who, when, protocol, the patient's open stored
    alerts, status, this screening's alerts, findings with their sources, and the trial
    verdicts."""
    at = at or dt.datetime.now(dt.UTC)
    p = result.protocol
    lines = ["KAP eligibility screening summary", DISCLAIMER, ""]
    lines += [f"{k}: {v}" for k, v in _header_lines(patient, screened_by, saved, at)]
    stored = alerts_text(
        open_alerts, heading="OPEN SAFETY ALERTS OF THIS PATIENT (until acknowledged)"
    )
    if stored:
        lines += ["", *stored]
    lines += [
        f"Protocol: {p.name} version {p.version}, SHA-256 {p.sha256}",
        "",
        f"Status: {result.status.value} ({result.status.label})",
    ]
    if result.overridden:
        original = result.original_status or result.status
        lines.append(f"Before clinician overrides: {original.value} ({original.label})")
    lines += ["", "BY ROUTE (the status above is the best route's)"]
    for route, st, why in result.route_rows():
        differs = f"; differs by route: {why}" if why else ""
        lines.append(f"- {ROUTE_LABELS[route]}: {st.value} ({st.label}){differs}")
    if result.diagnoses:
        lines += ["", "DIAGNOSES (ICD-10-CM)", *(f"- {c} {d}" for c, d in result.diagnoses)]
    if result.alerts:
        lines += ["", "SAFETY ALERTS", *(f"- {a.summary}" for a in result.alerts)]
    for sev in _SEVERITIES:
        found = result.by_severity(sev)
        if found:
            lines += ["", f"{_SEVERITY_HEADINGS[sev].upper()} ({len(found)})"]
        for f in found:
            lines.append(f"- {f.message}")
            if f.detail:
                lines.append(f"  Why: {f.detail}")
            lines.append(f"  Source: {f.source} (rule {f.rule_id})")
            if f.override is not None:
                o = f.override
                lines.append(
                    f"  OVERRIDDEN by {o.author} on {o.created_at:%Y-%m-%d %H:%M} UTC: {o.reason}"
                )
    if result.trials:
        lines += ["", f"ANTIDEPRESSANT TRIALS (failed adequate: {result.failed_adequate_trials})"]
        lines += [f"- {t.summary}" for t in result.trials]
    return "\n".join(lines) + "\n"


_PRINT_CSS = """
body { font-family: system-ui, -apple-system, 'Segoe UI', sans-serif; margin: 1.5em;
  max-width: 60em; color: #111; }
table { border-collapse: collapse; font-size: 0.9em; }
th, td { border: 1px solid #bbb; padding: 3px 6px; text-align: left; vertical-align: top; }
.kap-alert { border: 2px solid #b00020; padding: 0.4em 0.7em; margin: 0.4em 0; }
.kap-finding { border-left: 4px solid #999; padding: 0.2em 0.6em; margin: 0.3em 0; }
.kap-finding-exclusion { border-left-color: #b00020; }
.kap-finding-caution { border-left-color: #e37400; }
.kap-eligibility-status { font-family: monospace; font-weight: bold; }
.kap-disclaimer { border: 1px solid #999; padding: 0.4em; }
@media print { .kap-no-print { display: none; } body { margin: 0; } }
"""


def summary_document(
    result: ScreeningResult,
    protocol: Protocol,
    *,
    patient: Patient | None,
    screened_by: str,
    saved: SavedScreening | None = None,
    at: dt.datetime | None = None,
    open_alerts: Sequence[StoredAlert] = (),
) -> str:
    """A stand-alone, print-friendly HTML summary (with the patient's open stored alerts);
    every text is escaped."""
    at = at or dt.datetime.now(dt.UTC)
    p = result.protocol
    head = "".join(
        f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>"
        for k, v in _header_lines(patient, screened_by, saved, at)
    )
    head += (
        f"<tr><th>Protocol</th><td>{escape(p.name)} version {escape(p.version)}<br>"
        f"<small>SHA-256 {escape(p.sha256)}</small></td></tr>"
    )
    alerts = alerts_html(
        open_alerts, heading="Open safety alerts of this patient (until acknowledged)"
    )
    if result.alerts:
        alerts += "<h2>Safety alerts</h2>" + "".join(a._repr_html_() for a in result.alerts)
    before = ""
    if result.overridden:
        original = result.original_status or result.status
        before = (
            f"<p>Before clinician overrides: "
            f"<span class='kap-eligibility-status'>{escape(original.value)}</span> "
            f"{escape(original.label)}</p>"
        )
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>Eligibility screening summary</title><style>{_PRINT_CSS}</style></head><body>"
        "<h1>KAP eligibility screening summary</h1>"
        f"<p class='kap-disclaimer'>{escape(DISCLAIMER)}</p>"
        f"<table>{head}</table>{alerts}"
        f"<h2>Status</h2><p><span class='kap-eligibility-status'>"
        f"{escape(result.status.value)}</span> {escape(result.status.label)}</p>{before}"
        f"{routes_html(result)}"
        f"<h2>Diagnoses (ICD-10-CM)</h2>{diagnoses_html(result) or '<p>None recorded.</p>'}"
        f"<h2>Findings</h2>{findings_html(result, fold=False)}"
        f"<h2>Antidepressant trials</h2>{trials_html(result, protocol)}"
        "<p class='kap-no-print'><button onclick='window.print()'>Print</button></p>"
        "</body></html>"
    )


class SummaryExport(anywidget.AnyWidget):
    """Download (HTML or text) and print buttons for the screening summary.

    The summary is sent once per change; the browser builds the files from it.
    """

    _esm = """
    function button(text, cls) {
      const b = document.createElement("button");
      b.className = "jupyter-button widget-button " + cls;
      b.textContent = text;
      b.style.marginRight = "0.5em";
      b.style.width = "auto";
      return b;
    }
    function download(text, type, name) {
      const url = URL.createObjectURL(new Blob([text], { type }));
      const a = document.createElement("a");
      a.href = url; a.download = name; a.style.display = "none";
      document.body.appendChild(a); a.click(); a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 60000);
    }
    export default {
      render({ model, el }) {
        const html = button("Download summary (HTML)", "kap-download-html");
        const text = button("Download summary (text)", "kap-download-text");
        const print = button("Print summary", "kap-print");
        html.onclick = () => { model.send({ exported: "download_html" });
                               download(model.get("html"), "text/html",
                                        model.get("filename") + ".html"); };
        text.onclick = () => { model.send({ exported: "download_text" });
                               download(model.get("text"), "text/plain",
                                        model.get("filename") + ".txt"); };
        print.onclick = () => {
          model.send({ exported: "print" });
          const win = window.open("", "_blank");
          if (!win) return;
          win.document.open(); win.document.write(model.get("html")); win.document.close();
          win.focus(); win.print();
        };
        const sync = () => {
          const off = !model.get("html");
          for (const b of [html, text, print]) b.disabled = off;
        };
        model.on("change:html", sync); sync();
        el.append(html, text, print);
      }
    };
    """
    html = traitlets.Unicode("").tag(sync=True)
    text = traitlets.Unicode("").tag(sync=True)
    filename = traitlets.Unicode("screening-summary").tag(sync=True)

    #: What the browser may report (anything else is ignored).
    EXPORT_ACTIONS = ("download_html", "download_text", "print")

    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        self.add_class("kap-download")
        #: called with the action when the browser downloads or prints (audit log)
        self.on_export: Callable[[str], None] | None = None
        self.on_msg(self._on_msg)

    def _on_msg(self, _widget: Any, content: Any, _buffers: Any) -> None:
        action = content.get("exported") if isinstance(content, dict) else None
        if action in self.EXPORT_ACTIONS and self.on_export is not None:
            self.on_export(action)


# ---------------------------------------------------------------------------
# Form building blocks


def _text(placeholder: str, width: str = "9em", css: str = "") -> w.Text:
    box = w.Text(placeholder=placeholder, continuous_update=False, layout=w.Layout(width=width))
    if css:
        box.add_class(css)
    return box


def _labelled(label: str, widget: w.Widget, hint: str = "") -> w.HBox:
    widget.layout.flex = "0 0 auto"
    parts = [w.HTML(f"<span>{escape(label)}</span>", layout=w.Layout(width="17em")), widget]
    if hint:
        parts.append(w.HTML(f"<span class='kap-muted'>&nbsp;{escape(hint)}</span>"))
    return w.HBox(parts)


def _toggle(options: Sequence[tuple[str, Any]], value: Any, css: str) -> w.ToggleButtons:
    tb = w.ToggleButtons(
        options=list(options),
        value=value,
        style={"button_width": "80px"},
        layout=w.Layout(flex="0 0 auto"),
    )
    tb.add_class(css)
    return tb


class _Row:
    """One repeating input row (a diagnosis, a trial, a medication) and its remove button."""

    def __init__(self, fields: dict[str, w.Widget], css: str):
        self.fields = fields
        self.remove = w.Button(description="Remove", layout=w.Layout(width="6em"))
        self.remove.add_class("kap-remove-row")
        self.box = w.HBox([*fields.values(), self.remove])
        self.box.add_class(css)

    def close(self) -> None:
        for widget in (*self.fields.values(), self.remove, self.box):
            widget.close()


class _DrugRow(_Row):
    """A trial or medication row that shows how its drug name resolved, and offers the
    "did you mean" names of an unrecognised one as buttons the clinician can accept."""

    def __init__(self, fields: dict[str, w.Widget], css: str):
        super().__init__(fields, css)
        self.resolution = w.HTML()
        self.resolution.add_class("kap-drug-resolution")
        self.accept = w.HBox()
        self.accept.add_class("kap-drug-suggestions")
        line = self.box
        self.box = w.VBox([line, w.HBox([self.resolution, self.accept])])
        self.box.add_class(css)
        line.remove_class(css)
        fields["drug"].observe(lambda _c: self.show_resolution(), names="value")

    def show_resolution(self) -> None:
        """Show "→ ingredient (how)" or "not recognised", with one button per suggestion."""
        text = str(self.fields["drug"].value).strip()
        old = self.accept.children
        if not text:
            self.resolution.value, self.accept.children = "", ()
        else:
            name = resolve_drug_name(text)
            self.resolution.value = drug_resolution_html(name)
            buttons = []
            for suggestion, label in zip(name.suggestions, name.suggestion_texts, strict=True):
                button = w.Button(description=f"Use {label}", layout=w.Layout(width="auto"))
                button.add_class("kap-accept-suggestion")
                button.on_click(lambda _b, s=suggestion: self._accept(s))
                buttons.append(button)
            self.accept.children = tuple(buttons)
        for button in old:
            button.close()

    def _accept(self, suggestion: str) -> None:
        self.fields["drug"].value = suggestion

    def close(self) -> None:
        for widget in (*self.accept.children, self.accept, self.resolution):
            widget.close()
        super().close()


def drug_resolution_html(name: DrugName) -> str:
    """How one entered drug name resolved, for a trial or medication row."""
    if name.resolved:
        return (
            f"<span class='kap-resolved'>→ {escape(name.ingredient_text)} "
            f"<small>({escape('; '.join((name.how.value, *name.notes)))})</small></span>"
        )
    found = f"→ {escape(name.ingredient_text)}; " if name.ingredients else ""
    missing = ", ".join(name.unresolved_parts) or name.entered
    hint = "did you mean:" if name.suggestions else "no close name: write the ingredient"
    return (
        f"<span class='kap-unresolved'>{found}<b>{escape(missing)}</b> not recognised "
        f"(never guessed); {hint}</span>"
    )


class _RowList:
    """Rows with add/remove buttons; ``on_change`` runs after any change to the rows."""

    def __init__(
        self,
        make: Callable[[], dict[str, w.Widget]],
        *,
        css: str,
        add_label: str,
        header: Sequence[tuple[str, str]],
        on_change: Callable[[], None],
        row: type[_Row] = _Row,
    ):
        self._row = row
        self._make = make
        self._css = css
        self._on_change = on_change
        self.rows: list[_Row] = []
        self.box = w.VBox()
        self.header = w.HBox(
            [
                w.HTML(
                    f"<span class='kap-row-header'>{escape(text)}</span>",
                    layout=w.Layout(width=width),
                )
                for text, width in header
            ]
        )
        self.add_button = w.Button(description=add_label, icon="plus")
        self.add_button.add_class(f"kap-add-{css.removeprefix('kap-').removesuffix('-row')}")
        self.add_button.on_click(lambda _b: self.add())
        self._sync_header()

    def add(self, values: Mapping[str, Any] | None = None) -> _Row:
        row = self._row(self._make(), self._css)
        for name, value in (values or {}).items():
            row.fields[name].value = value
        for widget in row.fields.values():
            widget.observe(lambda _c: self._on_change(), names="value")
        row.remove.on_click(lambda _b, row=row: self.remove(row))
        self.rows.append(row)
        self.box.children = [r.box for r in self.rows]
        self._sync_header()
        self._on_change()
        return row

    def remove(self, row: _Row) -> None:
        self.rows.remove(row)
        self.box.children = [r.box for r in self.rows]
        row.close()
        self._sync_header()
        self._on_change()

    def clear(self) -> None:
        for row in list(self.rows):
            self.remove(row)

    def _sync_header(self) -> None:
        self.header.layout.display = None if self.rows else "none"

    def widget(self) -> w.VBox:
        return w.VBox([self.header, self.box, self.add_button])


@dataclass
class _Problem:
    """One input problem: the field as the clinician knows it, what is wrong, the widgets."""

    label: str
    message: str
    widgets: tuple[w.Widget, ...]

    @property
    def text(self) -> str:
        return f"{self.label}: {self.message}"


# ---------------------------------------------------------------------------
# The App


class EligibilityApp(PatientApp):
    """Screening one patient against the protocol. ``app.container`` is what the dashboard shows.

    Every input change goes through one path (:meth:`refresh`): read the form into a
    :class:`ScreeningRecord`, screen it, render the result. Saving and overriding
    use the screening package's :func:`save_screening` and :func:`override_finding`.
    """

    def __init__(
        self,
        store: Store,
        protocol: Protocol,
        *,
        patient_id: str | None = None,
        author: str | None = None,
        today: dt.date | None = None,
        defer: bool = False,
    ):
        self._init_patient(store, protocol, defer=defer)
        self.today = today
        self.patient: Patient | None = None
        self.result: ScreeningResult | None = None
        """The screening of the form as it is now (None while the form has input errors)."""
        self.shown: ScreeningResult | None = None
        """What the panel shows: the saved screening (with overrides) when the form matches it."""
        self.saved: SavedScreening | None = None
        self.latest_saved: SavedScreening | None = None
        """The patient's latest saved screening, offered for loading into the form."""
        self._offer_error = ""
        self.problems: list[_Problem] = []
        self._holding = 0
        self._invalid: set[w.Widget] = set()

        self.alert_panel = PatientAlertsPanel(
            store,
            protocol,
            author=lambda: self.screened_by.value,
            on_change=lambda: self._render_export(),
        )
        self.banner = self.alert_panel.banner
        self.patient_header = w.HTML()
        self.patient_header.add_class("kap-patient-header")
        self.saved_offer = w.HTML()
        self.saved_offer.add_class("kap-saved-offer")
        self.load_button = w.Button(
            description="Load it into the form", icon="upload", layout=w.Layout(width="14em")
        )
        self.load_button.add_class("kap-load-saved")
        self.offer_box = w.HBox([self.saved_offer, self.load_button])
        self.status_panel = w.HTML()
        self.status_panel.add_class("kap-status-panel")
        self.form_error = ErrorBox()
        self.form_error.add_class("kap-form-error")
        self.findings = w.HTML()
        self.findings.add_class("kap-findings")
        self.trial_table = w.HTML()
        self.trial_table.add_class("kap-trials")

        self._build_form()

        # Save, summary, overrides
        self.screened_by = w.Text(
            description="Screened by",
            value=author or store.identity.user,
            style={"description_width": "initial"},
            layout=w.Layout(width="22em"),
            continuous_update=False,
        )
        self.screened_by.add_class("kap-screened-by")
        lock_author(self.screened_by)
        self.screened_by.observe(lambda _c: self._render_export(), names="value")
        self.save_button = w.Button(
            description="Save screening", button_style="primary", icon="save"
        )
        self.save_button.add_class("kap-save")
        self.save_message = ErrorBox()
        self.save_message.add_class("kap-save-message")
        self.export = SummaryExport()
        self.export.on_export = lambda action: self.log_export(
            action, kind="screening", detail="screening summary"
        )
        self.override_rule = w.Dropdown(description="Finding", layout=w.Layout(width="640px"))
        self.override_rule.add_class("kap-override-rule")
        self.override_reason = w.Textarea(
            placeholder=(
                "Why the finding does not apply to this patient (at least "
                f"{_num(protocol.screening.thresholds.override_reason_min_length.value)} "
                "characters)"
            ),
            layout=w.Layout(width="640px", height="4.5em"),
        )
        self.override_reason.add_class("kap-override-reason")
        self.override_button = w.Button(description="Override finding", icon="pencil")
        self.override_button.add_class("kap-override-button")
        self.override_note = w.HTML()
        self.override_note.add_class("kap-override-note")
        self.override_message = ErrorBox()
        self.override_message.add_class("kap-override-message")

        self.load_button.on_click(self._on_load_saved)
        self.save_button.on_click(self._on_save)
        self.override_button.on_click(self._on_override)
        self.clear_button.on_click(self._on_clear)

        self.container = self._layout()
        if defer:
            self.patient_header.value = "<p class='kap-muted kap-loading'>Loading…</p>"
            self.refresh()
        else:
            self.select_patient(patient_id)

    # ---- construction -------------------------------------------------------
    def _build_form(self) -> None:
        changed = self._on_change
        # 1. Demographics
        self.age = _text("not recorded", css="kap-age")
        self.sex = w.Dropdown(
            options=[("— not recorded —", Sex.UNKNOWN)]
            + [(s.value, s) for s in Sex if s is not Sex.UNKNOWN],
            value=Sex.UNKNOWN,
            layout=w.Layout(width="12em"),
        )
        self.sex.add_class("kap-sex")
        self.weight = _text("not recorded", css="kap-weight")
        self.pregnant = _toggle(_ANSWER_OPTIONS, Answer.UNKNOWN, "kap-pregnant")
        self.breastfeeding = _toggle(_ANSWER_OPTIONS, Answer.UNKNOWN, "kap-breastfeeding")
        self.pregnancy_prevention = _toggle(
            _ANSWER_OPTIONS, Answer.UNKNOWN, "kap-pregnancy-prevention"
        )
        self.prefill_note = w.HTML()
        self.prefill_note.add_class("kap-hint")
        demographics = [
            self.prefill_note,
            _labelled(FIELD_LABELS["age_years"], self.age, "whole years"),
            _labelled(FIELD_LABELS["sex"], self.sex),
            _labelled(FIELD_LABELS["weight_kg"], self.weight, "recorded for course planning"),
            _labelled(FIELD_LABELS["pregnant"], self.pregnant),
            _labelled(FIELD_LABELS["breastfeeding"], self.breastfeeding),
            _labelled(
                FIELD_LABELS["pregnancy_prevention_discussed"],
                self.pregnancy_prevention,
                "anyone who could become pregnant (required unless male)",
            ),
        ]

        # 2. Diagnoses and antidepressant history
        tables = drug_tables()
        antidepressants = sorted(tables.min_doses)
        all_drugs = sorted({*tables.classes, *tables.benzodiazepines, *tables.min_doses})
        self.diagnosis_list = _toggle(_LIST_OPTIONS, ListStatus.UNKNOWN, "kap-dx-list")
        self.diagnosis_list.style.button_width = "120px"
        self.diagnoses = _RowList(
            lambda: {"code": _text("e.g. F33.1", "9em", "kap-dx-code")},
            css="kap-dx-row",
            add_label="Add diagnosis",
            header=[("ICD-10-CM code", "9em")],
            on_change=self._on_rows_added(self.diagnosis_list),
        )
        self.dx_descriptions = w.HTML()  # each code with its ICD-10-CM description
        self.dx_descriptions.add_class("kap-dx-description-list")
        self.trial_history = _toggle(_LIST_OPTIONS, ListStatus.UNKNOWN, "kap-trial-history")
        self.trial_history.style.button_width = "120px"

        def trial_fields() -> dict[str, w.Widget]:
            drug = w.Combobox(
                placeholder="drug, e.g. sertraline",
                options=antidepressants,
                continuous_update=False,
                layout=w.Layout(width="13em"),
            )
            drug.add_class("kap-trial-drug")
            outcome = w.Dropdown(
                options=[("— unknown —", TrialOutcome.UNKNOWN)]
                + [(_words(o.value), o) for o in TrialOutcome if o is not TrialOutcome.UNKNOWN],
                value=TrialOutcome.UNKNOWN,
                layout=w.Layout(width="11em"),
            )
            outcome.add_class("kap-trial-outcome")
            stop = w.Dropdown(
                options=[("— unknown —", StopReason.UNKNOWN)]
                + [(_words(s.value), s) for s in StopReason if s is not StopReason.UNKNOWN],
                value=StopReason.UNKNOWN,
                layout=w.Layout(width="10em"),
            )
            stop.add_class("kap-trial-stop")
            return {
                "drug": drug,
                "daily_dose_mg": _text("mg/day", "6.5em", "kap-trial-dose"),
                "weeks": _text("weeks", "5.5em", "kap-trial-weeks"),
                "outcome": outcome,
                "stop_reason": stop,
            }

        self.trials = _RowList(
            trial_fields,
            css="kap-trial-row",
            add_label="Add trial",
            header=[
                ("Drug", "13em"),
                ("Max mg/day", "6.5em"),
                ("Weeks", "5.5em"),
                ("Outcome", "11em"),
                ("Reason stopped", "10em"),
            ],
            on_change=self._on_rows_added(self.trial_history),
            row=_DrugRow,
        )
        fields = AntidepressantTrial.model_fields
        history_step = [
            w.HTML("<b>Diagnoses</b>"),
            _labelled("Diagnosis list", self.diagnosis_list),
            w.HTML(
                "<div class='kap-hint'>“unknown”: the diagnoses were not taken. “recorded "
                "below”: the rows are every diagnosis (no rows = no diagnosis). One ICD-10-CM "
                "code per row (the dot may be left out).</div>"
            ),
            self.diagnoses.widget(),
            self.dx_descriptions,
            w.HTML("<b>Antidepressant trials in the current episode</b>"),
            _labelled("Trial history", self.trial_history),
            w.HTML(
                "<div class='kap-hint'>“unknown”: the history was not taken. “recorded "
                "below”: the rows are the whole history (no rows = no trials). Outcome: "
                f"{escape(_words(fields['outcome'].description or ''))}</div>"
            ),
            self.trials.widget(),
            w.HTML("<b>Which trials counted, and why</b>"),
            self.trial_table,
        ]

        # 3. Current medications
        self.medication_list = _toggle(_LIST_OPTIONS, ListStatus.UNKNOWN, "kap-med-list")
        self.medication_list.style.button_width = "120px"

        def medication_fields() -> dict[str, w.Widget]:
            drug = w.Combobox(
                placeholder="drug, e.g. lorazepam",
                options=all_drugs,
                continuous_update=False,
                layout=w.Layout(width="13em"),
            )
            drug.add_class("kap-med-drug")
            return {"drug": drug, "daily_dose_mg": _text("mg/day", "6.5em", "kap-med-dose")}

        self.medications = _RowList(
            medication_fields,
            css="kap-med-row",
            add_label="Add medication",
            header=[("Drug", "13em"), ("Total mg/day", "6.5em")],
            on_change=self._on_rows_added(self.medication_list),
            row=_DrugRow,
        )
        medication_step = [
            _labelled("Medication list", self.medication_list),
            w.HTML(
                "<div class='kap-hint'>“unknown”: the list was not taken. “recorded below”: "
                "the rows are every current medication (no rows = none). Write drugs as the "
                "patient or letter names them (brand, salt, “XR”, strength): each row shows "
                "the ingredient it resolved to; a name that does not resolve is never "
                "guessed, and close names are offered to accept.</div>"
            ),
            self.medications.widget(),
        ]

        # 4. Medical-history checklist
        self.history = {
            q: _toggle(_ANSWER_OPTIONS, Answer.UNKNOWN, f"kap-q-{q.value}") for q in HistoryQuestion
        }
        self._question_rows: dict[w.Widget, w.HBox] = {}
        checklist_step: list[w.Widget] = [
            w.HTML("<div class='kap-hint'>Every question starts as “unknown”.</div>")
        ]
        for q, tb in self.history.items():
            row = w.HBox([tb, w.HTML(f"<span>{escape(q.label)}?</span>")])
            row.add_class("kap-question")
            self._question_rows[tb] = row
            checklist_step.append(row)

        # 5. Vitals and symptom scores
        self.systolic = _text("not recorded", css="kap-systolic")
        self.diastolic = _text("not recorded", css="kap-diastolic")
        self.heart_rate = _text("not recorded", css="kap-heart-rate")
        phq9 = definition(Instrument.PHQ9)
        labels = phq9.answer_labels
        phq_options: list[tuple[str, int | str]] = [("— not asked —", _PHQ9_NOT_ASKED)] + [
            (f"{v} {labels[v - phq9.item_min] if labels else ''}".strip(), v)
            for v in range(phq9.item_min, phq9.item_max + 1)
        ]
        self.phq9 = [
            w.Dropdown(
                options=phq_options,
                value=_PHQ9_NOT_ASKED,
                layout=w.Layout(width="15em", flex="0 0 auto"),
            )
            for _ in range(phq9.item_count)
        ]
        phq_rows = []
        for i, dd in enumerate(self.phq9, start=1):
            dd.add_class("kap-phq9-item")
            text = phq9.item_texts[i - 1] if phq9.item_texts else f"Item {i}"
            phq_rows.append(w.HBox([dd, w.HTML(f"<span>&nbsp;{i}. {escape(text)}</span>")]))
        self.cssrs = {
            q: _toggle(_CSSRS_OPTIONS, _NOT_ASKED, f"kap-cssrs-{q.value}") for q in CssrsQuestion
        }
        cssrs_rows = []
        for cq, tb in self.cssrs.items():
            desc = CssrsScreener.model_fields[cq.value].description or ""
            label = f"{_words(cq.value).capitalize()}: {desc}"
            cssrs_rows.append(w.HBox([tb, w.HTML(f"<span>&nbsp;{escape(label)}</span>")]))
        vitals_step = [
            _labelled(FIELD_LABELS["systolic_bp_mmhg"], self.systolic),
            _labelled(FIELD_LABELS["diastolic_bp_mmhg"], self.diastolic),
            _labelled(FIELD_LABELS["heart_rate_bpm"], self.heart_rate),
            w.HTML(f"<b>Baseline {escape(phq9.name)} (optional)</b>"),
            w.HTML(
                "<div class='kap-hint'>Over the last 2 weeks. Leave “not asked” when "
                "the questionnaire was not given.</div>"
            ),
            *phq_rows,
            w.HTML("<b>C-SSRS screener (optional)</b>"),
            w.HTML(
                "<div class='kap-hint'>Questions 3–5 are asked only after a “yes” to question "
                "2; left “not asked” after a “no” to question 2 they count as “no”.</div>"
            ),
            *cssrs_rows,
        ]

        steps = [
            ("Demographics", "demographics", demographics),
            ("Diagnoses & trials", "diagnoses", history_step),
            ("Medications", "medications", medication_step),
            ("Medical history", "checklist", checklist_step),
            ("Vitals & scores", "vitals", vitals_step),
        ]
        self.tabs = w.Tab()
        self.tabs.add_class("kap-steps")
        children = []
        for i, (_title, css, body) in enumerate(steps):
            nxt: list[w.Widget] = []
            if i + 1 < len(steps):
                button = w.Button(
                    description=f"Next: {steps[i + 1][0]}",
                    icon="arrow-right",
                    layout=w.Layout(width="16em", margin="0.8em 0 0 0"),
                )
                button.add_class("kap-next-step")
                button.on_click(lambda _b, j=i + 1: setattr(self.tabs, "selected_index", j))
                nxt = [button]
            box = w.VBox([*body, *nxt])
            box.add_class("kap-step")
            box.add_class(f"kap-step-{css}")
            children.append(box)
        self.tabs.children = children
        self.tabs.titles = [f"{i}. {title}" for i, (title, _, _) in enumerate(steps, start=1)]
        self.clear_button = w.Button(description="Clear the form", icon="eraser")
        self.clear_button.add_class("kap-clear")

        for widget in self._scalar_widgets():
            widget.observe(changed, names="value")

    def _scalar_widgets(self) -> list[w.Widget]:
        return [
            self.age,
            self.sex,
            self.weight,
            self.pregnant,
            self.breastfeeding,
            self.pregnancy_prevention,
            self.diagnosis_list,
            self.trial_history,
            self.medication_list,
            *self.history.values(),
            self.systolic,
            self.diastolic,
            self.heart_rate,
            *self.phq9,
            *self.cssrs.values(),
        ]

    def _on_rows_added(self, status: w.ToggleButtons) -> Callable[[], None]:
        """Rows were added or changed: a list with a filled row is being recorded (a row
        just added and still blank is no answer yet, so it leaves "unknown" alone)."""

        def on_change() -> None:
            lists = {
                id(self.diagnosis_list): self.diagnoses,
                id(self.trial_history): self.trials,
                id(self.medication_list): self.medications,
            }
            filled = [r for r in lists[id(status)].rows if not self._blank(r)]
            if filled and status.value is ListStatus.UNKNOWN and self._holding == 0:
                status.value = ListStatus.RECORDED  # triggers the update
            else:
                self._on_change()

        return on_change

    def _layout(self) -> w.VBox:
        def h(text: str) -> w.HTML:
            box = w.HTML(f"<h3>{escape(text)}</h3>")
            box.add_class("kap-section-title")
            return box

        save_row = w.HBox([self.screened_by, self.save_button, self.clear_button])
        override_box = w.VBox(
            [
                self.override_note,
                self.override_rule,
                self.override_reason,
                self.override_button,
                self.override_message,
            ]
        )
        override_box.add_class("kap-overrides")
        findings_column = w.VBox([h("Findings"), self.findings])
        findings_column.add_class("kap-findings-column")
        self.tabs.layout = w.Layout(width="62%", flex="0 0 auto")
        findings_column.layout = w.Layout(width="38%", padding="0 0 0 12px")
        columns = w.HBox([self.tabs, findings_column], layout=w.Layout(align_items="flex-start"))
        box = w.VBox(
            [
                w.HTML(CSS),
                w.HTML(ELIGIBILITY_CSS),
                self.url,
                self.alert_panel.container,
                self.picker,
                self.notice,
                self.patient_header,
                self.offer_box,
                self.status_panel,
                self.form_error,
                columns,
                h("Save and summary"),
                save_row,
                self.save_message,
                self.export,
                h("Override a finding of the saved screening"),
                override_box,
                w.HTML(
                    f"<p class='kap-muted kap-disclaimer'>{escape(DISCLAIMER)} "
                    f"Protocol: {escape(self.protocol.info.short)}.</p>"
                ),
            ]
        )
        box.add_class("kap-app")
        box.add_class("kap-eligibility-app")
        return box

    # ---- patient selection ------------------------------------------------------
    def _load_patient(self) -> None:
        pid = self.picker.value
        self.saved = self.latest_saved = None
        for box in (self.save_message, self.override_message):
            box.clear()
        if pid is None:
            self.patient = None
            self.patient_header.value = "<p>No patients in this database yet.</p>"
            self.alert_panel.load(None)
            self.reset_form()
            return
        try:
            self.patient = self.store.get_patient(pid)
            # the patient's open alerts (a saved screening's C-SSRS alert among them) show on
            # arrival, before anything is loaded into the form
            self.alert_panel.load(pid)
        except NotFoundError as exc:
            self.notice.error(str(exc))
            return
        p = self.patient
        born = "birth date not recorded" if p.birth_date is None else f"born {p.birth_date}"
        self.patient_header.value = (
            f"Screening <b>{escape(p.display_name)}</b> ({escape(p.patient_id)}), {escape(born)}"
            + (" · <span class='kap-badge kap-no'>synthetic</span>" if p.synthetic else "")
        )
        self._offer_saved()
        self.reset_form()

    def _offer_saved(self) -> None:
        """Read the patient's latest saved screening, to offer it (shown by _render_offer)."""
        pid = self.picker.value
        self.latest_saved, self._offer_error = None, ""
        if not pid:
            return
        try:
            latest = latest_screening(self.store, pid)
        except KaptoolsError as exc:
            self._offer_error = f"The latest saved screening cannot be read: {exc}"
            return
        if latest is None:
            return
        stored = latest.record
        self.latest_saved = SavedScreening(
            stored.record_id, stored.author, stored.created_at, latest.result
        )

    def _render_offer(self) -> None:
        latest, saved = self.latest_saved, self.saved
        in_form = (
            latest is not None
            and saved is not None
            and saved.record_id == latest.record_id
            and self.shown is saved.result
        )
        self.offer_box.layout.display = (
            None if (latest and not in_form) or self._offer_error else "none"
        )
        self.load_button.disabled = latest is None
        if self._offer_error:
            self.saved_offer.value = escape(self._offer_error)
        elif latest is not None:
            result = latest.result
            self.saved_offer.value = (
                f"A screening of this patient was {escape(latest.note)}: "
                f"{status_badge(result.status.value, 'kap-saved-status')} under protocol "
                f"{escape(result.protocol.name)} version {escape(result.protocol.version)}."
            )

    # ---- the form -----------------------------------------------------------
    @contextmanager
    def _batch(self) -> Iterator[None]:
        """Change many widgets, then refresh once."""
        self._holding += 1
        try:
            yield
        finally:
            self._holding -= 1
        if self._holding == 0:
            self.refresh()

    def reset_form(self) -> None:
        """Every answer back to unknown / empty, then age, sex and weight from the patient."""
        with self._batch():
            for box in (self.age, self.weight, self.systolic, self.diastolic, self.heart_rate):
                box.value = ""
            self.sex.value = Sex.UNKNOWN
            for tb in (
                self.pregnant,
                self.breastfeeding,
                self.pregnancy_prevention,
                *self.history.values(),
            ):
                tb.value = Answer.UNKNOWN
            self.diagnosis_list.value = ListStatus.UNKNOWN
            self.trial_history.value = ListStatus.UNKNOWN
            self.medication_list.value = ListStatus.UNKNOWN
            for rows in (self.diagnoses, self.trials, self.medications):
                rows.clear()
            for dd in self.phq9:
                dd.value = _PHQ9_NOT_ASKED
            for tb in self.cssrs.values():
                tb.value = _NOT_ASKED
            self.tabs.selected_index = 0
            self._prefill()

    def _prefill(self) -> None:
        p = self.patient
        if p is None:
            self.prefill_note.value = ""
            return
        filled = []
        age = p.age_on(self.today or dt.date.today())
        if age is not None:
            self.age.value = str(age)
            filled.append("age")
        if p.sex in {s.value for s in Sex} and p.sex != Sex.UNKNOWN:
            self.sex.value = Sex(p.sex)
            filled.append("sex")
        if p.weight_kg is not None:
            self.weight.value = _num(p.weight_kg)
            filled.append("weight")
        self.prefill_note.value = (
            f"Prefilled from the patient record: {', '.join(filled)}. Check them with the patient."
            if filled
            else "Nothing to prefill from the patient record."
        )

    def fill(self, record: ScreeningRecord) -> None:
        """Put ``record``'s answers into the form (e.g. a saved screening)."""
        with self._batch():
            self.reset_form()
            self.age.value = "" if record.age_years is None else str(record.age_years)
            self.sex.value = record.sex
            self.weight.value = _num(record.weight_kg)
            self.pregnant.value = record.pregnant
            self.breastfeeding.value = record.breastfeeding
            self.pregnancy_prevention.value = record.pregnancy_prevention_discussed
            self.diagnosis_list.value = (
                ListStatus.UNKNOWN if record.diagnoses is None else ListStatus.RECORDED
            )
            for code in record.diagnoses or ():
                self.diagnoses.add({"code": code})
            for status, rows, items in (
                (self.trial_history, self.trials, record.antidepressant_trials),
                (self.medication_list, self.medications, record.current_medications),
            ):
                status.value = ListStatus.UNKNOWN if items is None else ListStatus.RECORDED
                for item in items or ():
                    rows.add({k: _widget_value(v) for k, v in item.model_dump().items()})
            for q, tb in self.history.items():
                tb.value = record.history.answer(q)
            self.systolic.value = _num(record.systolic_bp_mmhg)
            self.diastolic.value = _num(record.diastolic_bp_mmhg)
            self.heart_rate.value = _num(record.heart_rate_bpm)
            for dd, value in zip(self.phq9, record.phq9 or [None] * len(self.phq9), strict=True):
                dd.value = _PHQ9_NOT_ASKED if value is None else value
            for cq, tb in self.cssrs.items():
                answer = None if record.cssrs is None else getattr(record.cssrs, cq.value)
                tb.value = _NOT_ASKED if answer is None else answer

    def _number(self, widget: w.Text, label: str, problems: list[_Problem]) -> float | None:
        text = widget.value.strip()
        if not text:
            return None
        if not _NUMBER_RE.match(text):
            problems.append(
                _Problem(
                    label,
                    f"{text!r} is not a number; type digits with a dot for decimals "
                    "(e.g. 72.5), or clear the field if it is not known",
                    (widget,),
                )
            )
            return None
        return float(text)

    def _read(self) -> tuple[dict[str, Any], dict[str, Any], list[_Problem]]:
        """The form as record data, the widget of each field, and the problems found."""
        problems: list[_Problem] = []
        where: dict[str, Any] = {}

        def number(key: str, widget: w.Text) -> float | None:
            where[key] = widget
            return self._number(widget, FIELD_LABELS[key], problems)

        data: dict[str, Any] = {
            "patient_id": self.picker.value,
            "age_years": number("age_years", self.age),
            "sex": self.sex.value,
            "weight_kg": number("weight_kg", self.weight),
            "pregnant": self.pregnant.value,
            "breastfeeding": self.breastfeeding.value,
            "pregnancy_prevention_discussed": self.pregnancy_prevention.value,
            "systolic_bp_mmhg": number("systolic_bp_mmhg", self.systolic),
            "diastolic_bp_mmhg": number("diastolic_bp_mmhg", self.diastolic),
            "heart_rate_bpm": number("heart_rate_bpm", self.heart_rate),
            "history": {q.value: tb.value for q, tb in self.history.items()},
            "phq9": [None if dd.value == _PHQ9_NOT_ASKED else dd.value for dd in self.phq9],
            "cssrs": {
                q.value: (None if tb.value == _NOT_ASKED else tb.value)
                for q, tb in self.cssrs.items()
            },
        }
        dx_rows = [r for r in self.diagnoses.rows if r.fields["code"].value.strip()]
        data["diagnoses"] = [r.fields["code"].value.strip() for r in dx_rows]
        where["diagnoses"] = [r.fields["code"] for r in dx_rows]
        if self.diagnosis_list.value is ListStatus.UNKNOWN:
            data["diagnoses"] = None
            if dx_rows:
                problems.append(
                    _Problem(
                        FIELD_LABELS["diagnoses"],
                        f"the list is marked “unknown” but {len(dx_rows)} row(s) are filled "
                        "in; choose “recorded below”, or remove the rows",
                        (self.diagnosis_list,),
                    )
                )

        for key, status, rows, label in (
            ("antidepressant_trials", self.trial_history, self.trials, "Trial"),
            ("current_medications", self.medication_list, self.medications, "Medication"),
        ):
            filled = [r for r in rows.rows if not self._blank(r)]
            where[key] = filled
            if status.value is ListStatus.UNKNOWN:
                data[key] = None
                if filled:
                    problems.append(
                        _Problem(
                            FIELD_LABELS[key],
                            f"the list is marked “unknown” but {len(filled)} row(s) are filled "
                            "in; choose “recorded below”, or remove the rows",
                            (status,),
                        )
                    )
                continue
            items = []
            for i, row in enumerate(filled, start=1):
                item: dict[str, Any] = {}
                for name, widget in row.fields.items():
                    if isinstance(widget, w.Text) and name != "drug":
                        item[name] = self._number(
                            widget, f"{label} {i}: {_ROW_FIELD_LABELS[name]}", problems
                        )
                    else:
                        item[name] = widget.value.strip() if name == "drug" else widget.value
                items.append(item)
            data[key] = items
        return data, where, problems

    @staticmethod
    def _blank(row: _Row) -> bool:
        """True when nothing was entered in the row (its choices still "unknown")."""
        for widget in row.fields.values():
            if isinstance(widget, w.Dropdown):
                if widget.value != "unknown":
                    return False
            elif widget.value.strip():
                return False
        return True

    def _validation_problems(
        self, exc: ValidationError, data: dict[str, Any], where: dict[str, Any]
    ) -> list[_Problem]:
        problems = []
        for found in record_problems(exc):  # the one reading of pydantic's errors
            loc = found.loc
            msg = found.rule[:1].lower() + found.rule[1:]
            if loc == ():  # record-level check: the blood-pressure pair
                problems.append(_Problem("Blood pressure", msg, (self.systolic, self.diastolic)))
                continue
            key = str(loc[0])
            got = found.value
            if key == "diagnoses":
                bad = [
                    (i, widget)
                    for i, widget in enumerate(where["diagnoses"], start=1)
                    if not _valid_code(widget.value.strip())
                ]
                for i, widget in bad:
                    problems.append(
                        _Problem(
                            f"Diagnosis {i} (ICD-10-CM)",
                            f"{widget.value.strip()!r} is not an ICD-10-CM code; write a letter, "
                            "two characters and optionally a dot and up to four more, e.g. F33.1",
                            (widget,),
                        )
                    )
                continue
            if key in ("antidepressant_trials", "current_medications") and len(loc) >= 3:
                i, name = int(loc[1]), str(loc[2])
                row = where[key][i]
                label = "Trial" if key == "antidepressant_trials" else "Medication"
                problems.append(
                    _Problem(
                        f"{label} {i + 1}: {_ROW_FIELD_LABELS.get(name, name)}",
                        f"{msg}; you entered {got!r}",
                        (row.fields.get(name, row.box),),
                    )
                )
                continue
            widget = where.get(key)
            shown = widget.value if isinstance(widget, w.Text) else got
            problems.append(
                _Problem(
                    FIELD_LABELS.get(key, key),
                    f"{msg}; you entered {shown!r}. Correct it, or clear the field if unknown",
                    (widget,) if isinstance(widget, w.Widget) else (),
                )
            )
        return problems

    def read_record(self) -> tuple[ScreeningRecord | None, list[_Problem]]:
        """The form as a validated record, or None and the problems (each naming its field)."""
        data, where, problems = self._read()
        if problems:
            return None, problems
        try:
            return ScreeningRecord.model_validate(data), []
        except ValidationError as exc:
            return None, self._validation_problems(exc, data, where)

    def form_record(self) -> ScreeningRecord:
        """The form as a validated record; InvalidInputError naming every bad field."""
        record, problems = self.read_record()
        if record is None:
            raise InvalidInputError(
                "Nothing was saved. Correct these fields first:\n"
                + "\n".join(f"- {p.text}" for p in problems)
            )
        return record

    # ---- the single update path --------------------------------------------
    @guarded(lambda self: self.form_error)
    def _on_change(self, change: dict[str, Any] | None = None) -> None:
        if self._holding == 0:
            self.refresh()

    def refresh(self) -> None:
        """Read the form, screen it, and show the result (the one update path)."""
        record, self.problems = self.read_record()
        self._mark_invalid(self.problems)
        self._mark_unanswered()
        if record is None:
            self.result = self.shown = None
            self.form_error.error(
                "Not screened until these are corrected:\n"
                + "\n".join(f"- {p.text}" for p in self.problems)
            )
            self.alert_panel.set_live(self._safety_alerts_only())
        else:
            self.form_error.clear()
            self.result = screen(record, protocol=self.protocol)
            self.shown = self.result
            saved = self._matching_saved(record)
            if saved is not None:
                self.shown = saved.result
            self.alert_panel.set_live(self.shown.alerts)
        self._render()

    def _matching_saved(self, record: ScreeningRecord) -> SavedScreening | None:
        """The saved screening when the form holds its answers under the same protocol,
        else None.

        A record saved without a patient id (e.g. by a cohort import) matches its patient's form.
        """
        s = self.saved
        if s is None or s.result.protocol != self.protocol.info:
            return None
        saved = s.result.record
        if saved.patient_id is None:
            saved = saved.model_copy(update={"patient_id": record.patient_id})
        return s if saved == record else None

    def _safety_alerts_only(self) -> tuple[Alert, ...]:
        """While other fields are invalid, still raise the alerts of the PHQ-9 and C-SSRS answers.

        The screening package decides the alerts; it is given only the questionnaire part.
        """
        data, _, _ = self._read()
        try:
            part = ScreeningRecord.model_validate({"phq9": data["phq9"], "cssrs": data["cssrs"]})
        except ValidationError:
            return ()
        return screen(part, protocol=self.protocol).alerts

    def _mark_invalid(self, problems: list[_Problem]) -> None:
        bad = {widget for p in problems for widget in p.widgets}
        for widget in self._invalid - bad:
            widget.remove_class("kap-invalid")
        for widget in bad - self._invalid:
            widget.add_class("kap-invalid")
        self._invalid = bad

    def _mark_unanswered(self) -> None:
        for box in (self.age, self.weight, self.systolic, self.diastolic, self.heart_rate):
            _mark(box, not box.value.strip())
        _mark(self.sex, self.sex.value == Sex.UNKNOWN)
        for tb in (
            self.pregnant,
            self.breastfeeding,
            self.pregnancy_prevention,
            self.diagnosis_list,
            self.trial_history,
            self.medication_list,
        ):
            _mark(tb, tb.value == "unknown")
        for tb, row in self._question_rows.items():
            _mark(row, tb.value == Answer.UNKNOWN)

    def _saved_note(self) -> str:
        if self.saved is None:
            return "not saved"
        if self.shown is self.saved.result:
            return self.saved.note
        return f"changed since it was {self.saved.note}: save again to keep the changes"

    def _render(self) -> None:
        shown = self.shown
        self.status_panel.value = status_html(shown, self.protocol, self._saved_note())
        self.dx_descriptions.value = diagnoses_html(shown)
        self.findings.value = findings_html(shown)
        self.trial_table.value = trials_html(shown, self.protocol)
        self._render_offer()
        self._render_export()
        self._render_overrides()

    def _render_export(self) -> None:
        shown = self.shown
        if shown is None:
            self.export.html = self.export.text = ""
            return
        saved = self.saved if self.saved is not None and shown is self.saved.result else None
        kwargs: dict[str, Any] = {
            "patient": self.patient,
            "screened_by": self.screened_by.value.strip(),
            "saved": saved,
            "open_alerts": self.alert_panel.stored.open,
        }
        day = self.today or dt.date.today()
        self.export.filename = f"screening-{self.picker.value or 'patient'}-{day:%Y-%m-%d}"
        self.export.html = summary_document(shown, self.protocol, **kwargs)
        self.export.text = summary_text(shown, **kwargs)

    def _render_overrides(self) -> None:
        saved = self.saved
        usable = saved is not None and self.shown is saved.result
        if saved is None:
            note = "Save the screening first: an override is recorded against a saved screening."
        elif not usable:
            note = "The form differs from the saved screening: save it again before overriding."
        else:
            note = (
                "Overriding keeps the protocol's finding and records who, when and why "
                "(audit-logged). Only a written reason is accepted."
            )
        self.override_note.value = f"<div class='kap-hint'>{escape(note)}</div>"
        options: list[tuple[str, str]] = []
        if usable and saved is not None:
            for f in saved.result.findings:
                if f.severity is Severity.INFO:
                    continue
                mark = " (overridden)" if f.overridden else ""
                text = f"{f.severity.value}: {f.message}"
                options.append((f"{text[:110]}{mark}", f.rule_id))
        current = self.override_rule.value
        self.override_rule.options = options
        values = [v for _, v in options]
        if values:  # keep the clinician's choice when it is still there
            self.override_rule.value = current if current in values else values[0]
        for widget in (self.override_rule, self.override_reason, self.override_button):
            widget.disabled = not options

    # ---- actions --------------------------------------------------------------
    @guarded(lambda self: self.save_message)
    def _on_save(self, _button: Any = None) -> None:
        self.save_message.clear()
        pid = self.picker.value
        if pid is None:
            self.save_message.error("Pick a patient first: nothing was saved.")
            return
        record = self.form_record()
        already = self._matching_saved(record)
        if already is not None:
            self.save_message.ok(f"Already {already.note}; nothing new to save.")
            return
        result = screen(record, protocol=self.protocol)
        stored = save_screening(
            self.store, pid, record, result, author=self.screened_by.value.strip()
        )
        self.saved = SavedScreening(
            stored.record_id,
            stored.author,
            stored.created_at,
            load_screening(self.store, stored.record_id),
        )
        self.latest_saved = self.saved
        self.alert_panel.reload()  # the screening's alerts were stored with it
        self.refresh()
        self.save_message.ok(
            f"Saved: {result.status.value} under protocol {self.protocol.info.short}, "
            f"{self.saved.note}."
        )

    @guarded(lambda self: self.save_message)
    def _on_load_saved(self, _button: Any = None) -> None:
        latest = self.latest_saved
        if latest is None:
            return
        self.saved = latest
        self.fill(latest.result.record)
        note = f"Loaded the screening {latest.note}."
        if latest.result.protocol != self.protocol.info:
            note += (
                f" It was saved under protocol {latest.result.protocol.short}; the form is now "
                f"screened under {self.protocol.info.short}, so the findings may differ."
            )
        self.save_message.ok(note)

    @guarded(lambda self: self.override_message)
    def _on_override(self, _button: Any = None) -> None:
        self.override_message.clear()
        saved = self.saved
        if saved is None or self.shown is not saved.result or self.override_rule.value is None:
            self.override_message.error(
                "Save the screening first: an override is recorded against a saved screening."
            )
            return
        override = override_finding(
            self.store,
            saved.record_id,
            self.override_rule.value,
            self.override_reason.value,
            author=self.screened_by.value.strip(),
            protocol=self.protocol,
        )
        self.saved = SavedScreening(
            saved.record_id,
            saved.author,
            saved.saved_at,
            load_screening(self.store, saved.record_id),
        )
        self.latest_saved = self.saved
        self.override_reason.value = ""
        self.refresh()
        result = self.saved.result
        self.override_message.ok(
            f"Overrode {override.rule_id} ({override.author}); the status is now "
            f"{result.status.value} (before overrides: "
            f"{(result.original_status or result.status).value})."
        )

    @guarded(lambda self: self.save_message)
    def _on_clear(self, _button: Any = None) -> None:
        self.saved = None
        self.save_message.clear()
        self.reset_form()

    def show(self) -> None:
        display(self.container)


def _valid_code(code: str) -> bool:
    try:
        ScreeningRecord.model_validate({"diagnoses": [code]})
    except ValidationError:
        return False
    return True


def _widget_value(value: object) -> object:
    """A stored value as its form widget holds it (numbers as text, None as empty)."""
    if value is None:
        return ""
    return _num(value) if isinstance(value, float) else value


def _mark(widget: w.Widget, unanswered: bool) -> None:
    if unanswered:
        widget.add_class("kap-unanswered")
    else:
        widget.remove_class("kap-unanswered")

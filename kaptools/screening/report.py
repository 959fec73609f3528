"""How a screening result reads: the one printer of :class:`ScreeningResult`'s text and HTML.

``ScreeningResult.summary`` and ``_repr_html_``, the eligibility dashboard's panels and
its downloadable / printable summary all render through these functions, so a notebook,
the dashboard and the printed summary show the same words (lifelines keeps one printer
for its results the same way). Every text is escaped; nothing here decides anything:
it shows what :func:`kaptools.screening.screen` found.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING

from kaptools.alerts import StoredAlert, alerts_html, alerts_text
from kaptools.printer import (
    escape,
    footer_html,
    footer_text,
    note_html,
)
from kaptools.vocabulary import Route, ScreeningStatus, Severity

if TYPE_CHECKING:  # the result module imports this printer: types only, no circle
    from kaptools.screening.result import Finding, ScreeningResult

__all__ = [
    "ROUTE_LABELS",
    "SEVERITIES",
    "SEVERITY_HEADINGS",
    "cautions_html",
    "diagnoses_html",
    "finding_html",
    "findings_html",
    "latest_screening_html",
    "no_screening_html",
    "number_text",
    "report_document",
    "report_text",
    "routes_html",
    "screening_html",
    "status_badge",
    "summary_text",
    "trials_html",
]

ROUTE_LABELS = {
    Route.IV_KETAMINE: "IV racemic ketamine",
    Route.IM_KETAMINE: "IM racemic ketamine",
    Route.ESKETAMINE_NASAL: "Intranasal esketamine",
}
"""How each route reads in summaries (the course templates name them the same way)."""

SEVERITY_HEADINGS = {
    Severity.EXCLUSION: "Exclusions",
    Severity.MISSING: "Answers needed",
    Severity.CAUTION: "Cautions",
    Severity.INFO: "For information",
}
SEVERITIES = sorted(Severity, key=lambda s: s.rank)
"""Severities in listing order (exclusions first)."""
UNFOLDED_MISSING_MAX = 4
"""Up to this many "answers needed" findings are shown open; more are folded."""


def _words(value: str) -> str:
    return value.replace("_", " ")


def number_text(value: float | None) -> str:
    """A number as a clinician writes it (72, 72.5); empty for None."""
    if value is None:
        return ""
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


# ---------------------------------------------------------------------------
# HTML


def status_badge(status: str, css: str = "kap-eligibility-status") -> str:
    """A status badge; the dashboard's one ``kap-eligibility-status`` element has the status
    value exactly as its text. Other badges (before overrides, a saved screening) use ``css``."""
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


def findings_html(result: ScreeningResult, *, fold: bool = True) -> str:
    """The findings, grouped by severity (exclusions first); ``fold`` folds a long
    list of unanswered questions (the dashboard's form marks them too)."""
    if not result.findings:
        return "<p class='kap-muted'>No findings.</p>"
    groups = []
    for sev in SEVERITIES:
        found = result.by_severity(sev)
        if found:
            folded = fold and sev is Severity.MISSING and len(found) > UNFOLDED_MISSING_MAX
            groups.append(
                f"<details class='kap-findings-group kap-findings-{escape(sev.value)}'"
                f"{'' if folded else ' open'}><summary>{escape(SEVERITY_HEADINGS[sev])} "
                f"({len(found)}){' (click to show)' if folded else ''}</summary>"
                + "".join(finding_html(f) for f in found)
                + "</details>"
            )
    return "".join(groups)


def routes_html(result: ScreeningResult) -> str:
    """Per route the clinic offers: whether the criteria are met, and the rules that differ."""
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


def diagnoses_html(result: ScreeningResult) -> str:
    """Each recorded ICD-10-CM code with its description (empty without codes)."""
    if not result.diagnoses:
        return ""
    items = "".join(
        f"<li class='kap-dx-described'><code>{escape(c)}</code> {escape(d)}</li>"
        for c, d in result.diagnoses
    )
    return f"<ul class='kap-dx-descriptions'>{items}</ul>"


def trials_html(result: ScreeningResult, needed: float | None = None) -> str:
    """Which antidepressant trials counted towards the indication, and why; ``needed`` is
    the protocol's minimum number of failed adequate trials (named when given)."""
    trials = result.record.antidepressant_trials
    if trials is None:
        head = "Trial history: unknown (not recorded)."
    else:
        need = ""
        if needed is not None:
            need = f" (the protocol's primary indication needs at least {number_text(needed)})"
        head = f"Failed adequate trials counted: <b>{result.failed_adequate_trials}</b>{need}."
    if not result.trials:
        none = "" if trials is None else " No trials recorded."
        return f"<p class='kap-trial-count'>{head}{none}</p>"
    rows = "".join(
        f"<tr class='kap-trial-verdict-{escape(t.verdict.value)}'><td>{t.number}</td>"
        f"<td>{escape(t.drug_resolution or t.drug)}</td>"
        f"<td>{escape(number_text(t.daily_dose_mg)) or '?'} "
        f"<span class='kap-muted'>({escape(number_text(t.min_daily_dose_mg)) or 'not in table'})"
        f"</span></td><td>{escape(number_text(t.weeks)) or '?'}</td>"
        f"<td>{escape(_words(t.outcome.value))}<br><span class='kap-muted'>stopped: "
        f"{escape(_words(t.stop_reason.value))}</span></td>"
        f"<td><b>{escape(t.verdict.label)}</b></td>"
        f"<td class='kap-trial-why'>{'<br>'.join(escape(r) for r in t.reasons)}</td></tr>"
        for t in result.trials
    )
    return (
        f"<p class='kap-trial-count'>{head}</p>"
        "<table class='kap-table kap-trial-table'><tr><th>#</th><th>Drug</th>"
        "<th>mg/day (minimum adequate)</th><th>Weeks</th><th>Outcome</th><th>Verdict</th>"
        "<th>Why</th></tr>" + rows + "</table>"
    )


CAUTIONS_TITLE = "Cautions from screening"


def cautions_html(cautions: Sequence[str], *, after_title: str = "") -> str:
    """The screening's cautions as a note (class ``kap-cautions``; empty when there are
    none): a course plan's HTML, the planner's summary and its screening box show it."""
    return note_html(
        CAUTIONS_TITLE,
        cautions,
        css="kap-cautions",
        item_css="kap-caution",
        after_title=after_title,
    )


def no_screening_html(why: str | None = None) -> str:
    """No screening on record (``why``: the planner's own words for it)."""
    return (
        "<div class='kap-not-plannable' role='note'><b>No screening.</b> "
        f"{escape(why or 'No screening on record.')}</div>"
    )


def _gate_html(result: ScreeningResult, gate: str) -> str:
    """Why no course can be planned: the gate's message over the screening's open
    exclusions (not eligible) or unanswered questions (incomplete)."""
    not_eligible = result.status is ScreeningStatus.NOT_ELIGIBLE
    severity = Severity.EXCLUSION if not_eligible else Severity.MISSING
    items = "".join(
        f"<li>{escape(f.message)}"
        + (f" <span class='kap-muted'>({escape(f.detail)})</span>" if f.detail else "")
        + "</li>"
        for f in result.by_severity(severity)
        if not f.overridden
    )
    return f"<div class='kap-not-plannable' role='note'><b>{escape(gate)}</b><ul>{items}</ul></div>"


def latest_screening_html(
    result: ScreeningResult,
    effective_at: dt.datetime | dt.date,
    *,
    gate: str | None = None,
    after_gate: str = "",
    cautions: bool = True,
) -> str:
    """A patient's latest screening as a box (class ``kap-screening``): its date, protocol
    and status; then either why no course can be planned (``gate``, the planner's
    message, with the findings behind it, and ``after_gate`` HTML), or the screening's
    cautions (``cautions=False`` leaves them to a plan on show, which carries them)."""
    head = (
        f"<p><b>Latest screening</b> ({effective_at:%d %b %Y}, protocol "
        f"{escape(result.protocol.short)}): <b>{escape(result.status.label)}</b> "
        f"<span class='kap-muted'>({escape(result.status.value)})</span></p>"
    )
    if gate is not None:
        body = _gate_html(result, gate) + after_gate
    else:
        body = cautions_html(
            result.cautions if cautions else (),
            after_title=" (shown on the plan and in its calendar file):",
        )
    return f"<div class='kap-screening'>{head}{body}</div>"


def _before_overrides_html(result: ScreeningResult) -> str:
    if not result.overridden:
        return ""
    original = result.original_status or result.status
    return (
        f"<p class='kap-original-status'>Before clinician overrides: "
        f"<span class='kap-eligibility-status'>{escape(original.value)}</span> "
        f"{escape(original.label)}</p>"
    )


def screening_html(result: ScreeningResult, *, needed: float | None = None) -> str:
    """The whole result (``ScreeningResult._repr_html_``): its safety alerts first, the
    status, per-route statuses, diagnoses, every finding with its source, the trials."""
    return (
        f"<div class='kap-screening kap-status-{escape(result.status.value)}'>"
        + "".join(a._repr_html_() for a in result.alerts)
        + f"<p><span class='kap-eligibility-status'>{escape(result.status.value)}</span> "
        f"<strong>{escape(result.status.label)}</strong></p>{_before_overrides_html(result)}"
        f"{routes_html(result)}{diagnoses_html(result)}"
        f"{findings_html(result, fold=False)}{trials_html(result, needed)}"
        f"{footer_html(result.protocol)}</div>"
    )


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


def report_document(
    result: ScreeningResult,
    *,
    title: str,
    disclaimer: str,
    heading: str | None = None,
    header: Sequence[tuple[str, str]] = (),
    open_alerts: Sequence[StoredAlert] = (),
    needed: float | None = None,
) -> str:
    """A stand-alone, print-friendly HTML report: ``header`` rows (who, when), the
    protocol, the patient's open stored alerts, then the result as :func:`screening_html`
    shows it, section by section; ``heading`` (default ``title``) tops the page."""
    p = result.protocol
    head = "".join(f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in header)
    head += (
        f"<tr><th>Protocol</th><td>{escape(p.name)} version {escape(p.version)}<br>"
        f"<small>SHA-256 {escape(p.sha256)}</small></td></tr>"
    )
    alerts = alerts_html(
        open_alerts, heading="Open safety alerts of this patient (until acknowledged)"
    )
    if result.alerts:
        alerts += "<h2>Safety alerts</h2>" + "".join(a._repr_html_() for a in result.alerts)
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{escape(title)}</title><style>{_PRINT_CSS}</style></head><body>"
        f"<h1>{escape(heading or title)}</h1><p class='kap-disclaimer'>{escape(disclaimer)}</p>"
        f"<table>{head}</table>{alerts}"
        f"<h2>Status</h2><p><span class='kap-eligibility-status'>"
        f"{escape(result.status.value)}</span> {escape(result.status.label)}</p>"
        f"{_before_overrides_html(result)}{routes_html(result)}"
        f"<h2>Diagnoses (ICD-10-CM)</h2>{diagnoses_html(result) or '<p>None recorded.</p>'}"
        f"<h2>Findings</h2>{findings_html(result, fold=False)}"
        f"<h2>Antidepressant trials</h2>{trials_html(result, needed)}"
        "<p class='kap-no-print'><button onclick='window.print()'>Print</button></p>"
        "</body></html>"
    )


# ---------------------------------------------------------------------------
# Text


def summary_text(result: ScreeningResult) -> str:
    """The short summary (``ScreeningResult.summary``, what the CLI prints)."""
    lines = [f"Screening: {result.status.label} ({result.status.value})."]
    if result.overridden:
        original = result.original_status or result.status
        lines.append(f"Before clinician overrides: {original.label} ({original.value}).")
    lines.extend(f"ALERT {a.summary}" for a in result.alerts)
    lines.append("By route (the status above is the best route's):")
    for route, st, why in result.route_rows():
        lines.append(
            f"  {ROUTE_LABELS[route]}: {st.label} ({st.value})"
            + (f"; differs by route: {why}" if why else "")
        )
    if result.diagnoses:
        lines.append("Diagnoses: " + "; ".join(f"{c} {d}" for c, d in result.diagnoses) + ".")
    lines.extend(f"- {f.summary}" for f in result.findings)
    if result.medication_names:
        names = "; ".join(m.summary for m in result.medication_names)
        lines.append(f"Current medications: {names}")
    if result.trials:
        lines.append(f"Failed adequate antidepressant trials: {result.failed_adequate_trials}.")
        lines.extend(f"  {t.summary}" for t in result.trials)
    lines.append(footer_text(result.protocol))
    return "\n".join(lines)


def _finding_lines(f: Finding) -> list[str]:
    lines = [f"- {f.message}"]
    if f.detail:
        lines.append(f"  Why: {f.detail}")
    lines.append(f"  Source: {f.source} (rule {f.rule_id})")
    if f.override is not None:
        o = f.override
        lines.append(f"  OVERRIDDEN by {o.author} on {o.created_at:%Y-%m-%d %H:%M} UTC: {o.reason}")
    return lines


def report_text(
    result: ScreeningResult,
    *,
    title: str,
    disclaimer: str,
    header: Sequence[tuple[str, str]] = (),
    open_alerts: Sequence[StoredAlert] = (),
) -> str:
    """The full plain-text report: ``header`` rows, the patient's open stored alerts, the
    protocol, status, routes, diagnoses, this screening's alerts, every finding with its
    source and override, and the trial verdicts."""
    p = result.protocol
    lines = [title, disclaimer, "", *(f"{k}: {v}" for k, v in header)]
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
    for sev in SEVERITIES:
        found = result.by_severity(sev)
        if found:
            lines += ["", f"{SEVERITY_HEADINGS[sev].upper()} ({len(found)})"]
        for f in found:
            lines += _finding_lines(f)
    if result.trials:
        lines += ["", f"ANTIDEPRESSANT TRIALS (failed adequate: {result.failed_adequate_trials})"]
        lines += [f"- {t.summary}" for t in result.trials]
    return "\n".join(lines) + "\n"

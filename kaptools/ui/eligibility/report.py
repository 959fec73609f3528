"""What the eligibility page shows of a screening: the status panel, the saved screening,
the downloadable summary. The result's own words and tables come from the domain's one
printer (:mod:`kaptools.screening.report`); this module adds only what is the page's:
the status panel's counts and save state, and the summary's header (patient, who, when).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import anywidget
import traitlets

from kaptools.alerts import StoredAlert
from kaptools.protocol import Protocol
from kaptools.screening import ScreeningResult
from kaptools.screening.report import (
    SEVERITIES,
    SEVERITY_HEADINGS,
    diagnoses_html,
    finding_html,
    findings_html,
    number_text,
    report_document,
    report_text,
    routes_html,
    status_badge,
    trials_html,
)
from kaptools.store import Patient
from kaptools.ui.common import escape

__all__ = [
    "DISCLAIMER",
    "ELIGIBILITY_CSS",
    "NOT_SCREENED",
    "SavedScreening",
    "SummaryExport",
    "diagnoses_html",
    "finding_html",
    "findings_html",
    "header_lines",
    "number_text",
    "panel_findings_html",
    "panel_trials_html",
    "routes_html",
    "status_badge",
    "status_html",
    "summary_document",
    "summary_text",
    "trials_html",
]

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

NOT_SCREENED = "not_screened"
"""Text of the status badge while the form holds invalid input (not a screening status)."""
TITLE = "KAP eligibility screening summary"


def panel_findings_html(result: ScreeningResult | None) -> str:
    """The findings column: the result's findings, or why there are none."""
    if result is None:
        return "<p class='kap-muted'>No findings: the form has input errors (see above).</p>"
    return findings_html(result)


def panel_trials_html(result: ScreeningResult | None, protocol: Protocol) -> str:
    """Which trials counted (nothing while the form has input errors)."""
    if result is None:
        return ""
    return trials_html(result, protocol.screening.thresholds.failed_adequate_trials_min.value)


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
    for sev in SEVERITIES:
        found = result.by_severity(sev)
        active = sum(not f.overridden for f in found)
        over = len(found) - active
        extra = f" (+{over} overridden)" if over else ""
        counts.append(
            f"<span class='kap-count-{escape(sev.value)}'>{escape(SEVERITY_HEADINGS[sev])}: "
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


def header_lines(
    patient: Patient | None, screened_by: str, saved: SavedScreening | None, at: dt.datetime
) -> list[tuple[str, str]]:
    """The summary's header rows: patient, when it was made, who screened, save state."""
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
    verdicts (:func:`kaptools.screening.report.report_text` with this page's header)."""
    header = header_lines(patient, screened_by, saved, at or dt.datetime.now(dt.UTC))
    return report_text(
        result, title=TITLE, disclaimer=DISCLAIMER, header=header, open_alerts=open_alerts
    )


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
    every text is escaped (:func:`kaptools.screening.report.report_document`)."""
    header = header_lines(patient, screened_by, saved, at or dt.datetime.now(dt.UTC))
    return report_document(
        result,
        title="Eligibility screening summary",
        heading=TITLE,
        disclaimer=DISCLAIMER,
        header=header,
        open_alerts=open_alerts,
        needed=protocol.screening.thresholds.failed_adequate_trials_min.value,
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

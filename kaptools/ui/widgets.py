"""The widgets every dashboard shares: the crisis banner and a patient's stored alerts,
inline errors, the patient picker, URL parameters, audited downloads, charts.

Nothing here decides anything clinical: alerts come from :mod:`kaptools.alerts` and
:mod:`kaptools.patient_alerts`, figures from :mod:`kaptools.ui.charts`.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

import anywidget
import ipywidgets as w
import traitlets
from IPython.display import display

from kaptools.alerts import (
    Alert,
    AlertLevel,
    StoredAlert,
    banner_html,
    highest_level,
)
from kaptools.errors import KaptoolsError
from kaptools.patient_alerts import (
    PatientAlerts,
    acknowledge_alert,
    patient_alerts,
    sync_patient_alerts,
)
from kaptools.printer import escape
from kaptools.protocol import Protocol
from kaptools.store import Patient, Store

__all__ = [
    "AuditedDownloads",
    "CrisisBanner",
    "DownloadFile",
    "ErrorBox",
    "PatientAlertsPanel",
    "PatientPicker",
    "UrlParameters",
    "lock_author",
    "show_figure",
]


class UrlParameters(anywidget.AnyWidget):
    """Reads the page's URL parameters in the browser and sends them to the kernel.

    Voilà's preheated kernels run the notebook before any request arrives; its
    ``wait_for_request`` blocks the kernel until the request is forwarded and was
    seen to hang now and then here. This widget instead reports
    ``window.location.search`` once it is displayed; apps load patient data when it
    arrives. The values are user-controlled: callers validate them.
    """

    _esm = """
    export default {
      render({ model, el }) {
        el.style.display = "none";
        model.set("search", window.location.search || "?");
        model.save_changes();
      }
    };
    """
    search = traitlets.Unicode("").tag(sync=True)

    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        self.add_class("kap-url-parameters")

    def get(self, name: str) -> str | None:
        values = parse_qs(self.search.lstrip("?"), keep_blank_values=True).get(name)
        return values[0] if values else None


@dataclass(frozen=True, slots=True)
class DownloadFile:
    """A file a dashboard offers: its button and what it holds (made when asked for)."""

    label: str
    css: str
    filename: str
    mime: str
    content: Callable[[], str | bytes]
    """Text, or bytes for a binary file (sent base64-encoded)."""


class AuditedDownloads(anywidget.AnyWidget):
    """Download buttons whose files go through the kernel, which audit-logs each download
    before it sends the file (so the page never holds a record it could hand out unlogged).

    The page shows one button per :class:`DownloadFile`; a click asks the kernel, which
    calls ``before_download`` (writes the audit row: who, when, which patient, which
    file), and only then sends the file back for the browser to save. If the audit row
    cannot be written, nothing is sent and ``on_error`` is told.
    """

    _esm = """
    export default {
      render({ model, el }) {
        const draw = () => {
          el.replaceChildren();
          for (const [i, f] of model.get("files").entries()) {
            const b = document.createElement("button");
            b.className = "jupyter-button widget-button " + f.css;
            b.textContent = f.label;
            b.style.width = "auto";
            b.style.marginRight = "0.5em";
            b.onclick = () => model.send({ download: i, filename: f.filename });
            el.append(b);
          }
        };
        model.on("change:files", draw);
        draw();
        model.on("msg:custom", (msg) => {
          if (!msg || msg.kind !== "file") return;
          const body = msg.b64 === undefined
            ? msg.text
            : Uint8Array.from(atob(msg.b64), (c) => c.charCodeAt(0));
          const url = URL.createObjectURL(new Blob([body], { type: msg.mime }));
          const a = document.createElement("a");
          a.href = url; a.download = msg.filename; a.style.display = "none";
          document.body.appendChild(a); a.click(); a.remove();
          setTimeout(() => URL.revokeObjectURL(url), 60000);
        });
      }
    };
    """
    files = traitlets.List(traitlets.Dict()).tag(sync=True)

    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        self.add_class("kap-audited-downloads")
        self._files: list[DownloadFile] = []
        #: writes the audit row for a download (raises: the file is not sent)
        self.before_download: Callable[[DownloadFile], None] | None = None
        #: told when a download is refused (the audit row could not be written)
        self.on_error: Callable[[Exception], None] | None = None
        self.on_msg(self._on_msg)

    def offer(self, files: Sequence[DownloadFile]) -> None:
        """Show these files' buttons (none: no buttons)."""
        self._files = list(files)
        self.files = [{"label": f.label, "css": f.css, "filename": f.filename} for f in files]

    def request(self, which: int | str) -> dict[str, str]:
        """What a click does: audit-log, then send the file (by index or css class).
        Returns the message sent to the browser."""
        if isinstance(which, int) and not isinstance(which, bool):
            file = self._files[which] if 0 <= which < len(self._files) else None
        else:
            file = next((f for f in self._files if f.css == which), None)
        if file is None:
            raise KeyError(f"no download {which!r} offered")
        if self.before_download is None:
            raise RuntimeError("AuditedDownloads.before_download is not set: nothing is sent")
        self.before_download(file)  # the audit row first; a failure sends nothing
        content = file.content()
        msg = {"kind": "file", "filename": file.filename, "mime": file.mime}
        if isinstance(content, bytes):
            msg["b64"] = base64.b64encode(content).decode("ascii")
        else:
            msg["text"] = content
        self.send(msg)
        return msg

    def _on_msg(self, _widget: Any, content: Any, _buffers: Any) -> None:
        which = content.get("download") if isinstance(content, dict) else None
        if not isinstance(which, int) or isinstance(which, bool):
            return
        if not 0 <= which < len(self._files):
            return
        try:
            self.request(which)
        except Exception as exc:  # shown to the user; nothing was sent
            if self.on_error is not None:
                self.on_error(exc)
            else:
                raise


class CrisisBanner(w.HTML):
    """The 988 crisis banner: visible exactly when there are alerts.

    Takes live alerts (:class:`Alert`) and stored ones (:class:`StoredAlert`, shown with
    where they came from and "open until acknowledged").
    """

    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        self.add_class("kap-crisis-banner")
        self.set_alerts(())

    def set_alerts(self, alerts: Sequence[Alert | StoredAlert]) -> None:
        plain = [a.alert if isinstance(a, StoredAlert) else a for a in alerts]
        level = highest_level(plain)
        if level is None:
            self.value = ""
            self.layout.display = "none"
            return
        if level is AlertLevel.CRITICAL:
            self.add_class("kap-critical")
        else:
            self.remove_class("kap-critical")
        self.value = banner_html(alerts)
        self.layout.display = None


class PatientAlertsPanel:
    """A patient's stored safety alerts on a dashboard.

    The crisis banner shows every open stored alert (and the page's own live alerts,
    e.g. answers not saved yet), an acknowledge control (the note is required), and
    the history of every alert with its acknowledgement. ``author`` gives the name
    recorded for raising and acknowledging (the dashboard's author field).
    """

    def __init__(
        self,
        store: Store,
        protocol: Protocol,
        *,
        author: Callable[[], str],
        on_change: Callable[[], None] | None = None,
    ):
        self.store, self.protocol, self._author = store, protocol, author
        self._on_change_cb = on_change
        self.patient_id: str | None = None
        self.stored = PatientAlerts("", ())
        self.live: tuple[Alert, ...] = ()
        self.banner = CrisisBanner()
        self.choice = w.Dropdown(description="Alert", options=[], layout=w.Layout(width="95%"))
        self.choice.add_class("kap-ack-choice")
        self.note = w.Textarea(
            placeholder="What was done (required), e.g. C-SSRS completed, safety plan reviewed",
            description="Note",
            layout=w.Layout(width="95%", height="4em"),
        )
        self.note.add_class("kap-ack-note")
        self.button = w.Button(description="Acknowledge alert", icon="check")
        self.button.add_class("kap-ack-button")
        self.message = ErrorBox()
        self.message.add_class("kap-ack-message")
        self.ack_box = w.VBox(
            [
                w.HTML(
                    "<b>Acknowledge a safety alert</b> <span class='kap-muted'>(the alert "
                    "stays in the history; a written note is required)</span>"
                ),
                self.choice,
                self.note,
                self.button,
            ]
        )
        self.ack_box.add_class("kap-ack-box")
        self.history = w.HTML()
        self.history.add_class("kap-alert-history")
        self.button.on_click(self._on_ack)
        self.container = w.VBox([self.banner, self.ack_box, self.message, self.history])
        self.container.add_class("kap-patient-alerts")
        self._render()

    def author(self) -> str:
        return (self._author() or "").strip() or self.store.identity.user

    def load(self, patient_id: str | None) -> None:
        """Read (and first raise, idempotently) the patient's alerts; clears live alerts."""
        self.patient_id, self.live = patient_id, ()
        self.message.clear()
        if patient_id is None:
            self.stored = PatientAlerts("", ())
        else:
            self.stored = sync_patient_alerts(
                self.store, patient_id, who=self.author(), protocol=self.protocol
            )
        self._render()

    def reload(self) -> None:
        """Re-read the stored alerts (after a write that may have raised one)."""
        if self.patient_id is not None:
            self.stored = patient_alerts(self.store, self.patient_id)
        self._render()

    def set_live(self, alerts: Sequence[Alert]) -> None:
        """The page's own alerts (not stored yet); shown with the open stored ones."""
        self.live = tuple(alerts)
        self._render()

    @property
    def shown(self) -> list[Alert | StoredAlert]:
        """What the banner shows: open stored alerts, then live ones not among them (a live
        alert equal to an acknowledged one is still shown: it is a new finding)."""
        known = {a.alert for a in self.stored.open}
        live: list[Alert | StoredAlert] = [a for a in self.live if a not in known]
        return [*self.stored.open, *live]

    def _render(self) -> None:
        self.banner.set_alerts(self.shown)
        open_ = self.stored.open
        keep = self.choice.value
        self.choice.options = [
            (f"{a.alert.level.value.upper()}: {a.alert.rule_id} ({a.origin})", a.alert_id)
            for a in open_
        ]
        ids = [a.alert_id for a in open_]
        self.choice.value = keep if keep in ids else (ids[0] if ids else None)
        self.ack_box.layout.display = None if open_ else "none"
        rows = "".join(
            f"<li class='{'kap-history-open' if a.is_open else 'kap-history-acknowledged'}'>"
            f"{escape(a.alert.level.value.upper())} {escape(a.alert.message)} "
            f"<span class='kap-muted'>{escape(a.origin)}; "
            + ("open" if a.acknowledgement is None else escape(a.acknowledgement.summary))
            + "</span></li>"
            for a in self.stored.alerts
        )
        self.history.value = (
            (
                f"<details><summary>Safety alert history ({len(self.stored.alerts)}: "
                f"{len(open_)} open, {len(self.stored.acknowledged)} acknowledged)</summary>"
                f"<ul>{rows}</ul></details>"
            )
            if self.stored.alerts
            else ""
        )

    def _on_ack(self, _button: Any = None) -> None:
        self.message.clear()
        try:
            if self.choice.value is None:
                self.message.error("No open alert is selected.")
                return
            done = acknowledge_alert(
                self.store, self.choice.value, note=self.note.value, who=self.author()
            )
        except KaptoolsError as exc:
            self.message.error(str(exc))
            return
        self.note.value = ""
        self.reload()
        self.message.ok(f"Alert {done.alert.rule_id} {done.acknowledgement.summary}.")  # type: ignore[union-attr]
        if self._on_change_cb is not None:
            self._on_change_cb()


class ErrorBox(w.HTML):
    """Inline error / confirmation text (``kap-error`` / ``kap-ok``)."""

    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        self.clear()

    def clear(self) -> None:
        self.value = ""
        self.remove_class("kap-error")
        self.remove_class("kap-ok")
        self.layout.display = "none"

    def error(self, message: str) -> None:
        self.remove_class("kap-ok")
        self.add_class("kap-error")
        self.value = escape(message)
        self.layout.display = None

    def ok(self, message: str) -> None:
        self.remove_class("kap-error")
        self.add_class("kap-ok")
        self.value = escape(message)
        self.layout.display = None


class PatientPicker(w.Dropdown):
    """A dropdown of patients (label → patient id)."""

    def __init__(self, patients: Iterable[Patient] = (), **kwargs: Any):
        kwargs.setdefault("description", "Patient")
        kwargs.setdefault("layout", w.Layout(width="420px"))
        super().__init__(**kwargs)
        self.add_class("kap-patient-picker")
        self.set_patients(patients)

    def set_patients(self, patients: Iterable[Patient]) -> None:
        self.options = [(p.label, p.patient_id) for p in patients]


def show_figure(out: w.Output, fig: Any) -> None:
    """Draw a plotly figure (a ``go.Figure`` or plain plotly JSON) in ``out``.

    Through plotly's mimetype renderer: cheaper than a FigureWidget in Voilà (no 5 MB
    widget bundle per figure, voila-notes), and the browser caches its JavaScript.
    """
    spec = json.loads(fig.to_json()) if hasattr(fig, "to_json") else fig
    height = int(spec.get("layout", {}).get("height") or 450)
    out.add_class("kap-chart")
    out.layout.height = f"{height + 10}px"
    bundle = {
        "application/vnd.plotly.v1+json": {
            **spec,
            "config": {"displaylogo": False, "responsive": True},
        }
    }
    with out:
        out.clear_output(wait=True)
        display(bundle, raw=True)


def lock_author(widget: w.Text) -> w.Text:
    """Make an author field display-only: the signed-in person (the value it was built
    with: kaptools.identity / KAPTOOLS_USER), never typed. The browser can still send a
    new value over the widget's comm, so any change is put back at once."""
    name = widget.value
    widget.disabled = True
    widget.add_class("kap-author-locked")

    def keep(change: dict[str, Any]) -> None:
        if change["new"] != name:
            widget.value = name

    widget.observe(keep, names="value")
    return widget

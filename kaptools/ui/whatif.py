"""What-if dashboard: a clinic lead tries screening thresholds on the synthetic cohort.

One frozen :class:`WhatIfState` (the changes asked for), one pure function that
derives what the page shows (:func:`derive`), one render path. The comparison is
:func:`kaptools.whatif.compare_screening`; the changes go through
``Protocol.with_changes`` (validated like a protocol file), so the page decides
nothing clinical and every figure names both protocols.
"""

from __future__ import annotations

import base64
import html
import io
from dataclasses import dataclass, field
from typing import Any

import ipywidgets as w
import pandas as pd
import plotly.graph_objects as go

from kaptools.errors import KaptoolsError
from kaptools.protocol import Protocol, protocol_from_env
from kaptools.screening import synthetic_screening_frame
from kaptools.spreadsheet import safe_frame
from kaptools.ui.common import CSS, ConfigurationProblem, ErrorBox, escape, show_figure
from kaptools.whatif import ScreeningComparison, compare_screening

__all__ = [
    "THRESHOLD_KEYS",
    "WhatIfApp",
    "WhatIfState",
    "WhatIfView",
    "derive",
    "transition_figure",
]

DISCLAIMER = (
    "Decision support for protocol review, on synthetic patients only: it shows which "
    "synthetic patients would meet the changed protocol's criteria, never a decision "
    "about a real patient."
)

#: The thresholds a clinic lead can try here: protocol key path → label.
THRESHOLD_KEYS: dict[str, str] = {
    "screening.thresholds.bp_caution_systolic_above": "Caution: systolic above (mmHg)",
    "screening.thresholds.bp_caution_diastolic_above": "Caution: diastolic above (mmHg)",
    "screening.thresholds.bp_defer_systolic_min": "Defer: systolic at or above (mmHg)",
    "screening.thresholds.bp_defer_diastolic_min": "Defer: diastolic at or above (mmHg)",
    "screening.thresholds.age_minimum": "Minimum age (years)",
    "screening.thresholds.age_caution_from": "Older-adult caution from (years)",
    "screening.thresholds.benzodiazepine_high_dose_above": (
        "Benzodiazepine high dose above (mg diazepam-eq./day)"
    ),
    "screening.thresholds.failed_adequate_trials_min": "Failed adequate trials needed",
    "screening.thresholds.trial_weeks_min": "Adequate trial: at least (weeks)",
}

COHORT_SIZE = 400
COHORT_SEED = 2026


@dataclass(frozen=True)
class WhatIfState:
    """What the lead asked for: changed values by key path (only those that differ)."""

    changes: tuple[tuple[str, float], ...] = ()


@dataclass(frozen=True)
class WhatIfView:
    """What the page shows, derived from the state."""

    comparison: ScreeningComparison | None = None
    error: str = ""
    changes: tuple[tuple[str, float], ...] = field(default=())

    @property
    def csv(self) -> str:
        """The patients who change status, as CSV (empty table when none or no comparison);
        text cells a spreadsheet would execute get a leading quote."""
        if self.comparison is None:
            return ""
        # cells a spreadsheet would execute are neutralised, as in every kaptools CSV
        return safe_frame(self.comparison.changed).to_csv(index=False)

    @property
    def parquet(self) -> bytes:
        """The same table as Parquet (cells as they are; both protocols in the metadata)."""
        if self.comparison is None:
            return b""
        import json

        import pyarrow as pa
        import pyarrow.parquet as pq

        c = self.comparison
        table = pa.Table.from_pandas(c.changed, preserve_index=False)
        meta = dict(table.schema.metadata or {})
        meta[b"kaptools.protocols"] = json.dumps(
            {
                side: {"name": p.name, "version": p.version, "sha256": p.sha256}
                for side, p in (("before", c.before), ("after", c.after))
            }
        ).encode()
        buf = io.BytesIO()
        pq.write_table(table.replace_schema_metadata(meta), buf)
        return buf.getvalue()


def derive(state: WhatIfState, base: Protocol, cohort: pd.DataFrame) -> WhatIfView:
    """Screen ``cohort`` under ``base`` and under ``base`` with the state's changes."""
    if not state.changes:
        return WhatIfView(None, "", ())
    try:
        after = base.with_changes(dict(state.changes), name="what-if")
        comparison = compare_screening(cohort, after, before=base)
    except KaptoolsError as exc:
        return WhatIfView(None, str(exc), state.changes)
    return WhatIfView(comparison, "", state.changes)


def transition_figure(transitions: pd.DataFrame, title: str) -> go.Figure:
    """A heatmap of patients by status before (rows) and after (columns)."""
    z = transitions.to_numpy()
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=[str(c) for c in transitions.columns],
            y=[str(r) for r in transitions.index],
            text=z,
            texttemplate="%{text}",
            colorscale="Blues",
            showscale=False,
            hovertemplate="before %{y} → after %{x}: %{z} patients<extra></extra>",
        )
    )
    fig.update_layout(
        title=title,
        height=380,
        template="plotly_white",
        xaxis_title="under the changed protocol",
        yaxis_title="under the current protocol",
        yaxis_autorange="reversed",
        margin={"l": 170, "r": 20, "t": 60, "b": 60},
    )
    return fig


def _download_link(csv_text: str, parquet: bytes = b"") -> str:
    data = base64.b64encode(csv_text.encode("utf-8")).decode("ascii")
    link = (
        "<a class='kap-download' download='whatif-status-changes.csv' "
        f"href='data:text/csv;base64,{data}'>Download the table (CSV)</a>"
    )
    if parquet:
        packed = base64.b64encode(parquet).decode("ascii")
        link += (
            " <a class='kap-download-parquet' download='whatif-status-changes.parquet' "
            f"href='data:application/vnd.apache.parquet;base64,{packed}'>(Parquet)</a>"
        )
    return link


class WhatIfApp:
    """The what-if dashboard. ``app.container`` is what the dashboard shows."""

    def __init__(
        self,
        protocol: Protocol,
        *,
        cohort: pd.DataFrame | None = None,
        n: int = COHORT_SIZE,
        seed: int = COHORT_SEED,
    ):
        self.protocol = protocol
        self.cohort = (
            cohort if cohort is not None else synthetic_screening_frame(n, seed, protocol=protocol)
        )
        self.state = WhatIfState()
        self.view = WhatIfView()
        self.fields: dict[str, w.FloatText] = {}
        for key, label in THRESHOLD_KEYS.items():
            current = float(protocol.value(key)["value"])
            box = w.FloatText(
                value=current, description=label, style={"description_width": "320px"}
            )
            box.layout.width = "460px"
            box.add_class("kap-threshold")
            box.add_class("kap-threshold-" + key.rsplit(".", 1)[-1].replace("_", "-"))
            self.fields[key] = box
        self.apply_button = w.Button(description="Compare", button_style="primary", icon="play")
        self.apply_button.add_class("kap-whatif-apply")
        self.reset_button = w.Button(description="Reset to the protocol", icon="undo")
        self.reset_button.add_class("kap-whatif-reset")
        self.error = ErrorBox()
        self.error.add_class("kap-whatif-error")
        self.summary = w.HTML()
        self.summary.add_class("kap-whatif-summary")
        self.table = w.HTML()
        self.table.add_class("kap-whatif-table")
        self.chart = w.Output()
        self.chart.add_class("kap-whatif-chart")
        self.download = w.HTML()
        self.download.add_class("kap-whatif-download")
        self.apply_button.on_click(self._on_apply)
        self.reset_button.on_click(self._on_reset)
        self.container = w.VBox(
            [
                w.HTML(CSS),
                w.HTML(
                    f"<p class='kap-muted kap-protocol'>{escape(DISCLAIMER)} Current protocol: "
                    f"{escape(protocol.info.short)}. Cohort: {len(self.cohort)} synthetic "
                    f"patients.</p>"
                ),
                w.VBox(list(self.fields.values())),
                w.HBox([self.apply_button, self.reset_button]),
                self.error,
                self.summary,
                self.chart,
                self.download,
                self.table,
            ]
        )
        self.container.add_class("kap-app")
        self.container.add_class("kap-whatif")
        self._render()

    @classmethod
    def from_environment(cls, **kwargs: Any) -> WhatIfApp | ConfigurationProblem:
        """The dashboard on the clinic's protocol (``KAPTOOLS_PROTOCOL``) and synthetic data."""
        try:
            return cls(protocol_from_env(), **kwargs)
        except KaptoolsError as exc:
            return ConfigurationProblem(str(exc))

    # ---- state -----------------------------------------------------------------
    def state_from_fields(self) -> WhatIfState:
        """The changes the fields hold: values that differ from the protocol's."""
        changes = []
        for key, box in self.fields.items():
            current = float(self.protocol.value(key)["value"])
            if box.value != current:
                changes.append((key, float(box.value)))
        return WhatIfState(tuple(changes))

    def set_state(self, state: WhatIfState) -> None:
        self.state = state
        self.view = derive(state, self.protocol, self.cohort)
        self._render()

    def _on_apply(self, _button: Any = None) -> None:
        self.set_state(self.state_from_fields())

    def _on_reset(self, _button: Any = None) -> None:
        with self.container.hold_sync():
            for key, box in self.fields.items():
                box.value = float(self.protocol.value(key)["value"])
        self.set_state(WhatIfState())

    # ---- the one render path ---------------------------------------------------------
    def _render(self) -> None:
        v = self.view
        with self.container.hold_sync():
            if v.error:
                self.error.error(v.error)
            else:
                self.error.clear()
            c = v.comparison
            if c is None:
                self.summary.value = (
                    "<p class='kap-muted'>Change one or more thresholds and press Compare "
                    "to see which synthetic patients would change status.</p>"
                )
                self.table.value = ""
                self.download.value = ""
                self.chart.clear_output()
                return
            self.summary.value = f"<p>{html.escape(c.summary)}</p>"
            changed = c.changed.head(200)
            self.table.value = (
                "<p><strong>Patients who change status</strong> (rules that started or "
                "stopped firing)</p>"
                + changed.to_html(classes="kap-table kap-whatif-changed", index=False, border=0)
            )
            self.download.value = _download_link(v.csv, v.parquet)
            show_figure(
                self.chart,
                transition_figure(c.transitions, "Screening status: current → changed protocol"),
            )

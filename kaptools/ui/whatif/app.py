"""The what-if App: threshold fields, Compare / Reset, and one render path."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any

import ipywidgets as w

from kaptools.errors import KaptoolsError
from kaptools.protocol import Protocol, protocol_from_env
from kaptools.ui.common import CSS, ConfigurationProblem, DashboardApp, escape
from kaptools.ui.whatif.report import download_link, transition_figure
from kaptools.ui.whatif.state import (
    THRESHOLD_KEYS,
    WhatIfState,
    WhatIfView,
    derive,
    protocol_values,
)
from kaptools.ui.widgets import ErrorBox, show_figure
from kaptools.validation import check_synthetic_size

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["COHORT_SEED", "COHORT_SIZE", "DISCLAIMER", "WhatIfApp"]

DISCLAIMER = (
    "Decision support for protocol review, on synthetic patients only: it shows which "
    "synthetic patients would meet the changed protocol's criteria, never a decision "
    "about a real patient."
)

COHORT_SIZE = 400
COHORT_SEED = 2026

_ASK = (
    "<p class='kap-muted'>Change one or more thresholds and press Compare "
    "to see which synthetic patients would change status.</p>"
)


class WhatIfApp(DashboardApp[WhatIfState]):
    """The what-if dashboard. ``app.container`` is what the dashboard shows.

    ``state`` holds the changes asked for; :func:`derive` gives the view (``view``);
    :meth:`render` shows it.
    """

    def __init__(
        self,
        protocol: Protocol,
        *,
        cohort: pd.DataFrame | None = None,
        n: int = COHORT_SIZE,
        seed: int = COHORT_SEED,
    ):
        self._init_state(WhatIfState())
        self.protocol = protocol
        self._cohort = cohort
        if cohort is None:  # refused now, though the cohort is built at the first Compare
            check_synthetic_size(n)
        self._cohort_args = (n, seed)
        self.view = WhatIfView()
        self._viewed: WhatIfState | None = None
        self.fields: dict[str, w.FloatText] = {}
        for key, value in protocol_values(protocol).items():
            box = w.FloatText(
                value=value, description=THRESHOLD_KEYS[key], style={"description_width": "320px"}
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
        self.container = self._layout()
        self.update()

    def _layout(self) -> w.VBox:
        box = w.VBox(
            [
                w.HTML(CSS),
                w.HTML(
                    f"<p class='kap-muted kap-protocol'>{escape(DISCLAIMER)} Current protocol: "
                    f"{escape(self.protocol.info.short)}. Cohort: {self.cohort_size} synthetic "
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
        box.add_class("kap-app")
        box.add_class("kap-whatif")
        return box

    @classmethod
    def from_environment(cls, **kwargs: Any) -> WhatIfApp | ConfigurationProblem:
        """The dashboard on the clinic's protocol (``KAPTOOLS_PROTOCOL``) and synthetic data."""
        try:
            return cls(protocol_from_env(), **kwargs)
        except KaptoolsError as exc:
            return ConfigurationProblem(str(exc))

    @property
    def cohort(self) -> pd.DataFrame:
        """The synthetic cohort compared: built on first use (the first Compare), so a
        preheated kernel holds neither it nor pandas (issue 14, kernel memory)."""
        if self._cohort is None:
            from kaptools.screening import synthetic_screening_frame

            n, seed = self._cohort_args
            self._cohort = synthetic_screening_frame(n, seed, protocol=self.protocol)
        return self._cohort

    @property
    def cohort_size(self) -> int:
        """How many synthetic patients the cohort holds (without building it)."""
        return self._cohort_args[0] if self._cohort is None else len(self._cohort)

    # ---- state -----------------------------------------------------------------
    def state_from_fields(self) -> WhatIfState:
        """The changes the fields hold: values that differ from the protocol's."""
        return WhatIfState.from_values(
            {k: box.value for k, box in self.fields.items()}, self.protocol
        )

    def set_state(self, state: WhatIfState) -> None:
        """Show ``state`` (what Compare and Reset do)."""
        self.replace(state)

    def _on_apply(self, _button: Any = None) -> None:
        self.replace(self.state_from_fields())

    def _on_reset(self, _button: Any = None) -> None:
        with self.batch():
            for key, value in protocol_values(self.protocol).items():
                self.fields[key].value = value
            self.replace(WhatIfState())

    # ---- the one render path ---------------------------------------------------------
    def render(self, state: WhatIfState) -> None:
        if state != self._viewed:  # derive (screening the cohort twice) once per state
            self.view, self._viewed = self._derive(state), state
        v = self.view
        if v.error:
            self.error.error(v.error)
        else:
            self.error.clear()
        c = v.comparison
        if c is None:
            self.summary.value = _ASK
            self.table.value = ""
            self.download.value = ""
            return
        self.summary.value = f"<p>{html.escape(c.summary)}</p>"
        self.table.value = c.changed_html()
        self.download.value = download_link(v.csv, v.parquet)

    def _derive(self, state: WhatIfState) -> WhatIfView:
        try:  # the cohort is built when first compared
            cohort = self.cohort if state.changes else None
        except KaptoolsError as exc:
            return WhatIfView(None, str(exc), state.changes)
        return derive(state, self.protocol, cohort)

    def draw(self, state: WhatIfState) -> None:
        c = self.view.comparison
        if c is None:
            self.chart.clear_output()
            return
        show_figure(
            self.chart,
            transition_figure(c.transitions, "Screening status: current → changed protocol"),
        )

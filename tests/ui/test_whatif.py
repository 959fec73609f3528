"""The what-if dashboard's App: state from the fields, one derive, one render path."""

from __future__ import annotations

import base64
import io

import pandas as pd
import pytest

from kaptools.errors import InvalidInputError
from kaptools.protocol import default_protocol
from kaptools.screening import synthetic_screening_frame
from kaptools.ui.whatif import THRESHOLD_KEYS, WhatIfApp, WhatIfState, derive

BP = "screening.thresholds.bp_caution_systolic_above"
COHORT = synthetic_screening_frame(300, seed=8)


def test_fields_start_at_the_protocols_values_and_nothing_is_compared() -> None:
    """A fresh page shows the protocol's values and asks for a change."""
    app = WhatIfApp(default_protocol(), cohort=COHORT)
    assert app.fields[BP].value == 140
    assert app.state_from_fields() == WhatIfState()
    assert "press Compare" in app.summary.value and app.download.value == ""
    assert set(app.fields) == set(THRESHOLD_KEYS)


def test_compare_shows_transitions_table_and_a_download_of_the_same_table() -> None:
    """After a change: the summary, the changed patients and a CSV link with those rows."""
    app = WhatIfApp(default_protocol(), cohort=COHORT)
    app.fields[BP].value = 130
    app._on_apply()
    c = app.view.comparison
    assert c is not None and c.after.name.startswith("what-if (modified:")
    assert "change status" in app.summary.value
    href = app.download.value.split("base64,", 1)[1].split("'", 1)[0]
    table = pd.read_csv(io.StringIO(base64.b64decode(href).decode()))
    assert table.patient_id.tolist() == c.changed.patient_id.tolist()
    assert "kap-whatif-changed" in app.table.value


def test_an_invalid_threshold_is_an_error_on_the_page_not_a_crash() -> None:
    """A caution line above the defer line is refused with the protocol's message."""
    app = WhatIfApp(default_protocol(), cohort=COHORT)
    app.fields[BP].value = 200
    app._on_apply()
    assert app.view.comparison is None
    assert "must be below bp_defer_systolic_min" in app.error.value
    app._on_reset()
    assert app.fields[BP].value == 140 and app.state == WhatIfState()


def test_derive_is_pure() -> None:
    """The same state gives the same view."""
    state = WhatIfState(((BP, 130.0),))
    a, b = derive(state, default_protocol(), COHORT), derive(state, default_protocol(), COHORT)
    assert a.comparison is not None and b.comparison is not None
    pd.testing.assert_frame_equal(a.comparison.transitions, b.comparison.transitions)
    assert a.csv == b.csv


def test_the_download_neutralises_cells_a_spreadsheet_would_execute() -> None:
    """A cohort's patient id starting with '=' is written with a leading quote in the CSV
    download (the comparison itself keeps the id as given)."""
    import csv

    cohort = COHORT.copy()
    cohort["patient_id"] = cohort["patient_id"].astype(str)
    ids = {pid: f'=HYPERLINK("x","{pid}")' for pid in cohort["patient_id"]}
    cohort["patient_id"] = cohort["patient_id"].map(ids)
    view = derive(WhatIfState(((BP, 130.0),)), default_protocol(), cohort)
    assert view.comparison is not None and len(view.comparison.changed) > 0
    rows = list(csv.DictReader(io.StringIO(view.csv)))
    assert [r["patient_id"] for r in rows] == [
        "'" + pid for pid in view.comparison.changed.patient_id
    ]
    assert all(pid.startswith("=") for pid in view.comparison.changed.patient_id)


def test_the_table_also_downloads_as_parquet_with_both_protocols() -> None:
    """The Parquet link holds the same rows as the CSV, cells as they are, and names the
    protocols before and after in its metadata."""
    import json

    import pyarrow.parquet as pq

    app = WhatIfApp(default_protocol(), cohort=COHORT)
    app.fields[BP].value = 130
    app._on_apply()
    c = app.view.comparison
    assert c is not None
    href = app.download.value.split("kap-download-parquet", 1)[1].split("base64,", 1)[1]
    table = pq.read_table(io.BytesIO(base64.b64decode(href.split("'", 1)[0])))
    pd.testing.assert_frame_equal(table.to_pandas(), c.changed.reset_index(drop=True))
    meta = json.loads(table.schema.metadata[b"kaptools.protocols"])
    assert meta["before"]["sha256"] == c.before.sha256 != meta["after"]["sha256"]
    assert meta["after"]["name"].startswith("what-if (modified:")


def test_compare_and_reset_are_state_changes_rendered_once() -> None:
    """Compare makes the fields' changes the state; Reset restores the protocol's values
    and the empty state; each renders the page once."""
    app = WhatIfApp(default_protocol(), cohort=COHORT)
    app.fields[BP].value = 130
    before = app.renders
    app._on_apply()
    assert app.state == WhatIfState(((BP, 130.0),)) and app.renders == before + 1
    assert app.table.value == app.view.comparison.changed_html()
    app._on_reset()
    assert app.state == WhatIfState() and app.renders == before + 2
    assert app.fields[BP].value == 140 and app.view.comparison is None


def test_the_heatmap_is_the_figure_plotly_would_build_without_importing_plotly() -> None:
    """The transition heatmap is plain plotly JSON: its trace and layout are what
    ``go.Heatmap`` with the ``plotly_white`` template gives (the template's parts a
    heatmap uses written out), and the page's code never imports plotly."""
    import json
    import subprocess
    import sys

    import plotly.graph_objects as go
    import plotly.io as pio

    from kaptools.ui.whatif import transition_figure

    view = derive(WhatIfState(((BP, 130.0),)), default_protocol(), COHORT)
    assert view.comparison is not None
    t = view.comparison.transitions
    spec = transition_figure(t, "title")
    z = t.to_numpy().tolist()
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=[str(c) for c in t.columns],
            y=[str(r) for r in t.index],
            text=z,
            texttemplate="%{text}",
            colorscale="Blues",
            showscale=False,
            hovertemplate="before %{y} → after %{x}: %{z} patients<extra></extra>",
        )
    )
    fig.update_layout(
        title="title",
        height=380,
        template="plotly_white",
        xaxis_title="under the changed protocol",
        yaxis_title="under the current protocol",
        yaxis_autorange="reversed",
        margin={"l": 170, "r": 20, "t": 60, "b": 60},
    )
    want = json.loads(fig.to_json())
    assert spec["data"] == want["data"] and sum(map(sum, spec["data"][0]["z"])) == len(COHORT)
    template = want["layout"].pop("template")
    assert {k: v for k, v in spec["layout"].items() if k != "template"} == want["layout"]
    white = pio.templates["plotly_white"].layout.to_plotly_json()
    assert spec["layout"]["template"]["layout"] == {
        k: white[k] for k in spec["layout"]["template"]["layout"]
    }
    assert template["layout"]["plot_bgcolor"] == "white"
    code = (
        "import sys\nfrom kaptools.ui.whatif import transition_figure\n"
        "print('plotly' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.stdout.strip() == "False", done.stderr


@pytest.mark.parametrize("n", [-1, 2.5, True, "400", 10**12])
def test_a_bad_cohort_size_is_refused_when_the_app_is_built(n: object) -> None:
    """The cohort is built at the first Compare, but its size is checked at once."""
    with pytest.raises(InvalidInputError, match="n must be a whole number from 0 to"):
        WhatIfApp(default_protocol(), n=n)  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match=r"\bn\b.*whole number"):  # (the same rule)
        synthetic_screening_frame(n)  # type: ignore[arg-type]

"""The trend chart spec is valid plotly JSON and shows what the trends say."""

from __future__ import annotations

import pytest

from kaptools.demo import build_demo_database
from kaptools.protocol import default_protocol
from kaptools.store import Store
from kaptools.trends import patient_trends
from kaptools.ui.charts import trend_figure, trend_figure_spec


@pytest.fixture(scope="module")
def store() -> Store:
    s = Store.in_memory()
    build_demo_database(s, n=4)
    return s


@pytest.mark.parametrize("pid", ["SYN-0001", "SYN-0002", "SYN-0003"])
def test_spec_is_valid_plotly_and_has_one_series_per_measure(store: Store, pid: str) -> None:
    """plotly's own validators accept the spec; each measure has its series and band shading."""
    t = patient_trends(store, pid)
    fig = trend_figure(t, default_protocol())  # raises on any invalid property
    series = [tr for tr in fig.data if tr.mode == "lines+markers"]
    assert [s.name for s in series] == [m.definition.title for m in t.measures.values()]
    for s, m in zip(series, t.measures.values(), strict=True):
        assert list(s.y) == [p.result.total for p in m.points]
    rects = [sh for sh in fig.layout.shapes if sh.type == "rect"]
    assert len(rects) == sum(len(m.definition.bands) for m in t.measures.values())


def test_doses_and_alerts_are_marked(store: Store) -> None:
    """Each dosing session is a vertical line in every subplot; alert points are ringed."""
    t = patient_trends(store, "SYN-0003")
    spec = trend_figure_spec(t, default_protocol())
    dose_lines = [s for s in spec["layout"]["shapes"] if s["yref"].endswith(" domain")]
    assert len(dose_lines) == len(t.sessions) * len(t.measures)
    ringed = [d for d in spec["data"] if d["name"] == "safety alert"]
    assert (
        ringed
        and ringed[0]["x"][-1]
        == t.measures[next(iter(t.measures))].latest.administered_on.isoformat()
    )


def test_patient_without_assessments_gets_an_empty_chart_with_a_note() -> None:
    """No assessments: a valid figure saying so, not an error."""
    s = Store.in_memory()
    s.add_patient("SYN-1", "P", birth_date=None, sex="unknown", weight_kg=None)
    spec = trend_figure_spec(patient_trends(s, "SYN-1"), default_protocol())
    assert spec["data"] == []
    assert "No assessments" in spec["layout"]["annotations"][0]["text"]

"""The dashboards' one state pattern (DashboardApp) and the shared-widget module."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import ipywidgets as w
import pytest

import kaptools.ui.common as common
import kaptools.ui.widgets as widgets
from kaptools.ui.common import DashboardApp, hold_sync, widget_tree


@dataclass(frozen=True)
class Count:
    n: int = 0
    label: str = "count"


class Counter(DashboardApp[Count]):
    """A minimal app: one label widget and one number, rendered from the state."""

    def __init__(self) -> None:
        self._init_state(Count())
        self.text = w.HTML()
        self.number = w.IntText()
        self.container = w.VBox([w.HBox([self.text]), self.number])
        self.update()

    @staticmethod
    def reduce(state: Count, action: Any) -> Count:
        if action == "add":
            return dataclasses.replace(state, n=state.n + 1)
        if action == "reset":
            return Count()
        raise ValueError(action)

    def render(self, state: Count) -> None:
        self.text.value = f"{state.label}: {state.n}"
        self.text.description = state.label
        self.number.value = state.n


def test_state_is_frozen_and_the_page_is_rendered_from_it() -> None:
    """The state cannot be changed in place; what the page shows follows the state."""
    app = Counter()
    assert app.text.value == "count: 0" and app.renders == 1
    with pytest.raises(dataclasses.FrozenInstanceError):
        app.state.n = 3  # type: ignore[misc]
    app.dispatch("add")
    app.dispatch("add")
    assert app.state == Count(2) and app.text.value == "count: 2" and app.number.value == 2
    app.replace(label="visits")
    assert app.state == Count(2, "visits") and app.text.value == "visits: 2"
    app.replace(Count(7))
    assert app.text.value == "count: 7"


def test_reduce_is_pure() -> None:
    """The reducer returns a new state and leaves the one it was given alone."""
    before = Count(1)
    after = Counter.reduce(before, "add")
    assert before == Count(1) and after == Count(2)
    assert Counter.reduce(after, "reset") == Count()


def test_a_batch_renders_once_at_its_end() -> None:
    """Many state changes inside batch() (nested too) render once, when the outermost ends."""
    app = Counter()
    with app.batch():
        app.dispatch("add")
        with app.batch():
            app.dispatch("add")
            assert app.holding
        app.dispatch("add")
        assert app.renders == 1 and app.text.value == "count: 0"
    assert app.renders == 2 and app.text.value == "count: 3" and not app.holding
    with app.batch():
        pass
    assert app.renders == 2  # nothing changed: nothing rendered


def test_a_render_sends_each_widgets_changes_in_one_message(monkeypatch) -> None:
    """Under hold_sync a widget whose value and description both change sends one update."""
    app = Counter()
    sent: list[Any] = []
    monkeypatch.setattr(
        app.text, "send_state", lambda key=None: sent.append(set(key) if key else key)
    )
    app.replace(Count(5, "visits"))
    assert len(sent) == 1 and {"value", "description"} <= set(sent[0])
    sent.clear()
    app.text.value = "typed directly"  # outside a render: one message per change
    app.text.description = "x"
    assert len(sent) == 2


def test_widget_tree_walks_boxes_once() -> None:
    """Every widget below the container is found once (a widget shown twice too)."""
    leaf = w.HTML()
    root = w.VBox([w.HBox([leaf]), leaf, w.Tab(children=[w.VBox([leaf])])])
    found = list(widget_tree(root))
    assert found.count(leaf) == 1 and len(found) == 5
    with hold_sync(found):
        assert all(x._holding_sync for x in found)
    assert not any(x._holding_sync for x in found)


def test_the_shared_widgets_keep_their_old_import_path() -> None:
    """kaptools.ui.common re-exports the widgets that moved to kaptools.ui.widgets."""
    for name in widgets.__all__:
        assert getattr(common, name) is getattr(widgets, name)
        assert name in common.__all__


def test_output_widgets_are_not_held_during_a_render() -> None:
    """An Output widget must sync its msg_id at once (or the browser drops the display)."""
    app = Counter()
    out = w.Output()
    app.container.children = (*app.container.children, out)
    held = list(app.rendered_widgets())
    assert out not in held and app.text in held and app.number in held


def test_charts_are_drawn_after_the_texts_went_out(monkeypatch) -> None:
    """draw() runs once per render, after the render's batched updates were sent, so the
    browser shows the text before it spends its time on a chart."""
    app = Counter()
    events: list[str] = []
    monkeypatch.setattr(app.text, "send_state", lambda key=None: events.append("text sent"))
    monkeypatch.setattr(app, "draw", lambda state: events.append(f"drawn {state.n}"))
    app.replace(Count(4))
    assert events == ["text sent", "drawn 4"]

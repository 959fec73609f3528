"""What every dashboard shares: the one state pattern (:class:`DashboardApp`), the
patient-page base (:class:`PatientApp`), the shared styles, error handling of callbacks
and the three-way merge of a reloaded form.

The shared widgets live in :mod:`kaptools.ui.widgets` and are re-exported here (the
dashboards and their tests import them from either module).
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from functools import wraps
from typing import TYPE_CHECKING, Any, Generic, Self, TypeVar
from urllib.parse import parse_qs

import ipywidgets as w

from kaptools.errors import AccessDeniedError, KaptoolsError
from kaptools.limits import size_limit
from kaptools.printer import escape
from kaptools.protocol import Protocol, protocol_from_env
from kaptools.store import Store
from kaptools.ui.widgets import (
    AuditedDownloads,
    CrisisBanner,
    DownloadFile,
    ErrorBox,
    PatientAlertsPanel,
    PatientPicker,
    UrlParameters,
    lock_author,
    show_figure,
)
from kaptools.vocabulary import is_patient_id

__all__ = [
    "CSS",
    "AuditedDownloads",
    "ConfigurationProblem",
    "CrisisBanner",
    "DashboardApp",
    "DownloadFile",
    "ErrorBox",
    "PatientAlertsPanel",
    "PatientApp",
    "PatientPicker",
    "Reapplied",
    "UrlParameters",
    "guarded",
    "hold_sync",
    "lock_author",
    "reapplied_html",
    "reapply_edits",
    "show_figure",
    "widget_tree",
]

log = logging.getLogger("kaptools.ui")

#: Styles shared by the dashboards (one place; injected once per page).
CSS = """
<style>
.kap-app { font-family: system-ui, -apple-system, 'Segoe UI', sans-serif; max-width: 1200px; }
.kap-title h2 { margin: 0.2em 0; }
.kap-disclaimer { color: #444; font-size: 0.9em; margin-bottom: 0.6em; }
.kap-crisis-banner { border: 2px solid #b00020; background: #fdecea; color: #5f0010;
  padding: 0.6em 0.9em; border-radius: 6px; margin: 0.4em 0; font-size: 1.02em; }
.kap-crisis-banner.kap-critical { background: #b00020; color: white; }
.kap-crisis-banner.kap-critical .kap-muted { color: #ffe3e3; }
.kap-error { color: #8a0010; background: #fff3f3; border-left: 4px solid #b00020;
  padding: 0.3em 0.6em; white-space: pre-wrap; }
.kap-ok { color: #0a5c2c; background: #eefaf2; border-left: 4px solid #1e8e3e;
  padding: 0.3em 0.6em; }
.kap-table { border-collapse: collapse; font-size: 0.92em; }
.kap-table th, .kap-table td { border-bottom: 1px solid #ddd; padding: 3px 8px; text-align: left; }
.kap-table th { background: #f4f6f8; }
.kap-muted { color: #666; font-size: 0.85em; }
.kap-badge { display: inline-block; padding: 1px 7px; border-radius: 9px; font-size: 0.85em; }
.kap-yes { background: #e6f4ea; color: #0a5c2c; }
.kap-no { background: #f1f3f4; color: #333; }
.kap-warn { background: #fef7e0; color: #7a4f01; }
/* plotly's mimetype renderer sizes itself to its parent; the Output widget gets the
   figure's height from show_figure() and the output area must not collapse to 0. */
.kap-chart .jp-OutputArea, .kap-chart .jp-OutputArea-child, .kap-chart .jp-RenderedPlotly {
  height: 100% !important; width: 100%; overflow: visible !important; }
.kap-chart .jp-OutputArea-prompt { display: none; }
.kap-ack-box { border: 1px solid #e0b4b4; background: #fff8f8; padding: 0.3em 0.6em;
  border-radius: 6px; margin: 0 0 0.4em 0; }
.kap-alert-history summary { cursor: pointer; color: #444; }
.kap-alert-block { border: 2px solid #b00020; padding: 0.4em 0.7em; margin: 0.4em 0; }
</style>
"""


@dataclass(frozen=True, slots=True)
class Reapplied:
    """The user's unsaved edits re-applied to a newer version (:func:`reapply_edits`)."""

    values: dict[str, Any]
    """The newer version with the user's non-conflicting edits applied."""
    applied: tuple[str, ...]
    """Fields where the user's edit was re-applied (the newer version had not changed them)."""
    conflicts: tuple[tuple[str, Any, Any], ...]
    """(field, the user's value, the newer version's value) where both changed it
    differently: the newer version's value is kept and the user's is shown beside it."""


def reapply_edits(
    base: Mapping[str, Any], mine: Mapping[str, Any], theirs: Mapping[str, Any]
) -> Reapplied:
    """Three-way merge of form values, field by field: ``base`` is the version the user
    loaded, ``mine`` the form as the user left it, ``theirs`` the newer saved version.

    A field only the user changed takes the user's value; a field only the newer version
    changed keeps it; a field both changed the same way is that value; a field both
    changed differently is a conflict (the newer version's value is kept, the user's is
    reported so nothing they typed is lost silently)."""
    merged: dict[str, Any] = dict(theirs)
    applied: list[str] = []
    conflicts: list[tuple[str, Any, Any]] = []
    for key in sorted(set(mine) | set(theirs), key=str):
        m, t, b = mine.get(key), theirs.get(key), base.get(key)
        if m == b or m == t:
            continue
        if t == b:
            merged[key] = m
            applied.append(key)
        else:
            conflicts.append((key, m, t))
    return Reapplied(merged, tuple(applied), tuple(conflicts))


def reapplied_html(result: Reapplied, version: int, author: str) -> str:
    """What a reload did: which edits were re-applied, and each conflict side by side."""
    parts = [f"<b>Reloaded version {version}</b> (saved by {escape(author)})."]
    if result.applied:
        fields = ", ".join(escape(k) for k in result.applied)
        parts.append(f" Your unsaved changes were re-applied to: {fields}.")
    elif not result.conflicts:
        parts.append(" You had no unsaved changes that differ from it.")
    if result.conflicts:
        rows = "".join(
            f"<tr><td>{escape(k)}</td><td>{escape(_shown_value(m))}</td>"
            f"<td>{escape(_shown_value(t))}</td></tr>"
            for k, m, t in result.conflicts
        )
        parts.append(
            " <b>Both changed these fields:</b> the form now shows version "
            f"{version}'s value; yours is beside it: enter it again if it should win."
            "<table class='kap-reload-conflicts'><tr><th>field</th><th>yours (not saved)"
            f"</th><th>version {version} (shown)</th></tr>{rows}</table>"
        )
    parts.append(" Check the form, then save again.")
    return "".join(parts)


def _shown_value(value: Any) -> str:
    if value is None or value == "":
        return "(empty)"
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, default=str)
    return str(value)


URL_PARAMETERS = ("patient",)
"""The address parameters the dashboards read."""
_SERVER_PARAMETERS = ("token", "voila-template", "voila-theme")
"""Parameters the server itself reads: passed over in silence."""


def read_url_parameters(search: str) -> tuple[str | None, list[str]]:
    """(patient id or None, problems to show) from the page's ``location.search``.

    A query longer than limits.toml ``url_query_max_chars`` is not read at all; a patient
    named more than once is ambiguous, so none is taken; a parameter the dashboards do
    not read is reported (a misspelt ``?patinet=`` would otherwise show the first patient
    without a word).
    """
    query = search[1:] if search.startswith("?") else search
    limit = size_limit("url_query_max_chars")
    if len(query) > limit:
        return None, [
            f"The address's parameters are {len(query):,} characters long; the limit is "
            f"{limit:,} (limits.toml url_query_max_chars), so none was read. Open the "
            "dashboard from its link, or pick a patient from the list."
        ]
    found = parse_qs(query, keep_blank_values=True)
    problems: list[str] = []
    for name in found:
        if name not in URL_PARAMETERS and name not in _SERVER_PARAMETERS:
            problems.append(
                f"The address has the parameter {name[:40]!r}, which this dashboard does not "
                "read; it was ignored. Name a patient with ?patient=<id>, or pick one from "
                "the list."
            )
    values = found.get("patient", [])
    if len(values) > 1:
        problems.append(
            "The address names a patient more than once (?patient= appears "
            f"{len(values)} times), so none was opened. Pick the patient from the list."
        )
        return None, problems
    pid, err = valid_patient_param(values[0] if values else None)
    if err:
        problems.append(err)
    return pid, problems


def valid_patient_param(value: str | None) -> tuple[str | None, str | None]:
    """(patient_id, error message) for a ``?patient=`` value."""
    if value is None or value == "":
        return None, None
    if not is_patient_id(value):
        return None, (
            f"The address names patient {value[:60]!r}, which is not a valid patient id "
            "(letters, digits, '.', '_' or '-'). Pick a patient from the list."
        )
    return value, None


def guarded(
    errors: Callable[[Any], ErrorBox],
) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Wrap a widget callback: kaptools errors show inline; others are logged and shown briefly.

    ``errors`` picks the ErrorBox from the App instance.
    """

    def deco(fn: Callable[..., None]) -> Callable[..., None]:
        @wraps(fn)
        def wrapper(self: Any, *args: Any, **kwargs: Any) -> None:
            box = errors(self)
            try:
                fn(self, *args, **kwargs)
            except KaptoolsError as exc:
                box.error(str(exc))
            except Exception:  # a dashboard must not die silently: log it, tell the user
                log.exception("unexpected error in %s", fn.__name__)
                box.error(
                    "Something went wrong and nothing was saved. The details were logged "
                    "for the kaptools maintainers."
                )

        return wrapper

    return deco


class ConfigurationProblem:
    """Shown in place of a dashboard whose configuration cannot be used."""

    def __init__(self, message: str):
        self.message = message
        box = ErrorBox()
        box.error(
            f"This dashboard cannot start: {message}\n\nFix the setting named above "
            "(see the README, 'Where the data lives' and 'The protocol') and reload the page."
        )
        box.add_class("kap-config-error")
        self.container = w.VBox([w.HTML(CSS), box])


S = TypeVar("S")


def widget_tree(root: w.Widget) -> Iterator[w.Widget]:
    """``root`` and every widget below it (children of boxes and tabs), each once."""
    seen: set[int] = set()
    todo = [root]
    while todo:
        widget = todo.pop()
        if id(widget) in seen:
            continue
        seen.add(id(widget))
        yield widget
        todo.extend(getattr(widget, "children", ()) or ())


@contextmanager
def hold_sync(widgets: Iterable[w.Widget]) -> Iterator[None]:
    """Batch the widgets' updates: each sends its changed values in one message on exit
    (ipywidgets' ``Widget.hold_sync`` on every one of them)."""
    with ExitStack() as stack:
        for widget in widgets:
            stack.enter_context(widget.hold_sync())
        yield


class DashboardApp(Generic[S]):
    """The one state pattern of every dashboard: a frozen state, one render path.

    A subclass keeps everything the page shows in one frozen dataclass, ``state``
    (set first with :meth:`_init_state`), and implements :meth:`render`, which derives
    the page from the state through pure functions and writes the widgets (charts go in
    :meth:`draw`, which runs after the render's updates were sent). Callbacks
    never write result widgets themselves: they make a new state, either through
    :meth:`dispatch` (the subclass's pure :meth:`reduce` turns an action into the next
    state) or :meth:`replace`, and the app renders once. Every render runs under
    :func:`hold_sync` over the app's widgets, so each widget sends its changes to the
    browser in one message. Inside ``with app.batch():`` changes render once, at the end.

    Models: solara's calculator (a frozen state and a pure reducer behind a thin
    component) and voici-demo's App (``_on_change`` -> one ``_update_app``).
    """

    state: S
    container: w.Box
    renders: int = 0
    """How many times the page was rendered (tests check that a change renders once)."""
    _holding: int = 0
    _stale: bool = False
    _rendering: bool = False

    def _init_state(self, state: S) -> None:
        """Set the first state (not rendered yet: the subclass renders once it has built
        its widgets, e.g. through :meth:`replace`)."""
        self.state = state
        self.renders = 0
        self._holding = 0
        self._stale = False

    @staticmethod
    def reduce(state: S, action: Any) -> S:
        """The next state after ``action`` (pure: reads nothing but its arguments)."""
        raise NotImplementedError

    def dispatch(self, action: Any) -> S:
        """Apply ``action`` through :meth:`reduce`, then render the new state."""
        return self.replace(self.reduce(self.state, action))

    def replace(self, state: S | None = None, /, **changes: Any) -> S:
        """Make ``state`` (or the current state with ``changes``) the state, and render it."""
        if state is None:
            state = dataclasses.replace(self.state, **changes)  # type: ignore[type-var]
        self.state = state
        self.update()
        return state

    def update(self) -> None:
        """Render the current state now (or at the end of the outermost :meth:`batch`)."""
        if self._holding:
            self._stale = True
            return
        self._stale = False
        self._rendering = True
        try:
            with hold_sync(self.rendered_widgets()):
                self.render(self.state)
            self.draw(self.state)  # after the batched updates went out: the text shows first
        finally:
            self._rendering = False
        self.renders += 1

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Change many widgets or states, then render once."""
        self._holding += 1
        try:
            yield
        finally:
            self._holding -= 1
        if self._holding == 0 and self._stale:
            self.update()

    @property
    def holding(self) -> bool:
        """True inside :meth:`batch` (widget callbacks then leave the render to its end)."""
        return self._holding > 0

    @property
    def rendering(self) -> bool:
        """True while :meth:`render` writes the widgets: a widget callback that fires then
        is the render's own doing, not the user's, and must not change the state."""
        return self._rendering

    def rendered_widgets(self) -> Iterable[w.Widget]:
        """The widgets a render may write (their updates are batched): the whole page but
        its Output widgets. An Output captures a display by syncing its ``msg_id`` first;
        held back, the browser would see the figure's messages before it knew to show them."""
        container = getattr(self, "container", None)
        if container is None:
            return ()
        return (x for x in widget_tree(container) if not isinstance(x, w.Output))

    def render(self, state: S) -> None:
        """Show ``state``: the one render path."""
        raise NotImplementedError

    def draw(self, state: S) -> None:
        """Draw what goes into Output widgets (charts) for ``state``; called at the end of
        each render, once the widgets' batched updates were sent, so the browser shows the
        page's text before it spends its time on a chart."""


class PatientApp(DashboardApp[S]):
    """Base of the dashboard apps: one patient at a time, from the picker or ``?patient=``.

    A subclass calls :meth:`_init_patient` first in ``__init__``, builds its widgets,
    and implements :meth:`_load_patient` (reads the chosen patient into a new state)
    and :meth:`DashboardApp.render`. With ``defer=True``
    (what :meth:`from_environment` uses under Voilà's preheated kernels) nothing is
    read from the database until the browser has sent the page's URL parameters.
    """

    store: Store
    protocol: Protocol

    if TYPE_CHECKING:
        # The constructor every app defines (from_environment calls it); the base has none.
        def __init__(
            self, store: Store, protocol: Protocol, *, defer: bool = False, **kwargs: Any
        ) -> None: ...

    def _init_patient(self, store: Store, protocol: Protocol, *, defer: bool) -> None:
        self.store = store
        self.protocol = protocol
        self.url = UrlParameters()
        self.picker = PatientPicker(() if defer else store.list_patients())
        self.notice = ErrorBox()
        self.notice.add_class("kap-url-error")
        self.picker.observe(self._on_patient, names="value")

    @classmethod
    def from_environment(cls, **kwargs: Any) -> Self | ConfigurationProblem:
        """The dashboard: configured database and protocol, patient from ``?patient=``.

        A configuration that cannot be used (a bad ``KAPTOOLS_PROTOCOL`` file, an
        unusable ``KAPTOOLS_DATABASE_URL``) gives a page that says what is wrong and
        how to fix it, instead of an error cell.
        """
        try:
            app = cls(Store(), protocol_from_env(), defer=True, **kwargs)
        except KaptoolsError as exc:
            return ConfigurationProblem(str(exc))
        app.url.observe(app._on_url, names="search")
        try:
            app._warm_up()
        except AccessDeniedError:
            # warming caches is optional; the request's own read shows the refusal
            # (a researcher opening a patient's dashboard gets the message, not an error cell)
            pass
        return app

    def _warm_up(self) -> None:
        """Work done before any request arrives; must read no patient data."""

    @guarded(lambda self: self.notice)
    def _on_url(self, change: dict[str, Any]) -> None:
        pid, problems = read_url_parameters(self.url.search)
        self.picker.set_patients(self.store.list_patients())
        if problems:
            self.notice.error(" ".join(problems))
        self.select_patient(pid)

    def select_patient(self, patient_id: str | None) -> None:
        """Show ``patient_id`` (or the first patient when None or unknown, saying so)."""
        ids = [v for _, v in self.picker.options]
        if patient_id is not None and patient_id not in ids:
            self.notice.error(
                f"No patient with id {patient_id!r} in this database. Pick a patient from the list."
            )
            patient_id = None
        if patient_id is None and ids:
            patient_id = ids[0]
        if self.picker.value != patient_id:
            self.picker.value = patient_id  # triggers _on_patient
        else:
            self._open_patient()

    @guarded(lambda self: self.notice)
    def _on_patient(self, change: dict[str, Any]) -> None:
        self._open_patient()

    def _open_patient(self) -> None:
        """Show the chosen patient; the read is audit-logged first (who, when, which page).

        If the audit row cannot be written the record is not shown.
        """
        pid = self.picker.value
        if pid is not None:
            self.store.log(
                "view",
                patient_id=pid,
                detail=f"{type(self).__name__} dashboard",
            )
        self._load_patient()

    def log_export(self, action: str, *, kind: str | None = None, detail: str = "") -> None:
        """Audit-log a download or print of the shown patient's record."""
        pid = self.picker.value
        if pid is not None:
            self.store.log(action, patient_id=pid, kind=kind, detail=detail)

    def _load_patient(self) -> None:
        raise NotImplementedError

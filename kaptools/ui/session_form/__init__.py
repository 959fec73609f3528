"""The dosing-session form, by concept (as icalendar's ``cal`` package):

* :mod:`~kaptools.ui.session_form.widgets`: Choice, the vitals row, reading widget text;
* :mod:`~kaptools.ui.session_form.sections`: the form's widgets, section by section;
* :mod:`~kaptools.ui.session_form.values`: the form as a dosing-session dict, and back;
* :mod:`~kaptools.ui.session_form.state`: whose session it is (frozen) and the pure
  derivation of its flags and checks;
* :mod:`~kaptools.ui.session_form.form`: :class:`SessionForm`, opening, checks, saving.

The names the old ``kaptools.ui.session_form`` module had are re-exported here;
``offered_routes`` is now the domain's :func:`kaptools.scheduling.offered_routes`.
"""

from kaptools.scheduling import offered_routes
from kaptools.ui.session_form.form import SessionForm
from kaptools.ui.session_form.state import (
    SessionChecks,
    SessionFormState,
    VitalsView,
    derive_checks,
    derive_vitals,
)
from kaptools.ui.session_form.widgets import UNSET, Choice, VitalsRow, flags_html, parse_time

__all__ = [
    "UNSET",
    "Choice",
    "SessionChecks",
    "SessionForm",
    "SessionFormState",
    "VitalsRow",
    "VitalsView",
    "derive_checks",
    "derive_vitals",
    "flags_html",
    "offered_routes",
    "parse_time",
]

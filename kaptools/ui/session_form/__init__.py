"""The dosing-session form (re-exports; see :mod:`kaptools.ui.session_form.form`)."""

from kaptools.ui.session_form.form import (
    UNSET,
    Choice,
    SessionForm,
    flags_html,
    offered_routes,
    parse_time,
)

__all__ = ["UNSET", "Choice", "SessionForm", "flags_html", "offered_routes", "parse_time"]

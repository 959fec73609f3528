"""NativeAuthenticator on JupyterHub 6: the clinic's password sign-in.

NativeAuthenticator (bcrypt-hashed passwords in the Hub's database, accounts approved by
an administrator, lock-out after repeated failed sign-ins, a change-password page) is
used as it is. Its last release (1.3.0, 2024) predates JupyterHub 6, whose handlers
dropped ``statsd`` and render error pages with ``sync=True``; its login form then fails
with a 500 on every sign-in. :class:`ClinicNativeAuthenticator` swaps in a login handler
that fills exactly those two gaps (no metrics; the same login template rendered either
way); password checks, lock-out and everything else stay NativeAuthenticator's.

It also signs a person out after inactivity (``idle_signout_minutes``), through
JupyterHub's own refresh hooks: the Hub calls :meth:`refresh_user` on a signed-in
person's requests (at most every ``Authenticator.auth_refresh_age`` seconds), and a
``False`` answer sends a cookie request to the login page and, with
``Authenticator.auth_refresh_strict``, refuses a token request (the person's dashboard
server checking its sign-in token) until they sign in again. See :func:`idle_signout_due`
for the rule.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from jupyterhub.utils import utcnow
from nativeauthenticator import NativeAuthenticator
from nativeauthenticator.handlers import LoginHandler as NativeLoginHandler
from tornado.escape import url_escape
from tornado.httputil import url_concat
from traitlets import Float, TraitError, validate

__all__ = ["IDLE_SIGNOUT_MINUTES", "ClinicNativeAuthenticator", "idle_signout_due"]

#: Default inactivity before the Hub asks for a fresh sign-in (the idle culler's 15 min).
IDLE_SIGNOUT_MINUTES = 15.0


def idle_signout_due(last_active: Iterable[datetime | None], now: datetime, limit_s: float) -> bool:
    """Whether a sign-in has been idle for more than ``limit_s`` seconds at ``now``.

    ``last_active`` holds every known time of the person's activity (naive UTC, as the
    Hub stores them); unknown ones are ``None``. Activity is the latest known time; when
    none is known, the sign-in is treated as idle (unknown is never "still active"), so
    the person signs in again.
    """
    known = [t for t in last_active if t is not None]
    if not known:
        return True
    return (now - max(known)).total_seconds() > limit_s


class _NoTimer:
    def start(self) -> _NoTimer:
        return self

    def stop(self, send: bool = True) -> None:
        return None


class _NoStatsd:
    """JupyterHub 6 has no statsd client; NativeAuthenticator's login still times itself."""

    def timer(self, name: str) -> _NoTimer:
        return _NoTimer()


class ClinicLoginHandler(NativeLoginHandler):
    statsd = _NoStatsd()

    def _render(self, login_error: Any = None, username: Any = None, **kwargs: Any) -> Any:
        # JupyterHub 6 renders a failed POST's error page through _render(sync=True, ...)
        sync = bool(kwargs.get("sync", False))
        return self.render_template(
            "native-login.html",
            sync=sync,
            next=url_escape(self.get_argument("next", default="")),
            username=username,
            login_error=login_error,
            custom_html=self.authenticator.custom_html,
            login_url=self.settings["login_url"],
            enable_signup=self.authenticator.enable_signup,
            two_factor_auth=self.authenticator.allow_2fa,
            authenticator_login_url=url_concat(
                self.authenticator.login_url(self.hub.base_url),
                {"next": self.get_argument("next", "")},
            ),
        )


class ClinicNativeAuthenticator(NativeAuthenticator):
    """NativeAuthenticator with a login handler that works on JupyterHub 6, and a
    sign-out after ``idle_signout_minutes`` without activity."""

    idle_signout_minutes = Float(
        IDLE_SIGNOUT_MINUTES,
        config=True,
        help="Minutes without activity after which a person must sign in again (> 0).",
    )

    @validate("idle_signout_minutes")
    def _positive_minutes(self, proposal: Any) -> float:
        value = float(proposal["value"])
        if not value > 0:
            raise TraitError(
                f"idle_signout_minutes is {value!r}; it must be a number of minutes > 0 "
                f"(default {IDLE_SIGNOUT_MINUTES:g})."
            )
        return value

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        # Hub user name -> the last of their Hub requests seen for their current sign-in.
        # Not user.last_activity: the Hub updates that from the very request being
        # checked, before refresh_user runs (handlers/base.py, _user_for_cookie and
        # get_current_user_token), so it would always look fresh. In memory: after a Hub
        # restart every sign-in is unknown, so everyone signs in again.
        self._last_seen: dict[str, datetime] = {}

    async def get_authenticated_user(self, handler: Any, data: Any) -> Any:
        authenticated = await super().get_authenticated_user(handler, data)
        if authenticated:
            self._last_seen[authenticated["name"]] = utcnow(with_tz=False)
        return authenticated

    async def refresh_user(self, user: Any, handler: Any = None) -> bool:
        """False (sign in again) when the person's sign-in has been idle too long.

        Activity = their last Hub request seen for this sign-in, or their dashboards'
        activity as the proxy reports it (each server's ``last_activity``), whichever is
        later. A sign-in found idle stays expired until the next sign-in: activity
        recorded afterwards (a refused page view through the proxy) does not revive it.
        """
        now = utcnow(with_tz=False)
        seen = self._last_seen.get(user.name)
        if seen is None:
            return False
        dashboards = [s.last_activity for s in user.orm_user.orm_spawners.values()]
        if idle_signout_due([seen, *dashboards], now, self.idle_signout_minutes * 60):
            del self._last_seen[user.name]
            self.log.info(
                "Signing %s out: no activity for more than %g minutes",
                user.name,
                self.idle_signout_minutes,
            )
            return False
        self._last_seen[user.name] = now
        return True

    def get_handlers(self, app: Any) -> list:
        return [
            (pattern, ClinicLoginHandler if handler is NativeLoginHandler else handler)
            for pattern, handler in super().get_handlers(app)
        ]

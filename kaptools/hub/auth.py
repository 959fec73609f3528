"""NativeAuthenticator on JupyterHub 6: the clinic's password sign-in.

NativeAuthenticator (bcrypt-hashed passwords in the Hub's database, accounts approved by
an administrator, lock-out after repeated failed sign-ins, a change-password page) is
used as it is. Its last release (1.3.0, 2024) predates JupyterHub 6, whose handlers
dropped ``statsd`` and render error pages with ``sync=True``; its login form then fails
with a 500 on every sign-in. :class:`ClinicNativeAuthenticator` swaps in a login handler
that fills exactly those two gaps (no metrics; the same login template rendered either
way); password checks, lock-out and everything else stay NativeAuthenticator's.
"""

from __future__ import annotations

from typing import Any

from nativeauthenticator import NativeAuthenticator
from nativeauthenticator.handlers import LoginHandler as NativeLoginHandler
from tornado.escape import url_escape
from tornado.httputil import url_concat

__all__ = ["ClinicNativeAuthenticator"]


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
    """NativeAuthenticator with a login handler that works on JupyterHub 6."""

    def get_handlers(self, app: Any) -> list:
        return [
            (pattern, ClinicLoginHandler if handler is NativeLoginHandler else handler)
            for pattern, handler in super().get_handlers(app)
        ]

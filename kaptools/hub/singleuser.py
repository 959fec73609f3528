"""A signed-in person's dashboards under JupyterHub: ``python -m kaptools.hub.singleuser``.

JupyterHub starts this as each user's single-user server (``Spawner.cmd``). It is
:class:`kaptools.server.KaptoolsVoila` (the same Host/Origin allowlists, CSP, local
assets, kernel pool, kernel cap and culling as `make run`) with one change: every
Voilà handler identifies the person through JupyterHub's own OAuth identity provider
(:class:`jupyterhub.singleuser.extension.JupyterHubIdentityProvider`, the one
``jupyterhub-singleuser`` uses for Jupyter Server). So:

- a request without the Hub's sign-in is redirected to the Hub's login page before
  any handler runs a kernel (pages are ``@web.authenticated``; the kernel websockets
  refuse an unidentified user with 403);
- only the server's owner is let in (the Hub's ``access:servers!server=<user>/``
  scope); another signed-in person gets 403;
- state-changing requests carry the Hub's XSRF token (JupyterHub's check replaces
  Jupyter Server's); the page-close beacon keeps kaptools' same-Origin rule;
- ``/user/<name>/logout`` signs out through the Hub.

The person and role come from the environment the Hub sets (``KAPTOOLS_USER``,
``KAPTOOLS_ROLE``, ``KAPTOOLS_CLINIC``: see :mod:`kaptools.hub`); this process refuses
to start when ``KAPTOOLS_USER`` is not the Hub user it serves.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from jupyter_server.utils import url_path_join
from jupyterhub.singleuser.extension import JupyterHubIdentityProvider
from traitlets import Unicode

from kaptools.errors import ConfigurationError
from kaptools.server import KaptoolsVoila, default_config

__all__ = ["HubIdentityProvider", "HubVoila", "main"]

#: Environment variable naming the port clinicians' browsers use (the Hub's proxy).
PUBLIC_PORT_ENV_VAR = "KAPTOOLS_PUBLIC_PORT"


class HubIdentityProvider(JupyterHubIdentityProvider):
    """JupyterHub's identity provider, accepting the arguments Voilà passes to any
    identity provider (a token and a login handler it does not use: the Hub signs in)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.pop("token", None)
        kwargs.pop("login_handler_class", None)
        super().__init__(**kwargs)


class HubVoila(KaptoolsVoila):
    """KaptoolsVoila behind JupyterHub: Hub OAuth on every handler, the Hub's URL prefix."""

    name = "kaptools-hub-voila"

    public_port = Unicode(
        "",
        config=True,
        help="The port in the Host header of browsers' requests (the Hub proxy's port); "
        "requests naming another port are refused.",
    )

    def init_settings(self) -> dict:
        settings = super().init_settings()
        if self.public_port:
            # browsers reach this server through the Hub's proxy, which keeps their Host
            settings["kaptools_port"] = self.public_port
        return settings

    def init_handlers(self) -> list:
        handlers = []
        own = {pattern for pattern, *_ in self.identity_provider.get_handlers()}
        for spec in super().init_handlers():
            pattern, *rest = spec
            if pattern in own:
                # JupyterHubIdentityProvider gives /logout and /oauth_callback without
                # the server's prefix; the Hub proxies only /user/<name>/...
                pattern = url_path_join(self.server_url or self.base_url, pattern)
            handlers.append((pattern, *rest))
        return handlers


def _hub_config(environ: os._Environ[str] | dict[str, str]) -> list[str]:
    """Command-line settings from the environment JupyterHub gives a single-user server."""
    user = environ.get("JUPYTERHUB_USER", "")
    if not user:
        raise ConfigurationError(
            "JUPYTERHUB_USER is not set: kaptools.hub.singleuser is started by JupyterHub "
            "(use 'make run-shared'); for one person on this machine use 'make run'."
        )
    if environ.get("KAPTOOLS_USER", "") != user:
        raise ConfigurationError(
            f"KAPTOOLS_USER ({environ.get('KAPTOOLS_USER', '')!r}) is not the Hub user this "
            f"server serves ({user!r}); the Hub's pre-spawn hook sets it (kaptools.hub)."
        )
    service = urlparse(environ.get("JUPYTERHUB_SERVICE_URL", ""))
    prefix = environ.get("JUPYTERHUB_SERVICE_PREFIX", f"/user/{user}/")
    args = [f"--Voila.base_url={prefix}"]
    if service.hostname:
        args.append(f"--Voila.ip={service.hostname}")
    if service.port:
        args.append(f"--port={service.port}")
    public_port = environ.get(PUBLIC_PORT_ENV_VAR, "")
    if public_port:
        args.append(f"--HubVoila.public_port={public_port}")
    return args


def main(argv: list[str] | None = None) -> None:
    """Serve the dashboards folder (``KAPTOOLS_DASHBOARDS``) for the Hub user."""
    args = sys.argv[1:] if argv is None else argv
    folder = os.environ.get("KAPTOOLS_DASHBOARDS") or str(
        Path(__file__).resolve().parents[2] / "dashboards"
    )
    os.chdir(folder)
    config = default_config()
    config.Voila.identity_provider_class = HubIdentityProvider
    HubVoila.launch_instance(argv=[".", *_hub_config(os.environ), *args], config=config)


if __name__ == "__main__":
    main()

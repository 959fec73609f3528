# JupyterHub configuration of kaptools' shared install (``python -m kaptools.hub run``,
# `make run-shared`). Loopback only; every value below is a clinic setting, read from the
# environment the launcher sets (so the tests run this same file).
# ruff: noqa: F821  (``get_config`` is provided by JupyterHub when it loads this file)

import os
import sys
from pathlib import Path

from kaptools.hub import (
    MIN_PASSWORD_LENGTH,
    demo_groups,
    hub_database_url,
    pre_spawn_hook,
)
from kaptools.server import SECURITY_HEADERS

c = get_config()  # type: ignore[name-defined]

state = Path(os.environ["KAPTOOLS_HUB_STATE"])
port = int(os.environ.get("KAPTOOLS_HUB_PORT", "8000"))

# --- where it listens: loopback only --------------------------------------------------------
c.JupyterHub.ip = "127.0.0.1"
c.JupyterHub.port = port
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = int(os.environ.get("KAPTOOLS_HUB_API_PORT", "8081"))
c.ConfigurableHTTPProxy.api_url = (
    f"http://127.0.0.1:{os.environ.get('KAPTOOLS_PROXY_API_PORT', '8001')}"
)
c.ConfigurableHTTPProxy.command = [
    os.environ.get("KAPTOOLS_PROXY_COMMAND", "configurable-http-proxy")
]
c.ConfigurableHTTPProxy.pid_file = str(state / "jupyterhub-proxy.pid")
c.JupyterHub.db_url = hub_database_url(state)
c.JupyterHub.cookie_secret_file = str(state / "jupyterhub_cookie_secret")
c.JupyterHub.pid_file = str(state / "jupyterhub.pid")

# the Hub's own pages (login, spawn progress, sign-out): the dashboards' strict policy
# (everything from this server only, no framing) and security headers
# Sign-in cookies: valid for KAPTOOLS_COOKIE_MAX_AGE_H on the server (cookie_max_age_days
# below), kept by the browser only for its session (closing it signs out), never sent
# with another site's requests (SameSite=Lax), out of scripts' reach (HttpOnly).
c.JupyterHub.tornado_settings = {
    "headers": dict(SECURITY_HEADERS),
    "cookie_options": {"expires_days": None, "samesite": "Lax"},
}

# --- sign-in: NativeAuthenticator (hashed passwords, lock-out), no self sign-up -----------
c.JupyterHub.authenticator_class = "kaptools.hub.auth.ClinicNativeAuthenticator"
c.ClinicNativeAuthenticator.enable_signup = False  # accounts: python -m kaptools.hub add-user
c.ClinicNativeAuthenticator.minimum_password_length = MIN_PASSWORD_LENGTH
c.ClinicNativeAuthenticator.check_common_password = True
c.ClinicNativeAuthenticator.allowed_failed_logins = 5
c.ClinicNativeAuthenticator.seconds_before_next_try = 600
# Only accounts the administrator created and approved can sign in (NativeAuthenticator);
# who may start dashboards is decided by the role groups (kaptools.hub.pre_spawn_hook).
c.Authenticator.allow_all = True
c.JupyterHub.load_groups = demo_groups()

# --- session: sign-in expiry, sign-out stops the person's dashboards ----------------------
c.JupyterHub.cookie_max_age_days = float(os.environ.get("KAPTOOLS_COOKIE_MAX_AGE_H", "8")) / 24
c.JupyterHub.shutdown_on_logout = True
c.JupyterHub.last_activity_interval = 60
# Sign-out after inactivity (kaptools.hub.auth.idle_signout_due): the Hub asks the
# authenticator on a person's requests, at most every `refresh_s` seconds; an idle sign-in
# sends the browser to the login page, and (strict) the person's dashboard server's token
# checks are refused too, so their pages ask for a fresh sign-in as well.
idle_signout_min = float(os.environ.get("KAPTOOLS_IDLE_SIGNOUT_MIN", "15"))
refresh_s = max(1, min(60, int(idle_signout_min * 60) // 10))
c.ClinicNativeAuthenticator.idle_signout_minutes = idle_signout_min
c.Authenticator.auth_refresh_age = refresh_s
c.Authenticator.auth_refresh_strict = True

# --- each person's dashboards: kaptools.hub.singleuser ------------------------------------
# SimpleLocalProcessSpawner runs every person's server as this machine's user: right for
# one machine run by the clinic; past it, KubeSpawner (Zero to JupyterHub, see README).
c.JupyterHub.spawner_class = "simple"
c.SimpleLocalProcessSpawner.home_dir_template = str(state / "home" / "{username}")
c.Spawner.cmd = [sys.executable, "-m", "kaptools.hub.singleuser"]
c.Spawner.ip = "127.0.0.1"
c.Spawner.default_url = "/"
c.Spawner.pre_spawn_hook = pre_spawn_hook
c.Spawner.environment = {
    "KAPTOOLS_DATABASE_URL": os.environ["KAPTOOLS_DATABASE_URL"],
    "KAPTOOLS_PUBLIC_PORT": str(port),
}
c.Spawner.env_keep = [
    "PATH", "PYTHONPATH", "VIRTUAL_ENV", "LANG", "LC_ALL", "KAPTOOLS_DASHBOARDS", "KAPTOOLS_HOME",
]  # fmt: skip
c.Spawner.args = [
    # per-person kernel cap (page kernels at once; past it a "busy, try again" page)
    f"--KaptoolsVoila.max_kernels={int(os.environ.get('KAPTOOLS_USER_MAX_KERNELS', '6'))}",
    # preheated kernels per dashboard and person (~150 MB each; 0: start one per page)
    f"--VoilaConfiguration.default_pool_size={int(os.environ.get('KAPTOOLS_USER_POOL_SIZE', '1'))}",
    # how long a dashboard server trusts a sign-in token before asking the Hub again
    # (JupyterHub's default 300 s would outlast a short idle sign-out)
    f"--HubOAuth.cache_max_age={refresh_s}",
]
c.Spawner.start_timeout = 180
c.Spawner.http_timeout = 180

# --- idle culler: dashboards unused for KAPTOOLS_IDLE_TIMEOUT_S seconds are stopped -------
idle = int(os.environ.get("KAPTOOLS_IDLE_TIMEOUT_S", "900"))
c.JupyterHub.services = [
    {
        "name": "idle-culler",
        "command": [
            sys.executable,
            "-m",
            "jupyterhub_idle_culler",
            f"--timeout={idle}",
            f"--cull-every={max(10, min(300, idle // 4))}",
        ],
    }
]
c.JupyterHub.load_roles = [
    {
        "name": "idle-culler",
        "scopes": ["list:users", "read:users:activity", "read:servers", "delete:servers"],
        "services": ["idle-culler"],
    }
]

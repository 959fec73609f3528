"""The shared install's pieces that need no running Hub: who a Hub user is in kaptools,
the accounts the setup step creates, and the Hub configuration itself (loopback only,
the password authenticator, the idle culler, the per-person kernel cap).
The running install is tested in tests/browser/test_shared_install.py."""

from __future__ import annotations

import argparse
import sqlite3
import sys
from datetime import datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import bcrypt
import pytest
from tornado.web import HTTPError
from traitlets import TraitError
from traitlets.config.loader import PyFileConfigLoader

from kaptools.errors import ConfigurationError
from kaptools.hub import (
    DEMO_USERS,
    HUB_CONFIG,
    _positive_minutes,
    add_user,
    demo_groups,
    ensure_demo_users,
    identity_environment,
    pre_spawn_hook,
)
from kaptools.hub import auth as hub_auth
from kaptools.hub.auth import ClinicNativeAuthenticator, idle_signout_due
from kaptools.hub.singleuser import _hub_config
from kaptools.identity import Role
from tests import async_thread


def test_a_hub_user_becomes_the_kaptools_identity() -> None:
    env = identity_environment("dr-lee", ["clinician", "clinic-north", "staff"])
    assert env == {
        "KAPTOOLS_USER": "dr-lee",
        "KAPTOOLS_ROLE": "clinician",
        "KAPTOOLS_CLINIC": "north",
    }
    assert identity_environment("r1", ["researcher"])["KAPTOOLS_CLINIC"] == ""


@pytest.mark.parametrize(
    ("groups", "message"),
    [
        ([], "exactly one kaptools role group"),
        (["clinic-north"], "found: none"),
        (["clinician", "admin"], "found: admin, clinician"),
        (["clinician", "clinic-north", "clinic-south"], "one clinic per person"),
        (["clinician", "clinic-"], "one clinic per person"),
    ],
)
def test_no_role_or_two_roles_or_two_clinics_is_refused(groups: list[str], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        identity_environment("someone", groups)


def test_the_pre_spawn_hook_sets_the_signed_in_persons_identity() -> None:
    user = SimpleNamespace(
        name="demo-researcher",
        groups=[SimpleNamespace(name="researcher"), SimpleNamespace(name="clinic-demo")],
    )
    spawner = SimpleNamespace(user=user, environment={"KAPTOOLS_USER": "someone-else"})
    pre_spawn_hook(spawner)
    assert spawner.environment["KAPTOOLS_USER"] == "demo-researcher"
    assert spawner.environment["KAPTOOLS_ROLE"] == "researcher"
    assert spawner.environment["KAPTOOLS_CLINIC"] == "demo"
    nobody = SimpleNamespace(user=SimpleNamespace(name="x", groups=[]), environment={})
    with pytest.raises(HTTPError) as refused:
        pre_spawn_hook(nobody)
    assert nobody.environment == {}
    # the Hub's answer and its "Spawn failed" page show the reason to the person
    assert refused.value.status_code == 403
    assert "exactly one kaptools role group" in str(refused.value)
    assert "exactly one kaptools role group" in refused.value.jupyterhub_message
    assert isinstance(refused.value.__cause__, ConfigurationError)


def test_demo_users_are_a_clinician_and_a_researcher_of_one_clinic() -> None:
    assert {u.role for u in DEMO_USERS} == {Role.CLINICIAN, Role.RESEARCHER}
    groups = demo_groups()
    for u in DEMO_USERS:
        member_of = {g for g, spec in groups.items() if u.name in spec["users"]}
        env = identity_environment(u.name, member_of)
        assert env["KAPTOOLS_ROLE"] == u.role.value and env["KAPTOOLS_CLINIC"] == u.clinic


def test_accounts_are_approved_with_hashed_passwords(tmp_path: Path) -> None:
    passwords = ensure_demo_users(tmp_path)
    assert set(passwords) == {u.name for u in DEMO_USERS}
    assert (tmp_path / "demo-passwords.json").stat().st_mode & 0o077 == 0
    assert ensure_demo_users(tmp_path) == passwords  # created once
    with sqlite3.connect(tmp_path / "jupyterhub.sqlite") as db:
        rows = dict(db.execute("SELECT username, password FROM users_info").fetchall())
        approved = db.execute("SELECT count(*) FROM users_info WHERE is_authorized").fetchone()
    assert approved == (len(DEMO_USERS),)
    for name, password in passwords.items():
        assert password.encode() not in rows[name]
        assert bcrypt.checkpw(password.encode(), rows[name])
    with pytest.raises(ConfigurationError, match="at least 12"):
        add_user(tmp_path, "dr-short", "short")
    assert add_user(tmp_path, "demo-clinician", "a-new-long-password") == "a-new-long-password"
    with sqlite3.connect(tmp_path / "jupyterhub.sqlite") as db:
        (hashed,) = db.execute(
            "SELECT password FROM users_info WHERE username='demo-clinician'"
        ).fetchone()
    assert bcrypt.checkpw(b"a-new-long-password", hashed)


def test_hub_configuration(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Loopback only, the password authenticator without self sign-up and with lock-out,
    sign-in expiry, sign-out stopping the dashboards, the idle culler, the kernel cap."""
    monkeypatch.setenv("KAPTOOLS_HUB_STATE", str(tmp_path))
    monkeypatch.setenv("KAPTOOLS_DATABASE_URL", "sqlite:///x.sqlite")
    monkeypatch.setenv("KAPTOOLS_IDLE_TIMEOUT_S", "600")
    monkeypatch.setenv("KAPTOOLS_COOKIE_MAX_AGE_H", "6")
    monkeypatch.setenv("KAPTOOLS_IDLE_SIGNOUT_MIN", "12")
    loader = PyFileConfigLoader(HUB_CONFIG.name, path=str(HUB_CONFIG.parent))
    c = loader.load_config()
    assert c.JupyterHub.ip == c.JupyterHub.hub_ip == c.Spawner.ip == "127.0.0.1"
    assert c.ConfigurableHTTPProxy.api_url.startswith("http://127.0.0.1:")
    assert c.JupyterHub.authenticator_class == "kaptools.hub.auth.ClinicNativeAuthenticator"
    auth = c.ClinicNativeAuthenticator
    assert auth.enable_signup is False
    assert auth.allowed_failed_logins > 0 and auth.seconds_before_next_try >= 60
    assert auth.minimum_password_length >= 12
    assert c.JupyterHub.cookie_max_age_days == pytest.approx(6 / 24)
    assert c.JupyterHub.shutdown_on_logout is True
    # sign-out after 12 min idle, checked at most every 60 s, token requests included
    assert auth.idle_signout_minutes == 12
    assert c.Authenticator.auth_refresh_age == 60
    assert c.Authenticator.auth_refresh_strict is True
    assert "--HubOAuth.cache_max_age=60" in c.Spawner.args
    assert c.Spawner.cmd == [sys.executable, "-m", "kaptools.hub.singleuser"]
    assert c.Spawner.pre_spawn_hook is pre_spawn_hook
    assert any(a.startswith("--KaptoolsVoila.max_kernels=") for a in c.Spawner.args)
    (culler,) = c.JupyterHub.services
    assert "jupyterhub_idle_culler" in culler["command"]
    assert "--timeout=600" in culler["command"]
    (role,) = c.JupyterHub.load_roles
    assert role["services"] == ["idle-culler"] and "delete:servers" in role["scopes"]


def test_single_user_server_serves_only_the_hub_user_it_was_started_for() -> None:
    env = {
        "JUPYTERHUB_USER": "demo-clinician",
        "KAPTOOLS_USER": "demo-clinician",
        "JUPYTERHUB_SERVICE_URL": "http://127.0.0.1:45678/user/demo-clinician/",
        "JUPYTERHUB_SERVICE_PREFIX": "/user/demo-clinician/",
        "KAPTOOLS_PUBLIC_PORT": "8000",
    }
    args = _hub_config(env)
    assert "--Voila.base_url=/user/demo-clinician/" in args
    assert "--Voila.ip=127.0.0.1" in args and "--port=45678" in args
    assert "--HubVoila.public_port=8000" in args
    with pytest.raises(ConfigurationError, match="is not the Hub user"):
        _hub_config({**env, "KAPTOOLS_USER": "someone-else"})
    with pytest.raises(ConfigurationError, match="JUPYTERHUB_USER is not set"):
        _hub_config({})


T0 = datetime(2026, 3, 2, 9, 0, 0)  # naive UTC, as the Hub stores activity


def test_the_idle_signout_rule() -> None:
    limit = 15 * 60
    assert not idle_signout_due([T0], T0 + timedelta(minutes=14, seconds=59), limit)
    assert not idle_signout_due([T0], T0 + timedelta(minutes=15), limit)  # not past it yet
    assert idle_signout_due([T0], T0 + timedelta(minutes=15, seconds=1), limit)
    # the latest known activity counts, whichever source it came from
    assert not idle_signout_due([T0, T0 + timedelta(minutes=10)], T0 + timedelta(minutes=20), limit)
    assert not idle_signout_due([None, T0], T0 + timedelta(minutes=1), limit)
    # nothing known about the person's activity: treated as idle (sign in again)
    assert idle_signout_due([], T0, limit)
    assert idle_signout_due([None, None], T0, limit)


class _Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self, *, with_tz: bool = True) -> datetime:
        assert with_tz is False
        return self.now


def _authenticator(**config: object) -> ClinicNativeAuthenticator:
    """The authenticator as the Hub makes it (NativeAuthenticator needs the Hub database)."""
    from jupyterhub import orm

    db = orm.new_session_factory("sqlite://")()
    return ClinicNativeAuthenticator(db=db, **config)


def _hub_user(name: str, *dashboards: SimpleNamespace) -> SimpleNamespace:
    servers = {str(i): d for i, d in enumerate(dashboards)}
    return SimpleNamespace(name=name, orm_user=SimpleNamespace(orm_spawners=servers))


def test_refresh_user_signs_an_idle_person_out_until_they_sign_in_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = _Clock()
    monkeypatch.setattr(hub_auth, "utcnow", clock)
    authenticator = _authenticator(allow_all=True, idle_signout_minutes=15)

    async def password_ok(handler: object, data: dict) -> str:
        return str(data["username"])

    monkeypatch.setattr(authenticator, "authenticate", password_ok)
    dashboard = SimpleNamespace(last_activity=None)
    lee = _hub_user("dr-lee", dashboard)

    def refresh(minutes: float) -> bool:
        clock.now = T0 + timedelta(minutes=minutes)
        return async_thread.run(authenticator.refresh_user(lee, None))

    # never signed in on this Hub (or the Hub restarted since): unknown -> sign in again
    assert refresh(0) is False
    signed_in = async_thread.run(authenticator.get_authenticated_user(None, {"username": "dr-lee"}))
    assert signed_in is not None and signed_in["name"] == "dr-lee"
    assert refresh(10) is True  # a Hub request 10 min after sign-in: kept
    assert refresh(24) is True  # 14 min after the last request: kept
    # only the dashboards were used (the proxy's reports): that is activity too
    dashboard.last_activity = T0 + timedelta(minutes=35)
    assert refresh(45) is True
    # then nothing for more than 15 minutes: signed out
    assert refresh(60 + 1) is False
    # a page view after that (recorded by the proxy) does not revive the sign-in
    dashboard.last_activity = T0 + timedelta(minutes=61)
    assert refresh(62) is False
    # a fresh sign-in starts a new session
    clock.now = T0 + timedelta(minutes=63)
    async_thread.run(authenticator.get_authenticated_user(None, {"username": "dr-lee"}))
    assert refresh(64) is True
    # another person's sign-in is their own
    assert async_thread.run(authenticator.refresh_user(_hub_user("dr-kim"), None)) is False


def test_the_idle_signout_setting_is_minutes_above_zero() -> None:
    assert _positive_minutes("15") == 15.0 and _positive_minutes("0.5") == 0.5
    for bad in ("0", "-3", "abc", "nan", "inf"):
        with pytest.raises(argparse.ArgumentTypeError, match="--idle-signout-minutes"):
            _positive_minutes(bad)
    with pytest.raises(TraitError, match="idle_signout_minutes"):
        _authenticator(idle_signout_minutes=0)
    assert _authenticator().idle_signout_minutes == 15

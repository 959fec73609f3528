"""A clinic's shared install: per-person sign-in through JupyterHub (``make run-shared``).

``python -m kaptools.hub run`` starts, on this machine and on loopback only:

- **JupyterHub** (``jupyterhub_config.py`` beside this file) with **NativeAuthenticator**
  (bcrypt-hashed passwords kept in the Hub's database, lock-out after repeated failed
  sign-ins, a change-password page; self sign-up is off: accounts are added by
  ``python -m kaptools.hub add-user``), its proxy (``configurable-http-proxy`` from npm,
  installed into ``.venv/node_modules``) and the **idle culler** service
  (``jupyterhub-idle-culler``), which stops a person's dashboards after inactivity;
- a **PostgreSQL** cluster of its own for kaptools' data (a Unix socket in the state
  folder, no TCP port) when the server binaries are installed, else SQLite in the
  state folder; the synthetic demo patients are put in it once;
- for each person who signs in, their own single-user server:
  :mod:`kaptools.hub.singleuser` (kaptools' Voilà server with the Hub's OAuth identity
  provider), started with ``KAPTOOLS_USER`` = the Hub user name, ``KAPTOOLS_ROLE`` = their
  role group and ``KAPTOOLS_CLINIC`` = their ``clinic-<id>`` group
  (:func:`identity_environment`): the signed-in person is the author of every write and
  audit row (:mod:`kaptools.identity`).

Roles are Hub groups named like :class:`kaptools.identity.Role` (``clinician``,
``researcher``, ``trainer``, ``admin``); a person in no role group, or in two, cannot
start their dashboards (a clear message on the Hub's page).
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kaptools.errors import ConfigurationError
from kaptools.identity import ROLE_ENV_VAR, Role

__all__ = [
    "CLINIC_ENV_VAR",
    "CLINIC_GROUP_PREFIX",
    "DEMO_USERS",
    "DemoUser",
    "add_user",
    "identity_environment",
    "main",
]

#: The clinic a person works for (``clinic-<id>`` Hub group), for kaptools.identity.
CLINIC_ENV_VAR = "KAPTOOLS_CLINIC"
USER_ENV_VAR = "KAPTOOLS_USER"
CLINIC_GROUP_PREFIX = "clinic-"
HUB_CONFIG = Path(__file__).resolve().parent / "jupyterhub_config.py"
REPO = Path(__file__).resolve().parents[2]
#: Where `make run-shared` keeps the Hub's and the data's state.
DEFAULT_STATE_DIR = REPO / "var" / "shared"
MIN_PASSWORD_LENGTH = 12


@dataclass(frozen=True, slots=True)
class DemoUser:
    name: str
    role: Role
    clinic: str


#: The synthetic demo accounts `make run-shared` creates (passwords generated, printed).
DEMO_USERS = (
    DemoUser("demo-clinician", Role.CLINICIAN, "demo"),
    DemoUser("demo-researcher", Role.RESEARCHER, "demo"),
)


def identity_environment(user: str, groups: Iterable[str]) -> dict[str, str]:
    """The kaptools identity of a Hub user: ``KAPTOOLS_USER``, ``KAPTOOLS_ROLE`` and
    ``KAPTOOLS_CLINIC`` (empty when the person is in no ``clinic-<id>`` group).

    Raises :class:`ConfigurationError` unless the person is in exactly one role group
    and at most one clinic group.
    """
    names = sorted(set(groups))
    roles = [g for g in names if g in {r.value for r in Role}]
    clinics = [g[len(CLINIC_GROUP_PREFIX) :] for g in names if g.startswith(CLINIC_GROUP_PREFIX)]
    choices = ", ".join(r.value for r in Role)
    if len(roles) != 1:
        found = ", ".join(roles) or "none"
        raise ConfigurationError(
            f"Hub user {user!r} must be in exactly one kaptools role group ({choices}); "
            f"found: {found}. An administrator adds them to one group on the Hub's admin page."
        )
    if len(clinics) > 1 or (clinics and not clinics[0]):
        raise ConfigurationError(
            f"Hub user {user!r} is in {len(clinics)} clinic groups "
            f"({', '.join(CLINIC_GROUP_PREFIX + c for c in clinics)}); one clinic per person."
        )
    return {
        USER_ENV_VAR: user,
        ROLE_ENV_VAR: roles[0],
        CLINIC_ENV_VAR: clinics[0] if clinics else "",
    }


def pre_spawn_hook(spawner: Any) -> None:
    """JupyterHub's ``Spawner.pre_spawn_hook``: the signed-in person's kaptools identity
    (a person without a usable role is refused with 403 and the reason)."""
    from tornado.web import HTTPError

    user = spawner.user
    try:
        env = identity_environment(user.name, (g.name for g in user.groups))
    except ConfigurationError as exc:
        # JupyterHub shows the reason on its sign-in answer for an HTTPError, and on the
        # "Spawn failed" page for an exception carrying jupyterhub_message
        refused = HTTPError(403, "%s", str(exc))
        refused.jupyterhub_message = str(exc)  # type: ignore[attr-defined]
        raise refused from exc
    spawner.environment.update(env)


# --- accounts -----------------------------------------------------------------------------


def hub_database_url(state_dir: Path) -> str:
    return f"sqlite:///{state_dir / 'jupyterhub.sqlite'}"


def add_user(state_dir: Path, name: str, password: str | None = None) -> str:
    """Create (or reset the password of) an approved NativeAuthenticator account in the
    Hub's database; returns the password (generated when not given)."""
    import bcrypt
    from jupyterhub import orm
    from nativeauthenticator.orm import UserInfo

    if password is None:
        password = secrets.token_urlsafe(12)
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ConfigurationError(
            f"the password for {name!r} has {len(password)} characters; "
            f"use at least {MIN_PASSWORD_LENGTH}."
        )
    state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    session = orm.new_session_factory(hub_database_url(state_dir))()
    try:
        UserInfo.__table__.create(session.get_bind(), checkfirst=True)
        hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt())
        info = session.query(UserInfo).filter_by(username=name).first()
        if info is None:
            session.add(UserInfo(username=name, password=hashed, is_authorized=True))
        else:
            info.password = hashed
            info.is_authorized = True
        session.commit()
    finally:
        session.close()
    return password


def ensure_demo_users(state_dir: Path) -> dict[str, str]:
    """The demo accounts and their passwords (``demo-passwords.json``, owner-only):
    created once, then read back."""
    path = state_dir / "demo-passwords.json"
    if path.exists():
        stored: dict[str, str] = json.loads(path.read_text())
        if set(stored) == {u.name for u in DEMO_USERS}:
            return stored
    passwords = {u.name: add_user(state_dir, u.name) for u in DEMO_USERS}
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(passwords, f, indent=1)
    return passwords


def demo_groups() -> dict[str, dict[str, list[str]]]:
    """Hub groups of the demo users (``JupyterHub.load_groups``)."""
    groups: dict[str, dict[str, list[str]]] = {}
    for u in DEMO_USERS:
        for g in (u.role.value, CLINIC_GROUP_PREFIX + u.clinic):
            groups.setdefault(g, {"users": []})["users"].append(u.name)
    return groups


# --- the kaptools database ----------------------------------------------------------------


def _pg_bin() -> Path | None:
    import glob

    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


@contextmanager
def kaptools_database(state_dir: Path, use_postgres: bool = True) -> Iterator[str]:
    """A database URL for kaptools' data: a private PostgreSQL cluster in the state
    folder (Unix socket only) when the server binaries exist, else SQLite there."""
    pg = _pg_bin() if use_postgres else None
    if pg is None:
        yield f"sqlite:///{state_dir / 'kaptools.sqlite'}"
        return
    root = state_dir / "postgres"
    data, sock = root / "data", root / "sock"
    # PostgreSQL refuses to run as root: it runs as 'nobody' then.
    as_user = ["runuser", "-u", "nobody", "--"] if os.geteuid() == 0 else []
    sock.mkdir(parents=True, exist_ok=True)
    os.chmod(root, 0o700)
    if as_user:
        # 'nobody' may pass through the state folder (not list it: everything in it is
        # created owner-only, see run()) to reach its own cluster folder
        os.chmod(state_dir, 0o711)
        for p in (root, sock):
            shutil.chown(p, "nobody")
    port = "55433"
    if not (data / "PG_VERSION").exists():
        subprocess.run(
            [*as_user, str(pg / "initdb"), "-D", str(data), "-U", "kap", "--auth=trust",
             "-E", "UTF8", "--no-instructions"],
            check=True, capture_output=True,
        )  # fmt: skip
    subprocess.run(
        [*as_user, str(pg / "pg_ctl"), "-D", str(data), "-w", "-l", str(root / "log"),
         "-o", f"-k {sock} -c listen_addresses='' -p {port}", "start"],
        check=True, capture_output=True,
    )  # fmt: skip
    try:
        exists = subprocess.run(
            [*as_user, str(pg / "psql"), "-h", str(sock), "-p", port, "-U", "kap", "-tAc",
             "SELECT 1 FROM pg_database WHERE datname='kaptools'", "postgres"],
            check=True, capture_output=True, text=True,
        ).stdout.strip()  # fmt: skip
        if exists != "1":
            subprocess.run(
                [*as_user, str(pg / "createdb"), "-h", str(sock), "-p", port, "-U", "kap",
                 "kaptools"],
                check=True, capture_output=True,
            )  # fmt: skip
        yield f"postgresql+psycopg://kap@/kaptools?host={sock}&port={port}"
    finally:
        subprocess.run(
            [*as_user, str(pg / "pg_ctl"), "-D", str(data), "-m", "fast", "stop"],
            capture_output=True,
        )


# --- running it ---------------------------------------------------------------------------


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def proxy_command() -> str:
    """configurable-http-proxy, installed from npm into the virtual environment."""
    local = Path(sys.prefix) / "node_modules" / ".bin" / "configurable-http-proxy"
    if local.exists():
        return str(local)
    found = shutil.which("configurable-http-proxy")
    if found:
        return found
    raise ConfigurationError(
        f"configurable-http-proxy is not installed ({local} is missing); run "
        f"'npm install --prefix {sys.prefix} configurable-http-proxy@5' "
        "('make run-shared' does it)."
    )


def hub_environment(
    state_dir: Path,
    database_url: str,
    port: int,
    idle_timeout_s: int,
    cookie_max_age_h: float,
    idle_signout_min: float = 15.0,
) -> dict[str, str]:
    """The environment jupyterhub_config.py reads (so the tests run the same config)."""
    env = dict(os.environ)
    env.update(
        KAPTOOLS_HUB_STATE=str(state_dir),
        KAPTOOLS_HUB_PORT=str(port),
        KAPTOOLS_HUB_API_PORT=str(free_port()),
        KAPTOOLS_PROXY_API_PORT=str(free_port()),
        KAPTOOLS_PROXY_COMMAND=proxy_command(),
        KAPTOOLS_IDLE_TIMEOUT_S=str(idle_timeout_s),
        KAPTOOLS_COOKIE_MAX_AGE_H=str(cookie_max_age_h),
        KAPTOOLS_IDLE_SIGNOUT_MIN=str(idle_signout_min),
        KAPTOOLS_DATABASE_URL=database_url,
    )
    return env


def prepare(state_dir: Path, database_url: str, patients: int) -> dict[str, str]:
    """Demo patients (once) and demo accounts; returns the demo passwords."""
    state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    subprocess.run(
        [sys.executable, "-m", "kaptools.demo", "--if-empty", "-q", "--patients",
         str(patients), "--database", database_url],
        check=True,
        # the demo patients belong to the demo users' clinic (clinicians see their own)
        env={**os.environ, CLINIC_ENV_VAR: DEMO_USERS[0].clinic},
    )  # fmt: skip
    return ensure_demo_users(state_dir)


def run(args: argparse.Namespace) -> int:
    os.umask(0o077)  # the Hub's database (password hashes), cookie secret, kaptools data
    state_dir = Path(args.state).resolve()
    state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    with kaptools_database(state_dir, use_postgres=not args.sqlite) as url:
        passwords = prepare(state_dir, url, args.patients)
        (state_dir / "kaptools-database-url").write_text(url + "\n")
        env = hub_environment(
            state_dir, url, args.port, args.idle_timeout, args.cookie_hours,
            args.idle_signout_minutes,
        )  # fmt: skip
        where = "PostgreSQL (private cluster)" if url.startswith("postgresql") else "SQLite"
        print("")
        print(f"  kaptools shared install: http://127.0.0.1:{args.port}/  (loopback only)")
        print(f"  Data: {where}, {url}")
        print("  Demo accounts (synthetic; these passwords are for the demo only):")
        for u in DEMO_USERS:
            print(f"    {u.name:<16} role {u.role.value:<10} password {passwords[u.name]}")
        print(f"  Idle dashboards are stopped after {args.idle_timeout} s; sign-in ends after "
              f"{args.idle_signout_minutes:g} min without activity and lasts at most "
              f"{args.cookie_hours} h. Stop with Ctrl-C.", flush=True)  # fmt: skip
        hub = subprocess.Popen(
            [sys.executable, "-m", "jupyterhub", "-f", str(HUB_CONFIG)],
            cwd=state_dir,
            env=env,
            start_new_session=True,
        )

        def stop(*_: Any) -> None:
            if hub.poll() is None:
                hub.send_signal(signal.SIGTERM)

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        try:
            while hub.poll() is None:
                try:
                    hub.wait(timeout=1)
                except subprocess.TimeoutExpired:
                    continue
        finally:
            stop()
            try:
                hub.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(hub.pid, signal.SIGKILL)
                hub.wait()
    return 0


def _positive_minutes(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(
            f"--idle-signout-minutes {text!r}: give a number of minutes > 0 (default 15)"
        )
    return value


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kaptools.hub", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p_run = sub.add_parser("run", help="start the shared install on this machine (loopback)")
    p_run.add_argument("--state", default=str(DEFAULT_STATE_DIR), help="state folder")
    p_run.add_argument("--port", type=int, default=8000, help="the Hub's port (default 8000)")
    p_run.add_argument("--patients", type=int, default=12, help="demo patients (default 12)")
    p_run.add_argument("--sqlite", action="store_true", help="SQLite instead of PostgreSQL")
    p_run.add_argument(
        "--idle-timeout", type=int, default=900, help="stop idle dashboards after N s (900)"
    )
    p_run.add_argument(
        "--cookie-hours", type=float, default=8.0, help="sign-in cookie lifetime, hours (8)"
    )
    p_run.add_argument(
        "--idle-signout-minutes",
        type=_positive_minutes,
        default=15.0,
        help="sign out after N minutes without activity (15, the culler's 900 s)",
    )
    p_add = sub.add_parser("add-user", help="add an account (or reset its password)")
    p_add.add_argument("name")
    p_add.add_argument("--state", default=str(DEFAULT_STATE_DIR), help="state folder")
    args = parser.parse_args(argv)
    if args.command == "run":
        return run(args)
    password = add_user(Path(args.state).resolve(), args.name)
    print(f"{args.name}: password {password}")
    print("Add them to one role group (clinician, researcher, trainer, admin) and their")
    print("clinic-<id> group on the Hub's admin page.")
    return 0

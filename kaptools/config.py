"""Where kaptools keeps its data, from the environment.

| variable | meaning | default |
|---|---|---|
| ``KAPTOOLS_DATABASE_URL`` | SQLAlchemy URL (SQLite or PostgreSQL) | SQLite file in the home |
| ``KAPTOOLS_HOME`` | folder of the default SQLite file | ``~/.kaptools`` |
| ``KAPTOOLS_PROTOCOL`` | path of the clinic's protocol TOML | the shipped default |
| ``KAPTOOLS_USER`` | name recorded as the author of dashboard writes | the login name |
"""

from __future__ import annotations

import getpass
import os
from pathlib import Path

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from kaptools.errors import ConfigurationError

__all__ = [
    "DATABASE_URL_ENV_VAR",
    "HOME_ENV_VAR",
    "USER_ENV_VAR",
    "current_user",
    "database_url",
    "default_database_path",
    "default_demo_database_path",
]

DATABASE_URL_ENV_VAR = "KAPTOOLS_DATABASE_URL"
HOME_ENV_VAR = "KAPTOOLS_HOME"
USER_ENV_VAR = "KAPTOOLS_USER"


def default_database_path() -> Path:
    home = os.environ.get(HOME_ENV_VAR, "").strip()
    base = Path(home).expanduser() if home else Path.home() / ".kaptools"
    return base / "kaptools.sqlite"


def default_demo_database_path() -> Path:
    """The demo's own SQLite file, next to (never the same as) the clinic's default store."""
    return default_database_path().with_name("demo.sqlite")


def database_url(value: str | None = None) -> URL:
    """The database URL to use: ``value``, else the environment, else the default file."""
    raw = value if value is not None else os.environ.get(DATABASE_URL_ENV_VAR, "").strip()
    name = "The database URL" if value is not None else DATABASE_URL_ENV_VAR
    if not raw:
        return make_url(f"sqlite:///{default_database_path()}")
    try:
        url = make_url(raw)
    except ArgumentError:
        raise ConfigurationError(
            f"{name} {raw!r} is not a database URL. Use e.g. "
            "'sqlite:////path/to/kaptools.sqlite' or "
            "'postgresql+psycopg://user@host/dbname'."
        ) from None
    if url.get_backend_name() not in {"sqlite", "postgresql"}:
        raise ConfigurationError(
            f"{name} {raw!r} names the {url.get_backend_name()!r} backend; kaptools "
            "supports 'sqlite' and 'postgresql'."
        )
    return url


def current_user() -> str:
    """Who is writing: ``KAPTOOLS_USER``, else the login name."""
    name = os.environ.get(USER_ENV_VAR, "").strip()
    if name:
        return name
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown-user"

"""Configuration comes from the environment and bad values are named."""

from __future__ import annotations

import pytest

from kaptools.config import current_user, database_url
from kaptools.errors import ConfigurationError


def test_default_database_is_a_sqlite_file_under_kaptools_home(monkeypatch, tmp_path) -> None:
    """With no URL set, the database is kaptools.sqlite in KAPTOOLS_HOME."""
    monkeypatch.delenv("KAPTOOLS_DATABASE_URL", raising=False)
    monkeypatch.setenv("KAPTOOLS_HOME", str(tmp_path))
    url = database_url()
    assert url.get_backend_name() == "sqlite"
    assert url.database == str(tmp_path / "kaptools.sqlite")


def test_postgresql_url_is_accepted_without_code_changes(monkeypatch) -> None:
    """A PostgreSQL URL from the environment is used as given."""
    monkeypatch.setenv("KAPTOOLS_DATABASE_URL", "postgresql+psycopg://kap@db.internal/kaptools")
    url = database_url()
    assert (url.get_backend_name(), url.database) == ("postgresql", "kaptools")


@pytest.mark.parametrize("value", ["not a url", "mysql://x@y/z"])
def test_bad_database_url_is_named(monkeypatch, value: str) -> None:
    """An unusable URL raises ConfigurationError naming the variable and an example."""
    monkeypatch.setenv("KAPTOOLS_DATABASE_URL", value)
    with pytest.raises(ConfigurationError, match="KAPTOOLS_DATABASE_URL"):
        database_url()


def test_user_comes_from_kaptools_user(monkeypatch) -> None:
    """KAPTOOLS_USER names the author of dashboard writes."""
    monkeypatch.setenv("KAPTOOLS_USER", "dr-lee")
    assert current_user() == "dr-lee"

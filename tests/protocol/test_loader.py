"""The protocol loader: load_protocol, parse_protocol, protocol_from_env.

A clinic's copy loads with its own name, version and content hash; every file that cannot
be used is refused with a ProtocolError naming the file, the key, its line and the fix,
before anything is computed from it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from kaptools.errors import ProtocolError
from kaptools.protocol import (
    DEFAULT_PROTOCOL_PATH,
    PROTOCOL_ENV_VAR,
    default_protocol,
    load_protocol,
    parse_protocol,
    protocol_from_env,
)

DEFAULT_TEXT = DEFAULT_PROTOCOL_PATH.read_text(encoding="utf-8")


def _copy(tmp_path: Path, text: str = DEFAULT_TEXT, name: str = "clinic.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_none_loads_the_shipped_default_with_its_provenance() -> None:
    protocol = load_protocol(None)
    assert protocol is default_protocol()
    assert protocol.info.name == "kaptools-default"
    assert protocol.info.version
    assert len(protocol.info.sha256) == 64
    assert protocol.path == DEFAULT_PROTOCOL_PATH


def test_an_unchanged_copy_has_the_defaults_provenance_and_its_own_path(tmp_path: Path) -> None:
    path = _copy(tmp_path)
    protocol = load_protocol(path)
    assert protocol.info == default_protocol().info
    assert protocol.path == path
    assert str(path) in protocol.summary


def test_a_changed_value_changes_the_content_hash_even_with_the_same_version(
    tmp_path: Path,
) -> None:
    edited = DEFAULT_TEXT.replace(
        "phq9_item9_alert_min = { value = 1,", "phq9_item9_alert_min = { value = 2,", 1
    )
    assert edited != DEFAULT_TEXT
    protocol = load_protocol(_copy(tmp_path, edited))
    assert protocol.info.version == default_protocol().info.version
    assert protocol.info.sha256 != default_protocol().info.sha256
    assert protocol.value("measures.phq9_item9_alert_min")["value"] == 2


def test_a_missing_file_is_named_with_where_to_start(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.toml"
    with pytest.raises(ProtocolError) as err:
        load_protocol(missing)
    assert str(missing) in str(err.value)
    assert "default.toml" in str(err.value)


def test_a_directory_is_not_a_protocol_file(tmp_path: Path) -> None:
    with pytest.raises(ProtocolError, match="not a file"):
        load_protocol(tmp_path)


def test_a_file_that_is_not_utf8_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "latin1.toml"
    path.write_bytes(DEFAULT_TEXT.encode("utf-8") + b"\n# caf\xe9\n")
    with pytest.raises(ProtocolError, match="cannot be read"):
        load_protocol(path)


def test_invalid_toml_is_refused_with_the_syntax_error() -> None:
    with pytest.raises(ProtocolError, match="not valid TOML") as err:
        parse_protocol(DEFAULT_TEXT + "\n[broken\n", origin="clinic.toml")
    assert "clinic.toml" in str(err.value)


def test_an_unknown_key_is_named_with_its_line() -> None:
    text = DEFAULT_TEXT.replace("[measures]\n", "[measures]\nphq9_item9_alarm_min = 1\n", 1)
    line = text.splitlines().index("phq9_item9_alarm_min = 1") + 1
    with pytest.raises(ProtocolError) as err:
        parse_protocol(text, origin="clinic.toml")
    problem = next(p for p in err.value.problems if p.field.endswith("phq9_item9_alarm_min"))
    assert problem.line == line
    assert "spelling" in problem.fix
    assert f"line {line}" in str(err.value)


def test_a_missing_section_is_named_with_how_to_fix_it() -> None:
    start = DEFAULT_TEXT.index("[protocol]")
    end = DEFAULT_TEXT.index("[measures]")
    text = DEFAULT_TEXT[:start] + DEFAULT_TEXT[end:]
    with pytest.raises(ProtocolError) as err:
        parse_protocol(text)
    problem = next(p for p in err.value.problems if p.field == "protocol")
    assert "add it" in problem.fix


def test_a_threshold_of_the_wrong_type_is_named() -> None:
    text = DEFAULT_TEXT.replace(
        "phq9_item9_alert_min = { value = 1,", 'phq9_item9_alert_min = { value = "one",', 1
    )
    with pytest.raises(ProtocolError) as err:
        parse_protocol(text)
    assert any("phq9_item9_alert_min" in p.field for p in err.value.problems)


def test_text_must_be_a_string() -> None:
    with pytest.raises(ProtocolError, match="a str"):
        parse_protocol(DEFAULT_TEXT.encode())  # type: ignore[arg-type]


def test_the_environment_names_the_dashboards_protocol(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _copy(tmp_path)
    monkeypatch.setenv(PROTOCOL_ENV_VAR, str(path))
    assert protocol_from_env().path == path
    monkeypatch.setenv(PROTOCOL_ENV_VAR, "   ")
    assert protocol_from_env() is default_protocol()
    monkeypatch.setenv(PROTOCOL_ENV_VAR, os.fspath(tmp_path / "gone.toml"))
    with pytest.raises(ProtocolError, match=r"gone\.toml"):
        protocol_from_env()

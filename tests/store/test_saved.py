"""The one saved-record wrapper (kaptools.store.saved): every stored kind reads back the
same way, and SavedPlan / SavedDosingSession are it, with their old names working."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from typing import Any

import pytest

from kaptools.scheduling import SavedPlan
from kaptools.scheduling.storage import SavedPlan as SavedPlanFromModule
from kaptools.sessions import SavedDosingSession
from kaptools.sessions.storage import SavedDosingSession as SavedSessionFromModule
from kaptools.store import StoredRecord
from kaptools.store.saved import SavedRecord

AT = dt.datetime(2026, 3, 9, 10, 30, tzinfo=dt.UTC)


@dataclasses.dataclass(frozen=True)
class Note:
    """A stand-in domain value that renders itself."""

    text: str

    @property
    def summary(self) -> str:
        return f"Note: {self.text}"

    def _repr_html_(self) -> str:
        return f"<p class='note'>{self.text}</p>"


class SavedNote(SavedRecord[Note]):
    __slots__ = ()
    noun = "Note record"

    @staticmethod
    def parse(payload: Mapping[str, Any]) -> Note:
        return Note(str(payload["text"]))


def _record(payload: Mapping[str, Any], *, reason: str | None = None) -> StoredRecord:
    return StoredRecord("rec-1", 2, "note", "SYN-0001", payload, "dr.<b>", AT, AT, reason)


def test_a_stored_record_reads_back_as_its_value_with_who_when_and_why() -> None:
    """from_record keeps id, version, author, time and reason and parses the payload."""
    saved = SavedNote.from_record(_record({"text": "hello"}, reason="typo fixed"))
    assert ("rec-1", 2, "dr.<b>", AT, "typo fixed") == (
        saved.record_id,
        saved.version,
        saved.author,
        saved.created_at,
        saved.reason,
    )
    assert Note("hello") == saved.value
    assert saved == SavedNote.from_record(_record({"text": "hello"}, reason="typo fixed"))
    with pytest.raises(dataclasses.FrozenInstanceError):
        saved.version = 3  # type: ignore[misc]


def test_the_summary_and_html_name_the_record_then_show_the_value() -> None:
    """Text and HTML carry the same saved line (HTML escaped), then the value's own."""
    saved = SavedNote.from_record(_record({"text": "hello"}))
    line = "Note record rec-1 v2, saved by dr.<b> 2026-03-09 10:30"
    assert f"{line}\nNote: hello" == saved.summary
    html = saved._repr_html_()
    assert "dr.&lt;b&gt;" in html and "dr.<b>" not in html
    assert html.endswith("<p class='note'>hello</p>")


def test_the_base_class_does_not_guess_a_payload() -> None:
    """A kind must say how its payload parses."""
    with pytest.raises(NotImplementedError):
        SavedRecord.from_record(_record({"text": "hello"}))


def test_saved_plan_and_saved_dosing_session_are_the_one_wrapper() -> None:
    """Both record kinds are SavedRecord subclasses, importable from their old paths."""
    assert SavedPlan is SavedPlanFromModule
    assert SavedDosingSession is SavedSessionFromModule
    for cls in (SavedPlan, SavedDosingSession):
        assert issubclass(cls, SavedRecord)
        assert [f.name for f in dataclasses.fields(cls)] == [
            "record_id",
            "version",
            "author",
            "created_at",
            "reason",
            "value",
        ]
        assert not hasattr(cls(*"abcde", None), "__dict__")  # slots kept
    assert "plan" in vars(SavedPlan) and "session" in vars(SavedDosingSession)

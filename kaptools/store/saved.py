"""A stored record read back as its domain value: one wrapper for every record kind.

:class:`SavedRecord` pairs what the store knows of one version of a record (its id and
version, who saved it, when, and the reason a correction gave) with the record's payload
parsed into its domain value. Each record kind is a small subclass naming how its
payload parses and what the value is called (``SavedPlan.plan``,
``SavedDosingSession.session``)::

    class SavedPlan(SavedRecord[CoursePlan]):
        __slots__ = ()
        noun = "Plan record"

        @staticmethod
        def parse(payload): return CoursePlan.from_dict(payload)

        @property
        def plan(self) -> CoursePlan: return self.value
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Protocol, Self, TypeVar

from kaptools.printer import escape

if TYPE_CHECKING:
    from kaptools.store.values import StoredRecord

__all__ = ["SavedRecord"]


class _Renders(Protocol):
    @property
    def summary(self) -> str: ...

    def _repr_html_(self) -> str: ...


T = TypeVar("T", bound=_Renders)


@dataclass(frozen=True, slots=True)
class SavedRecord(Generic[T]):
    """One version of a stored record with its payload parsed: which record and version
    it is, who saved it, when, why (a correction's reason), and the value itself."""

    record_id: str
    version: int
    author: str
    created_at: dt.datetime
    reason: str | None
    value: T

    noun: ClassVar[str] = "Record"
    """How the record is named in its summary (``"Plan record"``)."""

    @staticmethod
    def parse(payload: Mapping[str, Any]) -> Any:
        """The domain value of a stored payload (each record kind says how)."""
        raise NotImplementedError

    @classmethod
    def from_record(cls, record: StoredRecord) -> Self:
        """The saved value of one stored version (its payload parsed by :meth:`parse`)."""
        return cls(
            record.record_id,
            record.version,
            record.author,
            record.created_at,
            record.reason,
            cls.parse(record.payload),
        )

    @property
    def saved_line(self) -> str:
        """Which record and version this is, who saved it and when (one line)."""
        return (
            f"{self.noun} {self.record_id} v{self.version}, saved by {self.author} "
            f"{self.created_at:%Y-%m-%d %H:%M}"
        )

    @property
    def summary(self) -> str:
        return f"{self.saved_line}\n{self.value.summary}"

    def _repr_html_(self) -> str:
        head = f"<p class='kap-saved-record'><small>{escape(self.saved_line)}</small></p>"
        return head + self.value._repr_html_()

"""Building blocks shared by every protocol section: a threshold with its unit and source."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Self

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

__all__ = ["Section", "Source", "Threshold"]

Source = Annotated[str, StringConstraints(strip_whitespace=True, min_length=3)]


class Section(BaseModel):
    """Base of every protocol table: frozen, and unknown keys are an error (typos)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Self:
        """A copy; with ``update``, validated like the protocol file (pydantic's own
        ``model_copy(update=...)`` skips validation, which would let an invalid or
        unsourced value into a protocol). What-if protocols: ``Protocol.with_changes``.
        """
        if not update:
            return super().model_copy(deep=deep)
        return self.model_validate({**self.model_dump(), **dict(update)})


class Threshold(Section):
    """One number of the protocol, always with its unit and where it comes from.

    In TOML: ``name = { value = 140, unit = "mmHg", source = "SPRAVATO label [2.1]" }``.
    """

    value: float
    unit: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
    source: Source
    note: str = ""

    @property
    def int_value(self) -> int:
        return int(self.value)

    def __str__(self) -> str:
        v = int(self.value) if float(self.value).is_integer() else self.value
        return f"{v} {self.unit}"


PositiveInt = Annotated[int, Field(gt=0)]

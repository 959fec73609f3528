"""Building blocks shared by every protocol section: a threshold with its unit and source."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

__all__ = ["Section", "Source", "Threshold"]

Source = Annotated[str, StringConstraints(strip_whitespace=True, min_length=3)]


class Section(BaseModel):
    """Base of every protocol table: frozen, and unknown keys are an error (typos)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


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

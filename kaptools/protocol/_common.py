"""Building blocks shared by every protocol section: a threshold with its unit and source."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Annotated, Any, Self

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from kaptools.limits import protocol_value_range

__all__ = ["Section", "Source", "Threshold", "positive", "whole"]

Source = Annotated[str, StringConstraints(strip_whitespace=True, min_length=3)]


class Section(BaseModel):
    """Base of every protocol table: frozen, unknown keys are an error (typos), and every
    number is finite (``inf`` and ``nan`` are refused with the key named)."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

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

    @model_validator(mode="after")
    def _plausible(self) -> Threshold:
        low, high = protocol_value_range(self.unit)
        if not (math.isfinite(self.value) and low <= self.value <= high):
            msg = (
                f"the value {self.value:g} {self.unit} is outside the plausible range "
                f"{low:g} to {high:g} for that unit (kaptools/limits.toml, protocol_units): "
                f"check it for a typing error"
            )
            raise ValueError(msg)
        return self

    @property
    def int_value(self) -> int:
        return int(self.value)

    def __str__(self) -> str:
        v = int(self.value) if float(self.value).is_integer() else self.value
        return f"{v} {self.unit}"


PositiveInt = Annotated[int, Field(gt=0)]


def whole(t: Threshold, *, minimum: int, what: str) -> Threshold:
    """Check that ``t`` is a whole number of at least ``minimum``."""
    if not float(t.value).is_integer() or t.value < minimum:
        msg = f"{what} must be a whole number of at least {minimum} (got {t.value}); fix the value"
        raise ValueError(msg)
    return t


def positive(t: Threshold, *, what: str) -> Threshold:
    """Check that ``t`` is above 0."""
    if t.value <= 0:
        msg = f"{what} must be above 0 (got {t.value}); fix the value"
        raise ValueError(msg)
    return t

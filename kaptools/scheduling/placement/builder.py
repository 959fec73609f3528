"""One placement run, section by section, and the plan it assembles."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from kaptools.errors import InvalidInputError
from kaptools.scheduling.placement.checks import CheckPlacement
from kaptools.scheduling.placement.context import Ctx, Row
from kaptools.scheduling.placement.doses import DosePlacement
from kaptools.scheduling.plan import PlannedSession, session_from_row

__all__ = ["build"]


def build(ctx: Ctx, history: Sequence[PlannedSession]) -> list[PlannedSession]:
    """Place every session still to come; return history + new sessions, indexed, in order."""
    b = _Builder(ctx, history)
    b.preparation()
    b.doses()
    b.benefit_check()
    b.measures()
    return b.assemble()


class _Builder(DosePlacement, CheckPlacement):
    """One placement run (each base class one section of the policy)."""

    # -- assembly -----------------------------------------------------------------------------

    def assemble(self) -> list[PlannedSession]:
        ctx = self.ctx
        if ctx.pins:
            leftover = ", ".join(
                " ".join(str(part) for part in key) + f" to {day}" for key, day in ctx.pins.items()
            )
            msg = (
                f"moved: the move of {leftover} no longer has a place in the re-planned course "
                f"(that session is no longer needed); leave it out of 'moved'"
            )
            raise InvalidInputError(msg)
        keyed: list[tuple[tuple[Any, ...], PlannedSession | Row]] = [
            ((*s.sort_key, False), s) for s in self.history
        ]
        keyed.extend(zip(ctx.keys, ctx.out, strict=True))
        keyed.sort(key=_first)
        return [
            replace(item, index=i)
            if isinstance(item, PlannedSession)
            else session_from_row(i, item)
            for i, (_, item) in enumerate(keyed)
        ]


def _first(pair: tuple[tuple[Any, ...], object]) -> tuple[Any, ...]:
    return pair[0]

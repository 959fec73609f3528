"""The what-if page's state (the thresholds asked for) and the view derived from it (pure)."""

from __future__ import annotations

import io
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from kaptools.errors import KaptoolsError
from kaptools.protocol import Protocol
from kaptools.spreadsheet import safe_frame

if TYPE_CHECKING:  # pandas (with pyarrow) only once a comparison is asked for (issue 14)
    import pandas as pd

    from kaptools.whatif import ScreeningComparison

__all__ = ["THRESHOLD_KEYS", "WhatIfState", "WhatIfView", "derive", "protocol_values"]

#: The thresholds a clinic lead can try here: protocol key path → label.
THRESHOLD_KEYS: dict[str, str] = {
    "screening.thresholds.bp_caution_systolic_above": "Caution: systolic above (mmHg)",
    "screening.thresholds.bp_caution_diastolic_above": "Caution: diastolic above (mmHg)",
    "screening.thresholds.bp_defer_systolic_min": "Defer: systolic at or above (mmHg)",
    "screening.thresholds.bp_defer_diastolic_min": "Defer: diastolic at or above (mmHg)",
    "screening.thresholds.age_minimum": "Minimum age (years)",
    "screening.thresholds.age_caution_from": "Older-adult caution from (years)",
    "screening.thresholds.benzodiazepine_high_dose_above": (
        "Benzodiazepine high dose above (mg diazepam-eq./day)"
    ),
    "screening.thresholds.failed_adequate_trials_min": "Failed adequate trials needed",
    "screening.thresholds.trial_weeks_min": "Adequate trial: at least (weeks)",
}


@dataclass(frozen=True)
class WhatIfState:
    """What the lead asked for: changed values by key path (only those that differ)."""

    changes: tuple[tuple[str, float], ...] = ()

    @classmethod
    def from_values(cls, values: Mapping[str, float], protocol: Protocol) -> WhatIfState:
        """The state of these field values: the ones that differ from ``protocol``'s."""
        current = protocol_values(protocol)
        return cls(tuple((k, float(v)) for k, v in values.items() if float(v) != current.get(k)))


def protocol_values(protocol: Protocol) -> dict[str, float]:
    """The protocol's value of every threshold offered here."""
    return {key: float(protocol.value(key)["value"]) for key in THRESHOLD_KEYS}


@dataclass(frozen=True)
class WhatIfView:
    """What the page shows, derived from the state."""

    comparison: ScreeningComparison | None = None
    error: str = ""
    changes: tuple[tuple[str, float], ...] = field(default=())

    @property
    def csv(self) -> str:
        """The patients who change status, as CSV (empty table when none or no comparison);
        text cells a spreadsheet would execute get a leading quote."""
        if self.comparison is None:
            return ""
        # cells a spreadsheet would execute are neutralised, as in every kaptools CSV
        return safe_frame(self.comparison.changed).to_csv(index=False)

    @property
    def parquet(self) -> bytes:
        """The same table as Parquet (cells as they are; both protocols in the metadata)."""
        if self.comparison is None:
            return b""
        import pyarrow as pa
        import pyarrow.parquet as pq

        c = self.comparison
        table = pa.Table.from_pandas(c.changed, preserve_index=False)
        meta = dict(table.schema.metadata or {})
        meta[b"kaptools.protocols"] = json.dumps(
            {
                side: {"name": p.name, "version": p.version, "sha256": p.sha256}
                for side, p in (("before", c.before), ("after", c.after))
            }
        ).encode()
        buf = io.BytesIO()
        pq.write_table(table.replace_schema_metadata(meta), buf)
        return buf.getvalue()


def derive(state: WhatIfState, base: Protocol, cohort: pd.DataFrame | None) -> WhatIfView:
    """Screen ``cohort`` under ``base`` and under ``base`` with the state's changes.

    A state without changes compares nothing and does not read ``cohort`` (the page
    passes None then: its synthetic cohort is built when first compared)."""
    if not state.changes:
        return WhatIfView(None, "", ())
    if cohort is None:
        msg = "derive: a cohort is needed to compare (got None with changes)"
        raise TypeError(msg)
    from kaptools.whatif import compare_screening  # pandas: imported when first compared

    try:
        after = base.with_changes(dict(state.changes), name="what-if")
        comparison = compare_screening(cohort, after, before=base)
    except KaptoolsError as exc:
        return WhatIfView(None, str(exc), state.changes)
    return WhatIfView(comparison, "", state.changes)

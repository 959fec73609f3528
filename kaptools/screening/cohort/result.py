"""The result of a cohort screening: one table row per input row, and the detail behind it."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import numpy as np
import pandas as pd

from kaptools.alerts import AlertLevel
from kaptools.errors import InvalidInputError
from kaptools.printer import escape, footer_html, footer_text, table_html
from kaptools.protocol import Protocol, ProtocolInfo
from kaptools.screening.catalogue import RuleCatalogue, rule_catalogue
from kaptools.screening.cohort.columnwise import Screened
from kaptools.screening.cohort.files import write_parquet
from kaptools.screening.layout import ParsedFrame, errors_table
from kaptools.screening.result import ScreeningStatus
from kaptools.spreadsheet import CSV_LINE_END, safe_frame
from kaptools.vocabulary import Route, Severity

__all__ = ["MALFORMED", "STATUS_CATEGORIES", "CohortResult", "tabulate"]

MALFORMED = "malformed"
"""Status of a row that could not be read: it is reported in ``errors``, never screened."""

STATUS_CATEGORIES = (*(s.value for s in ScreeningStatus), MALFORMED)

_ALERT_LEVELS = (AlertLevel.WARNING.value, AlertLevel.CRITICAL.value)

_FINDING_COLUMNS = (
    ("exclusions", Severity.EXCLUSION),
    ("missing", Severity.MISSING),
    ("cautions", Severity.CAUTION),
    ("info", Severity.INFO),
)
"""Table columns listing the rule ids that fired, one column per severity."""


def _from_codes(codes: np.ndarray, categories: list[str]) -> pd.Categorical:
    """``pd.Categorical.from_codes`` with the categories as a list (code -1 is missing)."""
    return pd.Categorical.from_codes(  # type: ignore[call-overload]  # stubs want an Index
        codes, categories=categories
    )


def _combination_strings(matrix: np.ndarray, names: list[str]) -> pd.Categorical:
    """Per column of the (k, n) bool ``matrix``, the names set in it, space-separated.

    The text is built once per distinct combination (rows are packed into integer
    keys and factorised by hashing), never once per row.
    """
    k, n = matrix.shape
    packed = np.packbits(matrix, axis=0)  # (ceil(k / 8), n) bytes
    width = packed.shape[0]
    if width <= 8:
        padded = np.zeros((8, n), dtype=np.uint8)
        padded[:width] = packed
        keys = np.ascontiguousarray(padded.T).view(np.uint64).ravel()
        codes, uniques = pd.factorize(keys)
        unique_bytes = np.asarray(uniques, dtype=np.uint64).view(np.uint8).reshape(-1, 8)
    else:
        unique_bytes, codes = np.unique(np.ascontiguousarray(packed.T), axis=0, return_inverse=True)
    bits = np.unpackbits(unique_bytes[:, :width], axis=1)[:, :k].astype(bool)
    labels = [" ".join(names[j] for j in np.flatnonzero(b)) for b in bits]
    return _from_codes(np.asarray(codes).reshape(-1), labels)


def _error_text(p: ParsedFrame) -> np.ndarray:
    out = np.full(p.n, None, dtype=object)
    reasons: dict[int, list[str]] = {}
    for mask, _, reason in p.problems:
        for i in np.flatnonzero(mask):
            reasons.setdefault(int(i), []).append(reason)
    for row, rs in reasons.items():
        out[row] = "; ".join(rs)
    return out


@dataclass(frozen=True, repr=False)
class CohortResult:
    """The screening of a cohort: one table row per input row, plus the detail behind it.

    Attributes:
        table: per patient: ``row`` (1-based), ``patient_id``, ``status`` (a
            ScreeningStatus value or ``malformed``), ``failed_adequate_trials``,
            ``trials_not_judged``, the rule ids that fired (space-separated) in
            ``exclusions``, ``missing``, ``cautions`` and ``info``, ``alerts`` (alert rule
            ids), ``alert_level`` and ``error`` (why a malformed row was not screened).
            Indexed like the input.
        fired: boolean matrix, patients × rule ids (False for malformed rows).
        alerts_fired: boolean matrix, patients × alert rule ids.
        errors: one row per malformed cell: row, index, patient_id, column, value, reason.
        protocol: name, version and content hash of the protocol applied.
        catalogue: every rule of that protocol, with severity, message and source.
    """

    table: pd.DataFrame
    fired: pd.DataFrame
    alerts_fired: pd.DataFrame
    errors: pd.DataFrame
    protocol: ProtocolInfo
    catalogue: RuleCatalogue

    def __repr__(self) -> str:
        return f"<CohortResult: {len(self.table):,} rows, protocol {self.protocol.short}>"

    @property
    def status_counts(self) -> pd.Series:
        """Patients per status (every status listed, ``malformed`` last)."""
        counts = self.table["status"].value_counts(sort=False)
        return counts.reindex(list(STATUS_CATEGORIES), fill_value=0).rename("patients")

    @property
    def rule_counts(self) -> pd.DataFrame:
        """Per rule: severity, patients it fired for, and the share of screened patients."""
        screened = int((self.table["status"] != MALFORMED).sum())
        counts = self.fired.to_numpy().sum(axis=0)
        out = pd.DataFrame(
            {
                "rule_id": list(self.catalogue.ids),
                "severity": [r.severity.value for r in self.catalogue.rules],
                "patients": counts,
                "percent": np.round(100.0 * counts / max(screened, 1), 1),
                "message": [r.message for r in self.catalogue.rules],
            }
        )
        return out.sort_values(["patients", "rule_id"], ascending=[False, True]).reset_index(
            drop=True
        )

    @property
    def alert_counts(self) -> pd.Series:
        return pd.Series(
            self.alerts_fired.to_numpy().sum(axis=0),
            index=self.alerts_fired.columns,
            name="patients",
        )

    def findings_long(self) -> pd.DataFrame:
        """One row per (patient, finding): row, index, patient_id, rule_id, severity, message."""
        rows, cols = np.nonzero(self.fired.to_numpy())
        rules = self.catalogue.rules
        severities = [s.value for s in Severity]
        severity_code = np.array([severities.index(r.severity.value) for r in rules], np.int8)
        return pd.DataFrame(
            {
                "row": self.table["row"].to_numpy()[rows],
                "index": self.table.index[rows],
                "patient_id": self.table["patient_id"].to_numpy()[rows],
                "rule_id": _from_codes(cols, list(self.catalogue.ids)),
                "severity": _from_codes(severity_code[cols], severities),
                "message": np.array([r.message for r in rules], dtype=object)[cols],
            }
        )

    @property
    def summary(self) -> str:
        n = len(self.table)
        counts = self.status_counts
        screened = n - int(counts[MALFORMED])
        lines = [
            f"Cohort screening of {n:,} rows: {screened:,} screened, {int(counts[MALFORMED]):,} "
            f"malformed. Protocol {self.protocol.short}.",
            "Status: "
            + "; ".join(
                f"{k} {int(v):,} ({100.0 * v / max(n, 1):.1f} %)" for k, v in counts.items()
            ),
        ]
        top = self.rule_counts.head(10)
        lines.append(
            "Most frequent findings: "
            + "; ".join(
                f"{rule_id} {patients:,}"
                for rule_id, patients in zip(top["rule_id"], top["patients"], strict=True)
                if patients
            )
        )
        alerts = self.alert_counts
        lines.append("Safety alerts: " + "; ".join(f"{k} {int(v):,}" for k, v in alerts.items()))
        lines.append(footer_text(self.protocol))
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        counts = self.status_counts
        statuses = table_html(
            ("status", "patients"), [(k, f"{int(v):,}") for k, v in counts.items()]
        )
        r = self.rule_counts.head(15)
        rules = table_html(
            ("rule", "severity", "patients", "%"),
            [
                (rule_id, severity, f"{int(patients):,}", percent)
                for rule_id, severity, patients, percent in zip(
                    r["rule_id"], r["severity"], r["patients"], r["percent"], strict=True
                )
            ],
        )
        return (
            f"<div class='kap-cohort'><p>{escape(self.summary.splitlines()[0])}</p>"
            f"{statuses}{rules}{footer_html(self.protocol)}</div>"
        )

    def write(self, path: str | os.PathLike[str], *, rule_columns: bool = False) -> Path:
        """Write ``table`` to ``.csv``, ``.jsonl`` or ``.parquet`` (optionally with one 0/1
        column per rule)."""
        out = Path(path)
        table = self.table
        if rule_columns:
            flags = self.fired.astype(np.int8).add_prefix("rule_")
            table = pd.concat([table, flags], axis=1)
        suffix = out.suffix.lower()
        if suffix == ".csv":
            safe_frame(table).to_csv(out, index=False, lineterminator=CSV_LINE_END)
        elif suffix in (".jsonl", ".ndjson"):
            table.to_json(out, orient="records", lines=True)
        elif suffix == ".parquet":
            write_parquet(table, out, protocol=self.protocol)
        else:
            msg = (
                f"output {str(out)!r}: write .csv, .jsonl or .parquet "
                f"(got {out.suffix or 'no suffix'!r})"
            )
            raise InvalidInputError(msg)
        return out


def tabulate(p: ParsedFrame, screened: Screened, protocol: Protocol) -> CohortResult:
    """The cohort result of the rules applied to a parsed frame (malformed rows not screened)."""
    catalogue = rule_catalogue(protocol)
    fired, alerts, bad = screened.fired, screened.alerts, p.bad
    if bad.any():
        fired[:, bad] = False
        alerts[:, bad] = False
    sev = np.array([r.severity.value for r in catalogue.rules])

    def route_codes(route: Route) -> np.ndarray:
        """Status codes (index in STATUS_CATEGORIES; higher is better) for ``route``."""
        route_sev = np.array([r.severity_for(route).value for r in catalogue.rules])

        def any_of(severity: Severity) -> np.ndarray:
            rows = np.flatnonzero(route_sev == severity.value)
            if not len(rows):
                return np.zeros(p.n, dtype=bool)
            return cast(np.ndarray, fired[rows].any(axis=0))  # (k, n) -> (n,): never a scalar

        return np.select(
            [any_of(Severity.EXCLUSION), any_of(Severity.MISSING), any_of(Severity.CAUTION)],
            [0, 1, 2],
            default=3,
        ).astype(np.int8)

    # Per route, then the best route's status (default protocol, "Screening is per
    # route where the labels differ"); STATUS_CATEGORIES runs from worst to best.
    per_route = {route: route_codes(route) for route in Route}
    best = np.max(np.vstack(list(per_route.values())), axis=0)
    status_codes = np.where(bad, 4, best).astype(np.int8)
    route_columns = {
        f"status_{route.value}": _from_codes(
            np.where(bad, 4, codes).astype(np.int8), list(STATUS_CATEGORIES)
        )
        for route, codes in per_route.items()
    }
    ids = list(catalogue.ids)
    by_severity = {}
    for column, severity in _FINDING_COLUMNS:
        rows = np.flatnonzero(sev == severity.value)
        by_severity[column] = _combination_strings(fired[rows], [ids[j] for j in rows])
    level_rank = np.zeros(p.n, dtype=np.int8)
    for j, level in enumerate(screened.alert_levels):
        level_rank = np.maximum(
            level_rank, np.where(alerts[j], 1 + _ALERT_LEVELS.index(level.value), 0)
        )
    table = pd.DataFrame(
        {
            "row": np.arange(1, p.n + 1),
            "patient_id": p.patient_id,
            "status": _from_codes(status_codes, list(STATUS_CATEGORIES)),
            **route_columns,
            "failed_adequate_trials": pd.arrays.IntegerArray(
                screened.failed.astype(np.int16), bad.copy()
            ),
            "trials_not_judged": pd.arrays.IntegerArray(
                screened.not_judged.astype(np.int16), bad.copy()
            ),
            **by_severity,
            "alerts": _combination_strings(alerts, list(screened.alert_ids)),
            "alert_level": _from_codes(level_rank - 1, list(_ALERT_LEVELS)),
            "error": _error_text(p),
        },
        index=p.index,
    )
    return CohortResult(
        table=table,
        fired=pd.DataFrame(fired.T, columns=ids, index=p.index),
        alerts_fired=pd.DataFrame(alerts.T, columns=list(screened.alert_ids), index=p.index),
        errors=errors_table(p),
        protocol=protocol.info,
        catalogue=catalogue,
    )

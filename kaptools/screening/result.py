"""What screening gives back: status, findings, trial assessments, safety alerts, overrides.

All values here are frozen dataclasses checked on construction. A result records
the protocol (name, version, content hash) that produced it, renders itself
(``.summary``, ``_repr_html_``) and converts to and from a JSON payload for storage.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from kaptools.alerts import Alert, AlertLevel
from kaptools.errors import InvalidInputError, RecordError
from kaptools.printer import escape
from kaptools.protocol import ProtocolInfo
from kaptools.screening.names import DrugName, resolve_drug_name
from kaptools.screening.record import ScreeningRecord
from kaptools.screening.report import ROUTE_LABELS, screening_html, summary_text
from kaptools.screening.trials import TrialAssessment, TrialVerdict
from kaptools.vocabulary import Route, ScreeningStatus, Severity

__all__ = [
    "PAYLOAD_SCHEMA",
    "ROUTE_LABELS",
    "Finding",
    "FindingOverride",
    "ScreeningResult",
    "ScreeningStatus",
    "TrialAssessment",
    "TrialVerdict",
    "best_status",
    "route_statuses",
    "status_of",
]

PAYLOAD_SCHEMA = "kaptools.screening/1"
"""Version tag of the stored screening payload."""


_STATUS_BY_SEVERITY = (
    (Severity.EXCLUSION, ScreeningStatus.NOT_ELIGIBLE),
    (Severity.MISSING, ScreeningStatus.INCOMPLETE),
    (Severity.CAUTION, ScreeningStatus.ELIGIBLE_WITH_CAUTIONS),
)


def status_of(severities: Iterable[Severity]) -> ScreeningStatus:
    """The status the precedence rule gives a set of finding severities."""
    present = set(severities)
    for severity, status in _STATUS_BY_SEVERITY:
        if severity in present:
            return status
    return ScreeningStatus.ELIGIBLE


_BEST_FIRST = (
    ScreeningStatus.ELIGIBLE,
    ScreeningStatus.ELIGIBLE_WITH_CAUTIONS,
    ScreeningStatus.INCOMPLETE,
    ScreeningStatus.NOT_ELIGIBLE,
)


def best_status(statuses: Iterable[ScreeningStatus]) -> ScreeningStatus:
    """The best of ``statuses``: eligible, then with cautions, incomplete, not eligible."""
    return min(statuses, key=_BEST_FIRST.index, default=ScreeningStatus.NOT_ELIGIBLE)


def route_statuses(findings: Iterable[Finding]) -> dict[Route, ScreeningStatus]:
    """Per route, the status its severities of ``findings`` give (precedence as status_of)."""
    findings = tuple(findings)
    return {route: status_of(f.severity_for(route) for f in findings) for route in Route}


def _text(value: object, name: str, *, allow_empty: bool = False) -> str:
    if not isinstance(value, str) or (not allow_empty and not value.strip()):
        msg = f"{name} must be a non-empty string (got {value!r})"
        raise InvalidInputError(msg)
    return value


@dataclass(frozen=True, slots=True)
class FindingOverride:
    """A clinician's override of one finding: who, when, why. The finding itself stays."""

    rule_id: str
    reason: str
    author: str
    created_at: datetime
    record_id: str | None = None
    """Store id of the ``screening_override`` record, when stored."""
    screening_record_id: str | None = None

    def __post_init__(self) -> None:
        _text(self.rule_id, "rule_id")
        _text(self.reason, "reason")
        _text(self.author, "author")
        if not isinstance(self.created_at, datetime):
            msg = f"created_at must be a datetime (got {self.created_at!r})"
            raise InvalidInputError(msg)

    @property
    def summary(self) -> str:
        return (
            f"{self.rule_id} overridden by {self.author} "
            f"({self.created_at.isoformat(timespec='minutes')}): {self.reason}"
        )

    def _repr_html_(self) -> str:
        return f"<p class='kap-override'>{escape(self.summary)}</p>"

    def as_dict(self) -> dict[str, Any]:
        return {
            "rule_id": self.rule_id,
            "reason": self.reason,
            "author": self.author,
            "created_at": self.created_at.isoformat(),
            "record_id": self.record_id,
            "screening_record_id": self.screening_record_id,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FindingOverride:
        return cls(
            rule_id=data["rule_id"],
            reason=data["reason"],
            author=data["author"],
            created_at=datetime.fromisoformat(data["created_at"]),
            record_id=data.get("record_id"),
            screening_record_id=data.get("screening_record_id"),
        )


@dataclass(frozen=True, slots=True)
class Finding:
    """One rule that fired: its id, severity, the clinician's message, source and detail."""

    rule_id: str
    severity: Severity
    message: str
    source: str
    detail: str = ""
    """What in this record made the rule fire (e.g. "systolic 152 mmHg")."""
    override: FindingOverride | None = None
    """Set when a clinician has overridden the finding; it then no longer counts to status."""
    route_severity: Mapping[Route, Severity] = field(default_factory=dict)
    """Severities that differ by route (e.g. an exclusion for IV and IM only)."""

    def __post_init__(self) -> None:
        _text(self.rule_id, "rule_id")
        object.__setattr__(self, "severity", Severity(self.severity))
        try:
            routes = {Route(k): Severity(v) for k, v in dict(self.route_severity).items()}
        except ValueError as exc:
            msg = f"route_severity of {self.rule_id!r}: {exc}"
            raise InvalidInputError(msg) from None
        object.__setattr__(self, "route_severity", routes)
        _text(self.message, "message")
        _text(self.source, "source")
        _text(self.detail, "detail", allow_empty=True)
        if self.override is not None and self.override.rule_id != self.rule_id:
            msg = f"override is for rule {self.override.rule_id!r}, not {self.rule_id!r}"
            raise InvalidInputError(msg)

    @property
    def overridden(self) -> bool:
        return self.override is not None

    def severity_for(self, route: Route) -> Severity:
        """The severity of this finding for ``route``."""
        return self.route_severity.get(route, self.severity)

    @property
    def route_note(self) -> str:
        """How the severity differs by route, e.g. "exclusion for IV, IM racemic ketamine"."""
        by: dict[Severity, list[str]] = {}
        for route, sev in self.route_severity.items():
            if sev != self.severity:
                by.setdefault(sev, []).append(ROUTE_LABELS[route])
        return "; ".join(f"{sev.value} for {', '.join(labels)}" for sev, labels in by.items())

    @property
    def summary(self) -> str:
        text = f"[{self.severity.value}] {self.rule_id}: {self.message}"
        if self.detail:
            text += f" ({self.detail})"
        if self.route_note:
            text += f" [by route: {self.route_note}]"
        if self.override is not None:
            text += f" OVERRIDDEN: {self.override.summary}"
        return text

    def _repr_html_(self) -> str:
        return (
            f"<p class='kap-finding kap-{escape(self.severity.value)}'>"
            f"{escape(self.summary)}<br><small>Source: {escape(self.source)}</small></p>"
        )

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "rule_id": self.rule_id,
            "severity": self.severity.value,
            "message": self.message,
            "source": self.source,
            "detail": self.detail,
        }
        if self.route_severity:
            out["route_severity"] = {r.value: v.value for r, v in self.route_severity.items()}
        return out


def _alert_dict(a: Alert) -> dict[str, Any]:
    return {
        "rule_id": a.rule_id,
        "level": a.level.value,
        "message": a.message,
        "action": a.action,
        "source": a.source,
    }


@dataclass(frozen=True)
class ScreeningResult:
    """The screening of one record under one protocol. Build it with :func:`screen`.

    ``status`` counts every finding not overridden; ``original_status`` counts them
    all, so an override never hides what the protocol said. Safety ``alerts`` are
    separate from the status and always shown.
    """

    record: ScreeningRecord
    status: ScreeningStatus
    findings: tuple[Finding, ...]
    alerts: tuple[Alert, ...]
    trials: tuple[TrialAssessment, ...]
    failed_adequate_trials: int
    protocol: ProtocolInfo
    original_status: ScreeningStatus | None = None
    overrides: tuple[FindingOverride, ...] = field(default=())

    def __post_init__(self) -> None:
        if not isinstance(self.record, ScreeningRecord):
            msg = f"record must be a ScreeningRecord (got {type(self.record).__name__})"
            raise InvalidInputError(msg)
        for name in ("findings", "alerts", "trials", "overrides"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        object.__setattr__(self, "status", ScreeningStatus(self.status))
        original = ScreeningStatus(
            self.status if self.original_status is None else self.original_status
        )
        object.__setattr__(self, "original_status", original)
        ids = [f.rule_id for f in self.findings]
        if len(ids) != len(set(ids)):
            msg = f"a rule fires at most once per screening (got {ids})"
            raise InvalidInputError(msg)
        # The screening's status is the best route's status (default protocol, "Screening
        # is per route where the labels differ"); without route differences it is the
        # status of the findings' severities.
        expected_original = best_status(route_statuses(self.findings).values())
        expected = best_status(
            route_statuses(f for f in self.findings if not f.overridden).values()
        )
        if original != expected_original or self.status != expected:
            msg = (
                f"status {self.status.value!r} / original {original.value!r} do not "
                f"follow from the findings ({expected.value!r} / {expected_original.value!r}); "
                f"build results with screen()"
            )
            raise InvalidInputError(msg)
        counted = sum(t.counted for t in self.trials)
        if self.failed_adequate_trials != counted:
            msg = (
                f"failed_adequate_trials is {self.failed_adequate_trials} but {counted} trial "
                f"assessments are counted"
            )
            raise InvalidInputError(msg)

    # -- views -------------------------------------------------------------------
    @property
    def routes(self) -> dict[Route, ScreeningStatus]:
        """Per route the clinic offers, the status of this screening for that route.

        Findings a clinician has overridden do not count. The screening's ``status`` is
        the best of these. Public API for the planner: offer only the routes in
        :attr:`routes_meeting_criteria`.
        """
        return route_statuses(f for f in self.findings if not f.overridden)

    @property
    def routes_meeting_criteria(self) -> tuple[Route, ...]:
        """Routes whose status meets the protocol's criteria (eligible, with or without
        cautions): the only routes a course may be planned for."""
        ok = (ScreeningStatus.ELIGIBLE, ScreeningStatus.ELIGIBLE_WITH_CAUTIONS)
        return tuple(r for r, st in self.routes.items() if st in ok)

    def route_status(self, route: Route | str) -> ScreeningStatus:
        """The status of this screening for ``route`` (InvalidInputError for an unknown one)."""
        try:
            key = Route(route)
        except ValueError:
            msg = f"route: {route!r} is not a route; use one of {[r.value for r in Route]}"
            raise InvalidInputError(msg) from None
        return self.routes[key]

    def route_findings(self, route: Route | str) -> tuple[Finding, ...]:
        """The findings that differ for ``route`` from their usual severity."""
        key = Route(route)
        return tuple(f for f in self.findings if f.severity_for(key) != f.severity)

    @property
    def route_differences(self) -> tuple[Finding, ...]:
        """Findings whose severity differs between routes: why the routes' statuses differ."""
        return tuple(f for f in self.findings if len({f.severity_for(r) for r in Route}) > 1)

    def route_rows(self) -> list[tuple[Route, ScreeningStatus, str]]:
        """Per route: the route, its status, and the rules whose severity differs by route."""
        rows = []
        for route, st in self.routes.items():
            why = ", ".join(
                f"{f.rule_id} ({f.severity_for(route).value})"
                for f in self.route_differences
                if not f.overridden
            )
            rows.append((route, st, why))
        return rows

    @property
    def rule_ids(self) -> tuple[str, ...]:
        """Ids of every finding, overridden or not, in listing order."""
        return tuple(f.rule_id for f in self.findings)

    def finding(self, rule_id: str) -> Finding | None:
        """The finding of ``rule_id``, or None when that rule did not fire."""
        return next((f for f in self.findings if f.rule_id == rule_id), None)

    def by_severity(self, severity: Severity | str) -> tuple[Finding, ...]:
        sev = Severity(severity)
        return tuple(f for f in self.findings if f.severity == sev)

    @property
    def cautions(self) -> tuple[str, ...]:
        """The caution findings that still count (not overridden), with their detail:
        what a course plan shows the clinician."""
        return tuple(
            f.message + (f" ({f.detail})" if f.detail else "")
            for f in self.by_severity(Severity.CAUTION)
            if not f.overridden
        )

    @property
    def diagnoses(self) -> tuple[tuple[str, str], ...]:
        """The record's ICD-10-CM codes, each with its description (kaptools.icd10)."""
        from kaptools.icd10 import describe

        return tuple((c, describe(c)) for c in self.record.diagnoses or ())

    @property
    def overridden(self) -> bool:
        return bool(self.overrides)

    @property
    def medication_names(self) -> tuple[DrugName, ...]:
        """How each current medication's name resolved ("Xanax → alprazolam (brand name)")."""
        return tuple(resolve_drug_name(m.drug) for m in self.record.current_medications or ())

    @property
    def alert_level(self) -> AlertLevel | None:
        from kaptools.alerts import highest_level

        return highest_level(self.alerts)

    @property
    def summary(self) -> str:
        """The short text summary (:func:`kaptools.screening.report.summary_text`)."""
        return summary_text(self)

    def _repr_html_(self) -> str:
        """The result as the dashboard shows it (:mod:`kaptools.screening.report`)."""
        return screening_html(self)

    # -- overrides ----------------------------------------------------------------
    def with_overrides(self, overrides: Iterable[FindingOverride]) -> ScreeningResult:
        """This result with ``overrides`` applied: findings kept, status recomputed.

        The latest override of a rule wins. Raises InvalidInputError when an override
        names a rule that did not fire in this result.
        """
        latest: dict[str, FindingOverride] = {}
        for o in sorted(overrides, key=lambda o: o.created_at):
            if self.finding(o.rule_id) is None:
                msg = (
                    f"rule_id: {o.rule_id!r} did not fire in this screening (findings: "
                    f"{list(self.rule_ids)}); an override must name one of them"
                )
                raise InvalidInputError(msg)
            latest[o.rule_id] = o
        findings = tuple(replace(f, override=latest.get(f.rule_id)) for f in self.findings)
        return replace(
            self,
            findings=findings,
            status=best_status(route_statuses(f for f in findings if not f.overridden).values()),
            original_status=self.original_status,
            overrides=tuple(latest.values()),
        )

    # -- storage --------------------------------------------------------------------
    def to_payload(self) -> dict[str, Any]:
        """A JSON-serialisable payload: input record, status, findings, alerts, protocol."""
        return {
            "schema": PAYLOAD_SCHEMA,
            "record": self.record.model_dump(mode="json"),
            "status": (self.original_status or self.status).value,
            "routes": {r.value: st.value for r, st in route_statuses(self.findings).items()},
            "findings": [f.as_dict() for f in self.findings],
            "alerts": [_alert_dict(a) for a in self.alerts],
            "trials": [t.as_dict() for t in self.trials],
            "failed_adequate_trials": self.failed_adequate_trials,
            "protocol": {
                "name": self.protocol.name,
                "version": self.protocol.version,
                "sha256": self.protocol.sha256,
            },
        }

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> ScreeningResult:
        """Rebuild a result stored with :meth:`to_payload` (overrides are applied separately)."""
        if payload.get("schema") != PAYLOAD_SCHEMA:
            msg = (
                f"schema: a screening payload must have schema {PAYLOAD_SCHEMA!r} "
                f"(got {payload.get('schema')!r})"
            )
            raise RecordError(msg)
        try:
            p = payload["protocol"]
            return cls(
                record=ScreeningRecord.parse(payload["record"]),
                status=ScreeningStatus(payload["status"]),
                findings=tuple(Finding(**f) for f in payload["findings"]),
                alerts=tuple(
                    Alert(
                        rule_id=a["rule_id"],
                        level=AlertLevel(a["level"]),
                        message=a["message"],
                        action=a["action"],
                        source=a["source"],
                    )
                    for a in payload["alerts"]
                ),
                trials=tuple(TrialAssessment.from_dict(t) for t in payload["trials"]),
                failed_adequate_trials=payload["failed_adequate_trials"],
                protocol=ProtocolInfo(p["name"], p["version"], p["sha256"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            msg = f"stored screening payload cannot be read ({type(exc).__name__}: {exc})"
            raise RecordError(msg) from None

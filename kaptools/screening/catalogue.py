"""Every rule a protocol's screening can fire, with its severity, message and source.

Two kinds: the rules of ``[screening.rules]`` and one "required answer unknown"
rule per required answer (severity ``missing``, message from ``[screening.required]``).
Both screening paths (one record, a whole cohort) list findings from this catalogue,
so their rule ids, messages and order are the same.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from kaptools.printer import escape
from kaptools.protocol import HistoryQuestion, Protocol, ProtocolInfo
from kaptools.vocabulary import Route, Severity

__all__ = [
    "REQUIRED_ANSWERS",
    "RuleCatalogue",
    "RuleSpec",
    "rule_catalogue",
    "unknown_rule_id",
]


def unknown_rule_id(question: HistoryQuestion | str) -> str:
    """Id of the finding raised when checklist ``question`` is answered unknown."""
    return f"{HistoryQuestion(question).value}_unknown"


REQUIRED_ANSWERS: tuple[tuple[str, str], ...] = (
    ("age_unknown", "Age"),
    ("sex_unknown", "Sex"),
    ("pregnancy_unknown", "Pregnancy status (required unless male)"),
    ("breastfeeding_unknown", "Breastfeeding status (required unless male)"),
    ("blood_pressure_unknown", "Blood pressure at screening (systolic and diastolic)"),
    ("heart_rate_unknown", "Heart rate at screening"),
    (
        "pregnancy_prevention_unknown",
        "Contraception discussed or pregnancy test done (required unless male)",
    ),
    ("diagnoses_unknown", "Diagnoses (ICD-10-CM codes)"),
    ("medications_unknown", "Current medication list"),
    *((unknown_rule_id(q), q.label) for q in HistoryQuestion),
)
"""(rule id, what is missing) for every required answer (default protocol, "Required answers").

The trial history, required when the indication rests on it, is covered by the
``indication_undetermined`` rule of the protocol. The diagnoses are required because
the indication cannot be judged without them: unknown diagnoses never read as "no
diagnosis" (``indication_not_met``).
"""


@dataclass(frozen=True, slots=True)
class RuleSpec:
    """One rule as a protocol words it."""

    rule_id: str
    severity: Severity
    message: str
    source: str
    route_severity: Mapping[Route, Severity] = field(default_factory=dict)
    """Severities that differ by route (the protocol's ``route_severity``)."""
    route_source: str = ""

    def severity_for(self, route: Route) -> Severity:
        """The severity this rule gives for ``route``."""
        return self.route_severity.get(route, self.severity)


@dataclass(frozen=True)
class RuleCatalogue:
    """The rules of one protocol, in listing order."""

    protocol: ProtocolInfo
    rules: tuple[RuleSpec, ...]
    _index: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_index", {r.rule_id: i for i, r in enumerate(self.rules)})

    def __getitem__(self, rule_id: str) -> RuleSpec:
        return self.rules[self.index(rule_id)]

    def __contains__(self, rule_id: object) -> bool:
        return rule_id in self._index

    def __len__(self) -> int:
        return len(self.rules)

    def index(self, rule_id: str) -> int:
        """Position of ``rule_id`` (KeyError naming the known ids if absent)."""
        try:
            return self._index[rule_id]
        except KeyError:
            msg = f"no screening rule {rule_id!r} in protocol {self.protocol.short}"
            raise KeyError(msg) from None

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(r.rule_id for r in self.rules)

    @property
    def summary(self) -> str:
        counts: dict[Severity, int] = {}
        for r in self.rules:
            counts[r.severity] = counts.get(r.severity, 0) + 1
        parts = ", ".join(
            f"{n} {s.value}" for s, n in sorted(counts.items(), key=lambda x: x[0].rank)
        )
        return f"{len(self.rules)} screening rules ({parts}) from protocol {self.protocol.short}."

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><td>{escape(r.rule_id)}</td><td>{escape(r.severity.value)}</td>"
            f"<td>{escape(r.message)}</td><td><small>{escape(r.source)}</small></td></tr>"
            for r in self.rules
        )
        return (
            f"<p>{escape(self.summary)}</p><table class='kap-rules'><tr><th>rule</th>"
            f"<th>severity</th><th>message</th><th>source</th></tr>{rows}</table>"
        )


_CACHE: dict[ProtocolInfo, RuleCatalogue] = {}
_CACHE_SIZE = 32


def _build(protocol: Protocol) -> RuleCatalogue:
    s = protocol.screening
    rules = [
        RuleSpec(
            rule_id,
            s.rule(rule_id).severity,
            s.message(rule_id),
            s.rule(rule_id).source,
            dict(s.rule(rule_id).route_severity),
            s.rule(rule_id).route_source,
        )
        for rule_id in s.rule_ids
    ]
    rules.extend(
        RuleSpec(rule_id, Severity.MISSING, s.required_message(label), s.required.source)
        for rule_id, label in REQUIRED_ANSWERS
    )
    return RuleCatalogue(protocol.info, tuple(rules))


def rule_catalogue(protocol: Protocol) -> RuleCatalogue:
    """Every rule ``protocol`` can fire when screening, in listing order.

    Cached by the protocol's name, version and content hash: equal hashes mean equal text.
    """
    found = _CACHE.get(protocol.info)
    if found is None:
        if len(_CACHE) >= _CACHE_SIZE:
            _CACHE.clear()
        found = _CACHE[protocol.info] = _build(protocol)
    return found

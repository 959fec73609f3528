"""PCL-5: the DSM-5 symptom-cluster rule for provisional PTSD.

The rule counts, in each symptom cluster, the items rated at or above a minimum and
needs a set number per cluster (kaptools/sources.toml §4.3): items rated 2 or more,
at least 1 in B (intrusion, items 1–5), 1 in C (avoidance, 6–7), 2 in D (negative
alterations in cognition and mood, 8–14) and 2 in E (arousal and reactivity,
15–20). The numbers are read from ``instruments.toml``; this module only applies
them. The total cut-off (33) is a generic cut-off, applied in ``_scoring``.
"""

from __future__ import annotations

from dataclasses import dataclass

from kaptools.scores._definitions import InstrumentDefinition

__all__ = ["CLUSTER_RULE_KEY", "ClusterRuleFinding", "cluster_rule"]

CLUSTER_RULE_KEY = "dsm5_cluster_rule"
"""The key of the rule's outcome in ``ScoreResult.criteria``."""


@dataclass(frozen=True, slots=True)
class ClusterRuleFinding:
    """How many items per cluster reached the rule's minimum, and whether all clusters did."""

    met: bool
    endorsed: tuple[tuple[str, int, int], ...]
    """(cluster key, items at or above the minimum, items needed), in cluster order."""
    item_answer_min: int

    @property
    def flag(self) -> str:
        counts = ", ".join(f"{key} {got} (needs {need})" for key, got, need in self.endorsed)
        verdict = "meets" if self.met else "does not meet"
        return (
            f"{verdict} the DSM-5 symptom-cluster rule for provisional PTSD "
            f"(items rated {self.item_answer_min} or more: {counts})"
        )


def cluster_rule(defn: InstrumentDefinition, answers: tuple[int, ...]) -> ClusterRuleFinding:
    """Apply the instrument's cluster rule to checked answers.

    Raises:
        ValueError: the instrument has no cluster rule.
    """
    rule = defn.cluster_rule
    if rule is None:
        msg = f"{defn.name} has no symptom-cluster rule; only the PCL-5 does"
        raise ValueError(msg)
    endorsed = []
    for s in defn.subscales:
        got = sum(answers[i - 1] >= rule.item_answer_min for i in s.items)
        endorsed.append((s.key, got, s.endorsed_min or 0))
    met = all(got >= need for _, got, need in endorsed)
    return ClusterRuleFinding(met, tuple(endorsed), rule.item_answer_min)

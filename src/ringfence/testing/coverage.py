"""Rule coverage: which rules the suites saw fire and saw pass.

A rule is *exercised both ways* when at least one case violated it (fired) and at least one case
let it pass (passed, or exempt through an ``unless``). Rules that only ever were not applicable
(``when`` false, or not in force) prove nothing about the rule's logic. Coverage counts every rule
of every policy the suites loaded, so a rule no case reaches shows up as never exercised.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Trace outcome -> coverage column.
_COLUMN = {
    "violated": "fired",
    "passed": "passed",
    "exempt": "passed",
    "not_applicable": "not_applicable",
    "not_in_force": "not_applicable",
}


@dataclass
class RuleCoverage:
    """Outcome counts of one rule across the suite."""

    policy: str
    rule: str
    title: str = ""
    fired: int = 0
    passed: int = 0
    not_applicable: int = 0

    @property
    def both_ways(self) -> bool:
        """Seen violated at least once and passing at least once."""
        return self.fired > 0 and self.passed > 0

    @property
    def missing(self) -> str:
        """What the suites never showed for this rule (empty when exercised both ways)."""
        if self.both_ways:
            return ""
        if not self.fired and not self.passed:
            return "never fired, never passed"
        return "never fired" if not self.fired else "never passed"

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return {
            "rule": self.rule,
            "title": self.title,
            "fired": self.fired,
            "passed": self.passed,
            "not_applicable": self.not_applicable,
            "both_ways": self.both_ways,
        }


@dataclass
class Coverage:
    """Accumulates rule outcomes over a run."""

    rules: dict[tuple[str, str], RuleCoverage] = field(default_factory=dict)
    _seen_sets: set[int] = field(default_factory=set, repr=False)

    def _entry(self, policy: str, rule: str, title: str = "") -> RuleCoverage:
        key = (policy, rule)
        entry = self.rules.get(key)
        if entry is None:
            entry = self.rules[key] = RuleCoverage(policy, rule, title)
        elif title and not entry.title:
            entry.title = title
        return entry

    def add_policies(self, policyset: Any) -> None:
        """Register every rule of every policy of a PolicySet (once per set)."""
        if id(policyset) in self._seen_sets:
            return
        self._seen_sets.add(id(policyset))
        for policy in getattr(policyset, "policies", ()):
            for rule in policy.rules:
                self._entry(policy.id, rule.id, getattr(rule, "title", ""))

    def add_trace(self, trace: list[dict[str, Any]]) -> None:
        """Count the outcomes of one decision's trace."""
        for item in trace:
            column = _COLUMN.get(str(item.get("outcome")))
            if column is None or not item.get("rule"):
                continue
            entry = self._entry(str(item.get("policy")), str(item["rule"]))
            setattr(entry, column, getattr(entry, column) + 1)

    @property
    def total(self) -> int:
        """Number of rules."""
        return len(self.rules)

    @property
    def covered(self) -> int:
        """Number of rules exercised both ways."""
        return sum(1 for r in self.rules.values() if r.both_ways)

    @property
    def percent(self) -> float:
        """Share of rules exercised both ways, 0-100 (100 when there are no rules)."""
        return 100.0 * self.covered / self.total if self.total else 100.0

    def by_policy(self) -> dict[str, list[RuleCoverage]]:
        """Rules grouped by policy id, policies and rules in the order first seen."""
        grouped: dict[str, list[RuleCoverage]] = {}
        for entry in self.rules.values():
            grouped.setdefault(entry.policy, []).append(entry)
        return grouped

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form: per-policy rule counts, the gaps and the percentage."""
        return {
            "percent": round(self.percent, 1),
            "rules": self.total,
            "exercised_both_ways": self.covered,
            "policies": {policy: [r.to_dict() for r in rules] for policy, rules in self.by_policy().items()},
            "not_exercised_both_ways": [
                {"policy": r.policy, "rule": r.rule, "missing": r.missing}
                for r in self.rules.values()
                if not r.both_ways
            ],
        }

    def render(self) -> str:
        """A readable table per policy, then the gaps and the total."""
        lines = ["Rule coverage (fired / passed / not applicable):"]
        for policy, rules in self.by_policy().items():
            both = sum(1 for r in rules if r.both_ways)
            lines.append(f"  {policy}: {both}/{len(rules)} rules exercised both ways")
            width = max(len(r.rule) for r in rules)
            for r in rules:
                mark = "ok" if r.both_ways else r.missing
                lines.append(
                    f"    {r.rule:<{width}}  fired {r.fired:>3}  passed {r.passed:>3}  "
                    f"n/a {r.not_applicable:>3}  {mark}"
                )
        gaps = [r for r in self.rules.values() if not r.both_ways]
        if gaps:
            lines.append("Rules never exercised both ways:")
            lines.extend(f"  {r.policy}/{r.rule}: {r.missing}" for r in gaps)
        lines.append(
            f"Rule coverage: {self.percent:.1f}% ({self.covered} of {self.total} rules exercised both ways)"
        )
        return "\n".join(lines)

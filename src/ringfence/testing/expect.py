"""Comparing a case's expectations with the decision the policies gave."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ringfence.testing.reltime import parse_instant


@dataclass(frozen=True)
class Difference:
    """One expectation that did not hold."""

    field: str
    expected: Any
    actual: Any
    detail: str

    def render(self) -> str:
        """``field: detail`` in plain words."""
        return f"{self.field}: {self.detail}"

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return {
            "field": self.field,
            "expected": self.expected,
            "actual": self.actual,
            "detail": self.detail,
        }


def _iso(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def decision_dict(decision: Any) -> dict[str, Any]:
    """The JSON-able form of an engine Decision, with the trace as a list of dicts."""
    data = dict(decision.to_dict()) if hasattr(decision, "to_dict") else dict(decision)
    trace = data.get("trace")
    if not trace and getattr(decision, "trace", None):
        trace = decision.trace
    data["trace"] = [_as_dict(t) for t in trace or []]
    data["violations"] = [_as_dict(f) for f in data.get("violations") or []]
    data["warnings"] = [_as_dict(f) for f in data.get("warnings") or []]
    data["next_allowed_at"] = _iso(data.get("next_allowed_at"))
    return data


def _as_dict(item: Any) -> dict[str, Any]:
    if isinstance(item, dict):
        return item
    if hasattr(item, "to_dict"):
        to_dict: Callable[[], dict[str, Any]] = item.to_dict
        return to_dict()
    return {k: v for k, v in vars(item).items() if not k.startswith("_")}


def finding_id(finding: dict[str, Any]) -> str:
    """``policy/rule`` of a finding or trace entry."""
    return f"{finding.get('policy')}/{finding.get('rule')}"


def _matches(expected: str, finding: dict[str, Any]) -> bool:
    # "rule" matches that rule in any policy; "policy/rule" only in that policy.
    if "/" in expected:
        return expected == finding_id(finding)
    return expected == finding.get("rule")


def _compare_set(
    name: str, expected: list[str], findings: list[dict[str, Any]], *, exact: bool
) -> Difference | None:
    missing = [e for e in expected if not any(_matches(e, f) for f in findings)]
    extra = [finding_id(f) for f in findings if not any(_matches(e, f) for e in expected)] if exact else []
    if not missing and not extra:
        return None
    actual = sorted({finding_id(f) for f in findings})
    parts = []
    if missing:
        parts.append(f"expected but not fired: {', '.join(missing)}")
    if extra:
        parts.append(f"fired but not expected: {', '.join(sorted(set(extra)))}")
    parts.append(f"actual: [{', '.join(actual)}]")
    return Difference(name, expected, actual, "; ".join(parts))


def _compare_exclude(name: str, excluded: list[str], findings: list[dict[str, Any]]) -> Difference | None:
    fired = sorted({finding_id(f) for f in findings if any(_matches(e, f) for e in excluded)})
    if not fired:
        return None
    return Difference(name, excluded, fired, f"fired but must not: {', '.join(fired)}")


def _compare_next(expected: str | None, actual: str | None) -> Difference | None:
    want = parse_instant(expected) if expected else None
    got = parse_instant(actual) if actual else None
    if want == got:  # aware datetimes compare as instants
        return None
    return Difference(
        "next_allowed_at",
        expected,
        actual,
        f"expected {expected or 'null'}, got {actual or 'null'}",
    )


def _compare_messages(expected: str | list[str], findings: list[dict[str, Any]]) -> Difference | None:
    wanted = [expected] if isinstance(expected, str) else list(expected)
    messages = [str(f.get("message") or "") for f in findings]
    absent = [w for w in wanted if not any(w in m for m in messages)]
    if not absent:
        return None
    shown = " | ".join(messages) if messages else "no violations or warnings"
    quoted = ", ".join(repr(a) for a in absent)
    return Difference(
        "message_contains", expected, messages, f"no message contains {quoted} (messages: {shown})"
    )


def compare(expect: dict[str, Any], actual: dict[str, Any]) -> list[Difference]:
    """Every expectation of ``expect`` that ``actual`` (a decision dict) does not meet."""
    diffs: list[Difference | None] = []
    violations = actual.get("violations") or []
    warnings = actual.get("warnings") or []
    if "decision" in expect and expect["decision"] != actual.get("decision"):
        diffs.append(
            Difference(
                "decision",
                expect["decision"],
                actual.get("decision"),
                f"expected {expect['decision']}, got {actual.get('decision')}",
            )
        )
    if "violations" in expect:
        diffs.append(_compare_set("violations", expect["violations"], violations, exact=True))
    if "violations_include" in expect:
        diffs.append(
            _compare_set("violations_include", expect["violations_include"], violations, exact=False)
        )
    if "violations_exclude" in expect:
        diffs.append(_compare_exclude("violations_exclude", expect["violations_exclude"], violations))
    if "warnings" in expect:
        diffs.append(_compare_set("warnings", expect["warnings"], warnings, exact=True))
    if "warnings_include" in expect:
        diffs.append(_compare_set("warnings_include", expect["warnings_include"], warnings, exact=False))
    if "next_allowed_at" in expect:
        diffs.append(_compare_next(expect["next_allowed_at"], actual.get("next_allowed_at")))
    if "message_contains" in expect:
        diffs.append(_compare_messages(expect["message_contains"], violations + warnings))
    for name in ("region", "country"):
        if name in expect and expect[name] != actual.get(name):
            diffs.append(
                Difference(
                    name,
                    expect[name],
                    actual.get(name),
                    f"expected {expect[name]}, got {actual.get(name)}",
                )
            )
    if "timezones" in expect and sorted(expect["timezones"]) != sorted(actual.get("timezones") or []):
        diffs.append(
            Difference(
                "timezones",
                expect["timezones"],
                actual.get("timezones"),
                f"expected {expect['timezones']}, got {actual.get('timezones')}",
            )
        )
    return [d for d in diffs if d is not None]

"""What changes if we adopt this policy version? Two policy sets judged on the same calls.

:func:`diff_policies` replays a sample of calls (a call log, see :mod:`ringfence.tools.calllog`)
through an old and a new policy set and returns a :class:`PolicyDiff`: how many decisions flip,
and for each rule the calls it now breaks or no longer breaks, with examples; then, for every
region the policies name, the slots of a week that open or close (from the calling calendar, so
the same engine decides both).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from ringfence.api import PolicySet
from ringfence.contract.decision import Decision, Finding, rfc3339
from ringfence.errors import CallError
from ringfence.tools.audit import DEFAULT_LOOKBACK
from ringfence.tools.calendar_view import WeekGrid, week_grid
from ringfence.tools.calllog import LogError, LogRow, bulk, replay

__all__ = ["CallChange", "PolicyDiff", "RuleChange", "SlotChange", "diff_policies"]


@dataclass(frozen=True)
class CallChange:
    """One call whose decision or broken rules differ: its place in the log and both verdicts."""

    line: int
    call_id: str | int | None
    at: dt.datetime
    to: str
    old: Literal["allow", "deny"]
    new: Literal["allow", "deny"]

    def to_dict(self) -> dict[str, Any]:
        return {"line": self.line, "id": self.call_id, "at": rfc3339(self.at), "to": self.to,
                "old": self.old, "new": self.new}  # fmt: skip


@dataclass(frozen=True)
class RuleChange:
    """A rule that the new policies make some calls break (``now violated``) or stop breaking."""

    policy: str
    rule: str
    title: str
    citations: tuple[str, ...]
    change: str  # "now violated" | "no longer violated"
    count: int
    examples: tuple[CallChange, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"policy": self.policy, "rule": self.rule, "title": self.title,
                "citations": list(self.citations), "change": self.change, "count": self.count,
                "examples": [e.to_dict() for e in self.examples]}  # fmt: skip


@dataclass(frozen=True)
class SlotChange:
    """A run of a day's calendar slots that the new policies open or close (callee local time)."""

    region: str
    zone: str
    date: dt.date
    start: dt.time
    end: dt.time | None  # None: 24:00
    change: str  # "opened" | "closed"

    @property
    def label(self) -> str:
        end = "24:00" if self.end is None else self.end.strftime("%H:%M")
        return f"{self.date.strftime('%a')} {self.date} {self.start.strftime('%H:%M')}-{end}"

    def to_dict(self) -> dict[str, Any]:
        return {"region": self.region, "zone": self.zone, "date": self.date.isoformat(),
                "start": self.start.strftime("%H:%M"),
                "end": "24:00" if self.end is None else self.end.strftime("%H:%M"),
                "change": self.change}  # fmt: skip


@dataclass
class PolicyDiff:
    """Everything that differs between two policy sets on a sample and on the calendar."""

    calls: int = 0
    changed: list[CallChange] = field(default_factory=list)  # decision or broken rules differ
    rules: list[RuleChange] = field(default_factory=list)
    calendar: list[SlotChange] = field(default_factory=list)
    regions: list[str] = field(default_factory=list)
    week: dt.date | None = None
    errors: list[LogError] = field(default_factory=list)

    @property
    def flipped(self) -> list[CallChange]:
        """The calls whose decision itself changes (allow to deny, or deny to allow)."""
        return [c for c in self.changed if c.old != c.new]

    @property
    def changes(self) -> bool:
        """Whether anything differs: a call's decision or broken rules, or a calendar slot."""
        return bool(self.changed or self.calendar)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return {
            "calls": self.calls, "changed": len(self.changed),
            "allow_to_deny": sum(1 for c in self.flipped if c.new == "deny"),
            "deny_to_allow": sum(1 for c in self.flipped if c.new == "allow"),
            "rules": [r.to_dict() for r in self.rules],
            "week": self.week.isoformat() if self.week else None, "regions": self.regions,
            "calendar": [s.to_dict() for s in self.calendar],
            "errors": [e.to_dict() for e in self.errors],
        }  # fmt: skip


def _broken(decision: Decision) -> dict[tuple[str, str], Finding]:
    return {(f.policy, f.rule): f for f in decision.violations}


def diff_policies(old: PolicySet, new: PolicySet, rows: Iterable[LogRow], *,
                  errors: Iterable[LogError] = (), week: dt.date | None = None,
                  lookback: dt.timedelta = DEFAULT_LOOKBACK, examples: int = 5) -> PolicyDiff:  # fmt: skip
    """Judge every call with both policy sets (replayed as :func:`~ringfence.tools.audit.audit`
    does) and compare; then compare a week of the calendar (``week``: any day of it, default
    this week) for every region either set names."""
    result = PolicyDiff(errors=list(errors))
    grouped: dict[tuple[str, str, str], list[CallChange]] = {}
    findings: dict[tuple[str, str], Finding] = {}
    with bulk():
        for row, call in replay(rows, lookback):
            try:
                before, after = old.decide(call), new.decide(call)
            except CallError as err:
                result.errors.append(LogError(row.line, err.path or "(call)", err.message))
                continue
            result.calls += 1
            was, now = _broken(before), _broken(after)
            if before.decision == after.decision and was.keys() == now.keys():
                continue
            change = CallChange(row.line, call.get("id"), row.at, call["to"], before.decision,
                                after.decision)  # fmt: skip
            result.changed.append(change)
            for key in now.keys() - was.keys():
                grouped.setdefault((*key, "now violated"), []).append(change)
                findings[key] = now[key]
            for key in was.keys() - now.keys():
                grouped.setdefault((*key, "no longer violated"), []).append(change)
                findings[key] = was[key]
    for (policy, rule, what), calls in sorted(grouped.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        f = findings[(policy, rule)]
        result.rules.append(RuleChange(policy, rule, f.title, f.citations, what,
                                       len(calls), tuple(calls[:examples])))  # fmt: skip
    result.errors.sort(key=lambda e: e.line)
    result.regions = sorted({place for p in (*old.policies, *new.policies)
                             for place in p.jurisdictions if place != "any"})  # fmt: skip
    for region in result.regions:
        before_grid = week_grid(old, region=region, week=week)
        after_grid = week_grid(new, region=region, week=week)
        result.week = before_grid.days[0].date
        result.calendar.extend(_slot_changes(region, before_grid, after_grid))
    return result


def _slot_changes(region: str, before: WeekGrid, after: WeekGrid) -> list[SlotChange]:
    out = []
    step = dt.timedelta(minutes=before.step_minutes)
    for old_day, new_day in zip(before.days, after.days, strict=True):
        runs: list[tuple[int, int, str]] = []
        for i, (was, now) in enumerate(zip(old_day.slots, new_day.slots, strict=True)):
            what = "" if was == now else ("opened" if now else "closed")
            if what and runs and runs[-1][1] == i and runs[-1][2] == what:
                runs[-1] = (runs[-1][0], i + 1, what)
            elif what:
                runs.append((i, i + 1, what))
        midnight = dt.datetime.combine(old_day.date, dt.time())
        for first, stop, what in runs:
            end = None if stop == len(old_day.slots) else (midnight + stop * step).time()
            out.append(SlotChange(region, before.zone, old_day.date, (midnight + first * step).time(),
                                  end, what))  # fmt: skip
    return out


def render_diff(diff: PolicyDiff) -> str:
    """The difference as text for a reviewer."""
    flipped = diff.flipped
    lines = [f"{diff.calls:,} calls judged by both: {len(flipped):,} decisions change "
             f"({sum(1 for c in flipped if c.new == 'deny'):,} allow -> deny, "
             f"{sum(1 for c in flipped if c.new == 'allow'):,} deny -> allow); "
             f"{len(diff.changed):,} calls change the rules they break"]  # fmt: skip
    for change in diff.rules:
        lines.append(f"\n{change.policy}/{change.rule} ({change.title}) [{'; '.join(change.citations)}]")
        lines.append(f"  {change.change} by {change.count:,} call{'s' if change.count != 1 else ''}, e.g.:")
        for e in change.examples:
            lines.append(f"    line {e.line}{f' (id {e.call_id})' if e.call_id is not None else ''} "
                         f"{rfc3339(e.at)} {e.to}: {e.old} -> {e.new}")  # fmt: skip
    if diff.week:
        lines.append(f"\nCalendar, week of {diff.week} (callee local time):")
    for region in diff.regions:
        slots = [s for s in diff.calendar if s.region == region]
        lines.append(f"  {region}:" + ("" if slots else " no slot changes"))
        lines += [f"    {s.change} {s.label} ({s.zone})" for s in slots]
    for error in diff.errors[:10]:
        lines.append(f"line {error.line}: {error.field}: {error.message}")
    return "\n".join(lines)

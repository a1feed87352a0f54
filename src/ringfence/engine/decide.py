"""Evaluate compiled policies on a call: the decision, its reasons, and the next allowed instant."""

from __future__ import annotations

import datetime as dt
import functools
import operator
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from ringfence.contract.decision import Decision, Finding, PolicyRef, RuleTrace
from ringfence.contract.request import parse_call
from ringfence.engine import pygen
from ringfence.engine.interp import (
    EXEMPT,
    NOT_APPLICABLE,
    NOT_IN_FORCE,
    VIOLATED,
    Compiled,
    CompiledRule,
    Ctx,
    business_days_between,
    plus,
)
from ringfence.errors import Span
from ringfence.facts.callee import FactSource
from ringfence.language import nodes, unparse

_UTC = dt.UTC
_ZONE_NAME = operator.attrgetter("key")
SEARCH_DAYS = 14


@dataclass(frozen=True)
class PolicyInfo:
    """A loaded policy's header and rules, for listings, docs and coverage."""

    id: str
    title: str
    version: str | None
    hash: str
    path: str
    jurisdictions: tuple[str, ...]
    effective_from: dt.date | None
    effective_until: dt.date | None
    sources: tuple[str, ...]
    disclaimer: str | None
    notes: tuple[str, ...]
    rules: tuple[RuleInfo, ...]
    span: Span


@dataclass(frozen=True)
class RuleInfo:
    """One rule of a loaded policy."""

    id: str
    title: str
    level: str
    citations: tuple[str, ...]
    effective_from: dt.date | None
    effective_until: dt.date | None
    message: str
    span: Span
    origin: str  # the policy that wrote the rule (differs from the owner for included rules)


@dataclass(frozen=True)
class CompiledPolicy:
    """A policy ready to run: its applicability test and its compiled rules."""

    info: PolicyInfo
    any_place: bool
    countries: frozenset[str]
    subdivisions: frozenset[str]
    when: tuple[Compiled, ...]
    rules: tuple[CompiledRule, ...]

    @functools.cached_property
    def ref_applicable(self) -> PolicyRef:
        return PolicyRef(self.info.id, self.info.version, self.info.hash, True)

    @functools.cached_property
    def ref_not_applicable(self) -> PolicyRef:
        return PolicyRef(self.info.id, self.info.version, self.info.hash, False)

    def applies(self, ctx: Ctx) -> bool | None:
        """True, False, or None when the call's region (or a `when` fact) is unknown."""
        if not self.any_place:
            if ctx.country in self.countries:
                pass
            elif ctx.region is not None:
                if ctx.region not in self.subdivisions:
                    return False
            elif ctx.country is not None and any(s[:2] == ctx.country for s in self.subdivisions):
                ctx.missing.add("to_region")
                return None
            else:
                return False
        start, end = self.info.effective_from, self.info.effective_until
        if start is not None or end is not None:
            day = ctx.local_date()
            if (start is not None and day < start) or (end is not None and day >= end):
                return False
        unknown = False
        for cond in self.when:
            value = cond.fn(ctx)
            if value is False:
                return False
            unknown = unknown or value is None
        return None if unknown else True


def _finding(rule: CompiledRule, missing: set[str]) -> Finding:
    if not missing:
        return rule.finding
    return Finding(rule.policy_id, rule.id, rule.title, rule.level,  # type: ignore[arg-type]
                   f"{rule.message} (cannot establish: {', '.join(sorted(missing))})",
                   rule.citations, rule.span, tuple(sorted(missing)))


def _undetermined(policy: CompiledPolicy, missing: set[str]) -> Finding:
    info = policy.info
    facts = ", ".join(sorted(missing))
    return Finding(info.id, "applicability", f"Whether {info.id} applies", "deny",
                   f"cannot tell whether policy {info.id} applies to this call "
                   f"(cannot establish: {facts})", info.sources[:1] or ("policy scope",),
                   info.span, tuple(sorted(missing)))


class Evaluator:
    """Judges calls against a fixed tuple of compiled policies. Immutable, so thread-safe."""

    def __init__(self, policies: Sequence[CompiledPolicy], facts: FactSource):
        self.policies = tuple(policies)
        self.facts = facts
        # Whether waiting can ever clear a rule, decided once per load rather than per denial.
        self._time_dependent = {(r.policy_id, r.id): _time_dependent(r) for r in self._rules()}
        # Caches filled as calls come (racing threads compute the same value; either may stay):
        # zones by the names a number gives, by the name a call gives, and their names.
        self._zone_sets: dict[tuple[str, ...], tuple[ZoneInfo, ...]] = {}
        self._named_zone: dict[str, tuple[ZoneInfo, ...]] = {}
        self._names: dict[tuple[ZoneInfo, ...], tuple[str, ...]] = {}
        self._next_allowed = self.next_allowed  # bound once: every denial carries it
        # The same judgement as the closures', written out as one function (see codegen).
        self._judge_fast, self.source = pygen.generate(self.policies, facts, _finding,
                                                          _undetermined)

    def context(self, raw: dict[str, Any]) -> Ctx:
        """Validate the call and gather the callee's facts."""
        call = parse_call(raw)
        facts = self.facts
        number = facts.number(call.to)
        zone_name, place = raw.get("to_timezone"), raw.get("to_region")
        if zone_name is not None:
            zones = self._named_zone.get(zone_name)
            if zones is None:
                zones = self._named_zone[zone_name] = (facts.zone(zone_name),)
        else:
            zones = self._zone_sets.get(number.zones)
            if zones is None:
                zones = self._zone_sets[number.zones] = tuple(facts.zone(z) for z in number.zones)
        if call.lists or call.lists_checked_at:  # bare dates are midnight in the callee's zone
            call = call.in_zone(zones[0] if zones else call.at.tzinfo)  # type: ignore[arg-type]
        if place is not None:
            region = place if "-" in place else None
            country = place[:2]
        else:
            region, country = number.region, number.country
        return Ctx(call, call.at, zones, country, region, facts)

    def judge(self, ctx: Ctx) -> tuple[list[Finding], list[Finding], list[PolicyRef]]:
        """Every rule of every applicable policy at ``ctx``'s instant: (violations, warnings,
        policy refs), by the generated function."""
        return self._judge_fast(ctx)

    def judge_stepwise(self, ctx: Ctx, trace: list[RuleTrace] | None = None
                       ) -> tuple[list[Finding], list[Finding], list[PolicyRef]]:
        """:meth:`judge` through the compiled closures, rule by rule: the reference semantics,
        and the path that records each rule's outcome in ``trace``."""
        violations: list[Finding] = []
        warnings: list[Finding] = []
        refs: list[PolicyRef] = []
        missing = ctx.missing
        for policy in self.policies:
            missing.clear()
            applies = policy.applies(ctx)
            if applies is False:
                refs.append(policy.ref_not_applicable)
                continue
            refs.append(policy.ref_applicable)
            if applies is None:
                violations.append(_undetermined(policy, missing))
                continue
            for rule in policy.rules:
                if missing:
                    missing.clear()
                outcome = rule.judge_fn(ctx)
                if outcome == VIOLATED:
                    target = violations if rule.level == "deny" else warnings
                    target.append(_finding(rule, missing))
                if trace is not None:
                    trace.append(RuleTrace(rule.policy_id, rule.id, outcome,  # type: ignore[arg-type]
                                           rule.level, explain_rule(rule, ctx, outcome)))
        return violations, warnings, refs

    def decide(self, raw: dict[str, Any], trace: bool = False) -> Decision:
        ctx = self.context(raw)
        violations, warnings, refs = self._judge_fast(ctx)
        traces: list[RuleTrace] = []
        if trace:
            # The verdict stays the generated function's; the trace says how each rule came out.
            self.judge_stepwise(ctx, traces)
        call = ctx.call
        raw = call.raw
        names = self._names.get(ctx.zones)
        if names is None:
            names = self._names[ctx.zones] = tuple(map(_ZONE_NAME, ctx.zones))
        if violations:  # the search for next_allowed_at runs when the field is first read
            verdict, search, context, allowed_at = "deny", self._next_allowed, ctx, None
        else:
            verdict, search, context, allowed_at = "allow", None, None, call.at
        # by position: keywords cost more, and this runs for every call
        return Decision(verdict, call.at, violations, warnings, list(names), ctx.region,
                        ctx.country, refs, raw.get("id"), raw.get("meta"), traces, search,
                        context, allowed_at)

    # ---- next allowed instant ------------------------------------------------------------

    def _rules(self) -> Iterator[CompiledRule]:
        for policy in self.policies:
            yield from policy.rules

    def next_allowed(self, ctx: Ctx, violations: list[Finding]) -> dt.datetime | None:
        """The first instant within :data:`SEARCH_DAYS` at which no deny rule is violated.

        The allowed set only changes at a few instants: a window opens, an attempt leaves a
        sliding window, a period after an event ends, a rule comes into force. Those instants are
        the only candidates, tried in order; ``None`` when a violated rule does not depend on
        time at all (a number on a list stays on it).
        """
        for finding in violations:
            if not self._time_dependent.get((finding.policy, finding.rule), True):
                return None
        start = ctx.t_dt.astimezone(_UTC)
        horizon = start + dt.timedelta(days=SEARCH_DAYS)
        for candidate in sorted(c for c in set(self._candidates(ctx, start))
                                if start < c <= horizon):
            later = ctx.at(candidate)
            if not self.judge(later)[0]:
                return candidate.astimezone(ctx.call.at.tzinfo)
        return None

    def _candidates(self, ctx: Ctx, start: dt.datetime) -> Iterator[dt.datetime]:
        # floats only: context() placed the call's bare dates (Call.in_zone)
        events: list[float] = list(ctx.call.instants())  # type: ignore[arg-type]
        home = ctx.home
        one = dt.timedelta(seconds=1)

        def business(day: dt.date, n: int) -> dt.date:
            while n > 0:
                day += dt.timedelta(days=1)
                if business_days_between(ctx, day - dt.timedelta(days=1), day) == 1:
                    n -= 1
            return day

        for rule in self._rules():
            if rule.window is not None:
                yield from rule.window.opening_times(ctx, start, SEARCH_DAYS)
            for day in (rule.effective_from, rule.effective_until):
                if day is not None:
                    yield dt.datetime.combine(day, dt.time(), home).astimezone(_UTC)
            for duration in rule.durations:
                for event in events:
                    local = dt.datetime.fromtimestamp(event, home)
                    moved = plus(local, duration, business).astimezone(_UTC)
                    yield moved
                    yield moved + one
        for event in events:
            yield dt.datetime.fromtimestamp(event, _UTC)


def _time_dependent(rule: CompiledRule) -> bool:
    if rule.window is not None or rule.durations:
        return True
    if rule.effective_from is not None or rule.effective_until is not None:
        return True
    parts = (*rule.when, *rule.unless, *((rule.condition,) if rule.condition else ()))
    return any(_mentions_time(p) for p in parts)


def _mentions_time(compiled: Compiled) -> bool:
    node = compiled.node
    field = getattr(node, "field", None)
    if field is not None and field.name == "at":
        return True
    # Consent expires and is revoked at instants of its own, with no duration in the policy.
    if isinstance(node, nodes.Consent):
        return True
    return any(_mentions_time(c) for c in compiled.children)


# ---- explanations ------------------------------------------------------------------------


def _observations(compiled: Compiled, ctx: Ctx) -> list[str]:
    seen = [compiled.observe(ctx)] if compiled.observe is not None else []
    for child in compiled.children:
        seen.extend(_observations(child, ctx))
    return seen


def _said(compiled: Compiled, ctx: Ctx) -> str:
    value = compiled.fn(ctx)
    verdict = {True: "true", False: "false", None: "unknown"}[value]
    seen = "; ".join(dict.fromkeys(_observations(compiled, ctx)))
    return f"{unparse.condition(compiled.node)} is {verdict}" + (f" ({seen})" if seen else "")


def explain_rule(rule: CompiledRule, ctx: Ctx, outcome: str) -> str:
    """In words, which clause decided the rule's outcome and the values it saw."""
    if outcome == NOT_IN_FORCE:
        return (f"not in force on {ctx.local_date()} (effective "
                f"{rule.effective_from or 'always'} to {rule.effective_until or 'no end'})")
    if outcome == NOT_APPLICABLE:
        for cond in rule.when:
            if cond.fn(ctx) is False:
                return "when " + _said(cond, ctx)
    if outcome == EXEMPT:
        for cond in rule.unless:
            if cond.fn(ctx) is True:
                return "unless " + _said(cond, ctx)
    unknown = [c for c in rule.when if c.fn(ctx) is None]
    if unknown:
        return "when " + _said(unknown[0], ctx)
    if rule.window is not None:
        inside = {True: "inside", False: "outside", None: "cannot be placed in"}[
            rule.window.check(ctx)]
        lines = "; ".join(unparse.window_lines(rule.window.node))
        return f"the call is {inside} the window ({lines}): {rule.window.observe(ctx)}"
    verb = "require" if rule.effect == "require" else f"{rule.level} if"
    return f"{verb} " + _said(rule.condition, ctx)  # type: ignore[arg-type]

"""Write a loaded policy set out as one Python function: the hot path of ``decide``.

The compiler's closures are the reference semantics; ``explain``, traces and the search for
``next_allowed_at``'s candidate instants keep using them. Judging every rule of every policy
through them costs a Python call per rule and per condition, so once per load this module writes
the same logic out as straight-line source, as Jinja2 does with templates: policies and rules one
after another, each rule a ``while True`` block left by ``break``, the conditions dialers meet on
every call (field values, lists, consent, attempt counts over a fixed window, the logic between
them) written inline. A condition with no inline form calls its closure, so both paths share one
definition of every atom. ``tests/test_core_codegen.py`` checks that both give the same findings on
every shipped test case and on generated calls.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any

from ringfence.contract.decision import Finding, PolicyRef
from ringfence.contract.fields import FIELDS
from ringfence.engine.interp import (
    _FIXED_SECONDS,
    Compiled,
    CompiledRule,
    CompiledWindow,
    Ctx,
    _literal,
    consent_kinds,
)
from ringfence.facts.callee import FactSource, StandardFacts
from ringfence.language import nodes

Judge = Callable[[Ctx], tuple[list[Finding], list[Finding], list[PolicyRef]]]

# Fields read straight off the call or the context (contract/fields.py); the value None means
# "not given" (the call reads a line type of "unknown" as None). Instants are compared elsewhere.
_ACCESS = {name: f"{'call' if field.owner == 'call' else 'ctx'}.{field.attribute}"
           for name, field in FIELDS.items() if field.kind != "time"}
_ALWAYS_GIVEN = frozenset({"to", "technology"})  # required, or defaulted by the request
_PY_OPS = {">=": ">=", ">": ">", "<=": "<=", "<": "<", "=": "==", "!=": "!="}


class _Source:
    """The function's lines, and the constants its source refers to by name."""

    def __init__(self, facts: FactSource) -> None:
        self.facts = facts
        self.lines: list[str] = []
        self.namespace: dict[str, Any] = {}
        self.windows = 0  # how many calling windows the function checks
        self._count = 0

    def name(self, prefix: str) -> str:
        self._count += 1
        return f"{prefix}{self._count}"

    def bind(self, value: object, prefix: str = "K") -> str:
        """A name for ``value`` in the generated module."""
        name = self.name(prefix)
        self.namespace[name] = value
        return name

    def emit(self, depth: int, *lines: str) -> None:
        self.lines.extend("    " * depth + line for line in lines)


def _fallback(src: _Source, compiled: Compiled, target: str, depth: int) -> None:
    src.emit(depth, f"{target} = {src.bind(compiled.fn, 'C')}(ctx)")


def _is(src: _Source, compiled: Compiled, target: str, depth: int) -> None:
    node: nodes.Is = compiled.node  # type: ignore[assignment]
    name = node.field.name
    access = _ACCESS.get(name)
    if access is None:
        _fallback(src, compiled, target, depth)
        return
    wanted = src.bind(frozenset(_literal(v) for v in node.values), "W")
    test = "not in" if node.negated else "in"
    if name in _ALWAYS_GIVEN:
        src.emit(depth, f"{target} = {access} {test} {wanted}")
        return
    value = src.name("x")
    src.emit(depth, f"{value} = {access}",
             f"if {value} is None:",
             f"    missing.add({name!r})",
             f"    {target} = None",
             "else:",
             f"    {target} = {value} {test} {wanted}")


def _junction(src: _Source, compiled: Compiled, target: str, depth: int) -> None:
    # and: False decides, None is remembered; or: the same with True.
    decisive = "False" if isinstance(compiled.node, nodes.And) else "True"
    other = "True" if decisive == "False" else "False"
    part = src.name("v")
    src.emit(depth, "while True:", f"    {target} = {other}")
    for child in compiled.children:
        _condition(src, child, part, depth + 1)
        src.emit(depth + 1, f"if {part} is {decisive}:", f"    {target} = {decisive}", "    break",
                 f"if {part} is None:", f"    {target} = None")
    src.emit(depth + 1, "break")


def _not(src: _Source, compiled: Compiled, target: str, depth: int) -> None:
    inner = src.name("v")
    _condition(src, compiled.children[0], inner, depth)
    src.emit(depth, f"{target} = None if {inner} is None else not {inner}")


def _on_list(src: _Source, compiled: Compiled, target: str, depth: int) -> None:
    node: nodes.OnList = compiled.node  # type: ignore[assignment]
    if node.listed is not None:
        _fallback(src, compiled, target, depth)
        return
    # A list file the standard source holds is asked directly (it is fixed once loaded).
    facts = src.facts
    table = facts.lists.get(node.name) if isinstance(facts, StandardFacts) else None
    lookup = (f"{src.bind(table.contains, 'LIST')}(call.to)" if table is not None
              else f"listed({node.name!r}, call.to)[0]")
    src.emit(depth, f"{target} = {node.name!r} in call.lists or {lookup}")


def _consent(src: _Source, compiled: Compiled, target: str, depth: int) -> None:
    node: nodes.Consent = compiled.node  # type: ignore[assignment]
    kinds = consent_kinds(node.kind)
    purpose = src.name("p")
    if node.purpose is not None:
        src.emit(depth, f"{purpose} = {node.purpose!r}")
        inner = depth
    else:
        src.emit(depth, f"{purpose} = call.purpose",
                 f"if {purpose} is None:", "    missing.add('purpose')", f"    {target} = None",
                 "else:")
        inner = depth + 1
    kind_test = "" if kinds is None else f"r[0] in {src.bind(frozenset(kinds), 'W')} and "
    # A record's fields: type, purposes, at, expires_at, revoked_at.
    src.emit(inner, f"{target} = False",
             "for r in call.consent:",
             f"    if ({kind_test}{purpose} in r[1] and r[2] <= t"
             " and (r[3] is None or t < r[3]) and (r[4] is None or t < r[4])):",
             f"        {target} = True",
             "        break")


def _count(src: _Source, compiled: Compiled, target: str, depth: int) -> None:
    node: nodes.CountAttempts = compiled.node  # type: ignore[assignment]
    seconds = _FIXED_SECONDS.get(node.window.unit) if node.window.kind == "plain" else None
    same = [f.what for f in node.filters if isinstance(f, nodes.Same)]
    if seconds is None or len(same) != len(node.filters) or len(same) > 1:
        _fallback(src, compiled, target, depth)
        return
    op = _PY_OPS[node.op]
    total, start = src.name("n"), src.name("s")
    if same:
        value = src.name("x")
        src.emit(depth, f"{value} = call.{FIELDS[same[0]].attribute}",
                 f"if {value} is None:",
                 # the closure knows how to bound the count when the filter's fact is missing
                 f"    {target} = {src.bind(compiled.fn, 'C')}(ctx)",
                 "else:")
        depth += 1
        # The attempt's own field is read from the item only when its instant is in the window.
        loop = "for ts, item in zip(call.history_at, call.history_items):"
        match = f" and item.get({same[0]!r}) == {value}"
    else:
        loop, match = "for ts in call.history_at:", ""
    src.emit(depth, f"{start} = t - {node.window.amount * seconds}",
             f"{total} = 0",
             loop,
             f"    if {start} <= ts < t{match}:",
             f"        {total} += 1",
             f"{target} = {total} {op} {node.number}")


_WRITERS: dict[type, Callable[[_Source, Compiled, str, int], None]] = {
    nodes.Is: _is, nodes.And: _junction, nodes.Or: _junction, nodes.Not: _not, nodes.OnList: _on_list,
    nodes.Consent: _consent, nodes.CountAttempts: _count,
}


def _condition(src: _Source, compiled: Compiled, target: str, depth: int) -> None:
    """Lines that set ``target`` to True, False or None (unknown, the fact named in missing)."""
    _WRITERS.get(type(compiled.node), _fallback)(src, compiled, target, depth)


_DAY_END = 86400


def _clock(seconds: float) -> dt.time:
    """A time of day, from seconds after midnight (below 24:00)."""
    micros = round(seconds * 1_000_000)
    return dt.time(micros // 3_600_000_000, micros // 60_000_000 % 60, micros // 1_000_000 % 60,
                   micros % 1_000_000)


def _interval_test(src: _Source, intervals: tuple[tuple[float, float, bool], ...]) -> str:
    """``tm`` (the local time of day) is inside one of the intervals. Comparing ``time``
    objects is exact and cheaper than summing the fields into seconds; a bound at midnight
    or 24:00 always holds and is left out."""
    tests = []
    for start, end, inclusive in intervals:
        test = "tm"
        if start > 0:
            test = f"{src.bind(_clock(start), 'T')} <= tm"
        if end < _DAY_END:
            test += f" {'<=' if inclusive else '<'} {src.bind(_clock(end), 'T')}"
        tests.append("True" if test == "tm" else test)
    return " or ".join(tests)


def _hours_by_day(hours: tuple[tuple[tuple[float, float, bool], ...], ...]
                  ) -> tuple[tuple[tuple[dt.time, dt.time | None, bool], ...], ...]:
    """Each weekday's intervals with times of day (an end of None: the end of the day)."""
    return tuple(tuple((_clock(start), _clock(end) if end < _DAY_END else None, inclusive)
                       for start, end, inclusive in day) for day in hours)


def _window(src: _Source, window: CompiledWindow, target: str, depth: int) -> None:
    """Lines that set ``target`` as ``window.check(ctx)`` does."""
    if window.zone is not None:
        src.emit(depth, f"{target} = {src.bind(window.check, 'WIN')}(ctx)")
        return
    src.emit(depth, "if not ctx.zones:", "    missing.add('to_timezone')", f"    {target} = None",
             "else:", f"    {target} = True", "    for z in ctx.zones:")
    if src.windows > 1:
        # the callee's local time, converted once per zone and call for all the windows
        src.emit(depth + 2, "lt = seen.get(z)", "if lt is None:",
                 "    lt = seen[z] = ctx.t_dt.astimezone(z)")
    else:
        src.emit(depth + 2, "lt = ctx.t_dt.astimezone(z)")
    src.emit(depth + 2, "tm = lt.time()")
    inner = depth + 2
    if all(day == window.hours[0] for day in window.hours):
        test = _interval_test(src, window.hours[0]) or "False"
    else:
        by_day = src.bind(_hours_by_day(window.hours), "HOURS")
        test = ("any(a <= tm and (b is None or (tm <= b if inclusive else tm < b))"
                f" for a, b, inclusive in {by_day}[lt.weekday()])")
    src.emit(inner, f"if not ({test}):", f"    {target} = False", "    break")
    if window.closed_days or window.closed_dates or window.public_holidays \
            or window.national_holidays:
        src.emit(inner, f"closed = {src.bind(window.closed_reason, 'CLOSED')}(ctx, lt)",
                 "if closed is None:", f"    {target} = None", "    break",
                 "if closed:", f"    {target} = False", "    break")


def _rule(src: _Source, rule: CompiledRule, depth: int) -> None:
    src.emit(depth, f"# rule {rule.policy_id}/{rule.id}", "if missing:", "    missing.clear()",
             "while True:")
    body = depth + 1
    if rule.effective_from is not None or rule.effective_until is not None:
        src.emit(body, "day = ctx.local_date()")
        if rule.effective_from is not None:
            src.emit(body, f"if day < {src.bind(rule.effective_from, 'D')}:", "    break")
        if rule.effective_until is not None:
            src.emit(body, f"if day >= {src.bind(rule.effective_until, 'D')}:", "    break")
    value = src.name("v")
    if rule.when:
        src.emit(body, "unknown = False")
    for cond in rule.when:
        _condition(src, cond, value, body)
        src.emit(body, f"if {value} is False:", "    break",
                 f"if {value} is None:", "    unknown = True")
    for cond in rule.unless:
        _condition(src, cond, value, body)
        src.emit(body, f"if {value} is True:", "    break")
    # The effect runs only when every `when` was known; it passes when "ok" is True.
    effect_depth = body
    if rule.when:
        src.emit(body, "if not unknown:")
        effect_depth += 1
    if rule.window is not None:
        _window(src, rule.window, value, effect_depth)
        src.emit(effect_depth, f"if {value} is True:", "    break")
    else:
        assert rule.condition is not None
        _condition(src, rule.condition, value, effect_depth)
        passed = "False" if rule.effect == "deny_if" else "True"
        src.emit(effect_depth, f"if {value} is {passed}:", "    break")
    found = "violations" if rule.level == "deny" else "warnings"
    src.emit(body,
             f"{found}.append({src.bind(rule.finding, 'F')} if not missing"
             f" else finding({src.bind(rule, 'R')}, missing))",
             "break")


def _applies(src: _Source, policy: Any) -> None:
    """Lines that set ``applies`` as ``CompiledPolicy.applies(ctx)`` does."""
    info = policy.info
    src.emit(1, "while True:")
    if policy.any_place:
        src.emit(2, "applies = True")
    elif not policy.subdivisions:
        # Countries only: the call's country decides, and a missing one means "no".
        src.emit(2, f"applies = ctx.country in {src.bind(policy.countries, 'W')}")
    else:
        countries = src.bind(frozenset(s[:2] for s in policy.subdivisions), "W")
        src.emit(2, f"if ctx.country in {src.bind(policy.countries, 'W')}:", "    applies = True",
                 "elif ctx.region is not None:",
                 f"    applies = ctx.region in {src.bind(policy.subdivisions, 'W')}",
                 # a country the policy covers only in part: which part decides
                 f"elif ctx.country in {countries}:",
                 "    missing.add('to_region')", "    applies = None",
                 "else:", "    applies = False")
    src.emit(2, "if applies is not True:", "    break")
    if info.effective_from is not None or info.effective_until is not None:
        src.emit(2, "day = ctx.local_date()")
        tests = []
        if info.effective_from is not None:
            tests.append(f"day < {src.bind(info.effective_from, 'D')}")
        if info.effective_until is not None:
            tests.append(f"day >= {src.bind(info.effective_until, 'D')}")
        src.emit(2, f"if {' or '.join(tests)}:", "    applies = False", "    break")
    for cond in policy.when:
        value = src.name("v")
        _condition(src, cond, value, 2)
        src.emit(2, f"if {value} is False:", "    applies = False", "    break",
                 f"if {value} is None:", "    applies = None")
    src.emit(2, "break")


def generate(policies: Sequence[Any], facts: FactSource,
             finding: Callable[[CompiledRule, set[str]], Finding],
             undetermined: Callable[[Any, set[str]], Finding]) -> tuple[Judge, str]:
    """Compile ``policies`` (CompiledPolicy objects) into one judge function, and its source."""
    src = _Source(facts)
    src.windows = sum(rule.window is not None for policy in policies for rule in policy.rules)
    src.namespace.update(listed=facts.listed, finding=finding, undetermined=undetermined)
    src.emit(0, "def judge(ctx):",
             "    call = ctx.call",
             "    t = ctx.t",
             "    missing = ctx.missing",
             "    violations = []",
             "    warnings = []",
             "    refs = []")
    if src.windows > 1:
        src.emit(1, "seen = {}")  # local times by zone, shared by the windows
    for policy in policies:
        src.emit(1, f"# policy {policy.info.id}", "missing.clear()")
        plain = (not policy.subdivisions and not policy.when
                 and policy.info.effective_from is None and policy.info.effective_until is None)
        if plain and policy.any_place:
            src.emit(1, f"refs.append({src.bind(policy.ref_applicable, 'REF')})")
            depth = 1
        else:
            _applies(src, policy)
            src.emit(1, "if applies is False:",
                     f"    refs.append({src.bind(policy.ref_not_applicable, 'REF')})",
                     "else:",
                     f"    refs.append({src.bind(policy.ref_applicable, 'REF')})",
                     "    if applies is None:",
                     f"        violations.append(undetermined({src.bind(policy, 'POL')}, missing))",
                     "    else:")
            depth = 3
        if not policy.rules:
            src.emit(depth, "pass")
        for rule in policy.rules:
            _rule(src, rule, depth)
    src.emit(1, "return violations, warnings, refs")
    text = "\n".join(src.lines) + "\n"
    exec(compile(text, "<ringfence policy set>", "exec"), src.namespace)
    return src.namespace["judge"], text

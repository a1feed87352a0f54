"""The intermediate form: checked policies lowered once per load, for both evaluators.

A rule becomes a :class:`Rule` whose conditions are trees of :class:`Junction`, :class:`Negation`
and :class:`Atom`; each atom is an :class:`~.runtime.Apply` of a runtime function to its
arguments (the lowering registered in :mod:`.runtime`). What every judgement would otherwise
recompute is computed here once: literal sets, consent kinds, window times, the periods a rule
measures and whether waiting can ever change its outcome.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Literal

from ringfence.contract.decision import Finding, PolicyRef
from ringfence.engine.runtime import LOWERINGS, Apply, WindowSpec, lower_window
from ringfence.errors import Span
from ringfence.language import nodes

Outcome = Literal["violated", "passed", "exempt", "not_applicable", "not_in_force"]
VIOLATED: Outcome = "violated"
PASSED: Outcome = "passed"
EXEMPT: Outcome = "exempt"
NOT_APPLICABLE: Outcome = "not_applicable"
NOT_IN_FORCE: Outcome = "not_in_force"


@dataclass(frozen=True, slots=True)
class Atom:
    """A condition the runtime answers: ``apply.fn(*apply.args)``."""

    node: nodes.Condition | nodes.Window
    apply: Apply


@dataclass(frozen=True, slots=True)
class Junction:
    """``and`` (a False part decides) or ``or`` (a True part decides); an unknown part leaves
    the result unknown unless another part decides."""

    node: nodes.And | nodes.Or
    decisive: bool  # False for and, True for or
    parts: tuple[Cond, ...]


@dataclass(frozen=True, slots=True)
class Negation:
    """``not``: unknown stays unknown."""

    node: nodes.Not
    part: Cond


Cond = Atom | Junction | Negation


def lower_condition(node: nodes.Condition) -> Cond:
    """A checked condition, lowered."""
    if isinstance(node, nodes.And | nodes.Or):
        return Junction(node, isinstance(node, nodes.Or),
                        tuple(lower_condition(c) for c in node.items))
    if isinstance(node, nodes.Not):
        return Negation(node, lower_condition(node.item))
    return Atom(node, LOWERINGS[type(node)](node))


def atoms(cond: Cond) -> Iterator[Atom]:
    """Every atom of a condition tree."""
    if isinstance(cond, Atom):
        yield cond
    elif isinstance(cond, Junction):
        for part in cond.parts:
            yield from atoms(part)
    else:
        yield from atoms(cond.part)


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
    # Kept like law: where its text is, how sure the encoding is, when it was last checked,
    # and whether it is only pending (never enforced; it warns with its expected start).
    url: str | None = None
    verification: str | None = None
    reviewed: dt.date | None = None
    pending: bool = False


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
    lists: tuple[str, ...] = ()  # the number lists the policy declares (uses list …)
    # the purposes it declares (uses purposes …), with those of the policies it includes
    purposes: tuple[str, ...] = ()
    changelog: tuple[tuple[dt.date | None, str], ...] = ()  # (date, text), oldest first


@dataclass(frozen=True)
class Rule:
    """A rule lowered. It is violated when its effect's answer is not ``passes`` (an unknown
    answer violates: fail closed)."""

    policy_id: str
    id: str
    title: str
    level: Literal["deny", "warn"]
    citations: tuple[str, ...]
    message: str
    span: Span
    effective_from: dt.date | None
    effective_until: dt.date | None
    when: tuple[Cond, ...]
    unless: tuple[Cond, ...]
    kind: Literal["deny_if", "require", "allow_only"]
    effect: Cond
    passes: bool  # the effect's answer that passes: False for deny if, True otherwise
    window: WindowSpec | None
    node: nodes.Rule

    @functools.cached_property
    def finding(self) -> Finding:
        """The rule's finding when no fact was missing: immutable, so made once and shared."""
        return Finding(self.policy_id, self.id, self.title, self.level, self.message,
                       self.citations, self.span, ())

    def finding_with(self, missing: set[str]) -> Finding:
        """The rule's finding, naming the facts that could not be established."""
        if not missing:
            return self.finding
        return Finding(self.policy_id, self.id, self.title, self.level,
                       f"{self.message} (cannot establish: {', '.join(sorted(missing))})",
                       self.citations, self.span, tuple(sorted(missing)))

    def conditions(self) -> Iterator[Cond]:
        """Every condition tree of the rule: when, unless, effect."""
        yield from self.when
        yield from self.unless
        yield self.effect

    @functools.cached_property
    def durations(self) -> tuple[nodes.Duration, ...]:
        """The periods the rule measures from an event (where its outcome may change)."""
        return tuple(d for c in self.conditions() for a in atoms(c) for d in a.apply.durations)

    @functools.cached_property
    def time_dependent(self) -> bool:
        """Whether waiting can ever change the rule's outcome for the same call."""
        if self.effective_from is not None or self.effective_until is not None:
            return True
        return any(a.apply.timed for c in self.conditions() for a in atoms(c))


def pending_message(rule: nodes.Rule) -> str:
    """What a pending rule says when it would fire: not law in force, and its expected start."""
    start = rule.effective[0]
    expected = f"expected from {start}" if start else "no start date is known"
    return f"Pending, not law in force ({expected}): {rule.message or rule.title}"


def lower_rule(policy_id: str, rule: nodes.Rule) -> Rule:
    """A checked rule, lowered. A pending rule (``status pending``) only ever warns, whatever
    its level, at any date: its ``effective from`` is when it is expected, not when it binds."""
    effect = rule.effects[0]
    start, end = rule.effective
    level = rule.level
    message = rule.message or rule.title
    if rule.pending:
        level, message, start, end = "warn", pending_message(rule), None, None
    window = None
    if isinstance(effect, nodes.AllowOnly):
        kind: Literal["deny_if", "require", "allow_only"] = "allow_only"
        window, applied = lower_window(effect.window)
        lowered: Cond = Atom(effect.window, applied)
    else:
        kind = "require" if isinstance(effect, nodes.Require) else "deny_if"
        lowered = lower_condition(effect.condition)
    return Rule(policy_id, rule.id, rule.title, level, rule.citations,
                message, rule.span, start, end,
                tuple(lower_condition(c) for c in rule.when),
                tuple(lower_condition(c) for c in rule.unless), kind, lowered,
                kind != "deny_if", window, rule)


@dataclass(frozen=True)
class Policy:
    """A policy lowered: where and when it applies, and its rules (included ones first)."""

    info: PolicyInfo
    any_place: bool
    countries: frozenset[str]
    subdivisions: frozenset[str]
    when: tuple[Cond, ...]
    rules: tuple[Rule, ...]

    @functools.cached_property
    def ref_applicable(self) -> PolicyRef:
        return PolicyRef(self.info.id, self.info.version, self.info.hash, True)

    @functools.cached_property
    def ref_not_applicable(self) -> PolicyRef:
        return PolicyRef(self.info.id, self.info.version, self.info.hash, False)

    def undetermined(self, missing: set[str]) -> Finding:
        """The denial when the policy's applicability itself cannot be established."""
        info = self.info
        facts = ", ".join(sorted(missing))
        return Finding(info.id, "applicability", f"Whether {info.id} applies", "deny",
                       f"cannot tell whether policy {info.id} applies to this call "
                       f"(cannot establish: {facts})", info.sources[:1] or ("policy scope",),
                       info.span, tuple(sorted(missing)))

    def placed(self, country: str | None, region: str | None) -> bool | None:
        """Whether a callee in ``country`` (and ``region``, a subdivision code) is in one of the
        policy's jurisdictions; None when where the callee is cannot be established closely
        enough (the missing fact is ``to_region``). Waiting cannot change it."""
        if self.any_place or country in self.countries:
            return True
        if country is None:  # where the callee is is not established
            return None
        if region is not None:
            return region in self.subdivisions
        # a country the policy covers only in part: which part decides
        return None if any(s[:2] == country for s in self.subdivisions) else False

    @property
    def plain(self) -> bool:
        """Applies to every call: anywhere, always, under no condition."""
        info = self.info
        return (self.any_place and not self.subdivisions and not self.when
                and info.effective_from is None and info.effective_until is None)


def policy_atoms(policies: Sequence[Policy]) -> Iterator[Atom]:
    """Every atom of the policies: their ``when`` conditions and their rules'."""
    for policy in policies:
        for cond in policy.when:
            yield from atoms(cond)
        for rule in policy.rules:
            for cond in rule.conditions():
                yield from atoms(cond)


def lower_policy(info: PolicyInfo, when: tuple[nodes.Condition, ...],
                 rules: list[tuple[str, nodes.Rule]]) -> Policy:
    """A checked policy (its header in ``info``), with its own and included rules."""
    places = set(info.jurisdictions)
    return Policy(
        info, "any" in places,
        frozenset(p for p in places if "-" not in p and p != "any"),
        frozenset(p for p in places if "-" in p),
        tuple(lower_condition(c) for c in when),
        tuple(lower_rule(info.id, rule) for _, rule in rules),
    )

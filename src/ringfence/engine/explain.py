"""Why a call was decided as it was, as data: for each policy and rule, the clause that decided,
its answer, and the facts it looked at in plain words.

The words for what each atom looked at are registered beside its meaning in the runtime
(:func:`.runtime.observes`); they never decide anything themselves (the interpreter's answer is
quoted). An atom without them is explained by its text and answer alone. Rendering the
:class:`Explanation` as text or HTML is :mod:`ringfence.tools.explain_view`'s job.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ringfence.engine import ir
from ringfence.engine.interp import Interpreter
from ringfence.engine.runtime import (
    OBSERVERS,
    Ctx,
    WindowSpec,
    closed_reason,
    lacking,
    plain_date,
    window_check,
    window_zones,
)
from ringfence.facts.regions import region_name
from ringfence.language import nodes, unparse

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

    from ringfence.contract.decision import Decision

_ANSWER = {True: "true", False: "false", None: "unknown"}


@dataclass(frozen=True, slots=True)
class RuleReason:
    """How one rule came out for a call, and why, in words a reader of the law follows.

    ``clause`` is the policy text that decided (``when purpose is marketing is false``), for
    the engineer; ``facts`` are what it looked at, in plain sentences, for everyone.
    """

    policy: str
    rule: str
    title: str
    citations: tuple[str, ...]
    message: str
    level: str
    outcome: ir.Outcome
    clause: str
    facts: tuple[str, ...]
    missing: tuple[str, ...]  # the facts it needed that the call does not establish
    time_dependent: bool  # whether its outcome can change with the instant at all

    @property
    def waiting_helps(self) -> bool:
        """Whether a later instant could change the outcome: not when it depends on no time,
        nor when a fact is missing (no instant supplies it)."""
        return self.time_dependent and not self.missing

    @property
    def detail(self) -> str:
        """The clause and its facts on one line (a decision's trace carries it)."""
        return self.clause + (f" ({'; '.join(self.facts)})" if self.facts else "")


@dataclass(frozen=True, slots=True)
class PolicyReason:
    """Whether one policy applied to the call, why not when it did not, and its rules."""

    id: str
    title: str
    version: str | None
    jurisdictions: tuple[str, ...]
    applies: bool | None  # None: whether it applies could not be established (a denial)
    elsewhere: bool  # does not apply because the callee is outside its jurisdictions
    why: str  # why it does not apply (or cannot be told to); empty when it applies
    rules: tuple[RuleReason, ...]


# How the callee was located (Decision.located_by), in words.
_LOCATED_BY = {
    "zone_given": "as the call gives it", "postal_code": "from the postal code",
    "number_prefix": "from the number's prefix",
    "multizone_fallback": "the number's prefix spans several zones; all are judged",
}


@dataclass(frozen=True)
class Explanation:
    """A decision and its reasons: what :meth:`ringfence.PolicySet.explain` returns.

    ``waiting`` are the violated deny rules no later instant can clear: why the call has no
    ``next_allowed_at``.
    """

    decision: Decision
    place: str  # where the callee is: ``Florida (US-FL)``
    policies: tuple[PolicyReason, ...]

    @property
    def callee(self) -> str:
        """Where the callee is, the time zones read and how they were found: ``Florida (US-FL);
        time zone America/New_York (from the number's prefix)``, with the decision's note when
        the sources of place disagree or a postal code was not known."""
        decision = self.decision
        zones = ", ".join(decision.timezones) or "not known"
        found = f"{self.place}; time zone {zones} ({_LOCATED_BY[decision.located_by]})"
        return f"{found}; {decision.location_note}" if decision.location_note else found

    @property
    def waiting(self) -> tuple[RuleReason, ...]:
        """The violated deny rules that waiting cannot clear."""
        return tuple(r for p in self.policies for r in p.rules
                     if r.outcome == ir.VIOLATED and r.level == "deny" and not r.waiting_helps)

    @property
    def violated(self) -> tuple[RuleReason, ...]:
        """Every violated rule (deny and warn), in policy order."""
        return tuple(r for p in self.policies for r in p.rules if r.outcome == ir.VIOLATED)

    def text(self, *, every: bool = False) -> str:
        """The explanation as plain text; ``every``: every rule and policy in full, not the
        ones that do not apply summarised one line per policy."""
        from ringfence.tools.explain_view import render_text

        return render_text(self, every=every)

    def html(self) -> str:
        """The explanation as a self-contained HTML page (no external assets)."""
        from ringfence.tools.explain_view import render_html

        return render_html(self)


# ---- one rule ---------------------------------------------------------------------------------


def _observations(cond: ir.Cond, ctx: Ctx, interp: Interpreter, decided: bool
                  ) -> Iterator[str]:
    """What each atom of ``cond`` looked at. An atom that is unknown names the facts it lacks;
    when ``cond`` is ``decided`` anyway (``A or B`` with A true), such an atom did not matter
    and is left out."""
    kept = set(ctx.missing)
    for atom in ir.atoms(cond):
        ctx.missing.clear()
        answer = interp.condition(atom, ctx)
        lacks = sorted(ctx.missing)
        if answer is None and decided:
            continue
        observer = OBSERVERS.get(type(atom.node))
        if observer is not None:
            yield observer(atom.node, ctx)
        if answer is None:
            yield from map(lacking, lacks)
    ctx.missing.clear()
    ctx.missing.update(kept)


def _said(prefix: str, cond: ir.Cond, ctx: Ctx, interp: Interpreter) -> tuple[str, tuple[str, ...]]:
    assert not isinstance(cond.node, nodes.Window)
    value = interp.condition(cond, ctx)
    clause = f"{prefix} {unparse.condition(cond.node)} is {_ANSWER[value]}"
    return clause, tuple(dict.fromkeys(_observations(cond, ctx, interp, value is not None)))


def clock_words(t: dt.time | None) -> str:
    """A time of day as the window states it: ``21:00``, ``08:30:15``, ``24:00`` for None."""
    if t is None:
        return "24:00"
    return t.strftime("%H:%M:%S" if t.second or t.microsecond else "%H:%M")


def _place_in_day(window: WindowSpec, local: dt.datetime) -> str:
    """Where the local time of day falls among that weekday's hours."""
    hours = window.hours[local.weekday()]
    day = local.strftime("%A")
    if not hours:
        return f"the window has no hours on {day}s"
    tm = local.time()
    previous: dt.time | None = None
    for begin, until, included in hours:
        if tm < begin:
            if previous is None:
                return f"before the {clock_words(begin)} start"
            return f"between the {clock_words(previous)} end and the {clock_words(begin)} start"
        if until is None or tm < until or (included and tm == until):
            kind = "end included" if included else "end excluded"
            return f"within the hours {clock_words(begin)} to {clock_words(until)} ({kind})"
        if tm == until:
            return f"at the {clock_words(until)} end, which the window excludes"
        previous = until
    return f"after the {clock_words(previous)} end"


def _window_fact(ctx: Ctx, window: WindowSpec, zone: ZoneInfo) -> str:
    local = ctx.local(zone)
    at = (f"the call was at {clock_words(local.time())} on {local:%A} "
          f"{plain_date(local.date())} in {zone.key}")
    before = set(ctx.missing)
    reason = closed_reason(ctx, window, local)
    if reason is None:
        missing = sorted(ctx.missing - before) or ["holidays"]
        return f"{at}; whether that day is a public holiday cannot be told: " + "; ".join(
            lacking(fact) for fact in missing)
    if reason:
        return f"{at}; {reason}"
    return f"{at}, {_place_in_day(window, local)}"


def _window(rule: ir.Rule, ctx: Ctx) -> tuple[str, tuple[str, ...]]:
    window = rule.window
    assert window is not None
    inside = {True: "inside", False: "outside", None: "cannot be placed in"}[
        window_check(ctx, window, ctx.missing)]
    lines = "; ".join(unparse.window_lines(window.node))
    zones = window_zones(ctx, window)
    facts = (tuple(_window_fact(ctx, window, zone) for zone in zones) if zones
             else (lacking("to_timezone"),))
    return f"the call is {inside} the window ({lines})", facts


def in_force_words(start: dt.date | None, until: dt.date | None) -> str:
    """A rule's or policy's dates as its text states them: ``effective until 11 April 2025``
    (the ``until`` day is the first day out of force, and the words say so)."""
    since = "" if start is None else f" from {plain_date(start)}"
    if until is None:
        return f"effective{since}"
    return f"effective{since} until {plain_date(until)}, out of force from that day"


def rule_reason(rule: ir.Rule, ctx: Ctx, outcome: ir.Outcome, interp: Interpreter) -> RuleReason:
    """Which clause decided the rule's outcome at ``ctx`` (whose ``missing`` holds the facts
    judging the rule found missing), and what it looked at."""
    missing = tuple(sorted(ctx.missing)) if outcome == ir.VIOLATED else ()
    clause, facts = _deciding(rule, ctx, outcome, interp)
    if rule.node.pending:  # only ever a warning: say first that it is not law in force
        start = rule.node.effective[0]
        clause = ("pending, not law in force "
                  + (f"(expected from {plain_date(start)})" if start else "(no start known)")
                  + f": {clause}")
    return RuleReason(rule.policy_id, rule.id, rule.title, rule.citations, rule.message,
                      rule.level, outcome, clause, facts, missing, rule.time_dependent)


def _deciding(rule: ir.Rule, ctx: Ctx, outcome: ir.Outcome, interp: Interpreter
              ) -> tuple[str, tuple[str, ...]]:
    if outcome == ir.NOT_IN_FORCE:
        return (f"not in force on {plain_date(ctx.local_date())}",
                (in_force_words(rule.effective_from, rule.effective_until),))
    if outcome == ir.NOT_APPLICABLE:
        for cond in rule.when:
            if interp.condition(cond, ctx) is False:
                return _said("when", cond, ctx, interp)
    if outcome == ir.EXEMPT:
        for cond in rule.unless:
            if interp.condition(cond, ctx) is True:
                return _said("unless", cond, ctx, interp)
    undetermined = [c for c in rule.when if interp.condition(c, ctx) is None]
    if undetermined:
        return _said("when", undetermined[0], ctx, interp)
    if rule.window is not None:
        return _window(rule, ctx)
    verb = "require" if rule.kind == "require" else f"{rule.level} if"
    return _said(verb, rule.effect, ctx, interp)


def explain_rule(rule: ir.Rule, ctx: Ctx, outcome: ir.Outcome, interp: Interpreter) -> str:
    """In words, which clause decided the rule's outcome and the values it saw (one line)."""
    return rule_reason(rule, ctx, outcome, interp).detail


# ---- every policy ------------------------------------------------------------------------------


def place_words(region: str | None, country: str | None) -> str:
    """Where the callee is, by name and code: ``Florida (US-FL)``, or ``an unknown place``."""
    code = region or country
    if code is None:
        return "an unknown place"
    name = region_name(code)
    return f"{name} ({code})" if name else code


def _policy_reason(policy: ir.Policy, ctx: Ctx, interp: Interpreter) -> PolicyReason:
    info = policy.info
    ctx.missing.clear()
    applies = interp.applies(policy, ctx)
    elsewhere, why = False, ""
    rules: list[RuleReason] = []
    if applies is None:
        why = "; ".join(lacking(fact) for fact in sorted(ctx.missing))
    elif applies is False:
        elsewhere, why = _why_not(policy, ctx, interp)
    else:
        for rule in policy.rules:
            ctx.missing.clear()
            rules.append(rule_reason(rule, ctx, interp.rule(rule, ctx), interp))
    return PolicyReason(info.id, info.title, info.version, info.jurisdictions, applies,
                        elsewhere, why, tuple(rules))


def _why_not(policy: ir.Policy, ctx: Ctx, interp: Interpreter) -> tuple[bool, str]:
    """(the callee is elsewhere, why the policy does not apply)."""
    if not interp.placed(policy, ctx):
        return True, f"it covers {', '.join(policy.info.jurisdictions)}"
    info = policy.info
    day = ctx.local_date()
    start, end = info.effective_from, info.effective_until
    if (start is not None and day < start) or (end is not None and day >= end):
        return False, f"not in force on {plain_date(day)}: {in_force_words(start, end)}"
    for cond in policy.when:
        if interp.condition(cond, ctx) is False:
            clause, facts = _said("when", cond, ctx, interp)
            return False, clause + (f" ({'; '.join(facts)})" if facts else "")
    raise AssertionError("a policy that does not apply has a reason")  # pragma: no cover


def explain(decision: Decision, ctx: Ctx, interp: Interpreter) -> Explanation:
    """The reasons for ``decision`` (made on ``ctx``), walked by the reference interpreter."""
    reasons = tuple(_policy_reason(p, ctx, interp) for p in interp.policies)
    ctx.missing.clear()
    return Explanation(decision, place_words(ctx.region, ctx.country), reasons)

"""Deciding a call: read it, gather the callee's facts, judge it, build the :class:`Decision`."""

from __future__ import annotations

import operator
from collections.abc import Sequence
from typing import Any, Literal
from zoneinfo import ZoneInfo

from ringfence.contract.decision import (
    MULTIZONE,
    NUMBER_PREFIX,
    POSTAL_CODE,
    ZONE_GIVEN,
    Decision,
    Finding,
    PolicyRef,
    RuleTrace,
)
from ringfence.contract.request import Call, parse_call
from ringfence.contract.words import Words
from ringfence.engine import ir, pygen
from ringfence.engine.explain import Explanation, explain, explain_rule
from ringfence.engine.interp import Interpreter
from ringfence.engine.runtime import Ctx
from ringfence.engine.schedule import Schedule
from ringfence.errors import CallError
from ringfence.facts.callee import FactSource
from ringfence.facts.locate import NumberFacts
from ringfence.facts.postal import PostalPlace, locate_postal
from ringfence.facts.regions import region_exists, same_place

_ZONE_NAME = operator.attrgetter("key")


def _placed(ctx: Ctx) -> Ctx:
    """``ctx`` with its call's bare dates (``lists``, ``lists_checked_at``) placed at midnight
    in the callee's zone, its first or else the call's offset (a call placed already stays)."""
    call = ctx.call
    if call.lists or call.lists_checked_at:
        ctx.call = call.in_zone(ctx.home)
    return ctx


def _disagree(postal: PostalPlace, number: NumberFacts) -> bool:
    """Whether the postal code and the number name different countries or subdivisions (a
    number that names no subdivision, as a non-geographic one, agrees with any)."""
    if number.country is not None and postal.country != number.country:
        return True
    return None not in (postal.region, number.region) and postal.region != number.region


class Evaluator:
    """Judges calls against a fixed tuple of lowered policies. Immutable, so thread-safe."""

    def __init__(self, policies: Sequence[ir.Policy], facts: FactSource):
        self.policies = tuple(policies)
        self.facts = facts
        # The words calls may give: the contract's vocabularies and what the policies declare.
        self.words = Words({"purpose": frozenset(w for p in self.policies for w in p.info.purposes)})
        self._check_words = self.words.check
        self.interpreter = Interpreter(self.policies, facts)
        # The same judgement as the interpreter's, written out as one function.
        self._judge_fast, self.source = pygen.generate(self.policies, facts)
        self.schedule = Schedule(self.policies, lambda ctx: self._judge_fast(ctx)[0],
                                 self.interpreter)
        # Bound once: every denial carries it. The call's bare dates are left as given: what
        # the computation judges places what it reads, as deciding does.
        self._search = self.schedule.next_allowed
        # Caches filled as calls come (racing threads compute the same value; either may stay):
        # zones by the names a number gives, by the name a call gives, and their names.
        self._zone_sets: dict[tuple[str, ...], tuple[ZoneInfo, ...]] = {}
        self._named_zone: dict[str, tuple[ZoneInfo, ...]] = {}
        self._names: dict[tuple[ZoneInfo, ...], tuple[str, ...]] = {}

    def context(self, raw: dict[str, Any]) -> Ctx:
        """Validate the call and gather the callee's facts (:meth:`gather`), the bare dates of
        ``lists`` and ``lists_checked_at`` placed in the callee's zone (:meth:`Call.in_zone`)."""
        return _placed(self.gather(raw))

    def gather(self, raw: dict[str, Any] | Call) -> Ctx:
        """Validate the call and gather the callee's facts.

        Where the callee is comes, by precedence, from ``to_timezone`` (the zone), then
        ``to_postal_code``, then the number; ``to_region`` (the region), then the postal code,
        then the number. The number is always checked; it is only located from when nothing
        better is given. When the postal code and the number name different states, where the
        callee is cannot be settled from them: every zone of both is judged and the region is
        not established (policies that depend on it deny, naming ``to_region``).

        The bare dates of ``lists`` and ``lists_checked_at`` are left as given: the atoms that
        read one place it (``runtime.checked_at``), and most calls are judged without reading
        any. What reads the whole call (traces, ``explain``) has them placed first, as
        :meth:`context` does; ``next_allowed_at``'s search places the instants it reads."""
        # a Call read already (ringfence decide reads each line into one) is parse_call's own
        # answer: taken here, without the call to ask it
        call = raw if type(raw) is Call else parse_call(raw)
        if call.new_words:  # a word not of the contract: one the policies declare, or an error
            self._check_words(call)
        number = self.facts.number(call.to)
        if call.to_timezone is None and call.to_postal_code is None and call.to_region is None:
            # Most calls give none of the three: the number alone places the callee, and the
            # precedence (_located) would only walk past them (about 0.15 µs a call).
            zones = self._zone_sets.get(number.zones) or self._zones_of(number.zones)
            return Ctx(call, call.at, zones, number.country, number.region, self.facts,
                       NUMBER_PREFIX if len(number.zones) < 2 else MULTIZONE)
        return self._located(call, number)

    def _zones_of(self, names: tuple[str, ...]) -> tuple[ZoneInfo, ...]:
        """The zones of ``names`` (a number's or a postal code's), kept for the next call."""
        zones = self._zone_sets[names] = tuple(self.facts.zone(z) for z in names)
        return zones

    def _located(self, call: Call, number: NumberFacts) -> Ctx:
        """The context of a call that gives ``to_timezone``, ``to_postal_code`` or
        ``to_region``, located by the precedence :meth:`gather` states."""
        facts = self.facts
        zone_name, place, postal_code = call.to_timezone, call.to_region, call.to_postal_code
        region, country = number.region, number.country
        located_by, note = NUMBER_PREFIX if len(number.zones) < 2 else MULTIZONE, None
        candidates = number.zones
        if postal_code is not None:
            postal = locate_postal(postal_code)
            if postal is None:
                note = (f"postal code {postal_code} is not known: the callee is located by the "
                        "number")
            elif _disagree(postal, number):
                note = (f"postal code {postal_code} is in {postal.region or postal.country}, the "
                        f"number in {number.region or number.country}: every zone of both is "
                        "judged" + ("" if place else ", and the region is not established"))
                located_by = POSTAL_CODE
                candidates = (*postal.zones, *(z for z in number.zones if z not in postal.zones))
                region = None
                country = postal.country if postal.country == number.country else None
            else:
                located_by, candidates = POSTAL_CODE, postal.zones
                region, country = postal.region or region, postal.country
        if zone_name is not None:
            located_by = ZONE_GIVEN
            zones = self._named_zone.get(zone_name)
            if zones is None:
                zones = self._named_zone[zone_name] = (facts.zone(zone_name),)
        else:
            zones = self._zone_sets.get(candidates) or self._zones_of(candidates)
        if place is not None:
            if not region_exists(place):
                raise CallError("to_region",
                                f"{place!r} is not an ISO 3166 country or subdivision code")
            if number.country is not None and not same_place(place, number.country):
                # The given region contradicts the number: where the callee is cannot be
                # established, so every policy that depends on it denies naming to_region.
                region = country = None
            else:
                region = place if "-" in place else None
                country = place[:2]
        return Ctx(call, call.at, zones, country, region, facts, located_by, note)

    def judge(self, ctx: Ctx) -> tuple[list[Finding], list[Finding], list[PolicyRef]]:
        """Every rule of every applicable policy at ``ctx``'s instant: (violations, warnings,
        policy refs), by the generated function."""
        violations, warnings, refs = self._judge_fast(ctx)
        return violations, warnings, [*refs.refs]

    def trace(self, ctx: Ctx) -> list[RuleTrace]:
        """How each rule came out and why, by the reference interpreter."""
        traces: list[RuleTrace] = []
        interp = self.interpreter

        def observe(rule: ir.Rule, ctx: Ctx, outcome: ir.Outcome) -> None:
            traces.append(RuleTrace(rule.policy_id, rule.id, outcome, rule.level,
                                    explain_rule(rule, ctx, outcome, interp)))

        interp.judge(ctx, observe)
        return traces

    def explain(self, raw: dict[str, Any]) -> Explanation:
        """The decision on one call (traced) with every policy's and rule's reasons."""
        ctx = self.context(raw)
        return explain(self._decided(ctx, True), ctx, self.interpreter)

    def decide(self, raw: dict[str, Any], trace: bool = False) -> Decision:
        """The decision on one call; with ``trace``, every rule's outcome in words."""
        return self._decided(self.gather(raw), trace)

    def _decided(self, ctx: Ctx, trace: bool) -> Decision:
        violations, warnings, refs = self._judge_fast(ctx)
        # The verdict stays the generated function's; the trace says how each rule came out.
        traces = self.trace(_placed(ctx)) if trace else []
        call = ctx.call
        raw = call.raw
        zones = ctx.zones
        try:  # a subscript, not dict.get: no method call for the names known already
            names = self._names[zones]
        except KeyError:
            names = self._names[zones] = tuple(map(_ZONE_NAME, zones))
        verdict: Literal["allow", "deny"]
        if violations:  # next_allowed_at is computed when the field is first read
            verdict, search, context, allowed_at = "deny", self._search, ctx, None
        else:
            verdict, search, context, allowed_at = "allow", None, None, call.at
        # by position: keywords cost more, and this runs for every call
        return Decision(verdict, call.at, violations, warnings, [*names], ctx.region,
                        ctx.country, [*refs.refs], raw.get("id"), raw.get("meta"), traces,
                        search, context, allowed_at, ctx.located_by, ctx.location_note, refs)

"""When a denied call becomes allowed: the earliest later instant at which no deny rule is violated.

:class:`Schedule` computes it from the rules' structure (:mod:`.timeline`). For a call whose
rules hold an atom kind the computation cannot place, it falls back to :meth:`Schedule.search`,
which is also the reference the tests hold the computation to: the allowed set only changes at a
few instants (a window opens, an attempt leaves a sliding window, a period after an event ends, a
rule comes into force); those instants are the candidates, tried in order by re-judging the same
call at each.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import operator
from collections.abc import Callable, Iterator, Sequence

from ringfence.contract.decision import Finding
from ringfence.engine import ir
from ringfence.engine.interp import Interpreter
from ringfence.engine.runtime import (
    FIXED_SECONDS,
    Business,
    CalendarDays,
    Const,
    Ctx,
    WindowSpec,
    business_days_between,
    compare_date,
    holiday_today,
    plus,
    window_zones,
)
from ringfence.engine.timeline import (
    Timeline,
    Uncomputable,
    clock_changes,
    wall_clock_instants,
)
from ringfence.language import nodes

_UTC = dt.UTC
_finding_key = operator.attrgetter("policy", "rule")  # a finding's rule, as (policy, rule)
SEARCH_DAYS = 14


class Schedule:
    """Finds ``next_allowed_at`` for the rules of a policy set. Immutable but for its two
    counters (how many calls were computed, how many fell back to the search): thread-safe."""

    def __init__(self, policies: Sequence[ir.Policy],
                 violations_at: Callable[[Ctx], list[Finding]], interpreter: Interpreter):
        self.rules = tuple(r for p in policies for r in p.rules)
        self.violations_at = violations_at
        # What the search tries besides windows: the periods any atom measures, and the dates
        # at which a policy or rule comes into or out of force or ``at`` passes a date.
        atoms = list(ir.policy_atoms(policies))
        self._durations = tuple(dict.fromkeys(d for a in atoms for d in a.apply.durations))
        dates = [d for p in policies for d in (p.info.effective_from, p.info.effective_until)]
        dates += [d for r in self.rules for d in (r.effective_from, r.effective_until)]
        for atom in atoms:
            if atom.apply.fn is compare_date and atom.apply.timed:
                limit = atom.apply.args[3]
                assert isinstance(limit, Const) and isinstance(limit.value, dt.date)
                dates.append(limit.value)
                if limit.value < dt.date.max:
                    dates.append(limit.value + dt.timedelta(days=1))
        self._dates = tuple(sorted({d for d in dates if d is not None}))
        # ``today is a holiday in NAME`` changes at each of the callee's local midnights.
        self._midnights = any(atom.apply.fn is holiday_today for atom in atoms)
        self.timeline = Timeline(policies, interpreter, violations_at, SEARCH_DAYS)
        # The rules waiting can never clear, decided once per load rather than per denial.
        self._untimed = frozenset((r.policy_id, r.id) for r in self.rules if not r.time_dependent)
        self.computed = 0
        self.searched = 0  # calls whose rules the timeline could not place (see timeline.py)

    def next_allowed(self, ctx: Ctx, violations: list[Finding]) -> dt.datetime | None:
        """The first instant within :data:`SEARCH_DAYS` at which no deny rule is violated;
        ``None`` when a violated rule does not depend on time at all (a number on a list stays
        on it), or when no such instant comes within the horizon."""
        if not self._may_clear(violations):
            return None
        try:
            found = self.timeline.next_allowed(ctx, violations)
        except (Uncomputable, OverflowError):  # overflow: a period ending past year 9999
            self.searched += 1
            return self.search(ctx)
        self.computed += 1
        return found

    def reference(self, ctx: Ctx, violations: list[Finding]) -> dt.datetime | None:
        """:meth:`next_allowed` by :meth:`search` alone: what the tests hold it to."""
        return self.search(ctx) if self._may_clear(violations) else None

    def _may_clear(self, violations: list[Finding]) -> bool:
        """False when a violated rule does not depend on time at all."""
        return self._untimed.isdisjoint(map(_finding_key, violations))

    def search(self, ctx: Ctx) -> dt.datetime | None:
        """The first candidate instant at which re-judging the call finds no violation."""
        start = ctx.t_dt.astimezone(_UTC)
        horizon = start + dt.timedelta(days=SEARCH_DAYS)
        clock = ctx.call.at.tzinfo  # judged on the call's own clock, as deciding it there would
        for candidate in sorted(c for c in set(self._candidates(ctx, start))
                                if start < c <= horizon):
            at = candidate.astimezone(clock)
            if not self.violations_at(ctx.at(at)):
                return at
        return None

    def _candidates(self, ctx: Ctx, start: dt.datetime) -> Iterator[dt.datetime]:
        home = ctx.home
        # floats only: the call's bare dates placed in the callee's zone (as Call.in_zone says)
        events: list[float] = list(ctx.call.in_zone(home).instants())  # type: ignore[arg-type]
        clock: dt.tzinfo = ctx.call.at.tzinfo  # type: ignore[assignment]
        one = dt.timedelta(seconds=1)

        def business(day: dt.date, n: int, calendar: CalendarDays | None) -> dt.date | None:
            """The day ``n`` business days after ``day`` (around ``calendar``'s days when
            given); None when a day's holidays are not known (no candidate then) or it lies past
            the search."""
            last = day + dt.timedelta(days=n + SEARCH_DAYS + 30)
            while n > 0:
                day += dt.timedelta(days=1)
                counted = business_days_between(ctx, day - dt.timedelta(days=1), day, calendar)
                if counted is None or day > last:
                    return None
                n -= counted
            return day

        for rule in self.rules:
            if rule.window is not None:
                yield from opening_times(ctx, rule.window, start, SEARCH_DAYS)
        for day in self._dates:
            yield from wall_clock_instants(dt.datetime.combine(day, dt.time()), home)
        if self._midnights:
            for zone in ctx.zones:
                first = start.astimezone(zone).date()
                for days in range(1, SEARCH_DAYS + 2):
                    midnight = dt.datetime.combine(first + dt.timedelta(days=days), dt.time())
                    yield from wall_clock_instants(midnight, zone)
        for duration in self._durations:
            for event in events:
                for moved in _after(event, duration, (home, clock), business):
                    yield moved
                    yield moved + one
        for event in events:  # an attempt counts from just after its instant
            yield dt.datetime.fromtimestamp(event, _UTC)
            yield dt.datetime.fromtimestamp(event, _UTC) + one


def _after(event: float, duration: nodes.Duration, zones: tuple[dt.tzinfo, dt.tzinfo],
           business: Business) -> Iterator[dt.datetime]:
    """The instants at which a period of ``duration`` from ``event`` ends, as the rules count it.

    Rules count hours, minutes and days of a plain duration as absolute seconds (a day is 86,400
    seconds, across a clock change too), so those end in UTC arithmetic; calendar and business
    days end at a local midnight (the callee's zone, first of ``zones``); months and years are
    counted on the clock of the judged instant, the call's own offset (second), so both are tried.
    """
    seconds = FIXED_SECONDS.get(duration.unit)
    if duration.kind == "plain" and seconds is not None:
        yield dt.datetime.fromtimestamp(event + duration.amount * seconds, _UTC)
        return
    # Counted days change at midnight: a comparison with n flips the day the count reaches n
    # (``at least``) or n + 1 (``within`` business days, ``more than``).
    lengths = (duration,) if duration.kind == "plain" else (
        duration, dataclasses.replace(duration, amount=duration.amount + 1))
    for zone in zones:
        for length in lengths:
            moved = plus(dt.datetime.fromtimestamp(event, zone), length, business)
            if moved is not None:
                yield moved.astimezone(_UTC)


def opening_times(ctx: Ctx, window: WindowSpec, start: dt.datetime, days: int
                  ) -> Iterator[dt.datetime]:
    """Interval starts from ``start`` for ``days`` days, in every zone, and the zones' clock
    changes (a clock put back can return into an interval): candidate instants."""
    for zone in window_zones(ctx, window):
        first_day = int(start.timestamp() // 86400)
        for utc_day in range(first_day, first_day + days + 2):
            for change in clock_changes(zone, utc_day):
                yield dt.datetime.fromtimestamp(change, _UTC)
        first = start.astimezone(zone).date()
        for offset in range(days + 1):
            day = first + dt.timedelta(days=offset)
            for begin, _end, _inclusive in window.hours[day.weekday()]:
                yield from wall_clock_instants(dt.datetime.combine(day, begin), zone)

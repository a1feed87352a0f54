"""``next_allowed_at`` computed from the rules' own structure.

A call's judgement can change with time only where one of its timed atoms, or a rule's or
policy's dates, can change: a window's interval starts or ends on a zone's clock, a day starts, a
zone's clocks change, an attempt enters or leaves a sliding window, a period after an event ends,
a consent is given, expires or is revoked. Each atom kind says where (:data:`BREAKS`, keyed by
its runtime function, computed from the atom's own arguments: the window's hours and closures,
the count's length and the call's attempts, the age's durations and the event). Between two such
instants every atom is constant, so the judgement is a step function of time; each step is
judged once (an atom's value on it is the runtime's own answer, so nonexistent and repeated local
times, holidays and month ends mean exactly what they mean to ``decide``), and atoms that cannot
change are answered once per call. The first allowed step gives the answer.

Only what can deny the call is looked at: deny-level rules of the policies that can apply to it.
A timed atom whose kind has no entry in :data:`BREAKS` makes the call :class:`Uncomputable`: the
schedule then falls back to searching candidate instants (:mod:`.schedule`).
"""

from __future__ import annotations

import datetime as dt
import bisect
import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from ringfence.engine import ir, runtime
from ringfence.engine.interp import Interpreter
from ringfence.engine.runtime import FIXED_SECONDS, Apply, Ctx, Tri, age_durations
from ringfence.language import nodes

_DAY = 86400.0
#: The stretches of time examined in turn: most denials clear within a day, so the first
#: stretch is short; the last is the horizon.
STRETCHES = (1, 14)


class Uncomputable(Exception):
    """A timed atom whose changes this module cannot place."""


_EPOCH = dt.datetime(1970, 1, 1)


class Span:
    """The stretch of time examined, ``[lo, hi]`` (POSIX seconds), for one call; keeps what
    several atoms ask (a zone's clock changes and day starts, a window's bounds)."""

    def __init__(self, ctx: Ctx, lo: float, hi: float):
        self.ctx = ctx
        self.lo = lo
        self.hi = hi
        # The clock instants are judged on: the call's own offset, as deciding the call at the
        # answer would (months and years are counted on it).
        self.clock: dt.tzinfo = ctx.call.at.tzinfo  # type: ignore[assignment]
        self._zones: dict[dt.tzinfo, tuple[list[float], float | None]] = {}
        self.memo: dict[object, list[float]] = {}

    def _zone(self, zone: dt.tzinfo) -> tuple[list[float], float | None]:
        """The zone's clock changes in the stretch, and its one UTC offset (seconds) when
        there are none."""
        found = self._zones.get(zone)
        if found is None:
            changes = transitions(zone, self.lo, self.hi)
            offset = dt.datetime.fromtimestamp(self.lo, zone).utcoffset()
            found = self._zones[zone] = (
                changes, None if changes or offset is None else offset.total_seconds())
        return found

    def wall(self, naive: dt.datetime, zone: dt.tzinfo) -> list[float]:
        """The instants at which the zone's clock first shows ``naive`` or later: one, two
        when the hour repeats, the jump when it is skipped (:func:`.schedule.wall_clock_instants`;
        plain arithmetic when the offset does not change in the stretch)."""
        offset = self._zone(zone)[1]
        if offset is not None:
            return [(naive - _EPOCH).total_seconds() - offset]
        from ringfence.engine.schedule import wall_clock_instants

        return [t.timestamp() for t in wall_clock_instants(naive, zone)]

    def local_days(self, zone: dt.tzinfo) -> list[dt.date]:
        """The local dates a zone's clock shows in the stretch, one day either side."""
        day = dt.datetime.fromtimestamp(self.lo, zone).date() - dt.timedelta(days=1)
        last = dt.datetime.fromtimestamp(self.hi, zone).date() + dt.timedelta(days=1)
        return [day + dt.timedelta(days=n) for n in range((last - day).days + 1)]

    def day_starts(self, zone: dt.tzinfo) -> list[float]:
        """Every instant at which the zone's date can change: its midnights (also when
        skipped or repeated) and its clock changes."""
        found = self.memo.get(zone)
        if found is None:
            found = [t for day in self.local_days(zone)
                     for t in self.wall(dt.datetime.combine(day, dt.time()), zone)]
            found += self._zone(zone)[0]
            self.memo[zone] = found
        return found

    def day_start(self, day: dt.date, zone: dt.tzinfo | None = None) -> list[float]:
        """The instants at which ``day`` can start on the zone's clock (the callee's home zone
        by default): its midnight, and the zone's clock changes (a clock put back can return
        to the day before)."""
        zone = zone or self.ctx.home
        return self.wall(dt.datetime.combine(day, dt.time()), zone) + self._zone(zone)[0]

    def business_days(self, event: float, n: int) -> list[float]:
        """Where the business days since ``event``'s date can reach ``n`` or ``n + 1`` or
        become unknown (a day whose holidays the calendar does not hold) within the stretch."""
        home = self.ctx.home
        first = dt.datetime.fromtimestamp(event, home).date()
        last = dt.datetime.fromtimestamp(self.hi, home).date() + dt.timedelta(days=1)
        lo = dt.datetime.fromtimestamp(self.lo, home).date() - dt.timedelta(days=1)
        # n business days take at most this many calendar days (weekends, and a holiday on
        # every other day of a week): from an older event both counts were reached before lo.
        reached = (n // 5 + 2) * 7 + 14
        scratch = self.ctx.at(self.ctx.t_dt)
        found: list[float] = []
        day, count = (first, 0) if (lo - first).days <= reached else (lo, n + 2)
        while day < last:
            day += dt.timedelta(days=1)
            counted = runtime.business_days_between(scratch, day - dt.timedelta(days=1), day)
            if counted is None:  # unknown from here on
                return found + self.day_start(day, home)
            count += counted
            if counted and count in (n, n + 1):
                found += self.day_start(day, home)
        return found


_PROBE = 6 * 3600  # clock changes are months apart; probing every 6 hours finds each one


def transitions(zone: dt.tzinfo, lo: float, hi: float) -> list[float]:
    """The instants in ``[lo, hi]`` (widened by a probe step) at which the zone's UTC offset
    changes, to the second."""
    if isinstance(zone, dt.timezone):
        return []

    def offset(t: float) -> dt.timedelta | None:
        return dt.datetime.fromtimestamp(t, zone).utcoffset()

    found = []
    t = math.floor(lo) - _PROBE
    before = offset(t)
    while t < hi + _PROBE:
        after_t = t + _PROBE
        after = offset(after_t)
        if after != before:
            low, high = t, after_t  # offset(low) == before, offset(high) != before
            while high - low > 1:
                middle = (low + high) // 2
                if offset(middle) == before:
                    low = middle
                else:
                    high = middle
            found.append(float(high))
        t, before = after_t, after
    return found


# ---- where each atom kind can change -----------------------------------------------------------

Breaks = Callable[..., Iterable[float]]
#: runtime function -> (span, the atom's arguments) -> instants where its value can change.
BREAKS: dict[Callable[..., Tri], Breaks] = {}


def breaks(*fns: Callable[..., Tri]) -> Callable[[Breaks], Breaks]:
    """Register where atoms answered by ``fns`` can change."""
    def register(fn: Breaks) -> Breaks:
        for f in fns:
            BREAKS[f] = fn
        return fn

    return register


def age_breaks(span: Span, age: nodes.Age | None, event: float) -> Iterator[float]:
    """Where ``event AGE`` can change: at the event, and where each duration from it ends."""
    if age is None or event == -math.inf:
        return
    yield event
    for duration in age_durations(age):
        n = duration.amount
        if duration.kind == "calendar":  # days counted between the callee's dates
            day = dt.datetime.fromtimestamp(event, span.ctx.home).date()
            for days in (n, n + 1):
                yield from span.day_start(day + dt.timedelta(days=days))
            continue
        if duration.kind == "business":
            yield from span.business_days(event, n)
            continue
        seconds = FIXED_SECONDS.get(duration.unit)
        if seconds is not None:  # ends at event + d, or (inclusive ends) just after it
            yield event + n * seconds
            yield event + n * seconds + 1.0
            continue
        # Months and years on the judged clock: the end, and (a month end cuts the day short
        # both ways) the days after it, at midnight and at the event's time of day.
        start = dt.datetime.fromtimestamp(event, span.clock)
        moved = start + runtime._months_or_years(duration)
        for days in range(5):
            day = moved.date() + dt.timedelta(days=days)
            for moment in (dt.time(), start.time()):
                instant = dt.datetime.combine(day, moment, span.clock).timestamp()
                yield instant
                yield instant + 1.0


@breaks(runtime.window_open)
def _window(span: Span, ctx: Ctx, fixed: tuple[dt.tzinfo, ...] | None,
            hours: tuple[tuple[runtime.Interval, ...], ...], *_: object) -> list[float]:
    found: list[float] = []
    for zone in fixed or ctx.zones:
        key = (zone, hours)  # windows of several rules often read the same hours
        bounds = span.memo.get(key)
        if bounds is None:
            bounds = list(span.day_starts(zone))
            for day in span.local_days(zone):
                for begin, until, _inclusive in hours[day.weekday()]:
                    bounds += span.wall(dt.datetime.combine(day, begin), zone)
                    if until is not None:  # an inclusive end closes a second later
                        ends = span.wall(dt.datetime.combine(day, until), zone)
                        bounds += ends
                        bounds += [t + 1.0 for t in ends]
            span.memo[key] = bounds
        found += bounds
    return found


def _sliding(instants: Iterable[float], seconds: float) -> Iterator[float]:
    # An attempt counts from just after its instant to its instant plus the length, inclusive.
    for at in instants:
        yield at + 1.0
        yield at + seconds + 1.0


@breaks(runtime.count_recent)
def _count_recent(span: Span, history_at: tuple[float, ...], t: float, seconds: int,
                  *_: object) -> Iterator[float]:
    return _sliding(history_at, seconds)


@breaks(runtime.count_recent_same)
def _count_recent_same(span: Span, ctx: Ctx, call: Any, t: float, spec: runtime.Count,
                       *_: object) -> Iterator[float]:
    return _sliding(call.history_at, spec.seconds or 0)


@breaks(runtime.count_attempts)
def _count_attempts(span: Span, ctx: Ctx, spec: runtime.Count) -> Iterator[float]:
    for at in ctx.call.history_at:
        yield at + 1.0  # counted from just after its instant
        yield from age_breaks(span, spec.window, at)


@breaks(runtime.has_consent)
def _consent(span: Span, records: Sequence[Any], *_: object) -> Iterator[float]:
    for record in records:
        for at in (record.at, record.expires_at, record.revoked_at):
            if at is not None:
                yield at


@breaks(runtime.opted_out)
def _opted_out(span: Span, ctx: Ctx, any_purpose: bool, purpose: str | None,
               age: nodes.Age | None, *_: object) -> Iterator[float]:
    for opt in ctx.call.opt_outs:
        yield opt.at
        yield from age_breaks(span, age, opt.at)


@breaks(runtime.last_event)
def _last_event(span: Span, ctx: Ctx, event: str, filters: runtime.HistoryFilter,
                age: nodes.Age | None) -> Iterator[float]:
    # The latest event changes as each one passes; a filter's missing fact does not change.
    for at in runtime.event_instants(ctx.at(ctx.t_dt), event, filters) or ():
        yield at
        yield from age_breaks(span, age, at)


@breaks(runtime.field_age)
def _field_age(span: Span, ctx: Ctx, value: float | None, age: nodes.Age,
               *_: object) -> Iterator[float]:
    return () if value is None else age_breaks(span, age, value)


@breaks(runtime.on_list_aged)
def _on_list_aged(span: Span, ctx: Ctx, name: str, age: nodes.Age) -> Iterator[float]:
    found, listed_at = runtime.listing(ctx, name)
    return age_breaks(span, age, listed_at) if found and listed_at is not None else iter(())


@breaks(runtime.list_checked)
def _list_checked(span: Span, ctx: Ctx, name: str, age: nodes.Age,
                  *_: object) -> Iterable[float]:
    checked = ctx.call.lists_checked_at.get(name)
    return () if checked is None else age_breaks(span, age, checked)


@breaks(runtime.compare_date)
def _compare_date(span: Span, ctx: Ctx, value: object, op: object, limit: dt.date,
                  *_: object) -> list[float]:
    # Timed only on ``at``: the judged instant's date reaches the limit, or passes it.
    return span.day_start(limit) + span.day_start(limit + dt.timedelta(days=1))


@breaks(runtime.is_in, runtime.is_present)
def _constant(span: Span, *_: object) -> tuple[()]:
    # Timed only on ``at``, the judged instant, which is always given and never a literal.
    return ()


# ---- judging one step -------------------------------------------------------------------------


class _Steps(Interpreter):
    """The interpreter, answering atoms that cannot change with time once per call."""

    def __init__(self, base: Interpreter):  # noqa: D107 - shares the base's tables
        self.policies = base.policies
        self.facts = base.facts
        self._lookups = base._lookups
        self.fixed: dict[int, Tri] = {}

    def apply(self, applied: Apply, ctx: Ctx) -> Tri:
        if applied.timed:
            return super().apply(applied, ctx)
        key = id(applied)
        if key in self.fixed:
            return self.fixed[key]
        value = self.fixed[key] = super().apply(applied, ctx)
        return value


def _timed(policy: ir.Policy) -> bool:
    """Whether the policy's applicability can change with time."""
    info = policy.info
    return (info.effective_from is not None or info.effective_until is not None
            or any(a.apply.timed for c in policy.when for a in ir.atoms(c)))


class _Constraint:
    """One deny rule (or, ``rule`` None, only its policy's applicability): allowed where its
    policy does not apply or the rule is not violated. Its value is a step function of time
    that changes only at its ``points``, or just after one (judged a second after it: the
    search's resolution)."""

    __slots__ = ("conds", "dates", "policy", "points", "rule", "seen", "timed")

    def __init__(self, policy: ir.Policy, timed: bool, rule: ir.Rule | None):
        self.policy, self.timed, self.rule = policy, timed, rule
        conds: list[ir.Cond] = list(policy.when) if timed else []
        info = policy.info
        dates = [info.effective_from, info.effective_until] if timed else []
        if rule is not None:
            conds.extend(rule.conditions())
            dates += [rule.effective_from, rule.effective_until]
        self.conds = tuple(a.apply for c in conds for a in ir.atoms(c) if a.apply.timed)
        self.dates = tuple(d for d in dates if d is not None)  # coming into or out of force
        self.points: list[float] | None = None  # placed when first needed in a stretch
        self.seen: dict[float, bool] = {}  # instant -> allowed there

    def place(self, span: Span, ctx: Ctx, argument: Callable[[object, Ctx], object]
              ) -> list[float]:
        """The instants in ``span`` from which its value can change (a change just after an
        instant is placed a second after it, the search's resolution)."""
        found: set[float] = set()
        for day in self.dates:
            found.update(span.day_start(day))
        for applied in self.conds:
            where = BREAKS.get(applied.fn)
            if where is None:
                raise Uncomputable(applied.fn.__name__)
            found.update(where(span, *(argument(a, ctx) for a in applied.args)))
        lo, hi = span.lo, span.hi
        self.points = sorted(x for x in found if lo < x <= hi)
        return self.points

    def allowed(self, steps: _Steps, ctx: Ctx) -> bool:
        """Its value at ``ctx``'s instant."""
        if self.timed:
            applies = steps.applies(self.policy, ctx)
            if applies is not True:
                return applies is False
        return self.rule is None or steps.rule(self.rule, ctx) != ir.VIOLATED


class _Walk:
    """One call's computation: its constraints, the instants judged, the stretch examined."""

    def __init__(self, ctx: Ctx, steps: _Steps, argument: Callable[[object, Ctx], object]):
        self.ctx = ctx
        self.steps = steps
        self.argument = argument
        self.clock: dt.tzinfo = ctx.call.at.tzinfo  # type: ignore[assignment]
        self.contexts: dict[float, Ctx] = {}
        self.span = Span(ctx, ctx.t, ctx.t)

    def allowed(self, constraint: _Constraint, instant: float) -> bool:
        """The constraint's value at ``instant`` (each instant judged once)."""
        ok = constraint.seen.get(instant)
        if ok is None:
            judged = self.contexts.get(instant)
            if judged is None:
                judged = self.contexts[instant] = self.ctx.at(
                    dt.datetime.fromtimestamp(instant, self.clock))
            ok = constraint.seen[instant] = constraint.allowed(self.steps, judged)
        return ok

    def next_allowed(self, constraint: _Constraint, instant: float) -> float | None:
        """The first instant at or after ``instant`` at which the constraint allows, among
        ``instant`` and its change points in the stretch."""
        if self.allowed(constraint, instant):
            return instant
        points = constraint.points
        if points is None:
            points = constraint.place(self.span, self.ctx, self.argument)
        for x in points[bisect.bisect_right(points, instant):]:
            if self.allowed(constraint, x):
                return x
        return None

    def first(self, constraints: list[_Constraint]) -> float | None:
        """The first instant of the stretch at which every constraint allows: each in turn
        moves the instant to where it next allows, until none moves it (the intersection of
        their allowed sets)."""
        instant = self.span.lo
        moved = True
        while moved:
            moved = False
            for constraint in constraints:
                found = self.next_allowed(constraint, instant)
                if found is None:
                    return None
                if found != instant:
                    instant, moved = found, True
        return instant


class Timeline:
    """Computes ``next_allowed_at`` for a policy set. Immutable: thread-safe."""

    def __init__(self, policies: Sequence[ir.Policy], interpreter: Interpreter,
                 horizon_days: int):
        self.interpreter = interpreter
        self.horizon = horizon_days * _DAY
        self.entries = tuple((p, _timed(p), tuple(r for r in p.rules if r.level == "deny"))
                             for p in policies)

    def constraints(self, steps: _Steps, base: Ctx) -> list[_Constraint] | None:
        """The rules that may deny the call at some instant; None when one denies it at every
        instant (or where the callee is stays unknown)."""
        found: list[_Constraint] = []
        for policy, timed, rules in self.entries:
            placed = steps.placed(policy, base)
            if placed is None:
                return None
            if placed is False:
                continue
            if not timed:
                applies = steps.applies(policy, base)
                if applies is None:
                    return None
                if applies is False:
                    continue
            for rule in rules:
                if not rule.time_dependent and steps.rule(rule, base) != ir.VIOLATED:
                    continue  # passes at every instant
                constraint = _Constraint(policy, timed, rule)
                if not constraint.conds and not constraint.dates:
                    return None  # violated at every instant
                found.append(constraint)
            if timed and not rules:
                found.append(_Constraint(policy, timed, None))
        return found

    def next_allowed(self, ctx: Ctx, denied: Callable[[ir.Rule], bool]
                     ) -> dt.datetime | None:
        """The first instant after the call's, within the horizon and at the search's
        resolution (an instant where the judgement changes, or a second after it when the
        change happens just after it), at which no deny rule is violated; None when there is
        none. ``denied`` says which rules denied the call (they are looked at first). Raises
        :class:`Uncomputable` for an atom kind without :data:`BREAKS`."""
        steps = _Steps(self.interpreter)
        constraints = self.constraints(steps, ctx.at(ctx.t_dt))
        if constraints is None:
            return None
        # The rules that denied the call first: they move the instant past the call's own.
        constraints.sort(key=lambda c: c.rule is None or not denied(c.rule))
        walk = _Walk(ctx, steps, self.interpreter.argument)
        start = ctx.t
        for days in STRETCHES:
            end = start + min(days * _DAY, self.horizon)
            walk.span = Span(ctx, start, end)
            for constraint in constraints:
                constraint.points = None
            found = walk.first(constraints)
            if found is not None:
                if found <= start:  # the rules disagree with the decision: cannot happen
                    raise Uncomputable("the call is allowed at its own instant")
                return dt.datetime.fromtimestamp(found, walk.clock)
            if end >= start + self.horizon:
                break
        return None

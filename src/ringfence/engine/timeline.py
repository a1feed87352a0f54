"""``next_allowed_at`` computed from the rules' own structure.

A rule's outcome can change with time only where one of its timed atoms, or its rule's or
policy's dates, can change: a window opens on a zone's clock, a zone's clocks change, an attempt
enters or leaves a sliding window, a period after an event ends, a day starts, a consent is
given, expires or is revoked. Each atom kind says where (:data:`BREAKS`, keyed by its runtime
function, computed from the atom's own arguments: the window's hours, the count's length and the
call's attempts, the age's durations and the event). Between two such instants the rule is
constant, and its value there is the runtime's own answer (so nonexistent and repeated local
times, holidays and month ends mean exactly what they mean to ``decide``); atoms that cannot
change are answered once per call.

The answer is the intersection of the rules' allowed sets, from the call's instant on: each rule
violated at the current instant moves it to the first of its own change points at which the rule
passes; the whole policy set is judged there again, until nothing is violated (see
:meth:`Timeline.next_allowed`). A timed atom whose kind has no entry in :data:`BREAKS` makes the
call :class:`Uncomputable`: the schedule then falls back to searching candidate instants
(:mod:`.schedule`).
"""

from __future__ import annotations

import bisect
import datetime as dt
import functools
import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from ringfence.contract.decision import Finding
from ringfence.contract.request import instant_in
from ringfence.engine import ir, runtime
from ringfence.engine.interp import Interpreter
from ringfence.engine.runtime import FIXED_SECONDS, Apply, Const, Ctx, Tri, age_durations
from ringfence.language import nodes

_DAY = 86400.0
_APPLICABILITY = "applicability"  # the rule a finding names when a policy's scope is unknown
#: A window's change points are placed for this long first (seconds): most denials by a
#: window clear within a day, and placing them over the whole horizon costs more.
_FIRST = _DAY


class Uncomputable(Exception):
    """A timed atom whose changes this module cannot place."""


class Span:
    """The stretch of time examined, ``[lo, hi]`` (POSIX seconds), for one call; keeps what
    several atoms ask (a zone's day starts, a window's bounds)."""

    def __init__(self, ctx: Ctx, lo: float, hi: float):
        self.ctx = ctx
        self.lo = lo
        self.hi = hi
        # The clock instants are judged on: the call's own offset, as deciding the call at the
        # answer would (months and years are counted on it).
        self.clock: dt.tzinfo = ctx.call.at.tzinfo  # type: ignore[assignment]
        self.memo: dict[object, list[float]] = {}

    def local_days(self, zone: dt.tzinfo) -> list[dt.date]:
        """The local dates a zone's clock shows in the stretch, one day either side."""
        key = ("days", zone)
        found: list[dt.date] | None = self.memo.get(key)  # type: ignore[assignment]
        if found is None:
            day = dt.datetime.fromtimestamp(self.lo, zone).date() - dt.timedelta(days=1)
            last = dt.datetime.fromtimestamp(self.hi, zone).date() + dt.timedelta(days=1)
            found = [day + dt.timedelta(days=n) for n in range((last - day).days + 1)]
            self.memo[key] = found  # type: ignore[assignment]
        return found

    def changes(self, zone: dt.tzinfo) -> list[float]:
        """The zone's clock changes in the stretch (a day either side)."""
        key = ("changes", zone)
        found = self.memo.get(key)
        if found is None:
            first, last = int(self.lo // _DAY) - 1, int(self.hi // _DAY) + 1
            found = self.memo[key] = [t for day in range(first, last + 1)
                                      for t in clock_changes(zone, day)]
        return found

    def day_start(self, day: dt.date, zone: dt.tzinfo | None = None) -> list[float]:
        """The instants at which ``day`` can start on the zone's clock (the callee's home zone
        by default): its midnight, and the zone's clock changes (a clock put back can return
        to the day before)."""
        zone = zone or self.ctx.home
        return [*wall(dt.datetime.combine(day, dt.time()), zone), *self.changes(zone)]

    def business_days(self, event: float, n: int,
                      calendar: runtime.CalendarDays | None = None) -> list[float]:
        """Where the business days since ``event``'s date (around ``calendar``'s days when
        given, as the rule counts them) can reach ``n`` or ``n + 1`` or become unknown (a day
        whose holidays the calendar does not hold) within the stretch."""
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
            counted = runtime.business_days_between(scratch, day - dt.timedelta(days=1), day,
                                                    calendar)
            if counted is None:  # unknown from here on
                return found + self.day_start(day, home)
            count += counted
            if counted and count in (n, n + 1):
                found += self.day_start(day, home)
        return found


@functools.lru_cache(maxsize=1 << 16)
def wall(naive: dt.datetime, zone: dt.tzinfo) -> tuple[float, ...]:
    """:func:`wall_clock_instants` as POSIX seconds. Kept: the same hours are asked for every
    call."""
    if isinstance(zone, dt.timezone):  # a fixed offset: one instant
        return (naive.replace(tzinfo=zone).timestamp(),)
    return tuple(t.timestamp() for t in wall_clock_instants(naive, zone))


def wall_clock_instants(naive: dt.datetime, zone: dt.tzinfo) -> Iterator[dt.datetime]:
    """The instants at which a zone's clock first shows ``naive`` or later.

    Usually one; two on the night the clocks go back (the hour happens twice); in the hour the
    clocks skip, the instant they jump, when the clock first shows a time at or after ``naive``.
    """
    first, second = (naive.replace(tzinfo=zone, fold=f).astimezone(dt.UTC) for f in (0, 1))
    if first.astimezone(zone).replace(tzinfo=None) == naive:
        yield first
        if second != first:
            yield second
        return
    # Skipped: search, to the second, the first instant whose wall clock is at or after naive.
    low, high = int(min(first, second).timestamp()), int(max(first, second).timestamp())
    while low < high:
        middle = (low + high) // 2
        if dt.datetime.fromtimestamp(middle, zone).replace(tzinfo=None) >= naive:
            high = middle
        else:
            low = middle + 1
    yield dt.datetime.fromtimestamp(low, dt.UTC)


@functools.lru_cache(maxsize=1 << 14)
def clock_changes(zone: dt.tzinfo, day: int) -> tuple[float, ...]:
    """The instant, to the second, at which the zone's UTC offset changes during the UTC day
    ``day`` (days since 1970), if it does (tzdata never changes an offset twice in a day)."""
    if isinstance(zone, dt.timezone):
        return ()

    def offset(t: float) -> dt.timedelta | None:
        return dt.datetime.fromtimestamp(t, zone).utcoffset()

    low, high = int(day * _DAY), int((day + 1) * _DAY)
    before = offset(low)
    if offset(high) == before:
        return ()
    while high - low > 1:  # offset(low) is the earlier one, offset(high) the later
        middle = (low + high) // 2
        if offset(middle) == before:
            low = middle
        else:
            high = middle
    return (float(high),)


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
            yield from span.business_days(event, n, runtime.excluded(duration))
            continue
        seconds = FIXED_SECONDS.get(duration.unit)
        if seconds is not None:  # ends at event + d, or (inclusive ends) just after it
            yield event + n * seconds
            yield event + n * seconds + 1.0
            continue
        # Months and years on the judged clock: the end, and (a month end cuts the day short
        # both ways) the days after it, at midnight and at the event's time of day.
        start = dt.datetime.fromtimestamp(event, span.clock)
        moved = runtime.shift_months(start, runtime.months(duration))
        for days in range(5):
            day = moved.date() + dt.timedelta(days=days)
            for moment in (dt.time(), start.time()):
                instant = dt.datetime.combine(day, moment, span.clock).timestamp()
                yield instant
                yield instant + 1.0


@breaks(runtime.window_open)
def _window(span: Span, ctx: Ctx, fixed: tuple[dt.tzinfo, ...] | None,
            hours: tuple[tuple[runtime.Interval, ...], ...], *_: object) -> list[float]:
    # A window is only ever the effect of ``allow only``: a rule it belongs to can become
    # allowed where the window opens, never where it closes. It opens where an interval
    # starts on a zone's clock (after a closed day too: the day's interval starts then), or
    # where the clock is put back into an interval.
    found: list[float] = []
    for zone in fixed or ctx.zones:
        key = (zone, hours)  # windows of several rules often read the same hours
        starts = span.memo.get(key)
        if starts is None:
            starts = list(span.changes(zone))
            for day in span.local_days(zone):
                starts += window_starts(zone, hours[day.weekday()], day)
            span.memo[key] = starts
        found += starts
    return found


@functools.lru_cache(maxsize=1 << 14)
def window_starts(zone: dt.tzinfo, intervals: tuple[runtime.Interval, ...], day: dt.date
                  ) -> tuple[float, ...]:
    """Where a day's intervals start on the zone's clock. Kept: the same windows are asked
    for every call."""
    return tuple(t for begin, _until, _inclusive in intervals
                 for t in wall(dt.datetime.combine(day, begin), zone))


def _sliding(instants: Iterable[float], seconds: float) -> Iterator[float]:
    # An attempt counts from just after its instant to its instant plus the length, inclusive.
    for at in instants:
        yield at + 1.0
        yield at + seconds + 1.0


@breaks(runtime.count_recent)
def _count_recent(span: Span, history_at: tuple[float, ...] | None, t: float, seconds: int,
                  *_: object) -> Iterator[float]:
    return _sliding(history_at or (), seconds)  # not given: unknown, and waiting won't tell


@breaks(runtime.count_recent_same)
def _count_recent_same(span: Span, ctx: Ctx, call: Any, t: float, spec: runtime.Count,
                       *_: object) -> Iterator[float]:
    return _sliding(call.history_at or (), spec.seconds or 0)


@breaks(runtime.count_attempts)
def _count_attempts(span: Span, ctx: Ctx, spec: runtime.Count) -> Iterator[float]:
    for at in ctx.call.history_at or ():
        yield at + 1.0  # counted from just after its instant
        yield from age_breaks(span, spec.window, at)


@breaks(runtime.has_consent)
def _consent(span: Span, records: Sequence[Any] | None, *_: object) -> Iterator[float]:
    for record in records or ():  # not given: unknown, and waiting won't tell
        for at in (record.at, record.expires_at, record.revoked_at):
            if at is not None:
                yield at


@breaks(runtime.opted_out)
def _opted_out(span: Span, ctx: Ctx, any_purpose: bool, purpose: str | None,
               age: nodes.Age | None, *_: object) -> Iterator[float]:
    for opt in ctx.call.opt_outs or ():
        yield opt.at
        yield from age_breaks(span, age, opt.at)


@breaks(runtime.last_event)
def _last_event(span: Span, ctx: Ctx, event: str, filters: runtime.HistoryFilter,
                age: nodes.Age | None) -> Iterator[float]:
    # The latest event changes as each one passes; a filter's missing fact does not change.
    for at in runtime.event_instants(ctx.at(ctx.t_dt), event, filters) or ():
        yield at
        yield from age_breaks(span, age, at)


@breaks(runtime.event_age)
def _event_age(span: Span, ctx: Ctx, at: float | None, t: float,
               age: nodes.Age | None) -> Iterable[float]:
    return () if at is None else (at, *age_breaks(span, age, at))


@breaks(runtime.field_age)
def _field_age(span: Span, ctx: Ctx, value: float | None, age: nodes.Age,
               *_: object) -> Iterable[float]:
    return () if value is None else age_breaks(span, age, value)


@breaks(runtime.on_list_aged)
def _on_list_aged(span: Span, ctx: Ctx, name: str, age: nodes.Age,
                  *_: object) -> Iterator[float]:
    found, listed_at = runtime.listing(ctx, name, set())  # an unknown listing never changes
    return age_breaks(span, age, listed_at) if found and listed_at is not None else iter(())


@breaks(runtime.list_checked)
def _list_checked(span: Span, ctx: Ctx, name: str, age: nodes.Age,
                  *_: object) -> Iterable[float]:
    checked = ctx.call.lists_checked_at.get(name)
    return () if checked is None else age_breaks(span, age, instant_in(checked, ctx.home))


@breaks(runtime.holiday_today)
def _holiday_today(span: Span, ctx: Ctx, *_: object) -> list[float]:
    # The callee's date, in each of its zones, changes at each local midnight.
    return [t for zone in ctx.zones for day in span.local_days(zone)
            for t in span.day_start(day, zone)]


@breaks(runtime.compare_date)
def _compare_date(span: Span, ctx: Ctx, value: object, op: object, limit: dt.date,
                  *_: object) -> list[float]:
    # Timed only on ``at``: the judged instant's date reaches the limit, or passes it.
    after = [] if limit == dt.date.max else span.day_start(limit + dt.timedelta(days=1))
    return span.day_start(limit) + after


@breaks(runtime.is_in, runtime.is_present)
def _constant(span: Span, *_: object) -> tuple[()]:
    # Timed only on ``at``, the judged instant, which is always given and never a literal.
    return ()


# ---- judging one step -------------------------------------------------------------------------


class _Steps(Interpreter):
    """The interpreter, answering atoms that cannot change with time once per call."""

    def __init__(self, base: Interpreter):  # shares the base's tables; adds a cache
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
    that changes only where its timed atoms (``conds``) or its dates say. Made once per load."""

    __slots__ = ("breaks", "dates", "policy", "rule", "timed", "windowed")

    def __init__(self, policy: ir.Policy, timed: bool, rule: ir.Rule | None):
        self.policy, self.timed, self.rule = policy, timed, rule
        conds: list[ir.Cond] = list(policy.when) if timed else []
        info = policy.info
        dates = [info.effective_from, info.effective_until] if timed else []
        if rule is not None:
            conds.extend(rule.conditions())
            dates += [rule.effective_from, rule.effective_until]
        timed_atoms = [a.apply for c in conds for a in ir.atoms(c) if a.apply.timed]
        # Where each timed atom can change (None: this module cannot say), and its arguments.
        self.breaks = tuple((BREAKS.get(a.fn), a.fn.__name__, a.args) for a in timed_atoms)
        self.windowed = any(a.fn is runtime.window_open for a in timed_atoms)
        self.dates = tuple(d for d in dates if d is not None)  # coming into or out of force

    def place(self, span: Span, ctx: Ctx, argument: Callable[[object, Ctx], object]
              ) -> list[float]:
        """The instants in ``span`` from which its value can change (a change just after an
        instant is placed a second after it, the search's resolution), in order."""
        found: set[float] = set()
        for day in self.dates:
            found.update(span.day_start(day))
        for where, name, args in self.breaks:
            if where is None:
                raise Uncomputable(name)
            found.update(where(span, *[a.value if type(a) is Const else argument(a, ctx)
                                       for a in args]))
        lo, hi = span.lo, span.hi
        return sorted(x for x in found if lo < x <= hi)

    def allowed(self, steps: _Steps, ctx: Ctx) -> bool:
        """Its value at ``ctx``'s instant."""
        if self.timed:
            applies = steps.applies(self.policy, ctx)
            if applies is not True:
                return applies is False
        return self.rule is None or steps.rule(self.rule, ctx) != ir.VIOLATED


class _Walk:
    """One call's computation: the instants judged, each constraint's change points and its
    value at each instant judged."""

    def __init__(self, ctx: Ctx, steps: _Steps, argument: Callable[[object, Ctx], object],
                 horizon: float):
        self.ctx = ctx
        self.steps = steps
        self.argument = argument
        self.clock: dt.tzinfo = ctx.call.at.tzinfo  # type: ignore[assignment]
        self.contexts: dict[float, Ctx] = {}
        self.seen: dict[tuple[int, float], bool] = {}  # (constraint, instant) -> allows
        self.points: dict[tuple[int, float], list[float]] = {}  # (constraint, stretch end)
        start = ctx.t
        self.spans = [Span(ctx, start, start + horizon)]
        if horizon > _FIRST:
            self.spans.insert(0, Span(ctx, start, start + _FIRST))

    def at(self, instant: float) -> Ctx:
        """The call judged at ``instant`` (on the call's own clock)."""
        judged = self.contexts.get(instant)
        if judged is None:
            judged = self.contexts[instant] = self.ctx.at(
                dt.datetime.fromtimestamp(instant, self.clock))
        return judged

    def allowed(self, constraint: _Constraint, instant: float) -> bool:
        """The constraint's value at ``instant`` (each instant judged once)."""
        key = (id(constraint), instant)
        ok = self.seen.get(key)
        if ok is None:
            ok = self.seen[key] = constraint.allowed(self.steps, self.at(instant))
        return ok

    def next_allowed(self, constraint: _Constraint, instant: float) -> float | None:
        """The first of the constraint's change points after ``instant`` within the horizon
        at which it allows (``instant`` itself is known to deny). A window's are placed for a
        day first (most denials clear within it), others' over the whole horizon at once."""
        for span in self.spans if constraint.windowed else self.spans[-1:]:
            key = (id(constraint), span.hi)
            points = self.points.get(key)
            if points is None:
                points = self.points[key] = constraint.place(span, self.ctx, self.argument)
            for x in points[bisect.bisect_right(points, instant):]:
                if self.allowed(constraint, x):
                    return x
        return None


class Timeline:
    """Computes ``next_allowed_at`` for a policy set. Immutable: thread-safe."""

    def __init__(self, policies: Sequence[ir.Policy], interpreter: Interpreter,
                 violations_at: Callable[[Ctx], list[Finding]], horizon_days: int):
        self.interpreter = interpreter
        self.violations_at = violations_at
        self.horizon = horizon_days * _DAY
        # A constraint per deny rule, and per policy for its applicability, by finding.
        self.constraints: dict[tuple[str, str], _Constraint] = {}
        for policy in policies:
            timed = _timed(policy)
            self.constraints[policy.info.id, _APPLICABILITY] = _Constraint(policy, timed, None)
            for rule in policy.rules:
                if rule.level == "deny":
                    self.constraints[policy.info.id, rule.id] = _Constraint(policy, timed, rule)

    def next_allowed(self, ctx: Ctx, violations: list[Finding]) -> dt.datetime | None:
        """The first instant after the call's, within the horizon and at the search's
        resolution (an instant where the judgement changes, or a second after it when the
        change happens just after it), at which no deny rule is violated; None when there is
        none. ``violations`` are the call's at its own instant.

        The instant moves forward: each rule violated there gives the first of its own change
        points at which it no longer is, and the instant moves to the latest of those (no
        earlier instant can be allowed); the whole policy set is judged there again, until
        nothing is violated. Raises :class:`Uncomputable` for an atom kind without
        :data:`BREAKS`."""
        walk = _Walk(ctx, _Steps(self.interpreter), self.interpreter.argument, self.horizon)
        instant = ctx.t
        while True:
            latest = instant
            for finding in violations:
                constraint = self.constraints.get((finding.policy, finding.rule))
                if constraint is None:
                    raise Uncomputable(f"{finding.policy}/{finding.rule}")
                if not (constraint.breaks or constraint.dates):
                    return None  # violated at every instant
                found = walk.next_allowed(constraint, instant)
                if found is None:
                    return None  # violated up to the horizon
                latest = max(latest, found)
            instant = latest
            violations = self.violations_at(walk.at(instant))
            if not violations:
                return dt.datetime.fromtimestamp(instant, walk.clock)

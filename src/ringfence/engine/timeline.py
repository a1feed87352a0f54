"""``next_allowed_at`` computed from the rules' own structure.

A rule's outcome can change with time only where one of its timed atoms, or its rule's or
policy's dates, can change: a window opens on a zone's clock, a zone's clocks change, an attempt
enters or leaves a sliding window, a period after an event ends, a day starts, a consent is
given, expires or is revoked. Each atom kind says where (:data:`BREAKS`, keyed by its runtime
function, computed from the atom's own arguments: the window's hours, the count's length and the
call's attempts, the age's durations and the event). Between two such instants the rule is
constant, and its value there is the runtime's own answer (so nonexistent and repeated local
times, holidays and month ends mean exactly what they mean to ``decide``): each rule is judged
by code generated for it alone, as ``decide``'s is (:mod:`.pygen`), on first use; or, while it
is the only rule violated, read from the whole set's judgement at the instant (where it passes,
the whole set is judged next anyway). What every call asks alike (a day's start on a zone's
clock, a window's openings over some days, whether a window read in several zones is closed at
one of them, where an event's calendar or business days end) is kept by what it reads, not per
call; what reads a call's facts (holidays) is kept by its Timeline, so it goes with the policy
set.

The answer is the intersection of the rules' allowed sets, from the call's instant on: each rule
violated at the current instant moves it to the first of its own change points at which the rule
passes; the whole policy set is judged there again, until nothing is violated (see
:meth:`Timeline.next_allowed`). A timed atom whose kind has no entry in :data:`BREAKS` makes the
call :class:`Uncomputable`: the schedule then falls back to searching candidate instants
(:mod:`.schedule`).
"""

from __future__ import annotations

import bisect
import dataclasses
import datetime as dt
import functools
import inspect
import math
import operator
from collections.abc import Callable, Container, Iterable, Iterator, Sequence
from typing import Any

from ringfence.contract.decision import Finding
from ringfence.contract.request import instant_in
from ringfence.engine import ir, pygen, runtime
from ringfence.engine.interp import Interpreter
from ringfence.engine.runtime import (
    FIXED_SECONDS,
    Apply,
    Const,
    Ctx,
    ListLookup,
    Tri,
    age_durations,
)
from ringfence.language import nodes

_DAY = 86400.0
_ONE_DAY = dt.timedelta(days=1)
_EPOCH = dt.date(1970, 1, 1)
_APPLICABILITY = "applicability"  # the rule a finding names when a policy's scope is unknown
#: A window's change points are placed for this long first (seconds): most denials by a
#: window clear within a day, and placing them over the whole horizon costs more.
_FIRST = _DAY
#: How many UTC days a date's starts on any zone's clock can lie from its own (three either
#: side: see _Constraint.dates), with a day to spare.
_DATE_REACH = 4
#: How many days from an event plus n days the starts (:func:`day_starts`) of the dates n and
#: n + 1 days after the event's own can lie: less than six (its date starts within two days of
#: it on any clock, an offset being less than a day; a date's midnight lies within a day of its
#: UTC day; the clock changes added lie within three days of that), and a day to spare.
_DAY_REACH = 7
_NOTHING: frozenset[float] = frozenset()
#: Span.business_days's answers, by what they read (see there); emptied when this many.
_BUSINESS_KEPT = 1 << 14
#: How many answers of _Walk.closed_until a constraint keeps before it empties them.
_CLOSED_KEPT = 1 << 15
#: Span.business_days's answers, by what they read: a Timeline's own, so that they go with it.
BusinessKept = dict[tuple[object, ...], tuple[float, ...]]
_finding_key = operator.attrgetter("policy", "rule")  # a finding's rule, as (policy, rule)


class Uncomputable(Exception):
    """A timed atom whose changes this module cannot place."""


class Span:
    """The stretch of time examined, ``(lo, hi]`` (POSIX seconds), for one call."""

    __slots__ = ("_ends", "_kept", "_scratch", "clock", "ctx", "first", "hi", "home", "last",
                 "lo")

    def __init__(self, ctx: Ctx, lo: float, hi: float, kept: BusinessKept | None = None):
        self.ctx = ctx
        self._kept: BusinessKept = {} if kept is None else kept
        self.lo = lo
        self.hi = hi
        self.first, self.last = int(lo // _DAY), int(hi // _DAY)  # its UTC days, since 1970
        self.home = ctx.home
        # The clock instants are judged on: the call's own offset, as deciding the call at the
        # answer would (months and years are counted on it).
        self.clock: dt.tzinfo = ctx.call.at.tzinfo  # type: ignore[assignment]
        self._scratch: Ctx | None = None
        self._ends: tuple[dt.date, dt.date] | None = None  # its dates, see business_days

    def scratch(self) -> Ctx:
        """The call at its own instant, for the runtime's readers to name what they miss in
        (not the call's judgement): made once, several atoms ask."""
        scratch = self._scratch
        if scratch is None:
            scratch = self._scratch = self.ctx.at(self.ctx.t_dt)
        return scratch

    def local_days(self) -> Iterator[dt.date]:
        """The dates any zone's clock shows in the stretch, a day either side (a zone's date is
        within a day of the UTC date)."""
        start = _EPOCH + dt.timedelta(days=self.first - 2)
        return (start + dt.timedelta(days=n) for n in range(self.last - self.first + 5))

    def day_start(self, day: dt.date, zone: dt.tzinfo | None = None) -> tuple[float, ...]:
        """:func:`day_starts` on the zone's clock (the callee's home zone by default)."""
        return day_starts(day, zone or self.home)

    def business_days(self, event: float, n: int,
                      calendar: runtime.CalendarDays | None = None) -> Sequence[float]:
        """Where the business days since ``event``'s date (around ``calendar``'s days when
        given, as the rule counts them) can reach ``n`` or ``n + 1`` or become unknown (a day
        whose holidays the calendar does not hold) within the stretch.

        Kept by what it reads: the dates of the event and of the stretch's ends on the home
        zone's clock, ``n``, the calendar, and the callee's holidays (the facts, country and
        region); the opt-outs of many calls fall on the same days."""
        home = self.home
        first = dt.datetime.fromtimestamp(event, home).date()
        ends = self._ends
        if ends is None:
            ends = self._ends = (dt.datetime.fromtimestamp(self.lo, home).date() - _ONE_DAY,
                                 dt.datetime.fromtimestamp(self.hi, home).date() + _ONE_DAY)
        ctx = self.ctx
        key = (ctx.facts, ctx.country, ctx.region, home, first, ends, n, calendar)
        kept = self._kept
        found = kept.get(key)
        if found is None:
            if len(kept) >= _BUSINESS_KEPT:
                kept.clear()  # a new run of days: start again
            found = kept[key] = tuple(self._business_days(first, ends, n, calendar))
        return found

    def _business_days(self, first: dt.date, ends: tuple[dt.date, dt.date], n: int,
                       calendar: runtime.CalendarDays | None) -> list[float]:
        """:meth:`business_days` computed: from the event's date ``first``, over the dates
        ``ends`` (a day either side of the stretch's)."""
        lo, last = ends
        scratch = self.scratch()
        # n business days take at most this many calendar days (weekends, and a holiday on
        # every other day of a week): from an older event both counts were reached before lo.
        reached = (n // 5 + 2) * 7 + 14
        day, count = lo, n + 2
        if first >= lo:
            day, count = first, 0
        elif (lo - first).days <= reached:
            counted = runtime.business_days_between(scratch, first, lo, calendar)
            if counted is None:  # unknown from a day before the stretch on: it cannot change
                return []
            count = counted
        found: list[float] = []
        while day < last and count <= n + 1:
            # The days that cannot bring the count to n (a day adds one at most) are counted
            # at once; day by day only from there, or where a day's holidays are not known.
            skip = min(n - 1 - count, (last - day).days)
            if skip > 1:
                ahead = day + dt.timedelta(days=skip)
                counted = runtime.business_days_between(scratch, day, ahead, calendar)
                if counted is not None:
                    day, count = ahead, count + counted
                    continue
            day += _ONE_DAY
            counted = runtime.business_days_between(scratch, day - _ONE_DAY, day, calendar)
            if counted is None:  # unknown from here on
                return [*found, *self.day_start(day)]
            count += counted
            if counted and count in (n, n + 1):
                found += self.day_start(day)
        # Past n + 1 every comparison with n is settled; only a day whose holidays are not
        # known can still change it (to unknown, from that day on).
        if day < last and runtime.business_days_between(scratch, day, last, calendar) is None:
            while runtime.business_days_between(scratch, day, day + _ONE_DAY,
                                                calendar) is not None:
                day += _ONE_DAY
            found += self.day_start(day + _ONE_DAY)
        return found


@functools.lru_cache(maxsize=1 << 14)
def _exact(instant: float) -> float | None:
    """``instant`` when an instant made from it keeps it exactly (whole seconds), else None:
    a datetime holds microseconds, so a finer fraction would not come back from it."""
    return instant if instant % 1 == 0 else None


def day_starts(day: dt.date, zone: dt.tzinfo) -> tuple[float, ...]:
    """The instants at which ``day`` can start on the zone's clock: its midnight, and the
    zone's clock changes within two days of it (a clock put back can return to the day before;
    a clock change moves the date only across a midnight it jumps over, and no jump reaches a
    day). Kept: every call asks for the same few days."""
    starts = wall(dt.datetime.combine(day, dt.time()), zone)
    utc_day = int(starts[0] // _DAY)
    return starts + tuple(t for near in range(utc_day - 2, utc_day + 3)
                          for t in clock_changes(zone, near))


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
            # Placed only near the stretch: the starts of the days n and n + 1 days after the
            # event's date lie within _DAY_REACH days of the event plus n days.
            if event + (n - _DAY_REACH) * _DAY < span.hi \
                    and event + (n + _DAY_REACH) * _DAY > span.lo:
                yield from calendar_ends(event, span.home, n)
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
        # both ways) the days after it, at midnight and at the event's time of day: from a day
        # before the end to five days after it. n months take 28n to 31n days, n years 365n to
        # 366n (bounds with a margin below): a period ending far from the stretch places none.
        shortest, longest = (28 * n - 4, 31 * n + 1) if duration.unit == "month" \
            else (365 * n - 2, 366 * n + 1)
        if event + (shortest - 1) * _DAY > span.hi or event + (longest + 7) * _DAY <= span.lo:
            continue
        start = dt.datetime.fromtimestamp(event, span.clock)
        moved = runtime.months_later(start, runtime.months(duration))
        for days in range(5):
            day = moved.date() + dt.timedelta(days=days)
            for moment in (dt.time(), start.time()):
                instant = dt.datetime.combine(day, moment, span.clock).timestamp()
                yield instant
                yield instant + 1.0


@functools.lru_cache(maxsize=1 << 14)
def calendar_ends(event: float, zone: dt.tzinfo, n: int) -> tuple[float, ...]:
    """:func:`day_starts` of the dates ``n`` and ``n + 1`` days after the event's date on the
    zone's clock: where ``n`` calendar days from the event can end. Kept: the calls of a day
    date the same events (a list checked, a conversation) on the same few clocks."""
    day = dt.datetime.fromtimestamp(event, zone).date()
    return day_starts(day + dt.timedelta(days=n), zone) + \
        day_starts(day + dt.timedelta(days=n + 1), zone)


@breaks(runtime.window_open)
def _window(span: Span, ctx: Ctx, fixed: tuple[dt.tzinfo, ...] | None,
            hours: tuple[tuple[runtime.Interval, ...], ...], *_: object) -> tuple[float, ...]:
    # A window is only ever the effect of ``allow only``: a rule it belongs to can become
    # allowed where the window opens, never where it closes. Of the days' openings (kept in
    # order), only those in the stretch: a day's stretch would keep a sixth of them.
    opens = zones_openings(fixed or ctx.zones, hours, span.first, span.last)
    return opens[bisect.bisect_right(opens, span.lo):bisect.bisect_right(opens, span.hi)]


@functools.lru_cache(maxsize=1 << 14)
def zones_openings(zones: tuple[dt.tzinfo, ...], hours: tuple[tuple[runtime.Interval, ...], ...],
                   first: int, last: int) -> tuple[float, ...]:
    """:func:`window_openings` of every zone, in order. Kept: the callees of a place have the
    same zones (up to eight, an Australian mobile's), looked up once rather than each."""
    return tuple(sorted({t for zone in zones for t in window_openings(zone, hours, first, last)}))


@functools.lru_cache(maxsize=1 << 14)
def window_openings(zone: dt.tzinfo, hours: tuple[tuple[runtime.Interval, ...], ...],
                    first: int, last: int) -> tuple[float, ...]:
    """Where a window can open on the zone's clock during the UTC days ``first`` to ``last``
    (days since 1970): where an interval starts on the local days around them (after a closed
    day too: the day's interval starts then), and where the clock changes (it can be put back
    into an interval). Kept: windows of several rules, and every call of a day, ask alike."""
    found = [t for day in range(first - 1, last + 2) for t in clock_changes(zone, day)]
    start = _EPOCH + dt.timedelta(days=first - 2)  # a zone's date is within a day of UTC's
    for n in range(last - first + 5):
        day = start + dt.timedelta(days=n)
        found += window_starts(zone, hours[day.weekday()], day)
    return tuple(sorted(found))


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
    for at in runtime.event_instants(span.scratch(), event, filters) or ():
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
    return [t for zone in ctx.zones for day in span.local_days() for t in day_starts(day, zone)]


@breaks(runtime.compare_date)
def _compare_date(span: Span, ctx: Ctx, value: object, op: object, limit: dt.date,
                  *_: object) -> tuple[float, ...]:
    # Timed only on ``at``: the judged instant's date reaches the limit, or passes it.
    after = () if limit == dt.date.max else span.day_start(limit + dt.timedelta(days=1))
    return span.day_start(limit) + after


@breaks(runtime.is_in, runtime.is_present)
def _constant(span: Span, *_: object) -> tuple[()]:
    # Timed only on ``at``, the judged instant, which is always given and never a literal.
    return ()


# ---- judging one step -------------------------------------------------------------------------


def _timed(policy: ir.Policy) -> bool:
    """Whether the policy's applicability can change with time."""
    info = policy.info
    return (info.effective_from is not None or info.effective_until is not None
            or any(a.apply.timed for c in policy.when for a in ir.atoms(c)))


class _Constraint:
    """One deny rule (or, ``rule`` None, only its policy's applicability): allowed where its
    policy does not apply or the rule is not violated. Its value is a step function of time
    that changes only where its timed atoms (``conds``) or its dates say. Made once per load."""

    __slots__ = ("_judge", "closed", "dates", "facts", "keys", "openers", "placers", "policy",
                 "rule", "scope", "settled", "unplaceable", "window", "windowed", "windows")

    def __init__(self, policy: ir.Policy, timed: bool, rule: ir.Rule | None,
                 interpreter: Interpreter):
        self.policy, self.rule, self.facts = policy, rule, interpreter.facts
        # The findings of the whole set that say it denies: its rule's, or its policy's
        # applicability not established (the policy then reports that alone, see allows).
        self.keys = frozenset((policy.info.id, name) for name in (
            _APPLICABILITY, *(() if rule is None else (rule.id,))))
        conds: list[ir.Cond] = list(policy.when) if timed else []
        info = policy.info
        dates = [info.effective_from, info.effective_until] if timed else []
        if rule is not None:
            conds.extend(rule.conditions())
            dates += [rule.effective_from, rule.effective_until]
        timed_atoms = [a.apply for c in conds for a in ir.atoms(c) if a.apply.timed]
        # Where each timed atom can change, on its arguments at a call, sorted once here rather
        # than asked of each atom on every denial: the windows' apart (their points are in the
        # stretch and in order already, see place); and the name of the first atom whose kind
        # this module cannot place (None when it can place them all), which makes any placing
        # of the constraint Uncomputable before its other atoms are placed for nothing.
        windows = [a for a in timed_atoms if a.fn is runtime.window_open]
        unplaceable = [a.fn.__name__ for a in timed_atoms if a.fn not in BREAKS]
        self.unplaceable = unplaceable[0] if unplaceable else None
        placeable = [a for a in timed_atoms if a.fn in BREAKS]
        self.openers = tuple(_placer(BREAKS[a.fn], a, interpreter) for a in placeable
                             if a.fn is runtime.window_open)
        self.placers = tuple(_placer(BREAKS[a.fn], a, interpreter) for a in placeable
                             if a.fn is not runtime.window_open)
        self.windows = len(windows)
        self.windowed = bool(windows)
        # A window that is the rule's effect (``allow only``) and its only window: while it is
        # closed, and nothing else of the rule changes, the rule stays violated (it can only
        # pass where the window is open), so such instants need not be judged (see
        # _Walk.next_allowed).
        effect = None if rule is None else rule.effect
        self.window = rule.window if (
            rule is not None and rule.window is not None and rule.passes
            and isinstance(effect, ir.Atom) and windows == [effect.apply]) else None
        # Coming into or out of force, each with its UTC day (days since 1970): a day's starts
        # on any zone's clock lie in the UTC days three either side of it (its midnight within
        # a day, the clock changes :func:`day_starts` adds within two more).
        self.dates = tuple((d, (d - _EPOCH).days) for d in dates if d is not None)
        # Without timed atoms only its dates change it: from this instant on it never changes.
        self.settled = math.inf if timed_atoms else \
            max((n + _DATE_REACH) * _DAY for _d, n in self.dates) if self.dates else -math.inf
        # What is judged: the policy with this rule alone. A policy whose applicability cannot
        # change with time applied at the call's instant (its rule was violated there), so it
        # applies at every instant: judged as applying everywhere, always, under no condition.
        self.scope = dataclasses.replace(policy, rules=() if rule is None else (rule,))
        if not timed:
            self.scope = dataclasses.replace(
                self.scope, any_place=True, subdivisions=frozenset(), when=(),
                info=dataclasses.replace(info, effective_from=None, effective_until=None))
        self._judge: pygen.Judge | None = None  # written on first use: most rules never deny
        # Until when its window stays closed, by what that reads (see _Walk.closed_until).
        self.closed: dict[tuple[object, ...], float] = {}

    def place(self, span: Span, ctx: Ctx) -> tuple[Sequence[float], Container[float]]:
        """The instants in ``span`` from which its value can change (a change just after an
        instant is placed a second after it, the search's resolution), in order; and, when it
        has a :attr:`window`, those placed by its dates and atoms other than the window (empty
        otherwise: only a window's points are ever passed over, see _Walk.next_allowed)."""
        if self.unplaceable is not None:
            raise Uncomputable(self.unplaceable)
        found: list[float] = []
        if self.dates:
            first, last = span.first - _DATE_REACH, span.last + _DATE_REACH
            for day, n in self.dates:
                if first <= n <= last:  # the others start nowhere near the stretch
                    found += span.day_start(day)
        for where in self.placers:
            found += where(span, ctx)
        opens: tuple[float, ...] = ()  # a window's are in the stretch already, in order
        for where in self.openers:
            opens += tuple(where(span, ctx))
        points: Sequence[float]
        if found:
            lo, hi = span.lo, span.hi
            points = sorted({x for x in found if lo < x <= hi}.union(opens))
        else:  # the commonest: none but a window's, or none at all
            points = sorted(set(opens)) if self.windows > 1 else opens
        return points, (_NOTHING if self.window is None else frozenset(found))

    def allowed(self, ctx: Ctx) -> bool:
        """Its value at ``ctx``'s instant: the generated judgement of :attr:`scope`, as
        ``decide`` judges (a race may write it twice; either is kept)."""
        judge = self._judge
        if judge is None:
            judge = self._judge = pygen.generate((self.scope,), self.facts)[0]
        return not judge(ctx)[0]

    def allows(self, violations: list[Finding]) -> bool:
        """Its value where the whole set found ``violations``: the same as :meth:`allowed`
        there. The policy applies as :attr:`scope` does (a policy judged as applying
        everywhere did apply at the call, where its rule was violated, and its applicability
        cannot change), and its rule is judged alone or among the others alike."""
        return self.keys.isdisjoint(map(_finding_key, violations))


def _placer(where: Breaks, applied: Apply, interpreter: Interpreter
            ) -> Callable[[Span, Ctx], Iterable[float]]:
    """``where`` on the arguments of an atom at a call (the leading ones it names; it ignores
    the rest): those fixed at load (a literal, a list's slot) read once, the others read from
    the call by the interpreter's readers. Bound once: it is asked for on every denial."""
    fixed: list[object] = []
    called: list[tuple[int, Callable[[Ctx], object]]] = []
    for i, arg in enumerate(applied.args[:_taken(where)]):
        if isinstance(arg, Const):
            fixed.append(arg.value)
        elif isinstance(arg, ListLookup):
            fixed.append(interpreter._lookups[arg.name])
        else:
            fixed.append(None)
            called.append((i, interpreter.reader(arg)))
    if [i for i, _read in called] == [0]:  # the commonest: the call (or a field of it) first
        read, rest = called[0][1], fixed[1:]
        return lambda span, ctx: where(span, read(ctx), *rest)

    def place(span: Span, ctx: Ctx) -> Iterable[float]:
        args = list(fixed)
        for i, read in called:
            args[i] = read(ctx)
        return where(span, *args)

    return place


def _taken(where: Breaks) -> int:
    """How many of an atom's arguments a change-point function names, after the span."""
    parameters = inspect.signature(where).parameters.values()
    return sum(p.kind is p.POSITIONAL_OR_KEYWORD for p in parameters) - 1


class _Walk:
    """One call's computation: the instants judged, each constraint's change points and its
    value at each instant judged."""

    __slots__ = ("_day", "_whole", "clock", "contexts", "ctx", "horizon", "judged", "kept",
                 "points", "seen", "violations_at", "whole")

    def __init__(self, ctx: Ctx, horizon: float, violations_at: Callable[[Ctx], list[Finding]],
                 kept: BusinessKept):
        self.ctx = ctx
        self.horizon = horizon
        self.kept = kept
        self.violations_at = violations_at
        self.judged: dict[float, list[Finding]] = {}  # instant -> the whole set's violations
        # Whether a constraint's points are judged by the whole set: while a single rule is
        # violated, the instant where it passes is judged whole next anyway (see Timeline).
        self.whole = False
        self.clock: dt.tzinfo = ctx.call.at.tzinfo  # type: ignore[assignment]
        self.contexts: dict[float, Ctx] = {}
        self.seen: dict[tuple[int, float], bool] = {}  # (constraint, instant) -> allows
        # (constraint, stretch end) -> its change points there, and those not its window's
        self.points: dict[tuple[int, float], tuple[Sequence[float], Container[float]]] = {}
        self._day: Span | None = None  # each made when first placed: most denials end sooner
        self._whole: Span | None = None

    def spans(self, windowed: bool) -> Iterator[Span]:
        """The stretches a constraint's points are placed over, each made when first asked
        for: a window's first day (when shorter than the horizon), then the horizon; the
        others' horizon alone."""
        if windowed and self.horizon > _FIRST:
            if self._day is None:
                start = self.ctx.t
                self._day = Span(self.ctx, start, start + _FIRST, self.kept)
            yield self._day
        yield self.whole_span()

    def whole_span(self) -> Span:
        """The stretch up to the horizon (made when first asked for)."""
        span = self._whole
        if span is None:
            start = self.ctx.t
            span = self._whole = Span(self.ctx, start, start + self.horizon, self.kept)
        return span

    def placed(self, constraint: _Constraint, span: Span
               ) -> tuple[Sequence[float], Container[float]]:
        """:meth:`_Constraint.place` over ``span`` (each placed once)."""
        key = (id(constraint), span.hi)
        placed = self.points.get(key)
        if placed is None:
            placed = self.points[key] = constraint.place(span, self.ctx)
        return placed

    def changes_after(self, constraint: _Constraint, instant: float) -> bool:
        """False when the constraint, not read through a window, has no change point after
        ``instant`` within the horizon: it keeps its value there, violated, and no instant
        need be judged. A window's points are placed over the horizon only when its first
        day's do not clear it, so it is assumed to change (it opens every few days)."""
        if constraint.windowed:
            return True
        points = self.placed(constraint, self.whole_span())[0]
        return bool(points) and points[-1] > instant

    def at(self, instant: float) -> Ctx:
        """The call judged at ``instant`` (on the call's own clock)."""
        judged = self.contexts.get(instant)
        if judged is None:
            judged = self.contexts[instant] = self.ctx.at(
                dt.datetime.fromtimestamp(instant, self.clock), _exact(instant))
        return judged

    def violations(self, instant: float) -> list[Finding]:
        """The whole set's violations at ``instant`` (each instant judged once)."""
        found = self.judged.get(instant)
        if found is None:
            found = self.judged[instant] = self.violations_at(self.at(instant))
        return found

    def allowed(self, constraint: _Constraint, instant: float) -> bool:
        """The constraint's value at ``instant`` (each instant judged once): read from the
        whole set's judgement when there is one, or :attr:`whole` asks for it."""
        key = (id(constraint), instant)
        ok = self.seen.get(key)
        if ok is None:
            judged = self.judged.get(instant)
            if judged is None and self.whole:
                judged = self.violations(instant)
            ok = self.seen[key] = constraint.allowed(self.at(instant)) if judged is None \
                else constraint.allows(judged)
        return ok

    def next_allowed(self, constraint: _Constraint, instant: float) -> float | None:
        """The first of the constraint's change points after ``instant`` within the horizon
        at which it allows (``instant`` itself is known to deny). A window's are placed for a
        day first (most denials clear within it), others' over the whole horizon at once.

        A window read in several zones opens at each zone's openings, but is open only where
        all zones are. At a point only the window placed, the rest of the rule is as it was at
        the last point judged, or at ``instant``, where it was violated: where the window is
        closed in some zone there, a closed window cannot make it pass, and those zones stay
        closed until their next openings; the points only the window placed before the latest
        of those are passed over unjudged. Whether it is closed at such a point is asked of
        the window itself (:meth:`closed_until`), not of the whole judgement."""
        window = constraint.window
        if window is not None and len(runtime.window_zones(self.ctx, window)) < 2:
            window = None  # one zone: its next opening is the window's next point anyway
        for span in self.spans(constraint.windowed):
            points, others = self.placed(constraint, span)
            closed_until = -math.inf
            for x in points[bisect.bisect_right(points, instant):]:
                if window is not None and x not in others:
                    if x < closed_until:
                        continue
                    closed_until = self.closed_until(constraint, window, x, span)
                    if closed_until > x:  # closed in some zone: violated still
                        continue
                if self.allowed(constraint, x):
                    return x
        return None

    def closed_until(self, constraint: _Constraint, window: runtime.WindowSpec,
                     instant: float, span: Span) -> float:
        """Until when the window stays closed from ``instant``: the latest next opening of
        the zones where it is closed then (-inf when it is open in every zone), each zone's
        clock judged alone as the runtime judges it.

        Kept with the constraint by what it reads: the instant (a zone's opening: the calls
        of a day ask about the same few), the zones, the callee's holidays (country, region,
        facts) and the stretch's days (an opening past them is none)."""
        ctx = self.ctx
        zones = runtime.window_zones(ctx, window)
        key = (instant, zones, ctx.country, ctx.region, ctx.facts, span.first, span.last)
        kept = constraint.closed
        until = kept.get(key)
        if until is None:
            if len(kept) >= _CLOSED_KEPT:
                kept.clear()  # a new run of days: start again
            # One context for all zones (what it finds missing is not the judgement's), each
            # zone's clock read alone: the window's check with that zone as its own.
            judged = ctx.at(dt.datetime.fromtimestamp(instant, self.clock), _exact(instant))
            until = -math.inf
            for zone in zones:
                if runtime.window_open(judged, (zone,), window.hours, None, None, False,
                                       window, set()) is not True:
                    opens = window_openings(zone, window.hours, span.first, span.last)
                    i = bisect.bisect_right(opens, instant)
                    until = max(until, opens[i] if i < len(opens) else math.inf)
            kept[key] = until
        return until


class Timeline:
    """Computes ``next_allowed_at`` for a policy set. Immutable but for what it and its
    constraints keep (racing threads compute the same value; either may stay): thread-safe."""

    def __init__(self, policies: Sequence[ir.Policy], interpreter: Interpreter,
                 violations_at: Callable[[Ctx], list[Finding]], horizon_days: int):
        self.interpreter = interpreter
        self.violations_at = violations_at
        self.horizon = horizon_days * _DAY
        self.business: BusinessKept = {}  # see Span.business_days
        # A constraint per deny rule, and per policy for its applicability, by finding.
        self.constraints: dict[tuple[str, str], _Constraint] = {}
        for policy in policies:
            timed = _timed(policy)
            self.constraints[policy.info.id, _APPLICABILITY] = _Constraint(
                policy, timed, None, interpreter)
            for rule in policy.rules:
                if rule.level == "deny":
                    self.constraints[policy.info.id, rule.id] = _Constraint(
                        policy, timed, rule, interpreter)

    def next_allowed(self, ctx: Ctx, violations: list[Finding]) -> dt.datetime | None:
        """The first instant after the call's, within the horizon and at the search's
        resolution (an instant where the judgement changes, or a second after it when the
        change happens just after it), at which no deny rule is violated; None when there is
        none. ``violations`` are the call's at its own instant.

        The instant moves forward: each rule violated there gives the first of its own change
        points at which it no longer is, and the instant moves to the latest of those (no
        earlier instant can be allowed); the whole policy set is judged there again, until
        nothing is violated. A violated rule with no change point left before the horizon
        answers None before any rule is walked. Raises :class:`Uncomputable` for an atom kind without
        :data:`BREAKS`."""
        instant, constraints = ctx.t, self.constraints
        walk: _Walk | None = None  # made once a rule is walked: many denials settle first
        while True:
            # Every rule violated is checked before any is walked: one violated for good
            # settles it. One without a constraint is raised once those before it are walked,
            # in the findings' order.
            pending: list[_Constraint] = []
            unknown: Finding | None = None
            for finding in violations:
                constraint = constraints.get((finding.policy, finding.rule))
                if constraint is None:
                    unknown = finding
                    break
                if instant >= constraint.settled:
                    return None  # violated at every instant from this one on
                pending.append(constraint)
            if walk is None:
                walk = _Walk(ctx, self.horizon, self.violations_at, self.business)
            # One that cannot change from here on settles it before any is judged (a denial by
            # several rules usually holds one that waiting never clears).
            for constraint in pending:
                if not walk.changes_after(constraint, instant):
                    return None
            # One rule violated: where it passes is where the whole set is judged next, so its
            # points are judged whole (one judgement rather than two where it passes first).
            walk.whole = len(violations) == 1
            latest = instant
            for constraint in pending:
                found = walk.next_allowed(constraint, instant)
                if found is None:
                    return None  # violated up to the horizon
                latest = max(latest, found)
            if unknown is not None:
                raise Uncomputable(f"{unknown.policy}/{unknown.rule}")
            instant = latest
            violations = walk.violations(instant)
            if not violations:
                return walk.at(instant).t_dt  # the instant on the call's own clock

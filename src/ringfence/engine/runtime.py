"""The meaning of each condition of the language, written once.

Both evaluators use these functions: the reference interpreter (:mod:`.interp`) calls them, and
the generated function (:mod:`.pygen`) calls them too, or copies the body in place when a
function is a single ``return`` expression (see :func:`.pygen.inline`). So an atom's semantics
lives here and nowhere else; the evaluators only differ in how they walk the logic between atoms.

Three-valued logic: an atom answers True, False or None (*unknown*: a fact it needs is missing; it
names that fact in ``missing`` with :func:`unknown`). The lowering of a syntax node to the
function and its arguments is registered beside the function with :func:`lowers`, so a new
condition is one entry in this module.
"""

from __future__ import annotations

import bisect
import datetime as dt
import functools
import math
import operator
from calendar import monthrange
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from ringfence.contract.request import Call, instant_in
from ringfence.facts.callee import (
    FactSource,
    HolidaysUnknown,
    ListSlot,
    StandardFacts,
    weekday_ordinals,
)
from ringfence.language import nodes

Tri = bool | None
FIXED_SECONDS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400, "week": 604800}


# The dates of instants already dated, per zone: the instants rules date repeat from call to
# call (a list's checked date, placed at midnight, is shared by the calls around it), and
# dating one through the zone's rules costs half a microsecond. Bounded: a zone's table starts
# afresh past _MAX_DATES: a long run dates as many distinct instants as it has calls (each
# call's own attempts), and a table of 10,000 (about 1.5 MB) still holds the ones that repeat.
# Threads may race to fill an entry; both compute the same value.
_DATES: dict[dt.tzinfo, dict[float, dt.date]] = {}
_MAX_DATES = 10_000


class Ctx:
    """Everything one judgement looks at: the call, the instant judged, the callee's facts.

    ``t`` may differ from the call's own time: ``next_allowed_at`` re-judges the same call at
    later instants with the same facts.
    """

    __slots__ = ("_cache", "_day", "call", "country", "facts", "located_by", "location_note",
                 "missing", "region", "t", "t_dt", "zones")

    def __init__(self, call: Call, t_dt: dt.datetime, zones: tuple[ZoneInfo, ...],
                 country: str | None, region: str | None, facts: FactSource,
                 located_by: str = "number_prefix", location_note: str | None = None,
                 t: float | None = None):
        self.call = call
        self.t_dt = t_dt
        # ``t``: t_dt's timestamp when the caller holds it already (next_allowed_at's walk)
        self.t: float = (t if t is not None else
                         call.at_ts if t_dt is call.at else t_dt.timestamp())
        self.zones = zones
        self.country = country
        self.region = region
        self.facts = facts
        self.missing: set[str] = set()
        # Values computed once per judgement: the judged instant on a zone's clock (by zone),
        # instants a month or year before it (by duration). One dict: one allocation per call.
        self._cache: dict[object, Any] = {}
        self._day: dt.date | None = None
        # how the callee was located, and why not as the call asked (decide says)
        self.located_by = located_by
        self.location_note = location_note

    def at(self, t_dt: dt.datetime, t: float | None = None) -> Ctx:
        """The same call and facts, judged at another instant (``t``: its timestamp, when
        known: working it out again from ``t_dt`` costs half a microsecond)."""
        return Ctx(self.call, t_dt, self.zones, self.country, self.region, self.facts,
                   t=t)

    def local(self, zone: dt.tzinfo) -> dt.datetime:
        """The judged instant on the clock of ``zone`` (kept: several windows ask)."""
        found: dt.datetime | None = self._cache.get(zone)
        if found is None:
            found = self._cache[zone] = self.t_dt.astimezone(zone)
        return found

    @property
    def home(self) -> dt.tzinfo:
        """The zone used for calendar dates: the callee's first zone, else the call's offset."""
        if self.zones:
            return self.zones[0]
        zone = self.call.at.tzinfo
        assert zone is not None  # the contract requires an offset on every instant
        return zone

    def local_date(self) -> dt.date:
        """The callee's calendar date at the judged instant (asked by many rules: kept)."""
        day = self._day
        if day is None:  # the first zone's clock, which its windows read too
            # home and local written out: this runs once for nearly every call
            zones = self.zones
            zone = zones[0] if zones else self.home
            local = self._cache.get(zone)
            if local is None:
                local = self._cache[zone] = self.t_dt.astimezone(zone)
            day = self._day = local.date()
        return day

    def date_of(self, ts: float) -> dt.date:
        """The callee's calendar date at the instant ``ts``."""
        zones = self.zones  # home written out: asked for every event a rule dates
        zone = zones[0] if zones else self.home
        dates = _DATES.get(zone)
        if dates is None:
            dates = _DATES.setdefault(zone, {})
        day = dates.get(ts)
        if day is None:
            if len(dates) >= _MAX_DATES:
                dates.clear()
            day = dates[ts] = dt.datetime.fromtimestamp(ts, zone).date()
        return day


    def holiday(self, day: dt.date, national_only: bool) -> str | bool | None:
        """The public holiday's name on ``day``, False when none, None when the callee's
        country is unknown (``to_region`` named missing) or the calendar has no data for the
        year (``holidays`` named missing)."""
        if self.country is None:
            self.missing.add("to_region")
            return None
        try:
            return self.facts.holiday(self.country, self.region, day, national_only) or False
        except HolidaysUnknown:  # a year past the calendar's data: not "no holiday"
            self.missing.add("holidays")
            return None


#: Runtime functions the generated function copies in place rather than calls: they run for
#: nearly every call. They must be plain (see :mod:`.inliner`).
HOT: set[Callable[..., Any]] = set()


def hot(fn: Callable[..., Tri]) -> Callable[..., Tri]:
    """Mark ``fn`` as copied into the generated function."""
    HOT.add(fn)
    return fn


#: Runtime functions whose answer the generated function may keep for one judgement of one
#: policy and give again where the policy asks the same again (the same function, equal
#: arguments): their answer depends only on their arguments and the judgement, and a known
#: answer (True, False) never names a missing fact. An unknown answer is asked again, so that
#: each rule needing the fact names it (the missing facts are each rule's own).
SHARED: set[Callable[..., Any]] = set()


def shared(fn: Callable[..., Tri]) -> Callable[..., Tri]:
    """Mark ``fn`` as one whose known answer the generated function keeps (:data:`SHARED`)."""
    SHARED.add(fn)
    return fn


#: Runtime functions kept as :data:`SHARED` ones are where the ages they measure count no
#: business days: a count of business days may be unknown (a year's holidays not known) where
#: another part of the atom decides, naming a fact on a known answer; calendar and fixed
#: periods are always known.
SHARED_WITHOUT_BUSINESS_DAYS: set[Callable[..., Any]] = set()


def shared_without_business_days(fn: Callable[..., Tri]) -> Callable[..., Tri]:
    """Mark ``fn`` as kept where it counts no business days
    (:data:`SHARED_WITHOUT_BUSINESS_DAYS`)."""
    SHARED_WITHOUT_BUSINESS_DAYS.add(fn)
    return fn


def shareable(applied: Apply) -> bool:
    """Whether the generated function may keep the known answer of ``applied`` for the rest of
    one judgement of one policy (:data:`SHARED`, :data:`SHARED_WITHOUT_BUSINESS_DAYS`)."""
    if applied.fn in SHARED:
        return True
    return applied.fn in SHARED_WITHOUT_BUSINESS_DAYS \
        and all(duration.kind != "business" for duration in applied.durations)


def unknown(missing: set[str], fact: str) -> Tri:
    """Name ``fact`` as missing; the atom's answer is unknown (None)."""
    missing.add(fact)
    return None


# ---- lowering: which function an atom is, and its arguments ----------------------------------


@dataclass(frozen=True, slots=True)
class Env:
    """An argument read per judgement: ``ctx``, ``call``, ``t`` (the judged instant, POSIX
    seconds) or ``missing`` (the set of missing facts)."""

    name: str


@dataclass(frozen=True, slots=True)
class Attr:
    """An argument read per judgement from the call or the context: ``call.consent``."""

    owner: str  # "call" or "ctx"
    attribute: str


@dataclass(frozen=True, slots=True)
class Const:
    """An argument fixed at load."""

    value: object


@dataclass(frozen=True, slots=True)
class ListLookup:
    """An argument fixed at load from the fact source: the named list's :class:`ListSlot`."""

    name: str


Arg = Env | Attr | Const | ListLookup
CTX, CALL, T, MISSING = Env("ctx"), Env("call"), Env("t"), Env("missing")


@dataclass(frozen=True, slots=True)
class Apply:
    """An atom lowered: ``fn(*args)``. ``durations`` are the periods it measures from an event
    (where its value may change with time); ``timed`` says whether its value can change with
    the judged instant at all."""

    fn: Callable[..., Tri]
    args: tuple[Arg, ...]
    durations: tuple[nodes.Duration, ...] = ()
    timed: bool = False


Lowering = Callable[[Any], Apply]
LOWERINGS: dict[type, Lowering] = {}
# The words for what an atom looked at (for explain and traces): node, ctx -> text.
Observer = Callable[[Any, "Ctx"], str]
OBSERVERS: dict[type, Observer] = {}


def lowers(node_type: type) -> Callable[[Lowering], Lowering]:
    """Register how a condition node becomes an :class:`Apply` of a runtime function."""
    def register(fn: Lowering) -> Lowering:
        LOWERINGS[node_type] = fn
        return fn

    return register


def observes(*node_types: type) -> Callable[[Observer], Observer]:
    """Register the words for what atoms of ``node_types`` look at. Optional: an atom without
    them is explained by its text and its answer."""
    def register(fn: Observer) -> Observer:
        for node_type in node_types:
            OBSERVERS[node_type] = fn
        return fn

    return register


# ---- the words for what an atom looked at (explain) -------------------------------------------

# Names of facts in plain words where the field's own name does not read as English.
_LABELS = {
    "from": "caller ID", "to": "number called", "to_timezone": "callee's time zone",
    "to_region": "callee's region", "line_type": "line type", "at": "time of the call",
    "country": "callee's country", "region": "callee's region",
    "relationship.last_transaction_at": "last transaction",
    "relationship.last_inquiry_at": "last inquiry",
    "relationship.contract_active": "active contract",
}  # fmt: skip
# The arrays of records a call may leave out (not known) or give empty (there are none).
_ARRAYS = {"history": "earlier attempts", "opt_outs": "opt-outs", "consent": "consent records"}
# Facts the engine establishes itself (the call does not carry them directly).
_ESTABLISHED = frozenset(("at", "country", "region"))


def label(fact: str) -> str:
    """A fact's name in plain words: ``line_type`` -> ``line type``."""
    return _LABELS.get(fact) or fact.replace("_", " ")


def lacking(fact: str) -> str:
    """A missing fact named, as explain says it: what is not known and the field that gives it."""
    if fact == "holidays":
        return ("the public-holiday calendar has no data for that year (holidays), which this "
                "rule needs")
    if fact in _ARRAYS:
        return (f"the call does not give its {_ARRAYS[fact]} ({fact}; [] says there are none), "
                "which this rule needs")
    if fact.startswith("lists."):
        name = fact.partition(".")[2]
        return (f"the {name} list is not loaded and the call does not answer it (lists and "
                f"lists_checked_at.{name}), which this rule needs")
    if fact.startswith("lists_checked_at."):
        return (f"the call does not say when the {fact.partition('.')[2]} list was last checked "
                f"({fact}), which this rule needs")
    if fact in _ESTABLISHED or fact == "to_timezone":
        return f"the {label(fact)} is not known ({fact}), which this rule needs"
    return f"the call does not say the {label(fact)} ({fact}), which this rule needs"


def plain_date(day: dt.date) -> str:
    """A date as people write it: ``11 April 2025``."""
    return f"{day.day} {day:%B %Y}"


def plain_instant(ctx: Ctx, ts: float) -> str:
    """An instant on the callee's clock, as people write it: ``30 June 2026 at 09:00
    (America/Vancouver)``."""
    local = dt.datetime.fromtimestamp(ts, ctx.home)
    zone = getattr(ctx.home, "key", None) or local.strftime("UTC%z")
    return f"{plain_date(local.date())} at {local:%H:%M} ({zone})"


def list_lookup(facts: FactSource, name: str) -> ListSlot:
    """The slot whose ``contains`` answers ``number -> is it on the loaded list NAME`` (None
    while no list NAME is loaded, or when another source does not know); a standard source's
    slot follows :meth:`StandardFacts.replace_list`."""
    if isinstance(facts, StandardFacts):
        return facts.slot(name)
    return ListSlot(contains=lambda number: facts.listed(name, number)[0])


# ---- durations and ages ---------------------------------------------------------------------


def minus(ctx: Ctx, duration: nodes.Duration) -> float:
    """The instant ``duration`` before the judged instant."""
    seconds = FIXED_SECONDS.get(duration.unit)
    if seconds is not None:
        return ctx.t - duration.amount * seconds
    key = ("minus", duration.amount, duration.unit)
    found = ctx._cache.get(key)
    if found is None:
        found = ctx._cache[key] = months_before(ctx.t_dt, ctx.t, months(duration))
    return found


def months_before(when: dt.datetime, ts: float, count: int) -> float:
    """``months_later(when, -count).timestamp()``, ``ts`` being ``when``'s POSIX seconds.

    On a fixed UTC offset (a call's own instant) the same wall clock some days earlier is
    those days' seconds earlier; counted so when ``ts`` is a whole second small enough that
    a float holds it and every instant near it exactly, it costs a third of building the
    datetime and reading its timestamp, with the same answer."""
    if type(when.tzinfo) is dt.timezone and ts % 1.0 == 0.0 and -_EXACT < ts < _EXACT:
        year, month, day = _month_moved(when, -count)
        return ts - (when.toordinal() - dt.date(year, month, day).toordinal()) * 86400
    return months_later(when, -count).timestamp()


# Below 2**31 seconds (2038) a float's step is under half a microsecond: an instant with a
# fraction of a second is never read as a whole one, and whole seconds are exact.
_EXACT = 2**31


def months(duration: nodes.Duration) -> int:
    """A period of months or years, in months."""
    return duration.amount if duration.unit == "month" else 12 * duration.amount


def months_later(when: dt.datetime, count: int) -> dt.datetime:
    """``when`` moved ``count`` months on (back when negative) on its own clock: the same time
    on the same day of the month or, past the end of the month reached, on its last day (as
    dateutil's ``relativedelta`` moves it; this costs a fifth of that)."""
    year, month, day = _month_moved(when, count)
    return when.replace(year=year, month=month, day=day)


def _month_moved(when: dt.date, count: int) -> tuple[int, int, int]:
    """The year, month and day of :func:`months_later`."""
    year, month = divmod(when.year * 12 + when.month - 1 + count, 12)
    month += 1
    day = when.day
    if day > 28:  # every month has the first 28 days: only a later one may need moving
        day = min(day, monthrange(year, month)[1])
    return year, month, day


Business = Callable[[dt.date, int, "CalendarDays | None"], dt.date | None]


def plus(when: dt.datetime, duration: nodes.Duration, business: Business) -> dt.datetime | None:
    """The instant ``duration`` after ``when`` (for calendar and business days: a local
    midnight); None when ``business`` cannot count the business days."""
    if duration.kind == "calendar":
        day = when.date() + dt.timedelta(days=duration.amount)
        return dt.datetime.combine(day, dt.time(), when.tzinfo)
    if duration.kind == "business":
        found = business(when.date(), duration.amount, excluded(duration))
        return None if found is None else dt.datetime.combine(found, dt.time(), when.tzinfo)
    seconds = FIXED_SECONDS.get(duration.unit)
    if seconds is not None:
        return when + dt.timedelta(seconds=duration.amount * seconds)
    return months_later(when, months(duration))


def business_days_between(ctx: Ctx, start: dt.date, end: dt.date,
                          calendar: CalendarDays | None = None) -> int | None:
    """Business days d with start < d <= end: Monday to Friday, not a public holiday of the
    callee (``calendar`` given: not one of its days instead); None when a year's holidays (on
    one of its weekdays in the range) are not known, the fact named missing as ``holiday``
    names it.

    Counted as the range's weekdays less the holidays among them, found by bisection in each
    year's ordered weekday holidays (even over a day or two: a holiday asked of the fact source
    day by day costs more than the bisection); by :func:`business_days_by_day` when the fact
    source gives only a day at a time (one that is not the standard source)."""
    if calendar is None and not isinstance(ctx.facts, StandardFacts):
        return business_days_by_day(ctx, start, end, calendar)
    first, last = start.toordinal() + 1, end.toordinal()
    count = _weekdays(first, last)
    if count <= 0:
        return 0
    year = start.year
    if year == end.year:  # the range lies in one year (the common case): no bounds to find
        closed = calendar.weekdays(year) if calendar is not None else _public_weekdays(ctx, year)
        if closed is None:
            return None
        return count - (bisect.bisect_right(closed, last) - bisect.bisect_left(closed, first))
    for year in range(start.year, end.year + 1):
        lo = max(first, dt.date(year, 1, 1).toordinal())
        hi = min(last, dt.date(year, 12, 31).toordinal())
        if _weekdays(lo, hi) <= 0:  # no day of this year is asked about
            continue
        closed = calendar.weekdays(year) if calendar is not None else _public_weekdays(ctx, year)
        if closed is None:
            return None
        count -= bisect.bisect_right(closed, hi) - bisect.bisect_left(closed, lo)
    return count


def _public_weekdays(ctx: Ctx, year: int) -> tuple[int, ...] | None:
    """The callee's public holidays of ``year`` that fall on a weekday (ordinals, in order),
    from the standard fact source; None, the fact named missing, as :meth:`Ctx.holiday`."""
    facts = ctx.facts
    assert isinstance(facts, StandardFacts)
    if ctx.country is None:
        ctx.missing.add("to_region")
        return None
    try:
        return facts.holiday_weekdays(ctx.country, ctx.region, year)
    except HolidaysUnknown:  # a year past the calendar's data: not "no holiday"
        ctx.missing.add("holidays")
        return None


def _weekdays(first: int, last: int) -> int:
    """How many of the days with ordinals ``first`` to ``last`` fall Monday to Friday (the
    day of ordinal 1 was a Monday: of the first n days, five in each whole week, and up to
    five of the rest)."""
    if last < first:
        return 0
    first -= 1
    return last // 7 * 5 + min(last % 7, 5) - first // 7 * 5 - min(first % 7, 5)


def business_days_by_day(ctx: Ctx, start: dt.date, end: dt.date,
                         calendar: CalendarDays | None = None) -> int | None:
    """:func:`business_days_between` day by day: the reference it is held to."""
    count = 0
    day = start + dt.timedelta(days=1)
    while day <= end:
        if day.weekday() < 5:
            found = ctx.holiday(day, False) if calendar is None else calendar.on(day) is not None
            if found is None:
                return None
            count += not found
        day += dt.timedelta(days=1)
    return count


def excluded(duration: nodes.Duration) -> CalendarDays | None:
    """The holiday calendar ``N business days excluding NAME`` counts around, if any."""
    return None if duration.definition is None else calendar_days(duration.definition)


def _business_day_diff(ctx: Ctx, duration: nodes.Duration, event: float) -> int | None:
    """Business days between the event's local date and the judged instant's (-1 when the
    event's date is the later)."""
    start, end = ctx.date_of(event), ctx._day or ctx.local_date()
    if start > end:
        return -1
    # Several rules measure the same event in business days (an opt-out: honoured after 10,
    # pending before 10); a count is a day-by-day walk, so it is kept for the judgement. Only a
    # count is kept: an unknown one named its missing fact, which the next rule must name too.
    calendar = excluded(duration)
    key = ("business", start, end, calendar)
    found: int | None = ctx._cache.get(key)
    if found is None:
        found = business_days_between(ctx, start, end, calendar)
        if found is not None:
            ctx._cache[key] = found
    return found


# The two ages "between D1 and D2 ago" is made of, by the age's id (with the age itself, which
# keeps the id from being reused): building them on each judgement cost a microsecond.
_BETWEEN: dict[int, tuple[nodes.Age, nodes.Age, nodes.Age]] = {}
_LONG_AGO = -math.inf  # the instant an unknown date is read as


def _between_parts(age: nodes.Age) -> tuple[nodes.Age, nodes.Age]:
    """"between D1 and D2 ago" as "at least D1 ago" and "within D2"."""
    kept = _BETWEEN.get(id(age))
    if kept is None or kept[0] is not age:  # racing threads make equal parts; either may stay
        assert age.second is not None
        kept = _BETWEEN[id(age)] = (age, nodes.Age("at_least_ago", age.first, None, age.span),
                                    nodes.Age("within", age.second, None, age.span))
    return kept[1], kept[2]


# Two UTC offsets differ by less than two days, and flooring each side to its date moves the
# difference by less than one more: the local dates of two instants are less than this many days
# from their distance in days, on any clock.
_DATE_SLACK = 3
_DAY_SECONDS = FIXED_SECONDS["day"]


def _calendar_days(ctx: Ctx, event: float, n: int) -> int:
    """The days between the event's local date and the judged instant's, or where they lie
    further than ``_DATE_SLACK`` days from ``n`` on either side, ``n - 1`` or ``n + 1``: every
    test of an age (``< n``, ``> n``, ``>= n``) answers those as it answers the true count.
    Most events are weeks from the boundary: dating two instants in the callee's zone (the
    judged instant's the first time, about half a microsecond) is needed only near it."""
    gap = ctx.t - event
    if gap <= (n - _DATE_SLACK) * _DAY_SECONDS:
        return n - 1
    if gap >= (n + _DATE_SLACK) * _DAY_SECONDS:
        return n + 1
    return ((ctx._day or ctx.local_date()) - ctx.date_of(event)).days


def age_holds(ctx: Ctx, age: nodes.Age, event: float) -> Tri:
    """Does the event at ``event`` lie in the period ``age`` before the judged instant?"""
    kind, first = age.kind, age.first
    if kind == "between_ago" and age.second is not None:
        # "between D1 and D2 ago" = at least D1 ago and within D2; the two may differ in kind
        # ("between 10 business days and 5 years ago").
        at_least, within = _between_parts(age)
        old_enough = age_holds(ctx, at_least, event)
        if old_enough is False:
            return False
        recent_enough = age_holds(ctx, within, event)
        if recent_enough is False:
            return False
        return None if old_enough is None or recent_enough is None else True
    if event == _LONG_AGO:  # an unknown date, read as long ago (the safe reading)
        return kind in ("more_than_ago", "at_least_ago")
    days = first.kind
    if days != "plain":
        if event > ctx.t:
            return False
        if days == "calendar":  # the days between the two local dates (the common case)
            diff = _calendar_days(ctx, event, first.amount)
        else:
            business = _business_day_diff(ctx, first, event)
            if business is None:
                return None
            diff = business
        n = first.amount
        if kind == "within":
            # Calendar days count the event's date as day one; business days start after it.
            return diff < n if days == "calendar" else diff <= n
        if kind == "more_than_ago":
            return diff > n
        if kind == "at_least_ago":
            return diff >= n
        return diff < n  # less_than_ago
    if kind == "within":
        return minus(ctx, first) <= event <= ctx.t
    if kind == "more_than_ago":
        return event < minus(ctx, first)
    if kind == "at_least_ago":
        return event <= minus(ctx, first)
    return minus(ctx, first) < event <= ctx.t  # less_than_ago


def age_durations(age: nodes.Age | None) -> tuple[nodes.Duration, ...]:
    """The periods an age measures."""
    if age is None:
        return ()
    return (age.first,) if age.second is None else (age.first, age.second)


# ---- fields ---------------------------------------------------------------------------------


def field_arg(field: nodes.FieldRef) -> Attr:
    """Where a field a condition names is read (the contract's table says)."""
    from ringfence.contract.fields import FIELDS

    spec = FIELDS[field.name]
    return Attr("call" if spec.owner == "call" else "ctx", spec.attribute)


def field_value(ctx: Ctx, field: nodes.FieldRef) -> object:
    """A field's value at ``ctx``, read where :func:`field_arg` says."""
    arg = field_arg(field)
    return getattr(ctx.call if arg.owner == "call" else ctx, arg.attribute)


def literal(value: nodes.Value) -> object:
    """A condition's value as the call carries it (``true``/``false`` are booleans)."""
    if value.raw in ("true", "false") and value.kind == "word":
        return value.raw == "true"
    return value.raw


@hot
def is_in(value: object, wanted: frozenset[object], negated: bool, missing: set[str],
          name: str) -> Tri:
    """``FIELD is V`` / ``is one of``, negated for ``is not``: unknown when the field is not
    given."""
    if value is None:
        return unknown(missing, name)
    return value not in wanted if negated else value in wanted


@lowers(nodes.Is)
def _lower_is(node: nodes.Is) -> Apply:
    wanted = frozenset(literal(v) for v in node.values)
    return Apply(is_in, (field_arg(node.field), Const(wanted), Const(node.negated), MISSING,
                         Const(node.field.name)), timed=node.field.name == "at")


@observes(nodes.Is, nodes.Presence)
def _observe_field(node: nodes.Is | nodes.Presence, ctx: Ctx) -> str:
    name = node.field.name
    value = field_value(ctx, node.field)
    if value is None:
        return lacking(name) if isinstance(node, nodes.Is) else f"the call gives no {label(name)}"
    if isinstance(value, bool):
        return f"{label(name)}: {'yes' if value else 'no'}"
    return f"the {label(name)} is {value}"

@hot
def is_present(value: object, present: bool) -> bool:
    """``FIELD is present`` / ``is missing``."""
    return (value is not None) is present


@lowers(nodes.Presence)
def _lower_presence(node: nodes.Presence) -> Apply:
    return Apply(is_present, (field_arg(node.field), Const(node.present)),
                 timed=node.field.name == "at")


OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    ">=": operator.ge, ">": operator.gt, "<=": operator.le, "<": operator.lt, "=": operator.eq,
    "!=": operator.ne}


def compare_date(ctx: Ctx, value: float | None, op: Callable[[Any, Any], bool],
                 limit: dt.date, missing: set[str], name: str) -> Tri:
    """``FIELD < DATE``: the instant's date in the callee's zone, compared."""
    return unknown(missing, name) if value is None else op(ctx.date_of(value), limit)


@lowers(nodes.Compare)
def _lower_compare(node: nodes.Compare) -> Apply:
    return Apply(compare_date, (CTX, field_arg(node.field), Const(OPERATORS[node.op]),
                                Const(dt.date.fromisoformat(node.value.raw)), MISSING,
                                Const(node.field.name)), timed=node.field.name == "at")


@observes(nodes.Compare)
def _observe_compare(node: nodes.Compare, ctx: Ctx) -> str:
    value = field_value(ctx, node.field)
    if value is None:
        return lacking(node.field.name)
    return f"the {label(node.field.name)} is on {plain_date(ctx.date_of(value))}"  # type: ignore[arg-type]

def field_age(ctx: Ctx, value: float | None, age: nodes.Age, missing: set[str], name: str
              ) -> Tri:
    """``FIELD within 18 months`` and the other ages of an instant field: unknown when the
    call does not give the instant (as ``FIELD < DATE`` is)."""
    return unknown(missing, name) if value is None else age_holds(ctx, age, value)


@lowers(nodes.FieldAge)
def _lower_field_age(node: nodes.FieldAge) -> Apply:
    return Apply(field_age, (CTX, field_arg(node.field), Const(node.age), MISSING,
                             Const(node.field.name)), age_durations(node.age), timed=True)


@observes(nodes.FieldAge)
def _observe_field_age(node: nodes.FieldAge, ctx: Ctx) -> str:
    value = field_value(ctx, node.field)
    if value is None:
        return lacking(node.field.name)
    return f"the {label(node.field.name)} was on {plain_instant(ctx, value)}"  # type: ignore[arg-type]

# ---- lists ----------------------------------------------------------------------------------


@hot
@shared
def on_list(lists: Any, checked: Any, name: str, slot: ListSlot, number: str,
            missing: set[str], fact: str) -> Tri:
    """``callee on list NAME``: named in the call's ``lists``, else on the loaded list. A list
    that is not loaded is answered by the call when it gives ``lists`` (``[]``: on none) and
    says when it checked the number against that list (``lists_checked_at.NAME``); otherwise
    whether the number is on it is not known (``fact``, ``lists.NAME``, named missing)."""
    if lists is not None and name in lists:
        return True
    found = slot.contains(number)
    if found is None:
        if lists is not None and name in checked:
            return False
        return unknown(missing, fact)
    return found


def listing(ctx: Ctx, name: str, missing: set[str]) -> tuple[Tri, float | None]:
    """Whether the callee is on list ``name`` and since when (None: an unknown date); whether
    is None when neither a loaded list nor the call answers (``lists.NAME`` named missing, as
    :func:`on_list` does)."""
    call = ctx.call
    lists = call.lists
    if lists is not None and name in lists:
        return True, instant_in(lists[name], ctx.home)
    found, when = ctx.facts.listed(name, call.to)
    if found is None:
        answered = lists is not None and name in call.lists_checked_at
        return (False if answered else unknown(missing, f"lists.{name}")), None
    if isinstance(when, dt.date):
        # A bare listing date starts at midnight in the callee's zone, as in the call's field.
        when = dt.datetime.combine(when, dt.time(), ctx.home).timestamp()
    return found, when


def on_list_aged(ctx: Ctx, name: str, age: nodes.Age, missing: set[str]) -> Tri:
    """``callee on list NAME listed AGE``; an unknown listing date counts as listed long ago
    (the safe reading)."""
    found, listed_at = listing(ctx, name, missing)
    if not found:
        return found
    return age_holds(ctx, age, listed_at if listed_at is not None else -math.inf)


@lowers(nodes.OnList)
def _lower_on_list(node: nodes.OnList) -> Apply:
    if node.listed is None:
        return Apply(on_list, (Attr("call", "lists"), Attr("call", "lists_checked_at"),
                               Const(node.name), ListLookup(node.name), Attr("call", "to"),
                               MISSING, Const(f"lists.{node.name}")))
    return Apply(on_list_aged, (CTX, Const(node.name), Const(node.listed), MISSING),
                 age_durations(node.listed), timed=True)


def _listed(ctx: Ctx, name: str) -> str:
    found, listed_at = listing(ctx, name, set())
    if found is None:
        return f"whether the number is on the {name} list is not known"
    if not found:
        return f"the number is not on the {name} list"
    since = ("at a date not given (read as long ago)" if listed_at is None
             else f"on {plain_instant(ctx, listed_at)}")
    return f"the number is on the {name} list, listed {since}"


@observes(nodes.OnList)
def _observe_on_list(node: nodes.OnList, ctx: Ctx) -> str:
    return _listed(ctx, node.name)

def checked_at(ctx: Ctx, name: str) -> float | None:
    """When the caller last checked the number against list ``name`` (POSIX seconds; a bare
    date is midnight in the callee's zone), None when the call does not say. Placed here, as
    read: the evaluator leaves the call's bare dates as given (see Evaluator.gather)."""
    checked = ctx.call.lists_checked_at.get(name)
    if checked is None or isinstance(checked, float):
        # not given, given as an instant, or placed as read (Call.in_zone, as decide reads the
        # call): instant_in leaves it as it is, so the callee's zone is not looked up for it
        return checked
    return instant_in(checked, ctx.home)


@shared
def on_list_at_wash(ctx: Ctx, name: str, missing: set[str]) -> Tri:
    """``callee on list NAME as of last wash``: listed no later than the caller's last copy of
    the list (``lists_checked_at.NAME``). An unknown listing date counts as listed long ago
    (the safe reading); a caller who never washed cannot say what its copy held."""
    found, listed_at = listing(ctx, name, missing)
    if not found:
        return found
    checked = checked_at(ctx, name)
    if checked is None:
        return unknown(missing, f"lists_checked_at.{name}")
    return listed_at is None or listed_at <= checked


@lowers(nodes.OnListAtWash)
def _lower_on_list_at_wash(node: nodes.OnListAtWash) -> Apply:
    return Apply(on_list_at_wash, (CTX, Const(node.name), MISSING))


def _checked(ctx: Ctx, name: str) -> str:
    checked = checked_at(ctx, name)
    if checked is None:
        return lacking(f"lists_checked_at.{name}")
    return f"the {name} list was last checked on {plain_instant(ctx, checked)}"


@observes(nodes.OnListAtWash)
def _observe_on_list_at_wash(node: nodes.OnListAtWash, ctx: Ctx) -> str:
    listed = _listed(ctx, node.name)
    if not listing(ctx, node.name, set())[0]:  # not on it (or not known): the wash is no matter
        return listed
    return f"{listed}; {_checked(ctx, node.name)}"


@hot
def list_checked(ctx: Ctx, name: str, age: nodes.Age, missing: set[str]) -> Tri:
    """``list NAME checked AGE``: the caller's last copy of the list, by the call's
    ``lists_checked_at``."""
    checked = checked_at(ctx, name)
    if checked is None:
        return unknown(missing, f"lists_checked_at.{name}")
    return age_holds(ctx, age, checked)


@lowers(nodes.ListChecked)
def _lower_list_checked(node: nodes.ListChecked) -> Apply:
    return Apply(list_checked, (CTX, Const(node.name), Const(node.age), MISSING),
                 age_durations(node.age), timed=True)


@observes(nodes.ListChecked)
def _observe_list_checked(node: nodes.ListChecked, ctx: Ctx) -> str:
    return _checked(ctx, node.name)

# ---- consent and opt-outs -------------------------------------------------------------------


def consent_kinds(kind: str | None) -> frozenset[str] | None:
    """The record types that satisfy a consent of ``kind`` (None: any type). Written consent is
    also express consent."""
    if kind is None:
        return None
    if kind == "express":
        return frozenset(("express", "express_written"))
    return frozenset((kind,))


def _purpose_arg(purpose: str | None) -> Arg:
    """A purpose the policy names, or the call's own (``this purpose``)."""
    return Attr("call", "purpose") if purpose is None else Const(purpose)


@hot
@shared
def has_consent(records: Any, t: float, kinds: frozenset[str] | None, purpose: str | None,
                missing: set[str], seller: str | None, to: str) -> Tri:
    """``consent [TYPE] for PURPOSE``: a record of the type, for the purpose, given before the
    judged instant, neither expired nor revoked by then, and within its scope: a record given to
    a seller counts only on that seller's calls, one for a number only on calls to that number.
    Unknown when the call gives no purpose or no ``consent`` (left out is not known; ``[]`` is
    none), or when the only records that could count are scoped to a seller and the call names
    none (the missing fact ``seller``)."""
    if purpose is None:
        return unknown(missing, "purpose")
    if records is None:
        return unknown(missing, "consent")
    undetermined = False
    for record in records:
        if ((kinds is None or record[0] in kinds) and purpose in record[1] and record[2] <= t
                and (record[3] is None or t < record[3]) and (record[4] is None or t < record[4])):
            # The scope is read only for a record that otherwise counts: unscoped records
            # (the common case) cost two comparisons with None.
            if record[6] is not None and record[6] != to:
                continue
            if record[5] is None or record[5] == seller:
                return True
            undetermined = undetermined or seller is None
    return unknown(missing, "seller") if undetermined else False


@lowers(nodes.Consent)
def _lower_consent(node: nodes.Consent) -> Apply:
    # Consent is given, expires and is revoked at instants of its own: it depends on time.
    return Apply(has_consent, (Attr("call", "consent"), T, Const(consent_kinds(node.kind)),
                               _purpose_arg(node.purpose), MISSING, Attr("call", "seller"),
                               Attr("call", "to")), timed=True)


@observes(nodes.Consent)
def _observe_consent(node: nodes.Consent, ctx: Ctx) -> str:
    if ctx.call.consent is None:
        return lacking("consent")
    records = [f"{r.type.replace('_', ' ')} consent for {', '.join(sorted(r.purposes))} given on "
               f"{plain_instant(ctx, r.at)}"
               + (f", expiring on {plain_instant(ctx, r.expires_at)}" if r.expires_at else "")
               + (f", revoked on {plain_instant(ctx, r.revoked_at)}" if r.revoked_at else "")
               + (f", to seller {r.seller}" if r.seller else "")
               + (f", for number {r.number}" if r.number else "")
               for r in ctx.call.consent]
    seen = "; ".join(records) if records else "the call records no consent"
    if node.purpose is None and ctx.call.purpose is None:
        return f"{lacking('purpose')}; {seen}"
    return seen

@hot
@shared_without_business_days
def opted_out(ctx: Ctx, any_purpose: bool, purpose: str | None, age: nodes.Age | None,
              missing: set[str]) -> Tri:
    """``opted out [for PURPOSE] [AGE]``: an opt-out before the judged instant that covers the
    purpose (an opt-out without purposes covers all)."""
    if not any_purpose and purpose is None:
        return unknown(missing, "purpose")
    opt_outs = ctx.call.opt_outs
    if opt_outs is None:
        return unknown(missing, "opt_outs")
    t = ctx.t
    undetermined = False
    for opt in opt_outs:
        if opt.at > t:
            continue
        if not any_purpose and opt.purposes is not None and purpose not in opt.purposes:
            continue
        if age is None:
            return True
        hit = age_holds(ctx, age, opt.at)
        if hit:
            return True
        undetermined = undetermined or hit is None
    return None if undetermined else False


@lowers(nodes.OptedOut)
def _lower_opted_out(node: nodes.OptedOut) -> Apply:
    purpose = Const(None) if node.any_purpose else _purpose_arg(node.purpose)
    return Apply(opted_out, (CTX, Const(node.any_purpose), purpose, Const(node.age), MISSING),
                 age_durations(node.age), timed=node.age is not None)


@observes(nodes.OptedOut)
def _observe_opted_out(node: nodes.OptedOut, ctx: Ctx) -> str:
    if ctx.call.opt_outs is None:
        return lacking("opt_outs")
    outs = [f"opted out on {plain_instant(ctx, o.at)} ("
            f"{'all purposes' if o.purposes is None else ', '.join(sorted(o.purposes))})"
            for o in ctx.call.opt_outs]
    seen = "; ".join(outs) if outs else "the call records no opt-out"
    if not node.any_purpose and node.purpose is None and ctx.call.purpose is None:
        return f"{lacking('purpose')}; {seen}"
    return seen

# ---- the call history -----------------------------------------------------------------------

# Prior attempts are read from the call's items as given (``history_items``, beside their
# instants ``history_at``), not from :attr:`Call.history`: building the attempts as records
# costs more than the conditions reading them. An attempt's field is its item's key.
_EVENT_OUTCOME = {"conversation": "conversation", "refusal": "refused"}
# Events the call gives as one instant of its own, by the field that holds it.
_EVENT_FIELDS = {"purchase": "last_transaction_at", "inquiry": "last_inquiry_at"}


@dataclass(frozen=True, slots=True)
class HistoryFilter:
    """``with same subject``, ``with outcome …``: which prior attempts count."""

    same: tuple[str, ...]
    outcomes: frozenset[str] | None

    @classmethod
    def of(cls, filters: tuple[nodes.Filter, ...]) -> HistoryFilter:
        """The filter of a condition's ``with`` clauses (several outcome lists intersect)."""
        outcomes: frozenset[str] | None = None
        for f in filters:
            if isinstance(f, nodes.Outcome):
                values = frozenset(v.raw for v in f.values)
                outcomes = values if outcomes is None else outcomes & values
        return cls(tuple(f.what for f in filters if isinstance(f, nodes.Same)), outcomes)

    def predicate(self, ctx: Ctx, loose: bool = False) -> Callable[[Any], bool] | None:
        """``attempt's item -> does it count``; None when a ``same`` fact is missing (named
        in ``ctx.missing``). ``loose`` drops the missing ``same`` facts instead: it then counts
        every attempt that could match, an upper bound that can still settle a comparison."""
        wanted = {}
        for what in self.same:
            value = getattr(ctx.call, what)
            if value is None:
                if not loose:
                    ctx.missing.add(what)
                    return None
                continue
            wanted[what] = value
        outcomes = self.outcomes
        if not wanted:
            return _every if outcomes is None else lambda a: a.get("outcome") in outcomes
        if len(wanted) == 1:
            ((key, value),) = wanted.items()
            if outcomes is None:
                return lambda a: a.get(key) == value
            return lambda a: a.get("outcome") in outcomes and a.get(key) == value
        keys, values = tuple(wanted), tuple(wanted.values())
        if outcomes is None:
            return lambda a: tuple(map(a.get, keys)) == values
        return lambda a: a.get("outcome") in outcomes and tuple(map(a.get, keys)) == values


def _every(attempt: Any) -> bool:
    """The predicate of no filter: every attempt counts."""
    return True


def event_instants(ctx: Ctx, event: str, filters: HistoryFilter) -> Iterable[float] | None:
    """The instants of an event kind; None when the call leaves out the array that holds them
    (``opt_outs``, ``history``) or a filter's fact (named in ``ctx.missing``)."""
    call = ctx.call
    field = _EVENT_FIELDS.get(event)
    if field is not None:
        at = getattr(call, field)
        return () if at is None else (at,)
    if event == "opt_out":
        if call.opt_outs is None:
            ctx.missing.add("opt_outs")
            return None
        return [o.at for o in call.opt_outs]
    history_at, items = call.history_at, call.history_items
    if history_at is None or items is None:
        ctx.missing.add("history")
        return None
    keep = filters.predicate(ctx)
    if keep is None:
        return None
    outcome = _EVENT_OUTCOME.get(event)
    if outcome is None:
        if keep is _every:
            return history_at
        return [at for at, item in zip(history_at, items, strict=True) if keep(item)]
    if keep is _every:  # no filter: a call per attempt spared
        return [at for at, item in zip(history_at, items, strict=True)
                if item.get("outcome") == outcome]
    return [at for at, item in zip(history_at, items, strict=True)
            if item.get("outcome") == outcome and keep(item)]


def latest_event(ctx: Ctx, event: str, filters: HistoryFilter) -> tuple[bool, float | None]:
    """(known, the latest instant of the event at or before the judged instant)."""
    found = event_instants(ctx, event, filters)
    if found is None:
        return False, None
    t = ctx.t
    latest = None
    for at in found:
        if at <= t and (latest is None or at > latest):
            latest = at
    return True, latest


@hot
def last_event(ctx: Ctx, event: str, filters: HistoryFilter, age: nodes.Age | None) -> Tri:
    """``last EVENT [FILTER…] AGE`` and ``any EVENT [FILTER…]`` (no age: ever before)."""
    known, latest = latest_event(ctx, event, filters)
    if not known:
        return None
    if latest is None:
        return False
    return True if age is None else age_holds(ctx, age, latest)


@hot
@shared_without_business_days
def event_age(ctx: Ctx, at: float | None, t: float, age: nodes.Age | None) -> Tri:
    """:func:`last_event` for an event the call gives as one instant (``last purchase AGE``,
    ``last inquiry AGE``): none, or one after the judged instant, is no event before it."""
    if at is None or at > t:
        return False
    return True if age is None else age_holds(ctx, age, at)


@lowers(nodes.LastEvent)
def _lower_last_event(node: nodes.LastEvent) -> Apply:
    durations, timed = age_durations(node.age), node.age is not None
    field = _EVENT_FIELDS.get(node.event)
    if field is not None:  # read where the call gives it (filters are of attempts)
        return Apply(event_age, (CTX, Attr("call", field), T, Const(node.age)), durations,
                     timed=timed)
    return Apply(last_event, (CTX, Const(node.event), Const(HistoryFilter.of(node.filters)),
                              Const(node.age)), durations, timed=timed)


def _filter_words(filters: HistoryFilter) -> str:
    """``with same subject``, ``with outcome …`` in words: `` (same subject; outcome busy)``."""
    parts = [f"same {what}" for what in filters.same]
    if filters.outcomes is not None:
        parts.append("outcome " + " or ".join(sorted(filters.outcomes)))
    return f" ({'; '.join(parts)})" if parts else ""


def _missing_filter(ctx: Ctx, filters: HistoryFilter) -> str:
    return "; ".join(lacking(what) for what in filters.same if getattr(ctx.call, what) is None)


@observes(nodes.LastEvent)
def _observe_last_event(node: nodes.LastEvent, ctx: Ctx) -> str:
    filters = HistoryFilter.of(node.filters)
    known, latest = latest_event(ctx, node.event, filters)
    event = node.event.replace("_", "-") + _filter_words(filters)
    if not known:  # the array is not given, or a fact a filter needs
        array = "opt_outs" if node.event == "opt_out" else "history"
        if getattr(ctx.call, array) is None:
            return lacking(array)
        return _missing_filter(ctx, filters)
    if latest is None:
        return f"no {event} before the call"
    return f"the last {event} was on {plain_instant(ctx, latest)}"

@dataclass(frozen=True, slots=True)
class Count:
    """``count of attempts [FILTER…] in last DURATION OP N``, prepared once."""

    filters: HistoryFilter
    window: nodes.Age  # "within DURATION"
    seconds: int | None  # the window's fixed length, when it has one
    days: int | None  # the window's calendar days, when it is counted in them
    op: Callable[[Any, Any], bool]
    exact: bool  # the operator is = or !=, which a bound cannot settle
    number: int


def count_matching(ctx: Ctx, spec: Count, keep: Callable[[Any], bool] | None) -> int | None:
    """How many prior attempts in the window ``keep`` accepts (None when ``keep`` is None or
    the call gives no ``history``)."""
    if keep is None:
        return None
    call = ctx.call
    instants: Sequence[float] | None = call.history_at
    items = call.history_items
    if instants is None or items is None:
        return None
    if keep is not _every:  # without a filter the instants are enough
        instants = [at for at, item in zip(instants, items, strict=True) if keep(item)]
    t = ctx.t
    total = 0
    if spec.seconds is not None:
        # A sliding window of fixed length: one subtraction, then plain comparisons.
        start = t - spec.seconds
        for at in instants:
            if start <= at < t:
                total += 1
        return total
    if spec.days is not None:
        # "within N calendar days" (age_holds on each attempt, written out): the attempt's
        # local date less than N days before the judged instant's.
        days, today, date_of = spec.days, ctx._day or ctx.local_date(), ctx.date_of
        for at in instants:
            if at < t and (today - date_of(at)).days < days:
                total += 1
        return total
    for at in instants:
        if at < t:
            hit = age_holds(ctx, spec.window, at)
            if hit is None:
                return None
            total += hit
    return total


def count_attempts(ctx: Ctx, spec: Count) -> Tri:
    """``count of attempts … OP N``; unknown when the call gives no ``history``."""
    if ctx.call.history_at is None:
        return unknown(ctx.missing, "history")
    found = count_matching(ctx, spec, spec.filters.predicate(ctx))
    if found is not None:
        return spec.op(found, spec.number)
    # A fact a filter needs is missing: the count lies between 0 and the count without that
    # filter. When both ends give the same answer, the missing fact does not matter.
    upper = count_matching(ctx, spec, spec.filters.predicate(ctx, loose=True))
    if upper is not None and not spec.exact \
            and spec.op(0, spec.number) == spec.op(upper, spec.number):
        return spec.op(upper, spec.number)
    return None


@hot
@shared
def count_recent(history_at: tuple[float, ...] | None, t: float, seconds: int,
                 op: Callable[[Any, Any], bool], number: int, missing: set[str]) -> Tri:
    """``count of attempts in last N hours OP N`` without filters: a sliding window of fixed
    length over the attempts' instants alone (the common frequency cap); unknown when the call
    gives no ``history``."""
    if history_at is None:
        return unknown(missing, "history")
    start = t - seconds
    total = 0
    for ts in history_at:
        if start <= ts < t:
            total += 1
    return op(total, number)


@hot
def count_recent_same(ctx: Ctx, call: Call, t: float, spec: Count, field: str, value: object,
                      seconds: int, op: Callable[[Any, Any], bool], number: int) -> Tri:
    """:func:`count_attempts` for one ``with same FIELD`` filter over a window of fixed length
    (``seconds``, ``op`` and ``number`` are the spec's own): an attempt's own field is read from
    the request only when its instant is in the window."""
    history_at, items = call.history_at, call.history_items
    if value is None or history_at is None or items is None:
        return count_attempts(ctx, spec)
    start = t - seconds
    total = 0
    for ts, item in zip(history_at, items, strict=True):
        if start <= ts < t and item.get(field) == value:
            total += 1
    return op(total, number)


def count_spec(node: nodes.CountAttempts) -> Count:
    """A count condition, prepared."""
    window = node.window
    seconds = FIXED_SECONDS.get(window.unit) if window.kind == "plain" else None
    return Count(HistoryFilter.of(node.filters), nodes.Age("within", window, None, node.span),
                 None if seconds is None else window.amount * seconds,
                 window.amount if window.kind == "calendar" else None, OPERATORS[node.op],
                 node.op in ("=", "!="), node.number)


@lowers(nodes.CountAttempts)
def _lower_count(node: nodes.CountAttempts) -> Apply:
    spec = count_spec(node)
    durations = (node.window,)
    if spec.seconds is not None and not node.filters:
        return Apply(count_recent, (Attr("call", "history_at"), T, Const(spec.seconds),
                                    Const(spec.op), Const(node.number), MISSING), durations,
                     timed=True)
    if spec.seconds is not None and spec.filters.outcomes is None and len(spec.filters.same) == 1:
        (field,) = spec.filters.same
        return Apply(count_recent_same, (CTX, CALL, T, Const(spec), Const(field), Attr("call", field),
                                         Const(spec.seconds), Const(spec.op), Const(spec.number)),
                     durations, timed=True)
    return Apply(count_attempts, (CTX, Const(spec)), durations, timed=True)


# What a count is compared with, in words: ">= 3" -> "3 or more".
_THRESHOLDS = {">=": "{} or more", ">": "more than {}", "<=": "{} or fewer", "<": "fewer than {}",
               "=": "exactly {}", "!=": "other than {}"}  # fmt: skip


@observes(nodes.CountAttempts)
def _observe_count(node: nodes.CountAttempts, ctx: Ctx) -> str:
    if ctx.call.history_at is None:
        return lacking("history")
    spec = count_spec(node)
    found = count_matching(ctx, spec, spec.filters.predicate(ctx))
    if found is None:
        return _missing_filter(ctx, spec.filters)
    attempts = "attempt" if found == 1 else "attempts"
    return (f"{found} earlier {attempts} to this number in the last {node.window}"
            f"{_filter_words(spec.filters)}; this rule looks for "
            f"{_THRESHOLDS[node.op].format(node.number)}")

# ---- calling windows ------------------------------------------------------------------------

Interval = tuple[dt.time, dt.time | None, bool]  # start, end (None: end of day), end inclusive


class CalendarDays:
    """The days a policy's holiday calendar closes, worked out per year on first use (a
    judgement asks for one day; the calendar's rules give whole years)."""

    __slots__ = ("_weekdays", "_years", "calendar")

    def __init__(self, calendar: nodes.HolidayCalendar):
        self.calendar = calendar
        self._years: dict[int, dict[dt.date, str]] = {}
        self._weekdays: dict[int, tuple[int, ...]] = {}

    @property
    def name(self) -> str:
        return self.calendar.name

    def on(self, day: dt.date) -> str | None:
        """The holiday's name on ``day`` (``… (observed)`` for a moved one), or None."""
        year = self._years.get(day.year)
        if year is None:
            year = self._years[day.year] = dict(self.calendar.closures(day.year))
        return year.get(day)

    def weekdays(self, year: int) -> tuple[int, ...]:
        """The ordinals of the days of ``year`` from Monday to Friday it closes, in order."""
        found = self._weekdays.get(year)
        if found is None:
            self.on(dt.date(year, 1, 1))  # works the year out
            found = self._weekdays[year] = weekday_ordinals(
                day for day, name in self._years[year].items()
                if day.year == year and name is not None)
        return found


# id(calendar) -> (the calendar, its days): looked up by identity, so a judgement never hashes
# the calendar's syntax tree; the calendar is kept so that its id is never reused.
_CALENDAR_DAYS: dict[int, tuple[nodes.HolidayCalendar, CalendarDays]] = {}


def calendar_days(calendar: nodes.HolidayCalendar) -> CalendarDays:
    """One :class:`CalendarDays` per calendar, shared by every rule and judgement that names it."""
    found = _CALENDAR_DAYS.get(id(calendar))
    if found is None or found[0] is not calendar:
        found = _CALENDAR_DAYS[id(calendar)] = (calendar, CalendarDays(calendar))
    return found[1]


def holiday_today(ctx: Ctx, days: CalendarDays, missing: set[str]) -> Tri:
    """``today is a holiday in NAME``: the callee's date, in any zone it may be in, is a day
    the calendar closes (unknown without the callee's zones)."""
    if not ctx.zones:
        return unknown(missing, "to_timezone")
    return any(days.on(ctx.local(zone).date()) is not None for zone in ctx.zones)


@lowers(nodes.HolidayToday)
def _lower_holiday_today(node: nodes.HolidayToday) -> Apply:
    assert node.definition is not None  # the checker reports a name no calendar has
    return Apply(holiday_today, (CTX, Const(calendar_days(node.definition)), MISSING),
                 timed=True)


@observes(nodes.HolidayToday)
def _observe_holiday_today(node: nodes.HolidayToday, ctx: Ctx) -> str:
    assert node.definition is not None
    days = calendar_days(node.definition)
    seen = []
    for zone in ctx.zones:
        day = ctx.local(zone).date()
        seen.append(f"{day} in {zone}: {days.on(day) or 'no holiday'}")
    return f"{node.name}: " + ("; ".join(seen) if seen else "the callee's zone is not known")


@dataclass(frozen=True)
class WindowSpec:
    """A calling window: per weekday (0 = Monday) the open intervals, and the closures."""

    hours: tuple[tuple[Interval, ...], ...]
    closed_days: frozenset[int]
    closed_dates: frozenset[dt.date]
    public_holidays: bool
    national_holidays: bool
    zone: ZoneInfo | None  # a fixed zone; None: the callee's own zones
    node: nodes.Window
    calendars: tuple[CalendarDays, ...] = ()  # the policy's own holiday calendars it closes on

    @functools.cached_property
    def closes(self) -> bool:
        """Whether some days are closed beyond the hours."""
        return bool(self.closed_days or self.closed_dates or self.public_holidays
                    or self.national_holidays or self.calendars)

    @functools.cached_property
    def zones(self) -> tuple[ZoneInfo, ...] | None:
        """The fixed zone as a tuple, or None for the callee's zones."""
        return None if self.zone is None else (self.zone,)


def clock(seconds: float) -> dt.time:
    """A time of day, from seconds after midnight (below 24:00)."""
    micros = round(seconds * 1_000_000)
    return dt.time(micros // 3_600_000_000, micros // 60_000_000 % 60, micros // 1_000_000 % 60,
                   micros % 1_000_000)


def window_spec(window: nodes.Window) -> WindowSpec:
    """A window node, prepared: times of day per weekday, closed days and dates, the zone."""
    hours: list[list[tuple[float, float, bool]]] = [[] for _ in range(7)]
    for line in window.day_hours:
        for day in line.days:
            hours[day].extend((i.start.seconds, i.end.seconds, i.end_inclusive)
                              for i in line.intervals)
    closed = window.closed
    zone_name = window.zone
    return WindowSpec(
        tuple(tuple((clock(start), clock(end) if end < 86400 else None, inclusive)
                    for start, end, inclusive in sorted(day)) for day in hours),
        frozenset(c.day for c in closed if c.kind == "day" and c.day is not None),
        frozenset(dt.date.fromisoformat(c.date) for c in closed if c.kind == "date" and c.date),
        any(c.kind == "public_holidays" for c in closed),
        any(c.kind == "national_holidays" for c in closed),
        ZoneInfo(zone_name) if zone_name else None,
        window,
        tuple(calendar_days(c.definition) for c in closed
              if c.kind == "calendar" and c.definition is not None),
    )


def window_zones(ctx: Ctx, window: WindowSpec) -> tuple[ZoneInfo, ...]:
    """The zones whose clocks the window reads."""
    return window.zones or ctx.zones


def closed_reason(ctx: Ctx, window: WindowSpec, local: dt.datetime) -> str | bool | None:
    """Why the local day is closed (a text), False when open, None when a fact is missing."""
    day = local.date()
    if local.weekday() in window.closed_days:
        return f"the window is closed on {nodes.WEEKDAYS[local.weekday()].capitalize()}s"
    if day in window.closed_dates:
        return f"the window is closed on {plain_date(day)}"
    for calendar in window.calendars:
        name = calendar.on(day)
        if name is not None:
            return f"{plain_date(day)} is {name} ({calendar.name}), when the window is closed"
    if window.public_holidays or window.national_holidays:
        found = ctx.holiday(day, not window.public_holidays)
        if found is None:
            return None
        if found:
            return f"{plain_date(day)} is a public holiday ({found}), when the window is closed"
    return False


@hot
@shared
def window_open(ctx: Ctx, fixed: tuple[ZoneInfo, ...] | None,
                hours: tuple[tuple[Interval, ...], ...], start: dt.time | None,
                end: dt.time | None, inclusive: bool, window: WindowSpec,
                missing: set[str]) -> Tri:
    """``allow only …``: open on the clock of every zone the callee may be in (``fixed``: the
    window's own zone instead). ``start`` given: the window is that one interval every day
    (``end`` None: the end of the day) with no closures, the commonest window, checked without
    the weekday table; the generated function keeps only the branch its arguments take."""
    zones = fixed or ctx.zones
    if not zones:
        return unknown(missing, "to_timezone")
    seen = ctx._cache
    for zone in zones:
        local = seen.get(zone)
        if local is None:  # Ctx.local, written out
            local = seen[zone] = ctx.t_dt.astimezone(zone)
        tm = local.time()
        # times of day compare exactly, to the microsecond
        if start is not None:
            if not (start <= tm and (end is None or (tm <= end if inclusive else tm < end))):
                return False
            continue
        for begin, until, included in hours[local.weekday()]:
            if begin <= tm and (until is None or (tm <= until if included else tm < until)):
                break
        else:
            return False
        if window.closes:
            reason = closed_reason(ctx, window, local)
            if reason is None:
                return None
            if reason:
                return False
    return True


def window_check(ctx: Ctx, window: WindowSpec, missing: set[str]) -> Tri:
    """:func:`window_open` on a prepared window, by its weekday table (explain, tests)."""
    return window_open(ctx, window.zones, window.hours, None, None, False, window, missing)


def lower_window(window: nodes.Window) -> tuple[WindowSpec, Apply]:
    """The effect of ``allow only WINDOW``, and the window prepared."""
    spec = window_spec(window)
    first = spec.hours[0]
    daily: Interval = (dt.time(), None, False)
    if spec.zone is None and not spec.closes and len(first) == 1 \
            and all(day == first for day in spec.hours):
        (daily,) = first
        start: dt.time | None = daily[0]
    else:
        start = None
    return spec, Apply(window_open, (CTX, Const(spec.zones), Const(spec.hours), Const(start),
                                     Const(daily[1]), Const(daily[2]), Const(spec), MISSING),
                       timed=True)

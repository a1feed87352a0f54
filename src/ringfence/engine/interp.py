"""Compile checked syntax trees into Python closures, once per load.

A compiled condition is a function ``f(ctx) -> True | False | None``: ``None`` means *unknown*
(a fact it needs is missing; the fact's name is added to ``ctx.missing``). ``and``/``or``/``not``
follow three-valued logic. Each atom also gets an *observer* that says, in words, what it saw;
only ``explain`` and traces call observers, so the hot path never builds strings.
"""

from __future__ import annotations

import datetime as dt
import functools
import operator
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from dateutil.relativedelta import relativedelta

from ringfence.contract.decision import Finding
from ringfence.contract.fields import FIELDS
from ringfence.contract.request import Attempt, Call
from ringfence.errors import Span
from ringfence.facts.callee import FactSource
from ringfence.language import nodes

Tri = bool | None
Cond = Callable[["Ctx"], Tri]
Observer = Callable[["Ctx"], str]

_FIXED_SECONDS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400, "week": 604800}
_UTC = dt.UTC


class Ctx:
    """Everything one evaluation looks at: the call, the instant judged, the callee's facts.

    ``t`` may differ from the call's own time: ``next_allowed_at`` re-judges the same call at
    later instants with the same facts.
    """

    __slots__ = ("_cache", "_day", "call", "country", "facts", "missing", "region", "t", "t_dt",
                 "zones")

    def __init__(self, call: Call, t_dt: dt.datetime, zones: tuple[ZoneInfo, ...],
                 country: str | None, region: str | None, facts: FactSource):
        self.call = call
        self.t_dt = t_dt
        self.t = call.at_ts if t_dt is call.at else t_dt.timestamp()
        self.zones = zones
        self.country = country
        self.region = region
        self.facts = facts
        self.missing: set[str] = set()
        self._cache: dict[object, object] = {}
        self._day: dt.date | None = None

    def at(self, t_dt: dt.datetime) -> Ctx:
        """The same call and facts, judged at another instant."""
        return Ctx(self.call, t_dt, self.zones, self.country, self.region, self.facts)

    def local(self, zone: ZoneInfo) -> dt.datetime:
        key = ("local", zone)
        found = self._cache.get(key)
        if found is None:
            found = self._cache[key] = self.t_dt.astimezone(zone)
        return found  # type: ignore[return-value]

    @property
    def home(self) -> dt.tzinfo:
        """The zone used for calendar dates: the callee's first zone, else the call's offset."""
        return self.zones[0] if self.zones else self.call.at.tzinfo  # type: ignore[return-value]

    def local_date(self) -> dt.date:
        """The callee's calendar date at the judged instant (asked by many rules: kept)."""
        day = self._day
        if day is None:
            day = self._day = self.t_dt.astimezone(self.home).date()
        return day

    def date_of(self, ts: float) -> dt.date:
        return dt.datetime.fromtimestamp(ts, self.home).date()

    def holiday(self, day: dt.date, national_only: bool) -> Tri | str:
        if self.country is None:
            self.missing.add("to_region")
            return None
        return self.facts.holiday(self.country, self.region, day, national_only) or False


# ---- durations and ages ------------------------------------------------------------------


def _minus(ctx: Ctx, duration: nodes.Duration) -> float:
    """The instant ``duration`` before the judged instant."""
    seconds = _FIXED_SECONDS.get(duration.unit)
    if seconds is not None:
        return ctx.t - duration.amount * seconds
    key = ("minus", duration.amount, duration.unit)
    found = ctx._cache.get(key)
    if found is None:
        delta = relativedelta(**{f"{duration.unit}s": duration.amount})
        found = ctx._cache[key] = (ctx.t_dt - delta).timestamp()
    return found  # type: ignore[return-value]


def plus(when: dt.datetime, duration: nodes.Duration, business: Callable[[dt.date, int], dt.date]
         ) -> dt.datetime:
    """The instant ``duration`` after ``when`` (for calendar and business days: a local midnight)."""
    if duration.kind == "calendar":
        day = when.date() + dt.timedelta(days=duration.amount)
        return dt.datetime.combine(day, dt.time(), when.tzinfo)
    if duration.kind == "business":
        day = business(when.date(), duration.amount)
        return dt.datetime.combine(day, dt.time(), when.tzinfo)
    seconds = _FIXED_SECONDS.get(duration.unit)
    if seconds is not None:
        return when + dt.timedelta(seconds=duration.amount * seconds)
    return when + relativedelta(**{f"{duration.unit}s": duration.amount})


def business_days_between(ctx: Ctx, start: dt.date, end: dt.date) -> int | None:
    """Business days d with start < d <= end (Monday to Friday, not a public holiday)."""
    count = 0
    day = start + dt.timedelta(days=1)
    while day <= end:
        if day.weekday() < 5:
            found = ctx.holiday(day, False)
            if found is None:
                return None
            count += not found
        day += dt.timedelta(days=1)
    return count


def _day_diff(ctx: Ctx, duration: nodes.Duration, event: float) -> int | None:
    """Calendar or business days between the event's local date and the judged instant's."""
    start, end = ctx.date_of(event), ctx.local_date()
    if duration.kind == "calendar":
        return (end - start).days
    return business_days_between(ctx, start, end) if start <= end else -1


def compile_age(age: nodes.Age) -> Callable[[Ctx, float], Tri]:
    """``event_ts -> does the event lie in this period before the judged instant``."""
    first, second = age.first, age.second
    kind = age.kind
    if kind == "between_ago" and second is not None:
        # "between D1 and D2 ago" = at least D1 ago and within D2; the two may differ in kind
        # ("between 10 business days and 5 years ago").
        old_enough = compile_age(nodes.Age("at_least_ago", first, None, age.span))
        recent_enough = compile_age(nodes.Age("within", second, None, age.span))

        def between(ctx: Ctx, event: float) -> Tri:
            a = old_enough(ctx, event)
            if a is False:
                return False
            b = recent_enough(ctx, event)
            if b is False:
                return False
            return None if a is None or b is None else True

        return between
    if first.kind != "plain":
        n1 = first.amount
        calendar = first.kind == "calendar"

        def by_days(ctx: Ctx, event: float) -> Tri:
            if event > ctx.t:
                return False
            diff = _day_diff(ctx, first, event)
            if diff is None:
                return None
            if kind == "within":
                # Calendar days count the event's date as day one; business days start after it.
                return diff < n1 if calendar else diff <= n1
            if kind == "more_than_ago":
                return diff > n1
            if kind == "at_least_ago":
                return diff >= n1
            return diff < n1  # less_than_ago

        return by_days

    if kind == "within":
        return lambda ctx, e: _minus(ctx, first) <= e <= ctx.t
    if kind == "more_than_ago":
        return lambda ctx, e: e < _minus(ctx, first)
    if kind == "at_least_ago":
        return lambda ctx, e: e <= _minus(ctx, first)
    return lambda ctx, e: _minus(ctx, first) < e <= ctx.t  # less_than_ago


# ---- fields ------------------------------------------------------------------------------


def _field_getter(name: str) -> Callable[[Ctx], object]:
    """How to read a field a condition names, from the fields table: an attribute of the call
    (None: not given; a line type of "unknown" is None) or of the context."""
    field = FIELDS[name]
    return operator.attrgetter(("call." if field.owner == "call" else "") + field.attribute)


def _literal(value: nodes.Value) -> object:
    if value.raw in ("true", "false") and value.kind == "word":
        return value.raw == "true"
    return value.raw


# ---- compiled atoms ----------------------------------------------------------------------


@dataclass
class Compiled:
    """A compiled condition: the fast function, plus what explain needs."""

    fn: Cond
    node: nodes.Condition
    observe: Observer | None = None
    children: tuple[Compiled, ...] = ()
    # The periods this condition measures from an event: it may change value when one ends,
    # which is where next_allowed_at looks.
    durations: tuple[nodes.Duration, ...] = field(default=())


def _missing(name: str) -> Callable[[Ctx], None]:
    def mark(ctx: Ctx) -> None:
        ctx.missing.add(name)

    return mark


def _compile_is(node: nodes.Is) -> Compiled:
    name = node.field.name
    get = _field_getter(name)
    mark = _missing(name)
    wanted = frozenset(_literal(v) for v in node.values)
    negated = node.negated

    def fn(ctx: Ctx) -> Tri:
        value = get(ctx)
        if value is None:
            mark(ctx)
            return None
        return (value in wanted) != negated

    return Compiled(fn, node, lambda ctx: f"{name} = {get(ctx)!r}")


def _compile_presence(node: nodes.Presence) -> Compiled:
    name = node.field.name
    get = _field_getter(name)
    present = node.present

    def fn(ctx: Ctx) -> Tri:
        return (get(ctx) is not None) == present

    return Compiled(fn, node, lambda ctx: f"{name} = {get(ctx)!r}")


_OPS = {">=": operator.ge, ">": operator.gt, "<=": operator.le, "<": operator.lt,
        "=": operator.eq, "!=": operator.ne}


def _compile_compare(node: nodes.Compare) -> Compiled:
    name = node.field.name
    get = _field_getter(name)
    op = _OPS[node.op]
    limit = dt.date.fromisoformat(node.value.raw)
    mark = _missing(name)

    def fn(ctx: Ctx) -> Tri:
        value = get(ctx)
        if value is None:
            mark(ctx)
            return None
        return op(ctx.date_of(value), limit)  # type: ignore[arg-type]

    def observe(ctx: Ctx) -> str:
        value = get(ctx)
        return f"{name} = {'missing' if value is None else ctx.date_of(value)}"  # type: ignore[arg-type]

    return Compiled(fn, node, observe, durations=())


def _compile_field_age(node: nodes.FieldAge) -> Compiled:
    name = node.field.name
    get = _field_getter(name)
    test = compile_age(node.age)

    def fn(ctx: Ctx) -> Tri:
        value = get(ctx)
        return False if value is None else test(ctx, value)  # type: ignore[arg-type]

    return Compiled(fn, node, lambda ctx: f"{name} = {_when(get(ctx))}",
                    durations=_age_durations(node.age))


def _when(ts: object) -> str:
    if ts is None:
        return "none"
    return dt.datetime.fromtimestamp(ts, _UTC).isoformat().replace("+00:00", "Z")  # type: ignore[arg-type]


def _age_durations(age: nodes.Age | None) -> tuple[nodes.Duration, ...]:
    if age is None:
        return ()
    return (age.first,) if age.second is None else (age.first, age.second)


def _listed(ctx: Ctx, name: str) -> tuple[bool, float | None]:
    if name in ctx.call.lists:
        return True, ctx.call.lists[name]  # type: ignore[return-value]
    found, when = ctx.facts.listed(name, ctx.call.to)
    if isinstance(when, dt.date):
        # A bare listing date starts at midnight in the callee's zone, as in the call's field.
        when = dt.datetime.combine(when, dt.time(), ctx.home).timestamp()
    return found, when


def _compile_on_list(node: nodes.OnList) -> Compiled:
    name = node.name
    test = compile_age(node.listed) if node.listed is not None else None

    def fn(ctx: Ctx) -> Tri:
        found, listed_at = _listed(ctx, name)
        if not found:
            return False
        if test is None:
            return True
        # An unknown listing date counts as listed long ago: the safe reading.
        return test(ctx, listed_at if listed_at is not None else float("-inf"))

    def observe(ctx: Ctx) -> str:
        found, listed_at = _listed(ctx, name)
        if not found:
            return f"not on list {name}"
        return f"on list {name} (listed {_when(listed_at) if listed_at else 'at an unknown date'})"

    return Compiled(fn, node, observe, durations=_age_durations(node.listed))


def _compile_list_checked(node: nodes.ListChecked) -> Compiled:
    name = node.name
    test = compile_age(node.age)
    fact = f"lists_checked_at.{name}"

    def fn(ctx: Ctx) -> Tri:
        checked = ctx.call.lists_checked_at.get(name)
        if checked is None:
            ctx.missing.add(fact)
            return None
        return test(ctx, checked)

    return Compiled(fn, node, lambda ctx: f"{fact} = {_when(ctx.call.lists_checked_at.get(name))}",
                    durations=_age_durations(node.age))


def _purpose(ctx: Ctx, purpose: str | None) -> str | None:
    if purpose is not None:
        return purpose
    if ctx.call.purpose is None:
        ctx.missing.add("purpose")
    return ctx.call.purpose


def consent_kinds(kind: str | None) -> tuple[str, ...] | None:
    """The record types that satisfy a consent of ``kind`` (None: any type). Written consent is
    also express consent."""
    return {None: None, "express": ("express", "express_written"),
            "express_written": ("express_written",)}.get(kind, (kind,))  # type: ignore[arg-type]


def _compile_consent(node: nodes.Consent) -> Compiled:
    kinds = consent_kinds(node.kind)
    wanted_purpose = node.purpose

    def fn(ctx: Ctx) -> Tri:
        purpose = _purpose(ctx, wanted_purpose)
        if purpose is None:
            return None
        t = ctx.t
        for record in ctx.call.consent:
            if (
                (kinds is None or record.type in kinds)
                and purpose in record.purposes
                and record.at <= t
                and (record.expires_at is None or t < record.expires_at)
                and (record.revoked_at is None or t < record.revoked_at)
            ):
                return True
        return False

    def observe(ctx: Ctx) -> str:
        records = [f"{r.type} for {sorted(r.purposes)} at {_when(r.at)}"
                   + (f", expires {_when(r.expires_at)}" if r.expires_at else "")
                   + (f", revoked {_when(r.revoked_at)}" if r.revoked_at else "")
                   for r in ctx.call.consent]
        return "consent records: " + ("; ".join(records) if records else "none")

    return Compiled(fn, node, observe)


def _compile_opted_out(node: nodes.OptedOut) -> Compiled:
    test = compile_age(node.age) if node.age is not None else None
    any_purpose, wanted = node.any_purpose, node.purpose

    def fn(ctx: Ctx) -> Tri:
        purpose = None if any_purpose else _purpose(ctx, wanted)
        if not any_purpose and purpose is None:
            return None
        t = ctx.t
        unknown = False
        for opt in ctx.call.opt_outs:
            if opt.at > t:
                continue
            if not any_purpose and opt.purposes is not None and purpose not in opt.purposes:
                continue
            if test is None:
                return True
            hit = test(ctx, opt.at)
            if hit:
                return True
            unknown = unknown or hit is None
        return None if unknown else False

    def observe(ctx: Ctx) -> str:
        outs = [f"{_when(o.at)} ({'all purposes' if o.purposes is None else sorted(o.purposes)})"
                for o in ctx.call.opt_outs]
        return "opt-outs: " + ("; ".join(outs) if outs else "none")

    return Compiled(fn, node, observe, durations=_age_durations(node.age))


def _history_filter(filters: tuple[nodes.Filter, ...]) -> Callable[[Ctx], Callable | None]:
    """Build ``ctx -> predicate(attempt)``; the predicate is None when a needed fact is missing.

    ``loose`` builds the predicate with the missing ``same`` facts dropped: it counts every
    attempt that could match, an upper bound that can still settle a comparison.
    """
    same = [f.what for f in filters if isinstance(f, nodes.Same)]
    outcomes: frozenset[str] | None = None
    for f in filters:
        if isinstance(f, nodes.Outcome):
            values = frozenset(v.raw for v in f.values)
            outcomes = values if outcomes is None else outcomes & values

    def build(ctx: Ctx, loose: bool = False) -> Callable | None:
        wanted = {}
        for what in same:
            value = getattr(ctx.call, what)
            if value is None:
                if not loose:
                    ctx.missing.add(what)
                    return None
                continue
            wanted[what] = value
        if not wanted and outcomes is None:
            return _always
        if outcomes is None and len(wanted) == 1:
            # The common case ("with same subject"): one field compared, by tuple index.
            ((what, value),) = wanted.items()
            index = _ATTEMPT_INDEX[what]
            return lambda a: a[index] == value
        items = tuple((_ATTEMPT_INDEX[k], v) for k, v in wanted.items())
        return lambda a: (outcomes is None or a[1] in outcomes) and all(
            a[i] == v for i, v in items)

    return build


def _always(_attempt: object) -> bool:
    return True


# Positions in an Attempt tuple (at, outcome, subject, campaign, purpose).
_ATTEMPT_INDEX = {name: i for i, name in enumerate(Attempt._fields)}


_EVENT_OUTCOME = {"conversation": "conversation", "refusal": "refused"}


def _events(event: str, filters: tuple[nodes.Filter, ...]) -> Callable[[Ctx], Iterator[float] | None]:
    """``ctx -> timestamps of the event kind`` (None when a filter's fact is missing)."""
    if event == "purchase":
        return lambda ctx: iter(() if ctx.call.last_transaction_at is None
                                else (ctx.call.last_transaction_at,))
    if event == "inquiry":
        return lambda ctx: iter(() if ctx.call.last_inquiry_at is None
                                else (ctx.call.last_inquiry_at,))
    if event == "opt_out":
        return lambda ctx: (o.at for o in ctx.call.opt_outs)
    build = _history_filter(filters)
    outcome = _EVENT_OUTCOME.get(event)

    def attempts(ctx: Ctx) -> Iterator[float] | None:
        keep = build(ctx)
        if keep is None:
            return None
        return (a.at for a in ctx.call.history
                if (outcome is None or a.outcome == outcome) and keep(a))

    return attempts


def _compile_last_event(node: nodes.LastEvent) -> Compiled:
    events = _events(node.event, node.filters)
    test = compile_age(node.age) if node.age is not None else None

    def fn(ctx: Ctx) -> Tri:
        found = events(ctx)
        if found is None:
            return None
        t = ctx.t
        latest = max((e for e in found if e <= t), default=None)
        if latest is None:
            return False
        return True if test is None else test(ctx, latest)

    def observe(ctx: Ctx) -> str:
        found = events(ctx)
        latest = None if found is None else max((e for e in found if e <= ctx.t), default=None)
        return f"last {node.event}: {_when(latest)}"

    return Compiled(fn, node, observe, durations=_age_durations(node.age))


def _compile_count(node: nodes.CountAttempts) -> Compiled:
    build = _history_filter(node.filters)
    window = nodes.Age("within", node.window, None, node.span)
    test = compile_age(window)
    op = _OPS[node.op]
    number = node.number

    seconds = _FIXED_SECONDS.get(node.window.unit) if node.window.kind == "plain" else None

    def count(ctx: Ctx, keep: Callable | None) -> int | None:
        if keep is None:
            return None
        t = ctx.t
        total = 0
        if seconds is not None:
            # A sliding window of fixed length: one subtraction, then plain comparisons.
            start = t - node.window.amount * seconds
            for attempt in ctx.call.history:
                if start <= attempt[0] < t and keep(attempt):
                    total += 1
            return total
        for attempt in ctx.call.history:
            if attempt.at < t and keep(attempt):
                hit = test(ctx, attempt.at)
                if hit is None:
                    return None
                total += hit
        return total

    def fn(ctx: Ctx) -> Tri:
        found = count(ctx, build(ctx))
        if found is not None:
            return op(found, number)
        # A fact a filter needs is missing: the count lies between 0 and the count without that
        # filter. When both ends give the same answer, the missing fact does not matter.
        upper = count(ctx, build(ctx, loose=True))
        if upper is not None and op(0, number) == op(upper, number) and node.op not in ("=", "!="):
            return op(upper, number)
        return None

    def observe(ctx: Ctx) -> str:
        return f"{count(ctx, build(ctx))} matching attempts in the last {node.window}"

    return Compiled(fn, node, observe, durations=(node.window,))


# ---- logic -------------------------------------------------------------------------------


def _compile_junction(node: nodes.And | nodes.Or) -> Compiled:
    """``and``: a False part decides; ``or``: a True part does. An unknown part leaves the
    result unknown unless another part decides."""
    parts = tuple(compile_condition(c) for c in node.items)
    fns = tuple(p.fn for p in parts)
    decisive = isinstance(node, nodes.Or)

    def fn(ctx: Ctx) -> Tri:
        result: Tri = not decisive
        for f in fns:
            value = f(ctx)
            if value is decisive:
                return decisive
            if value is None:
                result = None
        return result

    return Compiled(fn, node, None, parts)


def _compile_not(node: nodes.Not) -> Compiled:
    inner = compile_condition(node.item)
    f = inner.fn

    def fn(ctx: Ctx) -> Tri:
        value = f(ctx)
        return None if value is None else not value

    return Compiled(fn, node, None, (inner,))


_COMPILERS: dict[type, Callable[[nodes.Condition], Compiled]] = {
    nodes.And: _compile_junction, nodes.Or: _compile_junction, nodes.Not: _compile_not, nodes.Is: _compile_is,
    nodes.Presence: _compile_presence, nodes.Compare: _compile_compare,
    nodes.FieldAge: _compile_field_age, nodes.OnList: _compile_on_list,
    nodes.ListChecked: _compile_list_checked, nodes.Consent: _compile_consent,
    nodes.OptedOut: _compile_opted_out, nodes.LastEvent: _compile_last_event,
    nodes.CountAttempts: _compile_count,
}


def compile_condition(node: nodes.Condition) -> Compiled:
    """Compile one condition tree."""
    return _COMPILERS[type(node)](node)  # type: ignore[arg-type]


def all_durations(compiled: Compiled) -> Iterator[nodes.Duration]:
    """Every duration a condition tree measures (where its value may change with time)."""
    yield from compiled.durations
    for child in compiled.children:
        yield from all_durations(child)


# ---- windows -----------------------------------------------------------------------------


@dataclass(frozen=True)
class CompiledWindow:
    """A calling window: per weekday, (start, end, end_inclusive) in seconds after midnight."""

    hours: tuple[tuple[tuple[float, float, bool], ...], ...]
    closed_days: frozenset[int]
    closed_dates: frozenset[dt.date]
    public_holidays: bool
    national_holidays: bool
    zone: ZoneInfo | None
    node: nodes.Window

    def zones(self, ctx: Ctx) -> tuple[ZoneInfo, ...]:
        return (self.zone,) if self.zone is not None else ctx.zones

    def closed_reason(self, ctx: Ctx, local: dt.datetime) -> str | bool | None:
        """Why the day is closed (a text), False when open, None when a fact is missing."""
        day = local.date()
        if local.weekday() in self.closed_days:
            return f"closed on {nodes.WEEKDAYS[local.weekday()]}s"
        if day in self.closed_dates:
            return f"closed on {day}"
        if self.public_holidays or self.national_holidays:
            found = ctx.holiday(day, not self.public_holidays)
            if found is None:
                return None
            if found:
                return f"closed on public holiday {found}"
        return False

    def check(self, ctx: Ctx) -> Tri:
        zones = self.zones(ctx)
        if not zones:
            ctx.missing.add("to_timezone")
            return None
        for zone in zones:
            local = ctx.local(zone)
            seconds = (local.hour * 3600 + local.minute * 60 + local.second
                       + local.microsecond / 1e6)
            inside = False
            for start, end, inclusive in self.hours[local.weekday()]:
                if start <= seconds and (seconds <= end if inclusive else seconds < end):
                    inside = True
                    break
            if not inside:
                return False
            if self.closed_days or self.closed_dates or self.public_holidays \
                    or self.national_holidays:
                reason = self.closed_reason(ctx, local)
                if reason is None:
                    return None
                if reason:
                    return False
        return True

    def observe(self, ctx: Ctx) -> str:
        zones = self.zones(ctx)
        if not zones:
            return "no time zone is known for the callee"
        seen = []
        for zone in zones:
            local = ctx.local(zone)
            reason = self.closed_reason(ctx, local)
            extra = f", {reason}" if reason else ""
            seen.append(f"{local.strftime('%A %Y-%m-%d %H:%M:%S')} in {zone.key}{extra}")
        return "local time " + "; ".join(seen)

    def opening_times(self, ctx: Ctx, start: dt.datetime, days: int) -> Iterator[dt.datetime]:
        """Interval starts from ``start`` for ``days`` days, in every zone: candidate instants."""
        for zone in self.zones(ctx):
            first = start.astimezone(zone).date()
            for offset in range(days + 1):
                day = first + dt.timedelta(days=offset)
                for begin, _end, _incl in self.hours[day.weekday()]:
                    naive = dt.datetime.combine(day, dt.time()) + dt.timedelta(seconds=begin)
                    yield from _wall_clock_instants(naive, zone)


def _wall_clock_instants(naive: dt.datetime, zone: ZoneInfo) -> Iterator[dt.datetime]:
    """The instants at which a zone's clock first shows ``naive`` or later.

    Usually one; two on the night the clocks go back (the hour happens twice); in the hour the
    clocks skip, the instant they jump, when the clock first shows a time at or after ``naive``.
    """
    first, second = (naive.replace(tzinfo=zone, fold=f).astimezone(_UTC) for f in (0, 1))
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
    yield dt.datetime.fromtimestamp(low, _UTC)


def compile_window(window: nodes.Window) -> CompiledWindow:
    """Compile a calling window."""
    hours: list[list[tuple[float, float, bool]]] = [[] for _ in range(7)]
    for line in window.day_hours:
        for day in line.days:
            hours[day].extend((i.start.seconds, i.end.seconds, i.end_inclusive)
                              for i in line.intervals)
    closed = window.closed
    zone_name = window.zone
    return CompiledWindow(
        tuple(tuple(sorted(h)) for h in hours),
        frozenset(c.day for c in closed if c.kind == "day" and c.day is not None),
        frozenset(dt.date.fromisoformat(c.date) for c in closed if c.kind == "date" and c.date),
        any(c.kind == "public_holidays" for c in closed),
        any(c.kind == "national_holidays" for c in closed),
        ZoneInfo(zone_name) if zone_name else None,
        window,
    )


# ---- rules and policies ------------------------------------------------------------------

VIOLATED, PASSED, EXEMPT, NOT_APPLICABLE, NOT_IN_FORCE = (
    "violated", "passed", "exempt", "not_applicable", "not_in_force")


@dataclass(frozen=True)
class CompiledRule:
    """A rule ready to run. ``judge`` returns one of the outcome strings above."""

    policy_id: str
    id: str
    title: str
    level: str
    citations: tuple[str, ...]
    message: str
    span: Span
    effective_from: dt.date | None
    effective_until: dt.date | None
    when: tuple[Compiled, ...]
    unless: tuple[Compiled, ...]
    effect: str  # "deny_if", "require" or "allow_only"
    condition: Compiled | None
    window: CompiledWindow | None
    node: nodes.Rule
    judge_fn: Callable[[Ctx], str]

    @property
    def durations(self) -> tuple[nodes.Duration, ...]:
        parts = (*self.when, *self.unless, *((self.condition,) if self.condition else ()))
        return tuple(d for p in parts for d in all_durations(p))

    @functools.cached_property
    def finding(self) -> Finding:
        """The rule's finding when no fact was missing: immutable, so made once and shared."""
        return Finding(self.policy_id, self.id, self.title, self.level,  # type: ignore[arg-type]
                       self.message, self.citations, self.span, ())

    def judge(self, ctx: Ctx) -> str:
        """The rule's outcome for the call at ``ctx``'s instant."""
        return self.judge_fn(ctx)


def _effect_ok(effect: str, condition: Compiled | None, window: CompiledWindow | None) -> Cond:
    """``ctx -> does the effect pass`` (None when a fact it needs is missing)."""
    if window is not None:
        return window.check
    assert condition is not None
    if effect == "require":
        return condition.fn
    hit = condition.fn

    def denied_if(ctx: Ctx) -> Tri:
        value = hit(ctx)
        return None if value is None else not value

    return denied_if


def _make_judge(start: dt.date | None, end: dt.date | None, when: tuple[Cond, ...],
                unless: tuple[Cond, ...], ok: Cond) -> Callable[[Ctx], str]:
    """One closure per rule, with the clauses it does not have left out of the hot path."""
    dated = start is not None or end is not None

    def judge(ctx: Ctx) -> str:
        if dated:
            day = ctx.local_date()
            if (start is not None and day < start) or (end is not None and day >= end):
                return NOT_IN_FORCE
        unknown = False
        for cond in when:
            value = cond(ctx)
            if value is False:
                return NOT_APPLICABLE
            if value is None:
                unknown = True
        for cond in unless:
            if cond(ctx) is True:
                return EXEMPT
        if unknown:
            return VIOLATED
        return PASSED if ok(ctx) else VIOLATED

    if dated or unless:
        return judge
    if not when:
        return lambda ctx: PASSED if ok(ctx) else VIOLATED
    if len(when) == 1:
        (only,) = when

        def judge_one(ctx: Ctx) -> str:
            value = only(ctx)
            if value is False:
                return NOT_APPLICABLE
            if value is None:
                return VIOLATED
            return PASSED if ok(ctx) else VIOLATED

        return judge_one
    return judge


def compile_rule(policy_id: str, rule: nodes.Rule) -> CompiledRule:
    """Compile one checked rule."""
    effect = rule.effects[0]
    start, end = rule.effective
    condition = window = None
    if isinstance(effect, nodes.AllowOnly):
        kind, window = "allow_only", compile_window(effect.window)
    else:
        kind = "require" if isinstance(effect, nodes.Require) else "deny_if"
        condition = compile_condition(effect.condition)
    when = tuple(compile_condition(c) for c in rule.when)
    unless = tuple(compile_condition(c) for c in rule.unless)
    judge = _make_judge(start, end, tuple(c.fn for c in when), tuple(c.fn for c in unless),
                        _effect_ok(kind, condition, window))
    return CompiledRule(
        policy_id, rule.id, rule.title, rule.level, rule.citations, rule.message or rule.title,
        rule.span, start, end, when, unless, kind, condition, window, rule, judge,
    )

"""Holiday calendars a policy defines (``holidays NAME: …``) and the recurring dates in them.

A calendar names the holidays the law names, each as a rule that gives its date in any year
(``january 1``, ``third monday of january``, ``tuesday after first monday of november``,
``2 days before easter``), so no policy lists dates year by year. An ``observed:`` line moves a
holiday that falls on a given weekday to the nearest other one (``sunday -> monday``); the
holiday's own date stays closed too (the safe reading when a law does not say which day counts).
"""

from __future__ import annotations

import calendar as _calendar
import dataclasses
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from dateutil.easter import easter as _easter
from lark import Token

from ringfence.errors import Span
from ringfence.language.nodes.base import Builder, Condition, Node, syntax
from ringfence.language.nodes.clauses import Clause, Policy
from ringfence.language.nodes.values import Duration, quoted, whole_number
from ringfence.language.nodes.windows import WEEKDAYS, Closed

__all__ = ["MONTHS", "ORDINALS", "Holiday", "HolidayCalendar", "HolidayToday", "Observance",
           "RecurringDate", "bind", "shift"]

MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august",
          "september", "october", "november", "december")
ORDINALS = ("first", "second", "third", "fourth", "fifth", "last")
#: The most days a date may lie before or after Easter (Ash Wednesday is 46 before, Pentecost
#: Monday 50 after): further is no holiday any law names, and likely a typing error.
EASTER_REACH = 100

RecurringKind = Literal["month_day", "nth_weekday", "weekday_after", "easter"]


@syntax("month_day", "nth_weekday", "weekday_after", "easter", "before_easter", "after_easter")
@dataclass(frozen=True, slots=True)
class RecurringDate(Node):
    """A date that recurs every year. ``month`` 1-12, ``weekday`` 0 = Monday, ``ordinal`` 1-5 or
    -1 (last); ``offset``: days from Easter; ``base``: the date a ``weekday after`` follows."""

    kind: RecurringKind
    month: int
    day: int
    ordinal: int
    weekday: int
    offset: int
    base: RecurringDate | None
    unit: str  # the unit written with an Easter offset ("days"; anything else is an error)
    span: Span

    @classmethod
    def build(cls, rule: str, items: Sequence[Any], span: Span, b: Builder) -> RecurringDate:
        match rule:
            case "month_day":
                month, day = items
                return cls("month_day", MONTHS.index(str(month)) + 1, _whole(day, span, b), 0, 0,
                           0, None, "", span)
            case "nth_weekday":
                ordinal, weekday, month = items
                index = ORDINALS.index(str(ordinal))
                return cls("nth_weekday", MONTHS.index(str(month)) + 1, 0,
                           -1 if index == 5 else index + 1, WEEKDAYS.index(str(weekday)), 0,
                           None, "", span)
            case "weekday_after":
                weekday, base = items
                return cls("weekday_after", 0, 0, 0, WEEKDAYS.index(str(weekday)), 0, base, "",
                           span)
            case "easter":
                return cls("easter", 0, 0, 0, 0, 0, None, "", span)
        amount, unit = items
        sign = -1 if rule == "before_easter" else 1
        return cls("easter", 0, 0, 0, 0, sign * _whole(amount, span, b), None, str(unit), span)

    def on(self, year: int) -> dt.date | None:
        """The date in ``year``; None when it does not occur that year (a fifth weekday)."""
        match self.kind:
            case "month_day":
                try:
                    return dt.date(year, self.month, self.day)
                except ValueError:
                    return None
            case "nth_weekday":
                return _nth_weekday(year, self.month, self.weekday, self.ordinal)
            case "weekday_after":
                assert self.base is not None
                start = self.base.on(year)
                if start is None:
                    return None
                return start + dt.timedelta(days=(self.weekday - start.weekday() - 1) % 7 + 1)
        return _easter(year) + dt.timedelta(days=self.offset)

    def unparse(self) -> str:
        match self.kind:
            case "month_day":
                return f"{MONTHS[self.month - 1]} {self.day}"
            case "nth_weekday":
                ordinal = "last" if self.ordinal == -1 else ORDINALS[self.ordinal - 1]
                return f"{ordinal} {WEEKDAYS[self.weekday]} of {MONTHS[self.month - 1]}"
            case "weekday_after":
                assert self.base is not None
                return f"{WEEKDAYS[self.weekday]} after {self.base.unparse()}"
        if not self.offset:
            return "easter"
        days = abs(self.offset)
        return f"{days} {self.unit} {'before' if self.offset < 0 else 'after'} easter"


def _whole(token: Token, span: Span, b: Builder) -> int:
    """A day number or a count of days as written; 0 (with RF408 recorded) when it is not a
    whole number."""
    number = whole_number(str(token))
    if number < 0:
        b.error("RF408", f"'{token}' is not a whole number of days", span)
        return 0
    return number


def _nth_weekday(year: int, month: int, weekday: int, ordinal: int) -> dt.date | None:
    days = [week[weekday] for week in _calendar.monthcalendar(year, month) if week[weekday]]
    if ordinal == -1:
        return dt.date(year, month, days[-1])
    return dt.date(year, month, days[ordinal - 1]) if ordinal <= len(days) else None


@syntax("holiday")
@dataclass(frozen=True, slots=True)
class Holiday(Node):
    """One holiday of a calendar: its recurring date and, optionally, its name."""

    date: RecurringDate
    name: str | None
    span: Span

    @classmethod
    def build(cls, rule: str, items: Sequence[Any], span: Span, b: Builder) -> Holiday:
        date, *name = items
        return cls(date, b.string(name[0]) if name else None, span)

    @property
    def label(self) -> str:
        """The holiday's name, or its rule when it has none."""
        return self.name or self.date.unparse()

    def unparse(self) -> str:
        text = self.date.unparse()
        return f"{text} {quoted(self.name)}" if self.name else text


@syntax("observance")
@dataclass(frozen=True, slots=True)
class Observance(Node):
    """``observed: saturday -> friday, sunday -> monday``: (from weekday, to weekday) pairs."""

    shifts: tuple[tuple[int, int, Span], ...]
    span: Span

    @classmethod
    def build(cls, rule: str, items: Sequence[Any], span: Span, b: Builder) -> Observance:
        return cls(tuple(items), span)

    def move(self, day: dt.date) -> dt.date | None:
        """The day a holiday on ``day`` is observed on instead, if its weekday moves."""
        for source, target, _ in self.shifts:
            if day.weekday() == source:
                delta = (target - source) % 7
                try:
                    return day + dt.timedelta(days=delta - 7 if delta > 3 else delta)
                except OverflowError:  # past the last day Python has (9999-12-31)
                    return None
        return None

    def unparse(self) -> str:
        return "observed: " + ", ".join(f"{WEEKDAYS[a]} -> {WEEKDAYS[b]}"
                                        for a, b, _ in self.shifts)


@syntax("calendar")
@dataclass(frozen=True, slots=True)
class HolidayCalendar(Clause):
    """``holidays NAME: HOLIDAY, … [observed: DAY -> DAY, …]`` in a policy's header."""

    name: str
    holidays: tuple[Holiday, ...]
    observance: Observance | None
    span: Span
    name_span: Span
    keyword: ClassVar[str] = "holidays"

    @classmethod
    def build(cls, rule: str, items: Sequence[Any], span: Span, b: Builder) -> HolidayCalendar:
        name, *rest = items
        found = tuple(x for x in rest if isinstance(x, Holiday))
        observance = next((x for x in rest if isinstance(x, Observance)), None)
        return cls(str(name), found, observance, span, b.span(name))

    def closures(self, year: int) -> tuple[tuple[dt.date, str], ...]:
        """The days of ``year`` the calendar closes, with the holiday's name, in date order.
        An observed day says so (``Christmas Day (observed)``); it may come from a holiday of
        the year before or after (January 1 on a Saturday is observed on December 31)."""
        found: dict[dt.date, list[str]] = {}
        for near in range(max(year - 1, dt.MINYEAR), min(year + 1, dt.MAXYEAR) + 1):
            for holiday in self.holidays:
                day = holiday.date.on(near)
                if day is None:
                    continue
                found.setdefault(day, []).append(holiday.label)
                moved = self.observance.move(day) if self.observance else None
                if moved is not None:
                    found.setdefault(moved, []).append(f"{holiday.label} (observed)")
        return tuple((day, "; ".join(names)) for day, names in sorted(found.items())
                     if day.year == year)

    def unparse(self) -> str:
        text = f"holidays {self.name}: " + ", ".join(h.unparse() for h in self.holidays)
        return f"{text} {self.observance.unparse()}" if self.observance else text


@syntax("holiday_today")
@dataclass(frozen=True, slots=True)
class HolidayToday(Condition):
    """``today is a holiday in NAME``: the callee's date (in any zone it may be in) is a day the
    policy's calendar NAME closes. ``definition`` is that calendar, bound by :func:`bind` once the
    policy is built (None: no calendar has that name, which the checker reports)."""

    name: str
    span: Span
    definition: HolidayCalendar | None = None

    @classmethod
    def build(cls, rule: str, items: Sequence[Any], span: Span, b: Builder) -> HolidayToday:
        return cls(str(items[0]), b.span(items[0]))

    def unparse(self) -> str:
        return f"today is a holiday in {self.name}"


def bind(policy: Policy) -> Policy:
    """The policy with every use of a calendar name (``closed on NAME``, ``today is a holiday in
    NAME``, ``N business days excluding NAME``) holding the calendar the header defines under
    that name (the first, when the checker finds two)."""
    calendars: dict[str, HolidayCalendar] = {}
    for clause in policy.all(HolidayCalendar):
        calendars.setdefault(clause.name, clause)
    if not calendars:  # every use stays unbound (the checker reports it): nothing to rebuild
        return policy
    bound = _bind(policy, calendars)
    assert isinstance(bound, Policy)
    return bound


def _bind(node: object, calendars: dict[str, HolidayCalendar]) -> object:
    """``node`` rebuilt where a calendar use below it is bound (the same object otherwise)."""
    if isinstance(node, Closed) and node.kind == "calendar":
        return dataclasses.replace(node, definition=calendars.get(node.calendar or ""))
    if isinstance(node, HolidayToday):
        return dataclasses.replace(node, definition=calendars.get(node.name))
    if isinstance(node, Duration) and node.calendar is not None:
        return dataclasses.replace(node, definition=calendars.get(node.calendar))
    if isinstance(node, tuple):
        items = tuple(_bind(x, calendars) for x in node)
        return node if all(a is b for a, b in zip(items, node, strict=True)) else items
    if isinstance(node, Node) and not isinstance(node, HolidayCalendar):
        changed = {}
        for field in dataclasses.fields(node):  # type: ignore[arg-type]
            value = getattr(node, field.name)
            if isinstance(value, Node | tuple):
                new = _bind(value, calendars)
                if new is not value:
                    changed[field.name] = new
        return dataclasses.replace(node, **changed) if changed else node  # type: ignore[type-var]
    return node


def shift(items: Sequence[Token], b: Builder) -> tuple[int, int, Span]:
    """``DAY -> DAY`` as (from weekday, to weekday, span)."""
    source, target = items
    return WEEKDAYS.index(str(source)), WEEKDAYS.index(str(target)), \
        b.span(source).through(b.span(target))

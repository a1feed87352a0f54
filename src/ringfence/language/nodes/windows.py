"""Calling windows: ``allow only`` hours per day, closed days, and the clock they are read on."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from lark import Token

from ringfence.errors import Span
from ringfence.language.nodes.base import Builder, Node, syntax
from ringfence.language.nodes.values import quoted

if TYPE_CHECKING:
    from ringfence.language.nodes.calendars import HolidayCalendar

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")

_DAY_RUNS = {(0, 1, 2, 3, 4, 5, 6): "every day", (0, 1, 2, 3, 4): "weekdays", (5, 6): "weekends"}


@dataclass(frozen=True, slots=True)
class TimeOfDay(Node):
    """``08:00`` or ``20:30:00``; ``seconds`` may exceed a day only in a malformed policy."""

    raw: str
    seconds: int
    span: Span

    @classmethod
    def of(cls, token: Token, b: Builder) -> TimeOfDay:
        """The time a TIME token holds; minutes or seconds past 59 are reported (RF402)."""
        parts = [int(p) for p in str(token).split(":")]
        hours, minutes = parts[0], parts[1]
        secs = parts[2] if len(parts) > 2 else 0
        span = b.span(token)
        if minutes > 59 or secs > 59:
            b.error("RF402", f"{token} is not a time of day", span)
        return cls(str(token), hours * 3600 + minutes * 60 + secs, span)


@syntax("interval")
@dataclass(frozen=True, slots=True)
class Interval(Node):
    start: TimeOfDay
    end: TimeOfDay
    end_inclusive: bool
    span: Span

    @classmethod
    def build(cls, rule: str, items: Sequence[Any], span: Span, b: Builder) -> Interval:
        start, end, mark = items
        return cls(TimeOfDay.of(start, b), TimeOfDay.of(end, b), str(mark) == "inclusive",
                   b.span(start).through(b.span(mark)))

    def unparse(self) -> str:
        mark = "inclusive" if self.end_inclusive else "exclusive"
        return f"{self.start.raw} to {self.end.raw} {mark}"


@syntax("every_day", "day_hours")
@dataclass(frozen=True, slots=True)
class DayHours(Node):
    """Hours for some weekdays (0 = Monday); ``every_day`` comes from ``between … and …``."""

    days: tuple[int, ...]
    days_text: str
    intervals: tuple[Interval, ...]
    span: Span

    @classmethod
    def build(cls, rule: str, items: Sequence[Any], span: Span, b: Builder) -> DayHours:
        # Placed at the first interval, which is what a diagnostic points at.
        if rule == "every_day":  # between START and END MARK
            interval = Interval.build("interval", items, span, b)
            return cls(tuple(range(7)), "every day", (interval,), interval.span)
        (days_text, days), *intervals = items
        return cls(days, days_text, tuple(intervals), intervals[0].span.through(intervals[-1].span))

    def unparse(self) -> str:
        days = _DAY_RUNS.get(self.days) or self.days_text
        return f"{days} " + ", ".join(i.unparse() for i in self.intervals)


ClosedKind = Literal["day", "public_holidays", "national_holidays", "date", "calendar"]


@syntax("closed_day", "closed_public_holidays", "closed_national_holidays", "closed_date",
        "closed_calendar")
@dataclass(frozen=True, slots=True)
class Closed(Node):
    """``closed on …``: weekdays, ``public holidays``, ``national public holidays``, dates, or
    the name of a calendar the policy defines (``calendar``; ``definition`` is that calendar,
    bound once the policy is built: see :func:`.calendars.bind`)."""

    kind: ClosedKind
    day: int | None
    date: str | None
    span: Span
    calendar: str | None = None
    definition: HolidayCalendar | None = None

    @classmethod
    def build(cls, rule: str, items: Sequence[Any], span: Span, b: Builder) -> Closed:
        match rule:
            case "closed_day":
                return cls("day", WEEKDAYS.index(str(items[0])), None, span)
            case "closed_date":
                b.date(items[0])  # reports a date that is not in the calendar
                return cls("date", None, str(items[0]), span)
            case "closed_public_holidays":
                return cls("public_holidays", None, None, span)
            case "closed_calendar":
                return cls("calendar", None, None, span, str(items[0]))
        return cls("national_holidays", None, None, span)

    def unparse(self) -> str:
        if self.kind == "day":
            return WEEKDAYS[self.day or 0]
        if self.kind == "date":
            return self.date or ""
        if self.kind == "calendar":
            return self.calendar or ""
        return "public holidays" if self.kind == "public_holidays" else "national public holidays"


@syntax("callee_time", "fixed_zone")
@dataclass(frozen=True, slots=True)
class ZoneSpec(Node):
    """Where the window's clock is: the callee's local time (``zone`` None) or a fixed zone."""

    zone: str | None
    span: Span

    @classmethod
    def build(cls, rule: str, items: Sequence[Any], span: Span, b: Builder) -> ZoneSpec:
        if rule == "callee_time":
            return cls(None, span)
        # Placed at the zone's name, which is what a diagnostic points at.
        return cls(b.string(items[-1]), b.span(items[-1]))


WindowPart = DayHours | Closed | ZoneSpec


@dataclass(frozen=True, slots=True)
class Window(Node):
    parts: tuple[WindowPart, ...]
    span: Span

    @property
    def day_hours(self) -> tuple[DayHours, ...]:
        return tuple(p for p in self.parts if isinstance(p, DayHours))

    @property
    def closed(self) -> tuple[Closed, ...]:
        return tuple(p for p in self.parts if isinstance(p, Closed))

    @property
    def zone(self) -> str | None:
        zones = [p.zone for p in self.parts if isinstance(p, ZoneSpec) and p.zone]
        return zones[-1] if zones else None

    def lines(self) -> list[str]:
        """The window as text, one line per part: hours lines, then closed days, then the clock."""
        lines = [d.unparse() for d in self.day_hours]
        if self.closed:
            lines.append("closed on " + ", ".join(c.unparse() for c in self.closed))
        if self.zone:
            lines.append(f"in time zone {quoted(self.zone)}")
        return lines

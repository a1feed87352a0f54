"""Checks of what a policy keeps like law: its holiday calendars (every date occurs, every name
used is defined), its rules' metadata (source address) and its changelog.

Called by :mod:`.checker`, which owns the diagnostics; each check reports through ``error``.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from urllib.parse import urlsplit

from ringfence.errors import Span, did_you_mean
from ringfence.language import nodes
from ringfence.language.nodes.calendars import EASTER_REACH, MONTHS

__all__ = ["check_calendar_uses", "check_calendars", "check_changelog", "check_rule_metadata"]

Report = Callable[[str, str, Span, "str | None"], None]
# Days in each month in a leap year: a month_day past them never occurs.
_LONGEST_MONTH = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def check_calendars(policy: nodes.Policy, error: Report) -> None:
    """Each calendar defined once; each of its holidays a date that occurs, given once; its
    observance rules each moving one weekday to another."""
    seen: dict[str, nodes.HolidayCalendar] = {}
    for calendar in policy.all(nodes.HolidayCalendar):
        first = seen.setdefault(calendar.name, calendar)
        if first is not calendar:
            error("RF210", f"the holiday calendar '{calendar.name}' is already defined at line "
                  f"{first.name_span.line}", calendar.name_span, None)
        dates: dict[str, nodes.Holiday] = {}
        for holiday in calendar.holidays:
            _recurring(holiday.date, error)
            text = holiday.date.unparse()
            earlier = dates.setdefault(text, holiday)
            if earlier is not holiday:
                error("RF210", f"'{text}' is already a holiday of '{calendar.name}' (line "
                      f"{earlier.span.line})", holiday.span, None)
        if calendar.observance is not None:
            _observance(calendar.observance, error)


def _recurring(date: nodes.RecurringDate, error: Report) -> None:
    """A recurring date that some year lacks is an error, except a fifth weekday of a month of
    30 or 31 days (which the law may name; the calendar closes nothing in years without one)."""
    month = MONTHS[date.month - 1] if date.month else ""
    match date.kind:
        case "month_day":
            if date.day < 1 or date.day > _LONGEST_MONTH[date.month - 1]:
                error("RF408", f"{month} {date.day} is not a day of any year", date.span, None)
            elif (date.month, date.day) == (2, 29):
                error("RF408", "february 29 occurs only in leap years; name the day the law "
                      "moves it to in other years (february 28 or march 1)", date.span, None)
        case "nth_weekday":
            if date.ordinal == 5 and date.month == 2:
                error("RF408", f"february has a fifth {nodes.WEEKDAYS[date.weekday]} only in "
                      "some leap years; did you mean the last one?", date.span,
                      f"last {nodes.WEEKDAYS[date.weekday]} of february")
        case "weekday_after":
            assert date.base is not None
            _recurring(date.base, error)
        case "easter":
            if date.offset and date.unit not in ("day", "days"):
                error("RF408", f"a date before or after easter is counted in days, not "
                      f"{date.unit}", date.span, None)
            elif abs(date.offset) > EASTER_REACH:
                error("RF408", f"{date.unparse()} is more than {EASTER_REACH} days from easter; "
                      "write the date itself", date.span, None)


def _observance(observance: nodes.Observance, error: Report) -> None:
    moved: dict[int, Span] = {}
    for source, target, span in observance.shifts:
        day = nodes.WEEKDAYS[source]
        if source == target:
            error("RF409", f"'{day} -> {day}' moves nothing", span, None)
        elif source in moved:
            error("RF409", f"a holiday on a {day} is already moved at line {moved[source].line}",
                  span, None)
        moved.setdefault(source, span)


def check_calendar_uses(policy: nodes.Policy,
                        node: nodes.Closed | nodes.HolidayToday | nodes.Duration,
                        error: Report) -> None:
    """A calendar a rule names must be defined in the policy's header."""
    name = node.name if isinstance(node, nodes.HolidayToday) else node.calendar
    if node.definition is None and name is not None:
        known = [c.name for c in policy.all(nodes.HolidayCalendar)]
        where = (f"; this policy defines {', '.join(known)}" if known else
                 "; define it in the policy's header: holidays NAME: january 1, …")
        error("RF308", f"no holiday calendar is called '{name}'{where}", node.span,
              did_you_mean(name, known))


def check_rule_metadata(rule: nodes.Rule, error: Report) -> None:
    """A rule's ``url`` is a web address; each metadata clause is given once."""
    for kind in (nodes.Url, nodes.Verification, nodes.Reviewed, nodes.Status):
        for extra in rule.all(kind)[1:]:
            error("RF205", f"rule '{rule.id}' has more than one '{kind.keyword}' line",
                  extra.span, None)
    for url in rule.all(nodes.Url):
        parts = urlsplit(url.text)
        if parts.scheme not in ("http", "https") or not parts.netloc or " " in url.text:
            error("RF410", f"'{url.text}' is not a web address (http:// or https://…)",
                  url.span, None)


def check_changelog(policy: nodes.Policy, error: Report) -> None:
    """Changelog entries run oldest first, each with its own text."""
    entries = [c for c in policy.all(nodes.Changelog) if c.date is not None]
    for before, after in itertools.pairwise(entries):
        assert before.date is not None and after.date is not None
        if after.date < before.date:
            error("RF211", f"the changelog entry of {after.date} comes after the one of "
                  f"{before.date}; entries run oldest first", after.span, None)
    texts: dict[str, nodes.Changelog] = {}
    for entry in policy.all(nodes.Changelog):
        first = texts.setdefault(entry.text, entry)
        if first is not entry:
            error("RF211", f"the changelog says this already at line {first.span.line}",
                  entry.span, None)

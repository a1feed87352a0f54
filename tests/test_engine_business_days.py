"""Business days counted by arithmetic (the range's weekdays less the holidays among them, found
by bisection in each year's ordered weekday holidays) against the count day by day: the same
number, and the same fact named missing when a year's holidays are not known or the callee's
country is not."""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st
from test_core_support import policy_text
from test_holiday_calendars import OBSERVED

import ringfence
from ringfence.engine.runtime import (
    Ctx,
    business_days_between,
    business_days_by_day,
    calendar_days,
)
from ringfence.facts.callee import StandardFacts
from ringfence.language import nodes
from ringfence.language.parser import parse_text

FACTS = StandardFacts()
BASE = ringfence.load_library()._evaluator.context({"to": "+12125550123",
                                                    "at": "2026-06-15T12:00:00Z"})
[_CALENDAR] = parse_text(policy_text("", extra=OBSERVED)).all(nodes.HolidayCalendar)
DAYS = calendar_days(_CALENDAR)
# (country, region): a state's calendar, a national one, Sri Lanka's (known up to 2026 only),
# and a callee whose country is not known.
PLACES = [("US", "US-NY"), ("FR", None), ("DE", "DE-BY"), ("LK", None), (None, None)]


def _ctx(country: str | None, region: str | None) -> Ctx:
    return Ctx(BASE.call, BASE.t_dt, BASE.zones, country, region, FACTS)


@settings(max_examples=600, deadline=None)
@given(start=st.dates(dt.date(2015, 1, 1), dt.date(2104, 12, 31)), days=st.integers(-3, 900),
       place=st.sampled_from(PLACES), excluding=st.booleans())
def test_business_days_are_counted_as_day_by_day(start: dt.date, days: int,
                                                 place: tuple[str | None, str | None],
                                                 excluding: bool) -> None:
    end = start + dt.timedelta(days=days)
    calendar = DAYS if excluding else None
    fast, slow = _ctx(*place), _ctx(*place)
    assert business_days_between(fast, start, end, calendar) == \
        business_days_by_day(slow, start, end, calendar)
    assert fast.missing == slow.missing


def test_a_holiday_on_a_weekday_is_not_a_business_day_and_one_on_a_weekend_changes_nothing(
        ) -> None:
    ctx = _ctx("US", "US-NY")
    # 2026-12-21 (Monday) to 2027-01-03 (Sunday): ten weekdays, less Christmas (Friday 25) and
    # New Year's Day (Friday 1).
    assert business_days_between(ctx, dt.date(2026, 12, 20), dt.date(2027, 1, 3)) == 8
    # July 4 2026 is a Saturday (observed Friday 3, which the holidays package lists).
    assert business_days_between(ctx, dt.date(2026, 6, 28), dt.date(2026, 7, 5)) == 4
    assert business_days_between(ctx, dt.date(2026, 7, 5), dt.date(2026, 7, 5)) == 0

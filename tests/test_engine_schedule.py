"""``next_allowed_at``: the instant it gives is allowed, and no earlier instant is (issue #18 item 7:
it was late on clock-change days, adding durations as wall-clock time while rules count absolute
seconds)."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ringfence

FLORIDA = "+13055550123"  # Miami, America/New_York


@pytest.fixture(scope="module")
def florida() -> ringfence.PolicySet:
    return ringfence.load("us-fl")


def _call(at: dt.datetime, attempts: list[dt.datetime], **more: object) -> dict:
    return {"to": FLORIDA, "at": at.isoformat(), "purpose": "marketing", "technology": "manual",
            "subject": "s1", "history": [{"at": a.isoformat(), "subject": "s1"} for a in attempts],
            **more}


def _allowed(policies: ringfence.PolicySet, call: dict, at: dt.datetime) -> bool:
    return policies.decide({**call, "at": at.isoformat()}).decision == "allow"


def test_three_calls_in_24_hours_across_the_spring_clock_change(
        florida: ringfence.PolicySet) -> None:
    # 2026-03-08: clocks in Florida go from 02:00 to 03:00. Three calls on the 7th and 8th; a
    # fourth at 14:00 local is denied until the first attempt is 24 hours (86,400 s) old.
    utc = dt.UTC
    attempts = [dt.datetime(2026, 3, 7, 17, 30, tzinfo=utc),
                dt.datetime(2026, 3, 8, 13, 0, tzinfo=utc),
                dt.datetime(2026, 3, 8, 15, 0, tzinfo=utc)]
    call = _call(dt.datetime(2026, 3, 8, 18, 0, tzinfo=utc) - dt.timedelta(hours=1), attempts)
    decision = florida.decide(call)
    assert decision.decision == "deny"
    found = decision.next_allowed_at
    assert found is not None
    assert found.astimezone(utc) == dt.datetime(2026, 3, 8, 17, 30, 1, tzinfo=utc)
    assert _allowed(florida, call, found)
    assert not _allowed(florida, call, found - dt.timedelta(seconds=1))


DST_DAYS = [dt.datetime(2026, 3, 8, 6, tzinfo=dt.UTC), dt.datetime(2026, 11, 1, 5, tzinfo=dt.UTC),
            dt.datetime(2026, 6, 15, 12, tzinfo=dt.UTC)]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(day=st.sampled_from(DST_DAYS), offset=st.integers(-36 * 60, 36 * 60),
       ages=st.lists(st.integers(1, 30 * 60), min_size=0, max_size=4))
def test_next_allowed_is_allowed_and_nothing_earlier_is(florida: ringfence.PolicySet,
                                                         day: dt.datetime, offset: int,
                                                         ages: list[int]) -> None:
    at = day + dt.timedelta(minutes=offset)
    call = _call(at, [at - dt.timedelta(minutes=m) for m in ages])
    decision = florida.decide(call)
    if decision.decision == "allow":
        return
    found = decision.next_allowed_at
    assert found is not None  # hours and caps always clear by waiting
    assert found > at
    assert _allowed(florida, call, found)
    # A fine search: every minute before it, and the second before it, is still denied.
    step = at + dt.timedelta(minutes=1)
    while step < found:
        assert not _allowed(florida, call, step), (call, step, found)
        step += dt.timedelta(minutes=1)
    assert not _allowed(florida, call, found - dt.timedelta(seconds=1))

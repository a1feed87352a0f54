"""Calling windows in the callee's local time: DST days, multi-zone area codes, holidays, window
ends, day lines, fixed zones, and the next allowed instant."""

from __future__ import annotations

import pytest
from test_core_support import (
    MIAMI,
    NYC,
    PANHANDLE,
    PHILLY,
    call,
    iso,
    load_rule,
    load_text,
    policy_text,
    rule,
    same_instant,
    violated,
)

HOURS = "allow only between 08:00 and 21:00 inclusive, callee local time"


def decide_at(tmp_path, effect, at, **fields):
    return load_rule(tmp_path, effect).decide(call(at, **fields))


# ---- DST days in America/New_York ---------------------------------------------------------


@pytest.mark.parametrize(("at", "expected"), [
    # 2026-03-08: clocks go from 02:00 EST to 03:00 EDT
    ("2026-03-08T08:00:00-04:00", "allow"),
    ("2026-03-08T07:59:59-04:00", "deny"),
    ("2026-03-08T12:00:00Z", "allow"),      # the same instant as 08:00 EDT
    ("2026-03-08T11:59:59Z", "deny"),
    ("2026-03-08T21:00:00-04:00", "allow"),
    ("2026-03-08T21:00:01-04:00", "deny"),
    # 2026-11-01: clocks go from 02:00 EDT back to 01:00 EST
    ("2026-11-01T08:00:00-05:00", "allow"),
    ("2026-11-01T07:59:59-05:00", "deny"),
    ("2026-11-01T13:00:00Z", "allow"),
    ("2026-11-01T12:59:59Z", "deny"),       # 07:59:59 EST (would be 08:59:59 in summer time)
    ("2026-11-01T21:00:00-05:00", "allow"),
    ("2026-11-01T21:00:01-05:00", "deny"),
])
def test_dst_days_new_york(tmp_path, at, expected):
    assert decide_at(tmp_path, HOURS, at).decision == expected


@pytest.mark.parametrize(("at", "expected_next"), [
    ("2026-03-08T01:30:00-05:00", "2026-03-08T08:00:00-04:00"),   # before the switch, EST
    ("2026-03-07T22:00:00-05:00", "2026-03-08T08:00:00-04:00"),   # the evening before
    ("2026-10-31T22:00:00-04:00", "2026-11-01T08:00:00-05:00"),
    ("2026-11-01T01:30:00-04:00", "2026-11-01T08:00:00-05:00"),   # first 01:30 (still EDT)
    ("2026-11-01T01:30:00-05:00", "2026-11-01T08:00:00-05:00"),   # second 01:30 (EST)
])
def test_next_allowed_across_dst(tmp_path, at, expected_next):
    d = decide_at(tmp_path, HOURS, at)
    assert d.decision == "deny"
    assert same_instant(d.next_allowed_at, expected_next), d.next_allowed_at
    # reported in the call's own offset
    assert d.next_allowed_at.utcoffset() == iso(at).utcoffset()


@pytest.mark.parametrize(("effect", "at", "expected_next"), [
    # the window opens at 02:30, which does not exist: from 03:00 EDT the clock is inside it
    ("allow only between 02:30 and 05:00 inclusive", "2026-03-08T01:00:00-05:00",
     "2026-03-08T03:00:00-04:00"),
    # 01:50 EDT; forty minutes later it is 01:30 again, now EST
    ("allow only between 01:30 and 01:45 inclusive", "2026-11-01T01:50:00-04:00",
     "2026-11-01T01:30:00-05:00"),
])
def test_next_allowed_with_a_window_start_in_the_dst_switch(tmp_path, effect, at,
                                                              expected_next):
    assert decide_at(tmp_path, effect, expected_next).allowed
    d = decide_at(tmp_path, effect, at)
    assert same_instant(d.next_allowed_at, expected_next)


# ---- multi-zone area codes ----------------------------------------------------------------


@pytest.mark.parametrize(("to", "at", "zone", "expected"), [
    # 850 spans Central and Eastern time: both must be inside the window
    (PANHANDLE, "2026-06-15T08:30:00-04:00", None, "deny"),                 # 07:30 in Chicago
    (PANHANDLE, "2026-06-15T09:00:00-04:00", None, "allow"),                # 08:00 in Chicago
    (PANHANDLE, "2026-06-15T20:30:00-05:00", None, "deny"),                 # 21:30 in New York
    (PANHANDLE, "2026-06-15T20:00:00-05:00", None, "allow"),                # 21:00 in New York
    (PANHANDLE, "2026-06-15T08:30:00-04:00", "America/New_York", "allow"),  # location known
    (PANHANDLE, "2026-06-15T20:30:00-05:00", "America/Chicago", "allow"),
    (PANHANDLE, "2026-06-15T20:30:00-05:00", "America/New_York", "deny"),
    # 208: Mountain (Boise) and Pacific
    ("+12085550101", "2026-06-15T08:30:00-06:00", None, "deny"),            # 07:30 Pacific
    ("+12085550101", "2026-06-15T09:00:00-06:00", None, "allow"),
    ("+12085550101", "2026-06-15T08:30:00-06:00", "America/Boise", "allow"),
    # 928: Arizona (no DST) and the Navajo Nation (Mountain time with DST)
    ("+19285550101", "2026-06-15T07:30:00-07:00", None, "deny"),            # 08:30 in Denver
    ("+19285550101", "2026-06-15T08:00:00-07:00", None, "allow"),           # 09:00 in Denver
    ("+19285550101", "2026-06-15T20:30:00-07:00", None, "deny"),            # 21:30 in Denver
    ("+19285550101", "2026-06-15T20:30:00-07:00", "America/Phoenix", "allow"),
    # in winter both zones are UTC-7, so 20:30 is fine everywhere
    ("+19285550101", "2026-01-15T20:30:00-07:00", None, "allow"),
])
def test_multi_zone_area_codes(tmp_path, to, at, zone, expected):
    fields = {"to_timezone": zone} if zone else {}
    d = decide_at(tmp_path, HOURS, at, to=to, **fields)
    assert d.decision == expected


def test_multi_zone_decision_lists_every_zone_and_waits_for_all(tmp_path):
    d = decide_at(tmp_path, HOURS, "2026-06-15T08:30:00-04:00", to=PANHANDLE)
    assert set(d.timezones) >= {"America/Chicago", "America/New_York"}
    assert same_instant(d.next_allowed_at, "2026-06-15T09:00:00-04:00")
    known = decide_at(tmp_path, HOURS, "2026-06-15T07:30:00-04:00", to=PANHANDLE,
                      to_timezone="America/New_York")
    assert known.timezones == ["America/New_York"]
    assert same_instant(known.next_allowed_at, "2026-06-15T08:00:00-04:00")


def test_no_time_zone_fails_closed(tmp_path):
    ps = load_text(tmp_path, policy_text(rule(HOURS), where="any"))
    d = ps.decide(call(to="+80012345678"))  # a universal freephone number: no zone
    assert d.decision == "deny"
    assert d.violations[0].missing_facts == ("to_timezone",)
    assert ps.decide(call(to="+80012345678", to_timezone="Europe/Paris")).allowed


# ---- window ends --------------------------------------------------------------------------


@pytest.mark.parametrize(("mark", "at", "expected"), [
    ("inclusive", "2026-06-15T21:00:00-04:00", "allow"),
    ("inclusive", "2026-06-15T21:00:00.5-04:00", "deny"),
    ("inclusive", "2026-06-15T20:59:59.999-04:00", "allow"),
    ("exclusive", "2026-06-15T21:00:00-04:00", "deny"),
    ("exclusive", "2026-06-15T20:59:59-04:00", "allow"),
    # the start is always inclusive
    ("exclusive", "2026-06-15T08:00:00-04:00", "allow"),
    ("exclusive", "2026-06-15T07:59:59.9-04:00", "deny"),
])
def test_inclusive_and_exclusive_ends(tmp_path, mark, at, expected):
    d = decide_at(tmp_path, f"allow only between 08:00 and 21:00 {mark}", at)
    assert d.decision == expected


def test_seconds_in_window_times_and_end_of_day(tmp_path):
    effect = "allow only between 08:00:30 and 24:00 inclusive"
    assert decide_at(tmp_path, effect, "2026-06-15T08:00:29-04:00").decision == "deny"
    assert decide_at(tmp_path, effect, "2026-06-15T08:00:30-04:00").decision == "allow"
    assert decide_at(tmp_path, effect, "2026-06-15T23:59:59.999-04:00").decision == "allow"


# ---- day lines and closed days ------------------------------------------------------------

FRANCE = """allow only
    monday to friday 10:00 to 13:00 inclusive, 14:00 to 20:00 inclusive
    closed on public holidays"""

SPLIT = """allow only
    weekdays 09:00 to 21:30 inclusive
    weekends 10:00 to 18:00 inclusive"""


@pytest.mark.parametrize(("effect", "at", "expected"), [
    (FRANCE, "2026-06-15T10:00:00-04:00", "allow"),     # Monday
    (FRANCE, "2026-06-15T13:00:00-04:00", "allow"),
    (FRANCE, "2026-06-15T13:30:00-04:00", "deny"),      # the lunch gap
    (FRANCE, "2026-06-15T14:00:00-04:00", "allow"),
    (FRANCE, "2026-06-19T15:00:00-04:00", "deny"),      # Friday, but Juneteenth
    (FRANCE, "2026-06-20T11:00:00-04:00", "deny"),      # Saturday: not named, so closed
    (SPLIT, "2026-06-15T21:15:00-04:00", "allow"),
    (SPLIT, "2026-06-20T09:30:00-04:00", "deny"),       # Saturday before 10:00
    (SPLIT, "2026-06-21T17:59:00-04:00", "allow"),      # Sunday
    (SPLIT, "2026-06-21T18:30:00-04:00", "deny"),
    ("allow only every day 08:00 to 09:00 inclusive", "2026-06-21T08:30:00-04:00", "allow"),
    ("allow only saturday, sunday 08:00 to 09:00 inclusive", "2026-06-15T08:30:00-04:00", "deny"),
    ("allow only saturday, sunday 08:00 to 09:00 inclusive", "2026-06-20T08:30:00-04:00", "allow"),
    # "friday to monday" wraps over the weekend
    ("allow only friday to monday 08:00 to 09:00 inclusive", "2026-06-21T08:30:00-04:00", "allow"),
    ("allow only friday to monday 08:00 to 09:00 inclusive", "2026-06-15T08:30:00-04:00", "allow"),
    ("allow only friday to monday 08:00 to 09:00 inclusive", "2026-06-16T08:30:00-04:00", "deny"),
    (f"{HOURS}\n    closed on sunday", "2026-06-21T12:00:00-04:00", "deny"),
    (f"{HOURS}\n    closed on sunday", "2026-06-20T12:00:00-04:00", "allow"),
    (f"{HOURS}\n    closed on 2026-12-24", "2026-12-24T12:00:00-05:00", "deny"),
    (f"{HOURS}\n    closed on 2026-12-24", "2026-12-23T12:00:00-05:00", "allow"),
    # the callee's local date decides: 03:00 UTC on the 25th is the 24th in New York
    (f"{HOURS}\n    closed on 2026-12-25", "2026-12-25T02:00:00Z", "allow"),
])
def test_day_lines_and_closed_days(tmp_path, effect, at, expected):
    assert decide_at(tmp_path, effect, at).decision == expected


# ---- holidays -----------------------------------------------------------------------------

HOLIDAYS = f"{HOURS}\n    closed on public holidays"
NATIONAL = f"{HOURS}\n    closed on national public holidays"


@pytest.mark.parametrize(("effect", "to", "at", "expected"), [
    (HOLIDAYS, NYC, "2026-12-25T12:00:00-05:00", "deny"),       # Christmas Day
    (HOLIDAYS, NYC, "2026-12-24T12:00:00-05:00", "allow"),
    (HOLIDAYS, NYC, "2026-12-26T12:00:00-05:00", "allow"),
    (NATIONAL, NYC, "2026-12-25T12:00:00-05:00", "deny"),
    # the day after Thanksgiving is a Pennsylvania holiday, not a federal one
    (HOLIDAYS, PHILLY, "2026-11-27T12:00:00-05:00", "deny"),
    (HOLIDAYS, NYC, "2026-11-27T12:00:00-05:00", "allow"),
    (NATIONAL, PHILLY, "2026-11-27T12:00:00-05:00", "allow"),
    # to_region picks the subdivision calendar
    (HOLIDAYS, NYC, "2026-11-27T12:00:00-05:00", "allow"),
    (HOLIDAYS, "+33612345678", "2026-07-14T12:00:00+02:00", "deny"),  # Bastille Day, France
    (HOLIDAYS, "+33612345678", "2026-07-15T12:00:00+02:00", "allow"),
])
def test_public_holidays(tmp_path, effect, to, at, expected):
    ps = load_text(tmp_path, policy_text(rule(effect), where="any"))
    assert ps.decide(call(at, to=to)).decision == expected


def test_to_region_selects_the_holiday_calendar(tmp_path):
    ps = load_text(tmp_path, policy_text(rule(HOLIDAYS)))
    at = "2026-11-27T12:00:00-05:00"
    assert ps.decide(call(at, to=NYC, to_region="US-PA")).decision == "deny"
    assert ps.decide(call(at, to=PHILLY, to_region="US-NY")).decision == "allow"


def test_next_allowed_skips_a_holiday(tmp_path):
    d = decide_at(tmp_path, HOLIDAYS, "2026-12-24T21:30:00-05:00")
    assert same_instant(d.next_allowed_at, "2026-12-26T08:00:00-05:00")


# ---- fixed zone ---------------------------------------------------------------------------


def test_fixed_time_zone_ignores_the_callee(tmp_path):
    effect = 'allow only between 08:00 and 21:00 inclusive\n    in time zone "America/Chicago"'
    assert decide_at(tmp_path, effect, "2026-06-15T08:30:00-04:00").decision == "deny"
    assert decide_at(tmp_path, effect, "2026-06-15T09:00:00-04:00").decision == "allow"
    assert decide_at(tmp_path, effect, "2026-06-15T09:00:00-04:00",
                     to_timezone="Asia/Tokyo").decision == "allow"
    d = decide_at(tmp_path, effect, "2026-06-15T08:30:00-04:00")
    assert same_instant(d.next_allowed_at, "2026-06-15T09:00:00-04:00")


# ---- next_allowed_at ----------------------------------------------------------------------


def test_next_allowed_after_the_window_is_next_morning(tmp_path):
    d = decide_at(tmp_path, HOURS, "2026-06-15T21:30:00-04:00")
    assert same_instant(d.next_allowed_at, "2026-06-16T08:00:00-04:00")
    assert d.to_dict()["next_allowed_at"] == "2026-06-16T08:00:00-04:00"


def test_next_allowed_for_an_allowed_call_is_the_call_time(tmp_path):
    d = decide_at(tmp_path, HOURS, "2026-06-15T12:00:00-04:00")
    assert d.allowed
    assert same_instant(d.next_allowed_at, "2026-06-15T12:00:00-04:00")


def test_next_allowed_is_null_for_a_listed_number(tmp_path):
    text = policy_text(rule(HOURS, rid="hours") + rule("deny if callee on list dnc", rid="dnc"),
                       extra="uses list dnc")
    d = load_text(tmp_path, text).decide(call("2026-06-15T22:00:00-04:00",
                                              lists=[{"name": "dnc"}]))
    assert violated(d) == {"hours", "dnc"}
    assert d.next_allowed_at is None
    assert d.to_dict()["next_allowed_at"] is None


def test_next_allowed_when_the_listing_grace_period_ends(tmp_path):
    # the rule denies calls in the 31 days after listing: the call is allowed once they are over
    text = policy_text(rule("deny if callee on list dnc listed less than 31 days ago"),
                       extra="uses list dnc")
    d = load_text(tmp_path, text).decide(call("2026-06-15T12:00:00Z",
                                              lists=[{"name": "dnc", "listed_at": "2026-05-20"}]))
    assert d.decision == "deny"
    # a date-only listing date is midnight in the callee's zone
    assert same_instant(d.next_allowed_at, "2026-06-20T00:00:00-04:00")


def test_next_allowed_none_when_nothing_opens_within_14_days(tmp_path):
    effect = ("allow only monday 09:00 to 10:00 inclusive\n"
              "    closed on 2026-06-22, 2026-06-29")
    d = decide_at(tmp_path, effect, "2026-06-15T11:00:00-04:00")
    assert d.decision == "deny"
    assert d.next_allowed_at is None
    # with one of those Mondays open, it is found
    d = decide_at(tmp_path, "allow only monday 09:00 to 10:00 inclusive\n"
                  "    closed on 2026-06-22", "2026-06-15T11:00:00-04:00")
    assert same_instant(d.next_allowed_at, "2026-06-29T09:00:00-04:00")


def test_next_allowed_waits_for_every_policy(tmp_path):
    text = policy_text(rule(HOURS, rid="a")
                       + rule("allow only weekdays 10:00 to 17:00 inclusive", rid="b"))
    d = load_text(tmp_path, text).decide(call("2026-06-19T18:00:00-04:00"))  # a Friday
    assert violated(d) == {"b"}
    assert same_instant(d.next_allowed_at, "2026-06-22T10:00:00-04:00")


def test_window_rule_explains_the_local_time(tmp_path):
    ps = load_rule(tmp_path, HOURS)
    d = ps.decide(call("2026-06-15T21:30:00-04:00", to=MIAMI), trace=True)
    (step,) = d.trace
    assert step.outcome == "violated"
    assert step.detail.startswith("the call is outside the window")
    assert ("the call was at 21:30 on Monday 15 June 2026 in America/New_York, after the 21:00 "
            "end") in step.detail

"""A generated call log with known planted violations, to prove an audit finds them all.

:func:`planted_log` makes calls to US numbers in Florida, Texas, New York and Washington in June
2026, judged by the shipped library. Most calls break nothing: placed 12:00-17:00 local time, on
days two apart for each number (so no frequency cap is near), with a caller ID and a fresh
do-not-call scrub. A known share of calls break known rules, each on a number of its own; a few
decoys look like violations but are not (a fourth call on another subject, a fourth call in a
state without a cap, an opt-out judged by the rule in force in March 2025). The expected findings
are written down from the rules' text, not computed by the engine.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

__all__ = ["PlantedLog", "planted_log"]

# region -> (area code, zone, the state policy's hours rule, or None where only federal applies)
REGIONS = {
    "US-FL": ("305", "America/New_York", "us-fl/calling-hours"),
    "US-TX": ("512", "America/Chicago", "us-tx/calling-hours"),
    "US-NY": ("212", "America/New_York", "us-ny/calling-hours"),
    "US-WA": ("206", "America/Los_Angeles", "us-wa/calling-hours"),
}
START = dt.date(2026, 6, 1)  # a Monday; four weeks follow
DAYS = 28
CALLER = "+18005550100"


@dataclass
class PlantedLog:
    """The calls (log rows, in no particular order) and, by call id, the rules each must break."""

    calls: list[dict[str, Any]]
    expected: dict[int, frozenset[str]]

    @property
    def planted(self) -> int:
        """How many (call, rule) violations were planted."""
        return sum(len(v) for v in self.expected.values())


class _Maker:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.calls: list[dict[str, Any]] = []
        self.expected: dict[int, frozenset[str]] = {}
        self._numbers = 0

    def number(self, region: str) -> str:
        self._numbers += 1
        area = REGIONS[region][0]
        return f"+1{area}{200 + self._numbers // 10_000}{self._numbers % 10_000:04d}"

    def call(self, region: str, to: str, day: dt.date, clock: dt.time, expect: set[str],
             **extra: object) -> dict[str, Any]:  # fmt: skip
        local = dt.datetime.combine(day, clock, ZoneInfo(REGIONS[region][1]))
        at = local.astimezone(dt.UTC)
        call_id = len(self.calls)
        call: dict[str, object] = {
            "id": call_id, "to": to, "at": at.isoformat().replace("+00:00", "Z"),
            "to_region": region, "to_timezone": REGIONS[region][1], "purpose": "marketing",
            "technology": "manual", "from": CALLER, "subject": f"offer-{self.rng.randint(1, 3)}",
            "campaign": f"c{self.rng.randint(1, 12):02d}",
            "lists": [], "lists_checked_at": {"national_dnc": (day - dt.timedelta(days=5)).isoformat()},
            "consent": [], "opt_outs": [],  # none, said as a dialer says it
            "outcome": self.rng.choice(["no_answer", "voicemail", "busy", "conversation"]),
        }  # fmt: skip
        call.update(extra)
        call = {k: v for k, v in call.items() if v is not None}
        self.calls.append(call)
        if expect:
            self.expected[call_id] = frozenset(expect)
        return call

    def afternoon(self) -> dt.time:
        return dt.time(12 + self.rng.randrange(5), self.rng.randrange(60), self.rng.randrange(60))

    def region(self, *allowed: str) -> str:
        return self.rng.choice(allowed or tuple(REGIONS))

    def day(self) -> dt.date:
        return START + dt.timedelta(days=self.rng.randrange(DAYS))


def _weekday(maker: _Maker) -> dt.date:
    day = maker.day()
    return day - dt.timedelta(days=max(0, day.weekday() - 4))  # Saturday, Sunday -> Friday


def _late(m: _Maker) -> None:
    region = m.region()
    state = REGIONS[region][2]
    m.call(region, m.number(region), m.day(), dt.time(21, 30), {"us-federal/calling-hours",
                                                               *([state] if state else [])})


def _early(m: _Maker) -> None:
    region = m.region()
    state = REGIONS[region][2]
    m.call(region, m.number(region), _weekday(m), dt.time(7, 15), {"us-federal/calling-hours",
                                                                  *([state] if state else [])})


def _florida_evening(m: _Maker) -> None:
    # Federal law allows until 21:00; Florida only until 20:00.
    m.call("US-FL", m.number("US-FL"), m.day(), dt.time(20, m.rng.randrange(1, 60)),
           {"us-fl/calling-hours"})


def _texas_sunday_morning(m: _Maker) -> None:
    sunday = START + dt.timedelta(days=6 + 7 * m.rng.randrange(4))
    m.call("US-TX", m.number("US-TX"), sunday, dt.time(10, 30), {"us-tx/calling-hours"})


def _no_caller_id(m: _Maker) -> None:
    region = m.region()
    caller = m.rng.choice([None, "withheld"])
    m.call(region, m.number(region), m.day(), m.afternoon(), {"us-federal/caller-id"}, **{"from": caller})


def _dnc_listed(m: _Maker) -> None:
    region = m.region()
    m.call(region, m.number(region), m.day(), m.afternoon(), {"us-federal/national-dnc"},
           lists=[{"name": "national_dnc"}])


def _stale_scrub(m: _Maker) -> None:
    region = m.region()
    day = m.day()
    m.call(region, m.number(region), day, m.afternoon(), {"us-federal/dnc-registry-scrub"},
           lists_checked_at={"national_dnc": (day - dt.timedelta(days=40)).isoformat()})


def _burst(m: _Maker, region: str, subjects: list[str], expect_last: set[str]) -> None:
    to, day = m.number(region), m.day()
    for i, subject in enumerate(subjects):
        last = i == len(subjects) - 1
        m.call(region, to, day, dt.time(12 + i, 10), expect_last if last else set(), subject=subject)


def _florida_fourth_call(m: _Maker) -> None:
    # Three earlier calls on the same subject in 24 hours make the fourth one unlawful.
    _burst(m, "US-FL", ["renewal"] * 4, {"us-fl/three-calls-per-24-hours"})


def _decoy_other_subject(m: _Maker) -> None:
    _burst(m, "US-FL", ["renewal", "renewal", "renewal", "upgrade"], set())


def _decoy_no_cap(m: _Maker) -> None:
    _burst(m, "US-TX", ["renewal"] * 4, set())


def _opt_out(m: _Maker, day: dt.date, days_before: int, expect: set[str]) -> None:
    region = m.region("US-FL", "US-TX", "US-NY")  # Washington adds its own one-year rule
    opted = dt.datetime.combine(day - dt.timedelta(days=days_before), dt.time(15), dt.UTC)
    m.call(region, m.number(region), day, m.afternoon(), expect,
           opt_outs=[{"at": opted.isoformat().replace("+00:00", "Z"), "purposes": ["marketing"]}])


def _opted_out_2026(m: _Maker) -> None:
    # Since 2025-04-11 a do-not-call request must be honoured within 10 business days.
    _opt_out(m, _weekday(m), 20, {"us-federal/company-dnc"})


def _decoy_opted_out_2025(m: _Maker) -> None:
    # Before 2025-04-11 the caller had 30 days: 20 days after the request the call was lawful.
    _opt_out(m, dt.date(2025, 3, 10) + dt.timedelta(days=m.rng.randrange(5)), 20, set())


def _opted_out_2025_late(m: _Maker) -> None:
    _opt_out(m, dt.date(2025, 3, 10) + dt.timedelta(days=m.rng.randrange(5)), 40,
             {"us-federal/company-dnc-30-days"})


# Each plant makes one to four calls; one in _PLANT_EVERY calls starts a plant.
_PLANTS: tuple[Callable[[_Maker], None], ...] = (
    _late, _early, _florida_evening, _texas_sunday_morning, _no_caller_id, _dnc_listed,
    _stale_scrub, _florida_fourth_call, _decoy_other_subject, _decoy_no_cap, _opted_out_2026,
    _decoy_opted_out_2025, _opted_out_2025_late,
)
_PLANT_EVERY = 50


def _clean_days(m: _Maker) -> Iterator[dt.date]:
    """Days two apart (never closer than 31 hours between afternoon calls)."""
    for offset in sorted(m.rng.sample(range(0, DAYS, 2), m.rng.randint(1, 9))):
        yield START + dt.timedelta(days=offset)


def planted_log(calls: int, seed: int = 16) -> PlantedLog:
    """About ``calls`` calls (at least that many) with violations planted among them."""
    m = _Maker(random.Random(seed))
    while len(m.calls) < calls:
        if m.rng.randrange(_PLANT_EVERY // 5) == 0:  # a number of clean calls is about 5 calls
            m.rng.choice(_PLANTS)(m)
            continue
        region = m.region()
        to = m.number(region)
        for day in _clean_days(m):
            m.call(region, to, day, m.afternoon(), set())
    m.rng.shuffle(m.calls)  # the log need not be in time order: audit sorts it
    return PlantedLog(m.calls, m.expected)

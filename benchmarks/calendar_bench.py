"""A window closed on a policy's holiday calendar against the same window closed on listed dates.

Builds two policies with the same rule: one closes on the calendar ``pa-legal`` (the holidays of
73 P.S. § 2245(a)(10), dated by rule), the other on those holidays' dates listed for 2025 to 2027
(what us-pa.rf held before calendars). Decides the same calls (at random instants of 2025 to
2027, to Philadelphia numbers) with both, checks they agree on every call, and prints decisions
per second for each and their ratio.

    python benchmarks/calendar_bench.py [--calls N]
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import tempfile
import time
from pathlib import Path
from typing import Literal

import ringfence

HOLIDAYS = """january 1, third monday of january, third monday of february, 2 days before easter,
    last monday of may, june 14, july 4, first monday of september, second monday of october,
    tuesday after first monday of november, november 11, fourth thursday of november, december 25"""
HEAD = 'policy {pid} "Benchmark"\n  applies to US-PA\n{extra}\nrule holidays "Holidays"\n' \
       '  cite "73 P.S. § 2245(a)(10)"\n  allow only\n    every day 08:00 to 21:00 inclusive\n' \
       "    closed on {closed}\n    callee local time\n"


def policies(folder: Path) -> tuple[ringfence.PolicySet, ringfence.PolicySet]:
    """(the calendar policy, the listed-dates policy), the dates taken from the calendar."""
    calendar_text = HEAD.format(pid="calendar", extra=f"  holidays pa-legal: {HOLIDAYS}\n",
                                closed="pa-legal")
    (folder / "calendar.rf").write_text(calendar_text, encoding="utf-8")
    calendar = ringfence.load(folder / "calendar.rf")
    [window] = [r.window for p in calendar.compiled for r in p.rules if r.window]
    [days] = window.calendars
    dates = [d.isoformat() for year in (2025, 2026, 2027) for d, _ in days.calendar.closures(year)]
    listed_text = HEAD.format(pid="listed", extra="", closed=", ".join(dates))
    (folder / "listed.rf").write_text(listed_text, encoding="utf-8")
    return calendar, ringfence.load(folder / "listed.rf")


def calls(n: int, rng: random.Random) -> list[dict[str, str]]:
    """n calls at random minutes of 2025 to 2027 to Philadelphia (215) numbers."""
    start = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    minutes = 3 * 365 * 1440
    return [{"to": f"+1215555{rng.randrange(10_000):04d}",
             "at": (start + dt.timedelta(minutes=rng.randrange(minutes))).isoformat()}
            for _ in range(n)]


def rate(policyset: ringfence.PolicySet,
         batch: list[dict[str, str]]) -> tuple[float, list[Literal["allow", "deny"]]]:
    """(decisions per second, the decisions)."""
    began = time.perf_counter()
    decided = [policyset.decide(c).decision for c in batch]
    return len(batch) / (time.perf_counter() - began), decided


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=50_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        calendar, listed = policies(Path(tmp))
        batch = calls(args.calls, random.Random(14))
        rate(calendar, batch[:1000])  # warm the number-block and calendar-year caches
        rate(listed, batch[:1000])
        by_calendar, decided_calendar = rate(calendar, batch)
        by_dates, decided_dates = rate(listed, batch)
    assert decided_calendar == decided_dates, "the two policies disagree"
    denied = decided_calendar.count("deny")
    print(f"{args.calls:,} calls, {denied:,} denied; both policies agree on every call")
    print(f"closed on a calendar:      {by_calendar:>10,.0f} decisions/s")
    print(f"closed on listed dates:    {by_dates:>10,.0f} decisions/s")
    print(f"calendar / listed dates:   {by_calendar / by_dates:>10.2f}")


if __name__ == "__main__":
    main()

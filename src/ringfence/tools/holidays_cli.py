"""``ringfence holidays``: the days a policy closes on in a year, and why.

Read from the policies as lowered (:attr:`ringfence.api.PolicySet.compiled`): every calling window
that closes days names where each closed day comes from — a holiday calendar the policy defines
(``closed on pa-legal``), the ``holidays`` package's public holidays of the region (``closed on
public holidays``), or a date the rule lists. Closed weekdays (``closed on sunday``) are hours,
not holidays, and are left out.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import asdict, dataclass

import click

from ringfence.api import PolicySet, load
from ringfence.engine.ir import Policy
from ringfence.engine.runtime import WindowSpec
from ringfence.errors import InputError
from ringfence.facts.callee import FactSource, HolidaysUnknown

__all__ = ["Closure", "calendar_holiday", "closures", "print_holidays"]

_REGION = re.compile(r"[A-Z]{2}(-[A-Z0-9]{1,3})?\Z")


@dataclass(frozen=True)
class Closure:
    """One day a rule's window closes on."""

    date: dt.date
    name: str  # the holiday's name ("Christmas Day (observed)"), or "listed date"
    policy: str
    rule: str
    region: str  # the region whose calendar gave it ("any" for a policy calendar or a date)
    source: str  # "calendar pa-legal", "public holidays", "national public holidays", "date"

    def to_dict(self) -> dict[str, str]:
        """JSON-able form (the date as YYYY-MM-DD)."""
        return {**asdict(self), "date": self.date.isoformat()}


def _applies(policy: Policy, region: str) -> bool:
    country = region.split("-")[0]
    return policy.any_place or country in policy.countries or region in policy.subdivisions


def _regions(policy: Policy, region: str | None) -> list[str]:
    """Where public holidays are looked up: the region asked, else each place the policy names."""
    if region is not None:
        return [region]
    return [j for j in policy.info.jurisdictions if j != "any"]


def closures(policies: PolicySet, year: int, region: str | None = None) -> list[Closure]:
    """Every day of ``year`` a rule of ``policies`` closes its window on, in date order.

    With ``region`` (``US-PA``, ``FR``) only the policies that apply there are read, and public
    holidays are those of that region; without it, each policy's own jurisdictions. Raises
    :class:`~ringfence.errors.InputError` when a region has no holiday data for the year.
    """
    if not dt.MINYEAR <= year <= dt.MAXYEAR:
        raise InputError(f"--year {year} is not a year from {dt.MINYEAR} to {dt.MAXYEAR}")
    found: list[Closure] = []
    for policy in policies.compiled:
        if region is not None and not _applies(policy, region):
            continue
        for rule in policy.rules:
            if rule.window is None:
                continue
            found += _window_closures(rule.window, policy.info.id, rule.id, year,
                                      _regions(policy, region), policies.facts)
    return sorted(found, key=lambda c: (c.date, c.policy, c.rule, c.region, c.source))


def calendar_holiday(policies: PolicySet, day: dt.date, region: str | None) -> str | None:
    """The name of the holiday on ``day`` in a calendar a window of ``policies`` (those that
    apply in ``region``, when given) closes on, or None."""
    for policy in policies.compiled:
        if region is not None and not _applies(policy, region):
            continue
        for rule in policy.rules:
            for days in rule.window.calendars if rule.window else ():
                name = days.on(day)
                if name is not None:
                    return name
    return None


def _window_closures(window: WindowSpec, policy: str, rule: str, year: int, regions: list[str],
                     facts: FactSource) -> list[Closure]:
    out = [Closure(day, name, policy, rule, "any", f"calendar {days.name}")
           for days in window.calendars for day, name in days.calendar.closures(year)]
    out += [Closure(day, "listed date", policy, rule, "any", "date")
            for day in sorted(window.closed_dates) if day.year == year]
    if window.public_holidays or window.national_holidays:
        national = not window.public_holidays
        source = "national public holidays" if national else "public holidays"
        for place in regions:
            out += [Closure(day, name, policy, rule, place, source)
                    for day, name in _public_holidays(facts, place, year, national)]
    return out


def _public_holidays(facts: FactSource, region: str, year: int, national: bool
                     ) -> list[tuple[dt.date, str]]:
    country, _, subdivision = region.partition("-")
    subdiv = region if subdivision else None
    day = dt.date(year, 1, 1)
    out = []
    while day.year == year:
        try:
            name = facts.holiday(country, subdiv, day, national)
        except HolidaysUnknown:
            raise InputError(f"the {country} holiday calendar has no data for {year}") from None
        if name:
            out.append((day, name))
        if day == dt.date.max:
            break
        day += dt.timedelta(days=1)
    return out


def print_holidays(policies: tuple[str, ...], year: int, region: str | None,
                   as_json: bool) -> None:
    """What ``ringfence holidays`` prints: one line per closure (or a JSON array)."""
    if region is not None and not _REGION.match(region):
        raise InputError(f"--region {region!r} is not a country or subdivision code (US, US-PA)")
    found = closures(load(*policies), year, region)
    if as_json:
        click.echo(json.dumps([c.to_dict() for c in found], ensure_ascii=False, indent=2))
        return
    if not found:
        click.echo(f"no holidays in {year}: no window of these policies closes on a date"
                   + (f" in {region}" if region else ""))
        return
    width = max(len(c.name) for c in found)
    for c in found:
        where = "" if c.region == "any" else f" ({c.region})"
        click.echo(f"{c.date}  {c.date.strftime('%a')}  {c.name:<{width}}  "
                   f"{c.policy}/{c.rule}: {c.source}{where}")

"""Where a number is, as ``phonenumbers`` and the project's NANP data say: the reference answer.

This is the slow road (a parse and a walk through the metadata's patterns, about 50 µs): the
location table (:mod:`ringfence.facts.locationtable`) is built from it and checked against it, and
numbers the table does not cover are answered by it (cached per numbering block).
"""

from __future__ import annotations

import csv
import functools
from dataclasses import dataclass

import phonenumbers
from phonenumbers import timezone as phone_zones

from ringfence.resources import data_path

#: The project's own data files the answers depend on (besides ``phonenumbers``).
DATA_FILES = ("nanp_regions.csv", "multizone_area_codes.csv")


@dataclass(frozen=True, slots=True)
class NumberFacts:
    """What the number alone tells: its country, its subdivision when determined, its zones."""

    country: str | None
    region: str | None
    zones: tuple[str, ...]


def _rows(name: str) -> list[list[str]]:
    with data_path(name).open(encoding="utf-8") as fh:
        rows = list(csv.reader(line for line in fh if not line.startswith("#")))
    return rows[1:]


@functools.cache
def nanp_regions() -> dict[str, str]:
    """NANP area code -> ISO 3166-2 subdivision (``data/nanp_regions.csv``)."""
    return {code: region for code, region, _ in _rows("nanp_regions.csv")}


@functools.cache
def nanp_multizone() -> dict[str, tuple[str, ...]]:
    """NANP area codes whose numbers may reach more zones than libphonenumber gives."""
    return {code: tuple(zones.split()) for code, zones in _rows("multizone_area_codes.csv")}


def reference(e164: str) -> NumberFacts | str:
    """The number's facts, or why it is not valid (without the number: shared by its block)."""
    try:
        parsed = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException as err:
        return f"is not a phone number ({err})"
    if not phonenumbers.is_valid_number(parsed):
        return "is not a valid number in its numbering plan"
    country = phonenumbers.region_code_for_number(parsed)
    zones = [z for z in phone_zones.time_zones_for_number(parsed) if z != "Etc/Unknown"]
    region = None
    if parsed.country_code == 1:
        area = str(parsed.national_number)[:3]
        region = nanp_regions().get(area)
        zones.extend(z for z in nanp_multizone().get(area, ()) if z not in zones)
        if region is not None:
            country = region[:2]
    return NumberFacts(country, region, tuple(zones))

"""Facts about the callee that do not come in the call: zones, region, holidays, list files.

Rule code never looks these up itself: it asks a :class:`FactSource`. The standard source uses
``phonenumbers`` (number -> country and zones) and the shipped NANP area-code tables (number ->
state or province, zones libphonenumber leaves out), both precomputed into the location table
for 10-digit NANP numbers (``facts/locationtable.py``), ``zoneinfo`` and ``holidays``.
Embedders may pass their own source (a store of list memberships, say) as long as it answers
the same questions.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from os import PathLike
from pathlib import Path
from typing import Protocol
from zoneinfo import ZoneInfo

import holidays

from ringfence.errors import CallError, InputError, excerpt
from ringfence.facts.locate import NumberFacts as NumberFacts  # re-exported: part of the API
from ringfence.facts.locate import reference
from ringfence.facts.locationtable import LocationTable, nanp_table
from ringfence.facts.numberblocks import block_key_length
from ringfence.facts.numberlist import NumberList
from ringfence.facts.zones import load_zone


class HolidaysUnknown(LookupError):
    """The holiday calendar has no data for the year asked: whether a day is a holiday is not known
    (the evaluator then treats the fact ``holidays`` as missing, and denies)."""


class FactSource(Protocol):
    """The questions the evaluator asks about a callee."""

    def number(self, e164: str) -> NumberFacts:
        """Country, region and candidate zones of a number; raise CallError if it is not valid."""

    def zone(self, name: str) -> ZoneInfo:
        """The zone of an IANA name; raise CallError for an unknown name."""

    def holiday(self, country: str, region: str | None, day: dt.date,
                national_only: bool) -> str | None:
        """The name of the public holiday on that day, or None when it is none.

        Raise :class:`HolidaysUnknown` when the calendar does not cover that year.
        """

    def listed(self, name: str, e164: str) -> tuple[bool | None, float | dt.date | None]:
        """Whether a loaded list file holds the number, and its listing time (or bare date);
        (None, None) when no list of that name is loaded: whether the number is on it is not
        known."""


@dataclass(frozen=True, slots=True)
class _HolidayTable:
    """One calendar's holidays of one year, and whether the calendar covers that year at all."""

    covered: bool
    names: Mapping[dt.date, str]
    # The ordinals of its holidays of that year that fall on a weekday, in order: business days
    # over a range are counted by bisection rather than day by day.
    weekdays: tuple[int, ...] = ()


def weekday_ordinals(days: Iterable[dt.date]) -> tuple[int, ...]:
    """The ordinals of those of ``days`` from Monday to Friday, in order."""
    return tuple(sorted(day.toordinal() for day in days if day.weekday() < 5))


def _not_loaded(e164: str) -> bool | None:
    """No list is loaded under the slot's name: whether a number is on it is not known."""
    return None


class ListSlot:
    """A list name as the evaluator holds it, for the life of a policy set: the code generated
    at load keeps the slot, not the list, so :meth:`replace` swaps lists under running policies.

    Every lookup reads one attribute once (``contains``, or ``table`` for a listing date) and
    each is bound to a whole list, so a lookup sees the old list or the new one, never a mix.
    """

    __slots__ = ("contains", "table")

    def __init__(self, table: NumberList | None = None,
                 contains: Callable[[str], bool | None] = _not_loaded):
        self.table = table
        self.contains = contains if table is None else table.contains

    def replace(self, table: NumberList) -> None:
        """Make ``table`` the list this slot answers from."""
        self.table = table
        self.contains = table.contains


# The leading characters of a number a block is first looked for by (``+`` and six digits):
# they decide the block of nearly every number outside the location table (numberblocks.py).
_HEAD = 7


class StandardFacts:
    """The standard fact source. Thread-safe: caches are filled under a lock, and
    :meth:`replace_list` swaps a list atomically while policies read it."""

    def __init__(self, lists: Mapping[str, NumberList] | None = None):
        self._slots = {name: ListSlot(table) for name, table in (lists or {}).items()}
        self._numbers: dict[tuple[str, int], NumberFacts | str] = {}
        self._key_lengths: dict[tuple[str, int], int] = {}
        # The answers of numbers whose first seven characters (and length) decide their block:
        # nearly every number the table does not cover, answered by one lookup (see _by_block).
        self._by_head: dict[tuple[str, int], NumberFacts | str] = {}
        self._zones: dict[str, ZoneInfo] = {}
        self._holidays: dict[tuple[str, str | None, int, bool], _HolidayTable] = {}
        self._lock = threading.Lock()
        self._table: LocationTable | None = None  # read on the first number asked

    def number(self, e164: str) -> NumberFacts:
        # A 10-digit NANP number: two dictionary lookups in the location table
        # (facts/locationtable.py); any other, phonenumbers once per block.
        table = self._table
        if table is None:
            table = self._table = nanp_table()
        found = table.lookup(e164)
        if found is None:
            found = self._cached_number(e164)
        if isinstance(found, str):
            # The answer names no number: it is shared by the whole block.
            raise CallError("to", f"{e164} {found}")
        return found

    def _cached_number(self, e164: str) -> NumberFacts | str:
        """A number the location table does not cover, asked of ``phonenumbers`` once per block.

        libphonenumber allocates validity, zones and (in NANP) regions by numbering block, so
        answers are cached per block and length. How long a block is depends on the country
        and its first digits (facts/numberblocks.py reads it from the metadata); it is itself
        cached by those."""
        head = (e164[:_HEAD], len(e164))
        found = self._by_head.get(head)
        return self._by_block(e164, head) if found is None else found

    def _by_block(self, e164: str, head: tuple[str, int]) -> NumberFacts | str:
        """The answer of the number's block (``head``: its first characters and its length),
        kept by its head too where the head decides the block."""
        key_length = self._key_lengths.get(head)
        if key_length is None:
            key_length = block_key_length(e164)
            with self._lock:
                self._key_lengths[head] = key_length
        key = (e164[:key_length], head[1])
        found = self._numbers.get(key)
        if found is None:
            found = self._lookup_number(e164)
            with self._lock:
                self._numbers[key] = found
        if key_length <= _HEAD:  # every number of this head is of this block
            with self._lock:
                self._by_head[head] = found
        return found

    @staticmethod
    def _lookup_number(e164: str) -> NumberFacts | str:
        """The number's facts, or why it is not valid, from ``phonenumbers`` itself."""
        return reference(e164)

    def zone(self, name: str) -> ZoneInfo:
        found = self._zones.get(name)
        if found is None:
            try:
                found = load_zone(name)
            except ValueError:
                raise CallError("to_timezone", f"{excerpt(name)} is not a known IANA time zone"
                                ) from None
            with self._lock:
                self._zones[name] = found
        return found

    def holiday(self, country: str, region: str | None, day: dt.date,
                national_only: bool) -> str | None:
        return self._covered(country, region, day.year, national_only).names.get(day)

    def holiday_weekdays(self, country: str, region: str | None, year: int) -> tuple[int, ...]:
        """The ordinals of the days of ``year`` from Monday to Friday on which :meth:`holiday`
        names a holiday (national or the region's), in order. Raise :class:`HolidaysUnknown`
        as it does."""
        return self._covered(country, region, year, False).weekdays

    def _covered(self, country: str, region: str | None, year: int,
                 national_only: bool) -> _HolidayTable:
        subdiv = None if national_only or not region or "-" not in region else region[3:]
        key = (country, subdiv, year, national_only)
        table = self._holidays.get(key)
        if table is None:
            table = self._holiday_table(*key)
            with self._lock:
                self._holidays[key] = table
        if not table.covered:
            raise HolidaysUnknown(f"the {country} holiday calendar has no data for {year}")
        return table

    @staticmethod
    def _holiday_table(country: str, subdiv: str | None, year: int,
                       national_only: bool) -> _HolidayTable:
        try:
            found = holidays.country_holidays(country, subdiv=subdiv, years=year)
        except NotImplementedError:
            if subdiv is None:
                raise CallError("to", f"no public-holiday calendar is known for {country}") from None
            # A subdivision the holidays package does not split out: use the national calendar.
            found = holidays.country_holidays(country, years=year)
        # Each calendar of the holidays package states the years it knows (start_year, end_year;
        # 2100 by default, 2026 for Sri Lanka): outside them it silently lists no holiday at all.
        names = dict(found)
        return _HolidayTable(found.start_year <= year <= found.end_year, names,
                             weekday_ordinals(day for day, name in names.items()
                                              if name and day.year == year))

    @property
    def lists(self) -> dict[str, NumberList]:
        """The lists loaded now, by name."""
        return {name: slot.table for name, slot in self._slots.items() if slot.table is not None}

    def slot(self, name: str) -> ListSlot:
        """The slot of list ``name``; until a list is loaded into it, it answers not known."""
        found = self._slots.get(name)
        if found is None:
            with self._lock:
                found = self._slots.setdefault(name, ListSlot())
        return found

    def replace_list(self, name: str, table: NumberList) -> None:
        """Make ``table`` the list ``name`` from the next lookup on; policies loaded with this
        source see it without being loaded again."""
        self.slot(name).replace(table)

    def listed(self, name: str, e164: str) -> tuple[bool | None, float | dt.date | None]:
        slot = self._slots.get(name)
        table = None if slot is None else slot.table
        if table is None:
            return None, None
        return table.listing(e164)


def load_list_files(paths: Mapping[str, str | Path]) -> dict[str, NumberList]:
    """Read named number-list files (one E.164 per line, or CSV ``number,listed_at``)."""
    out = {}
    for name, path in paths.items():
        if not name:
            raise InputError(f"a list needs a name: {path}")
        if not isinstance(path, str | PathLike):
            raise InputError(f"list {name!r}: give a file path or a NumberList, not "
                             f"{type(path).__name__}")
        out[name] = NumberList.from_file(Path(path))
    return out

"""Named number lists (do-not-call registries, internal lists) loaded from files.

A Python ``set`` of ten million numbers costs about 850 MB; this table keeps each number as a
64-bit integer in an open-addressing hash table built on :mod:`array`, so ten million numbers take
about 130 MB (270 MB with listing dates) and a lookup is a constant number of probes.
"""

from __future__ import annotations

import datetime as dt
import re
from array import array
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from ringfence.errors import InputError, excerpt

_E164 = re.compile(r"\+[1-9][0-9]{6,14}\Z")
_MULT = 0x9E3779B97F4A7C15  # Fibonacci hashing spreads sequential numbers over the table
_MASK64 = (1 << 64) - 1
_NO_DATE = -(1 << 62)
# A bare date (no time of day) is kept as this base plus the date's ordinal: the day starts at
# midnight in the callee's zone, which only the evaluator knows.
_DATE_BASE = 1 << 61
# Up to this many numbers a list also keeps a frozenset of them (about 90 bytes a number), so
# that a membership test is one C-level hash lookup; bigger lists keep only the compact table.
SET_LIMIT = 1 << 18

When = float | dt.date | None


def _encode(when: float | dt.date) -> int:
    return _DATE_BASE + when.toordinal() if isinstance(when, dt.date) else int(when)


def _decode(stored: int) -> float | dt.date:
    if stored >= _DATE_BASE:
        return dt.date.fromordinal(stored - _DATE_BASE)
    return float(stored)


def _utc(stored: int) -> float:
    """The stored listing as POSIX seconds, a bare date counting from 00:00 UTC."""
    when = _decode(stored)
    if isinstance(when, dt.date):
        return dt.datetime.combine(when, dt.time(), dt.UTC).timestamp()
    return when


class NumberList:
    """A read-only set of E.164 numbers, each with an optional listing time or date."""

    __slots__ = ("_bits", "_count", "_dates", "_keys", "_mask", "contains", "name")

    def __init__(self, entries: Iterable[tuple[str, When]], name: str = "", size_hint: int = 0):
        items = list(entries)
        self.name = name
        bits = max(4, (max(size_hint, len(items)) * 3 // 2).bit_length())
        self._bits = bits
        self._mask = (1 << bits) - 1
        self._keys = array("q", bytes(8 << bits))
        with_dates = any(when is not None for _, when in items)
        self._dates = array("q", [_NO_DATE]) * (1 << bits) if with_dates else None
        self._count = 0
        for number, when in items:
            self._insert(int(number[1:]), when)
        self.contains: Callable[[str], bool] = self.__contains__
        """``e164 -> bool``: the fastest membership test this list has."""
        if self._count <= SET_LIMIT:
            # The canonical spelling of each stored key, so both tests agree on every input.
            self.contains = frozenset(f"+{key}" for key in self._keys if key).__contains__

    def _slot(self, key: int) -> int:
        return ((key * _MULT) & _MASK64) >> (64 - self._bits)

    def _insert(self, key: int, when: When) -> None:
        slot = self._slot(key)
        keys = self._keys
        while keys[slot] and keys[slot] != key:
            slot = (slot + 1) & self._mask
        if not keys[slot]:
            keys[slot] = key
            self._count += 1
        if self._dates is not None and when is not None:
            old, new = self._dates[slot], _encode(when)
            # Listed twice: keep the earliest listing, the one that makes the listing oldest.
            if old == _NO_DATE or _utc(new) < _utc(old):
                self._dates[slot] = new

    def _stored(self, e164: str) -> int | None:
        """The stored listing (``_NO_DATE`` when unknown), or None when the number is absent."""
        try:
            key = int(e164[1:])
        except ValueError:  # not a number at all: never on a list
            return None
        slot = ((key * _MULT) & _MASK64) >> (64 - self._bits)
        keys = self._keys
        while True:
            found = keys[slot]
            if found == key:
                return _NO_DATE if self._dates is None else self._dates[slot]
            if not found:
                return None
            slot = (slot + 1) & self._mask

    def listing(self, e164: str) -> tuple[bool, When]:
        """(found, listing: POSIX seconds, a bare date, or None when unknown)."""
        stored = self._stored(e164)
        if stored is None:
            return False, None
        return True, None if stored == _NO_DATE else _decode(stored)

    def lookup(self, e164: str) -> tuple[bool, float | None]:
        """(found, listing time in POSIX seconds or None); a bare date counts from 00:00 UTC."""
        stored = self._stored(e164)
        if stored is None:
            return False, None
        return True, None if stored == _NO_DATE else _utc(stored)

    def _order(self) -> tuple[npt.NDArray[np.int64], npt.NDArray[Any]]:
        """The stored keys and the slots that hold them, in ascending order of key."""
        table = np.frombuffer(self._keys, np.int64)
        slots = np.flatnonzero(table)
        return table, slots[np.argsort(table[slots], kind="stable")]

    @property
    def keys(self) -> npt.NDArray[np.int64]:
        """The numbers' digits, sorted and unique (for vectorised lookups: ``searchsorted``)."""
        table, order = self._order()
        keys: npt.NDArray[np.int64] = table[order]
        return keys

    @property
    def dates(self) -> npt.NDArray[np.int64] | None:
        """The stored listing of each of :attr:`keys` (an opaque code: equal codes are equal
        listings), or None when the list has no dates."""
        if self._dates is None:
            return None
        _, order = self._order()
        dates: npt.NDArray[np.int64] = np.frombuffer(self._dates, np.int64)[order]
        return dates

    def __contains__(self, e164: str) -> bool:
        return self.lookup(e164)[0]

    def __len__(self) -> int:
        return self._count

    @classmethod
    def from_file(cls, path: Path) -> NumberList:
        """Read a list: one E.164 number per line, or CSV ``number,listed_at``.

        Blank lines and ``#`` comments are skipped, as is a ``number,listed_at`` header. A line
        that is not a number (or whose date is not YYYY-MM-DD or RFC 3339) stops the load with
        an error naming the file and line: a silently skipped number would be a call allowed.
        """
        try:
            fh = path.open("rb")
        except OSError as err:
            raise InputError(f"cannot read list file {path}: {err.strerror}") from None
        entries: list[tuple[str, When]] = []
        seen_header = False
        with fh:
            for number, raw in enumerate(_lines(fh), start=1):
                try:
                    text = raw.decode("utf-8").strip()
                except UnicodeDecodeError as err:
                    raise InputError(f"{path}:{number}: not UTF-8 text (byte "
                                     f"0x{raw[err.start]:02x}); is this a list file?") from None
                if not text or text.startswith("#"):
                    continue
                fields = [f.strip() for f in text.split(",")]
                # A header may follow leading comments (a source note), but only come first.
                if not entries and not seen_header and fields[0].lower() in (
                        "number", "e164", "phone"):
                    seen_header = True
                    continue
                entries.append(_entry(fields, path, number))
        return cls(entries, name=path.stem)


def _lines(fh: Iterable[bytes]) -> Iterator[bytes]:
    """Lines ending at \\n, \\r\\n or a lone \\r (as spreadsheets on the Mac write them),
    read as bytes so that a line that is not UTF-8 is reported with its number."""
    for raw in fh:
        yield from raw.rstrip(b"\r\n").split(b"\r")


def _entry(fields: list[str], path: Path, line: int) -> tuple[str, When]:
    where = f"{path}:{line}"
    if len(fields) > 2 or not _E164.match(fields[0]):
        raise InputError(f"{where}: expected an E.164 number like +12125550101, optionally "
                         f"followed by ,YYYY-MM-DD; found {excerpt(','.join(fields))}")
    if len(fields) == 1 or not fields[1]:
        return fields[0], None
    try:
        if len(fields[1]) == 10:
            return fields[0], dt.date.fromisoformat(fields[1])
        when = dt.datetime.fromisoformat(fields[1])
    except ValueError:
        raise InputError(f"{where}: {excerpt(fields[1])} is not a date (YYYY-MM-DD)") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return fields[0], when.timestamp()

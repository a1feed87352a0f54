"""Named number lists (do-not-call registries, internal lists) loaded from files.

A list is its numbers' digits as sorted unique 64-bit integers, with a parallel array of listing
dates when the list has any: 8 bytes a number (16 with dates), against about 85 for a Python
``set``. A compiled list (``ringfence lists compile``, :mod:`ringfence.facts.listfile`) is these
arrays on disk, memory-mapped: loading reads only its header, and only the pages lookups touch
become resident. Text and CSV files (:mod:`ringfence.facts.listtext`) are read into the same arrays.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from ringfence.facts import listfile
from ringfence.facts.listindex import Directory, build_directory, finders
from ringfence.facts.listtext import DATE_BASE, NO_DATE, encode, finish, read_text_list

# Up to this many numbers a list also keeps a frozenset of them (about 90 bytes a number), so
# that a membership test is one C-level hash lookup; bigger lists use the sorted keys.
SET_LIMIT = 1 << 18

When = float | dt.date | None


def _decode(stored: int) -> float | dt.date:
    if stored >= DATE_BASE:
        return dt.date.fromordinal(stored - DATE_BASE)
    return float(stored)


def _utc(stored: int) -> float:
    """The stored listing as POSIX seconds, a bare date counting from 00:00 UTC."""
    when = _decode(stored)
    if isinstance(when, dt.date):
        return dt.datetime.combine(when, dt.time(), dt.UTC).timestamp()
    return when


def _view(array: npt.NDArray[Any], fmt: Literal["q", "I"]) -> memoryview[int]:
    """The (contiguous) array as a memoryview whose items are Python ints (indexing a numpy
    array makes a numpy scalar, several times slower to compare)."""
    return array.data.cast("B").cast(fmt)


class NumberList:
    """A read-only set of E.164 numbers, each with an optional listing time or date."""

    __slots__ = ("_dates", "_keys", "_stored", "contains", "directory", "header", "name")

    def __init__(self, entries: Iterable[tuple[str, When]], name: str = ""):
        keys: list[int] = []
        stored: list[int] = []
        for number, when in entries:
            keys.append(int(number[1:]))
            stored.append(NO_DATE if when is None else encode(when))
        dated = any(s != NO_DATE for s in stored)
        sorted_keys, dates = finish(np.array(keys, np.int64),
                                    np.array(stored, np.int64) if dated else None)
        self._setup(sorted_keys, dates, build_directory(sorted_keys), name, {})

    def _setup(self, keys: npt.NDArray[np.int64], dates: npt.NDArray[np.int64] | None,
               directory: Directory, name: str, header: dict[str, Any]) -> None:
        self.name = name
        self.header = header
        """What a compiled list's file says of it (source, its SHA-256, count); else empty."""
        self.directory = directory
        self._keys = _view(keys, "q")
        self._dates = None if dates is None else _view(dates, "q")
        bounds = _view(directory.bounds, "I" if directory.bounds.dtype == np.uint32 else "q")
        search = finders(self._keys, directory, bounds, self._dates, NO_DATE)
        self._stored: Callable[[str], int | None] = search.value
        """The stored listing (``NO_DATE`` when unknown), or None when the number is absent."""
        self.contains: Callable[[str], bool] = search.contains
        """``e164 -> bool``: the fastest membership test this list has."""
        if len(keys) <= SET_LIMIT:
            # The canonical spelling of each stored key, so both tests agree on every input.
            self.contains = frozenset(f"+{key}" for key in self._keys.tolist()).__contains__

    @classmethod
    def _from_arrays(cls, keys: npt.NDArray[np.int64], dates: npt.NDArray[np.int64] | None,
                     directory: Directory, name: str, header: dict[str, Any]) -> NumberList:
        table = cls.__new__(cls)
        table._setup(keys, dates, directory, name, header)
        return table

    @property
    def keys(self) -> npt.NDArray[np.int64]:
        """The numbers' digits, sorted and unique (a view: no copy)."""
        return np.frombuffer(self._keys, np.int64)

    @property
    def dates(self) -> npt.NDArray[np.int64] | None:
        """The stored listing of each key (see :mod:`ringfence.facts.listtext`), or None."""
        return None if self._dates is None else np.frombuffer(self._dates, np.int64)

    def listing(self, e164: str) -> tuple[bool, When]:
        """(found, listing: POSIX seconds, a bare date, or None when unknown)."""
        stored = self._stored(e164)
        if stored is None:
            return False, None
        return True, None if stored == NO_DATE else _decode(stored)

    def lookup(self, e164: str) -> tuple[bool, float | None]:
        """(found, listing time in POSIX seconds or None); a bare date counts from 00:00 UTC."""
        stored = self._stored(e164)
        if stored is None:
            return False, None
        return True, None if stored == NO_DATE else _utc(stored)

    def __contains__(self, e164: str) -> bool:
        return self._stored(e164) is not None

    def __len__(self) -> int:
        return len(self._keys)

    def save(self, path: Path, meta: dict[str, Any] | None = None) -> None:
        """Write the list as a compiled list file (``.rfl``) that :meth:`from_file` maps."""
        listfile.write(path, self.keys, self.dates, self.directory, {**self.header, **(meta or {})})

    @classmethod
    def from_file(cls, path: Path) -> NumberList:
        """Read a list: a compiled list (known by its first bytes, whatever the name), or text
        with one E.164 number per line, or CSV ``number,listed_at``.

        Blank lines and ``#`` comments are skipped, as is a ``number,listed_at`` header. A line
        that is not a number (or whose date is not YYYY-MM-DD or RFC 3339) stops the load with
        an error naming the file and line: a silently skipped number would be a call allowed.
        """
        if listfile.is_compiled(path):
            compiled = listfile.read(path)
            return cls._from_arrays(compiled.keys, compiled.stored, compiled.directory,
                                    path.stem, compiled.header)
        keys, dates, digest = read_text_list(path)
        return cls._from_arrays(keys, dates, build_directory(keys), path.stem,
                                {"source": path.name, "source_sha256": digest})

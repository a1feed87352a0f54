"""Types of the compiled call reader (``_callreader.c``); see ``request.py``."""

import datetime as dt
from collections.abc import Callable, Iterator
from typing import Any, overload

from ringfence.facts.locate import NumberFacts

from .request import Call, CheckedDates

def read(raw: object) -> Call | None:
    """The call converted, or None when the reference path must judge it."""

def read_line(line: bytes) -> Call | None:
    """The call of a line of JSON, or None when the line must be read as JSON first."""

def read_lines(data: bytes, first: int) -> tuple[list[tuple[int, Call | bytes]], list[int]]:
    """Each line of ``data`` that is not blank (the first numbered ``first``) by ``read_line``,
    or as its bytes when it hands it over; and the positions of those bytes in the list."""

def configure_lines(loads: Callable[[bytes], Any]) -> None:
    """How a line's request is read when all of it is asked for."""

class LineRequest:
    """The request a call was read from, as its line of JSON (a read-only mapping)."""

    @overload
    def get(self, key: str) -> Any: ...
    @overload
    def get(self, key: str, default: Any) -> Any: ...
    def __getitem__(self, key: str) -> Any: ...
    def __contains__(self, key: object) -> bool: ...
    def __iter__(self) -> Iterator[str]: ...
    def __len__(self) -> int: ...
    def keys(self) -> Any: ...
    def values(self) -> Any: ...
    def items(self) -> Any: ...
    def copy(self) -> dict[str, Any]: ...

class LineDates:
    """lists_checked_at as its line gives it: name -> text, each made when read."""

    def get(self, name: str, default: Any = None) -> Any: ...
    def __getitem__(self, name: str) -> str: ...
    def __contains__(self, name: object) -> bool: ...
    def __iter__(self) -> Iterator[str]: ...
    def __len__(self) -> int: ...
    def keys(self) -> list[str]: ...

#: A digest of the tables the reader was built with (see contract/schema.py, c_header).
TABLES_DIGEST: str

def configure(call: type[Call], records: dict[str, type[tuple[Any, ...]]],
              defaults: dict[str, Any], dates: type[CheckedDates]) -> None:
    """The class the reader builds, the record class of each array of records by field, the
    default of each slot by name, and the class holding a map of dates as given."""

def date_or_seconds(text: str) -> dt.date | float:
    """A checked value of a map of dates: a bare date as a date, an instant as POSIX seconds."""

def digit_run(data: bytes, length: int) -> bool:
    """Whether ``data`` holds a run of at least ``length`` ASCII digits."""

def nanp_answer(key_lengths: bytes, blocks: dict[str, NumberFacts | str],
                e164: str) -> NumberFacts | str | None:
    """The location table's answer for ``+1`` and ten ASCII digits (``LocationTable.get``):
    ``blocks[e164[:key_lengths[area code]]]``; None for any other text."""

def split_lines(data: bytes) -> list[bytes]:
    """``data.split(b"\\n")``."""

def with_dates(call: Call, lists: Any, lists_checked_at: Any) -> Call:
    """A new Call holding every slot of ``call`` but ``lists`` and ``lists_checked_at``."""

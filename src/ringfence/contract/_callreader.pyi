"""Types of the compiled call reader (``_callreader.c``); see ``request.py``."""

import datetime as dt
from typing import Any

from ringfence.facts.locate import NumberFacts

from .request import Call, CheckedDates

def read(raw: object) -> Call | None:
    """The call converted, or None when the reference path must judge it."""

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

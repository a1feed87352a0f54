"""Instants as the ledger stores them: integer microseconds since the Unix epoch, in UTC.

Integers compare the same way in SQLite and PostgreSQL and keep the call contract's precision
(RFC 3339 with up to microseconds), so windows and retention are plain integer comparisons.
"""

from __future__ import annotations

import datetime as dt
import re

from ringfence.errors import InputError

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_INSTANT = re.compile(
    r"(19|2\d)\d{2}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})\Z")
_DATE = re.compile(r"(19|2\d)\d{2}-\d{2}-\d{2}\Z")


def to_micros(when: str | dt.datetime | dt.date, field: str = "at") -> int:
    """An RFC 3339 instant (or an aware datetime; a date is 00:00 UTC) as epoch microseconds.

    Raises :class:`InputError` naming ``field`` when the value is not an instant with an offset.
    """
    if isinstance(when, str):
        text = when.strip()
        if _DATE.match(text):
            when = dt.date.fromisoformat(text)
        elif _INSTANT.match(text):
            # Python keeps microseconds: cut longer fractions rather than refuse them.
            text = re.sub(r"(\.\d{6})\d+", r"\1", text.replace("z", "Z"))
            when = dt.datetime.fromisoformat(text)
        else:
            raise InputError(f"{field}: not an RFC 3339 instant with an offset: {when!r}")
    if isinstance(when, dt.datetime):
        if when.tzinfo is None:
            raise InputError(f"{field}: the instant has no UTC offset: {when.isoformat()}")
        return (when - _EPOCH) // dt.timedelta(microseconds=1)
    if isinstance(when, dt.date):
        return to_micros(dt.datetime.combine(when, dt.time(), dt.UTC), field)
    raise InputError(f"{field}: expected an RFC 3339 instant, got {type(when).__name__}")


def from_micros(micros: int) -> str:
    """Epoch microseconds as RFC 3339 in UTC (``Z``)."""
    when = _EPOCH + dt.timedelta(microseconds=micros)
    return when.isoformat().replace("+00:00", "Z")


def now_micros() -> int:
    """The current instant in epoch microseconds."""
    return to_micros(dt.datetime.now(dt.UTC))

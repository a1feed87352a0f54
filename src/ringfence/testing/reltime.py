"""Relative times in test suites: ``now``, ``now-2h``, ``now+3d``, ``now-1d-30m``.

A suite fixes its clock with ``now``; every timestamp field of a call may then be written relative
to it. Units: ``s`` seconds, ``m`` minutes, ``h`` hours, ``d`` days (24 hours), ``w`` weeks. Months
and years are not offered because their length is ambiguous; write the instant instead.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

from ringfence.contract.request import CONTRACT
from ringfence.errors import excerpt

_TERM = re.compile(r"\s*([+-])\s*(\d+)\s*([smhdw])")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}

# Where a timestamp goes in a call (paths of keys; "*" is every item of a list or every value of
# a mapping), from the call schema. Only these are rewritten, so a subject or campaign named
# "now" is left alone.
TIMESTAMP_PATHS: tuple[tuple[str, ...], ...] = tuple(p.path for p in CONTRACT.instant_paths)


class RelativeTimeError(ValueError):
    """A relative time that cannot be resolved; ``path`` is where it was found."""

    def __init__(self, path: tuple[Any, ...], message: str) -> None:
        super().__init__(message)
        self.path = path
        self.message = message


def parse_instant(text: str) -> datetime | None:
    """An RFC 3339 instant with an offset (``Z`` accepted), or None when ``text`` is not one."""
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    return value if value.tzinfo is not None else None


def is_relative(value: Any) -> bool:
    """Whether ``value`` is written as a relative time (starts with ``now``)."""
    return isinstance(value, str) and value.strip().lower().startswith("now")


def resolve(text: str, now: datetime) -> datetime:
    """The instant ``text`` (``now``, ``now-2h``, ``now+1d-30m``) names, relative to ``now``.

    Raises ValueError with a plain-words message when the text is not a relative time.
    """
    rest = text.strip()[3:]
    offset = timedelta()
    pos = 0
    while pos < len(rest):
        match = _TERM.match(rest, pos)
        if not match:
            raise ValueError(
                f"{excerpt(text)} is not a relative time; write now, now-2h, now+3d, now-1d-30m "
                "(units s, m, h, d, w)"
            )
        sign, amount, unit = match.groups()
        try:
            delta = timedelta(**{_UNITS[unit]: int(amount)})
            offset += delta if sign == "+" else -delta
        except (OverflowError, ValueError):  # past timedelta's range, or too many digits for int
            raise ValueError(f"{excerpt(text)} is too far from now (at most 999999999 days)"
                             ) from None
        pos = match.end()
    try:
        return now + offset
    except OverflowError:
        raise ValueError(f"{excerpt(text)} falls outside the years 1 to 9999") from None


def format_instant(value: datetime) -> str:
    """RFC 3339 text of an aware datetime."""
    return value.isoformat()


def _walk(data: Any, path: tuple[str, ...], seen: tuple[Any, ...]) -> Iterator[tuple[Any, Any]]:
    """Yield (container, key) for every place ``path`` reaches in ``data``."""
    if not path:
        return
    head, tail = path[0], path[1:]
    if head == "*":
        if isinstance(data, list):
            keys: list[Any] = list(range(len(data)))
        elif isinstance(data, dict):
            keys = list(data)
        else:
            return
    elif isinstance(data, dict) and head in data:
        keys = [head]
    else:
        return
    for key in keys:
        if tail:
            yield from _walk(data[key], tail, (*seen, key))
        else:
            yield data, (*seen, key)


def resolve_call_times(
    call: dict[str, Any], now: datetime | None, on_error: Callable[[RelativeTimeError], None]
) -> None:
    """Rewrite, in place, every relative time of ``call`` as an RFC 3339 instant.

    Problems (a relative time without a suite ``now``, a malformed one) are passed to
    ``on_error`` with the path of the field, so all of them can be reported at once.
    """
    for pattern in TIMESTAMP_PATHS:
        for container, path in _walk(call, pattern, ()):
            key = path[-1]
            value = container[key]
            if not is_relative(value):
                continue
            if now is None:
                on_error(
                    RelativeTimeError(
                        path, f"{value!r} is relative but the suite sets no `now` to count from"
                    )
                )
                continue
            try:
                container[key] = format_instant(resolve(value, now))
            except ValueError as exc:
                on_error(RelativeTimeError(path, str(exc)))

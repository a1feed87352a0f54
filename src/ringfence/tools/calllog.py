"""Logs of calls already made (CSV, JSON Lines, Parquet), replayed in time order.

A log row is a call request (the fields of ``call.schema.json``) plus, optionally, ``outcome``: what
came of the call (``conversation``, ``no_answer``, ...). :func:`read_log` reads a file into rows;
:func:`replay` sorts them by instant and gives each call the earlier calls to the same number as
its ``history`` (``[]`` when there are none: the log is taken as the record of the calls made),
so frequency caps and "last conversation" rules are judged as they stood when the call was made.
The replay does not depend on any policy: ``audit`` and ``diff`` judge the same calls.

In CSV, an empty cell is an absent field, and the nested fields (``consent``, ``lists``,
``lists_checked_at``, ``opt_outs``, ``history``, ``relationship``, ``meta``) are JSON text. In
Parquet, nested fields may be structs or lists; a timestamp without a time zone is taken as UTC.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import gc
import json
import re
from bisect import bisect_right
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from operator import attrgetter
from pathlib import Path
from typing import Any

import orjson

from ringfence.contract.fields import VOCABULARIES
from ringfence.contract.request import CONTRACT
from ringfence.contract.schema import STRUCTURED
from ringfence.errors import InputError

__all__ = ["FORMATS", "NESTED", "LogError", "LogRow", "csv_record", "jsonl_records", "log_format",
           "plain", "read_log", "replay"]

FORMATS = ("csv", "jsonl", "parquet")
_SUFFIXES = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl",
             ".parquet": "parquet", ".pq": "parquet"}  # fmt: skip
# The call's fields that hold JSON structures (a CSV cell gives them as JSON text): from the
# call contract.
NESTED = frozenset(p.key for p in CONTRACT.children() if p.kind in (*STRUCTURED, "dict"))
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*\Z")


_OUTCOMES = VOCABULARIES["history.outcome"]


@dataclass(frozen=True, slots=True)
class LogError:
    """A row that cannot be replayed: its line (1 = the first data row or line) and why."""

    line: int
    field: str
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {"line": self.line, "error": self.message, "path": self.field}


@dataclass(frozen=True, slots=True)
class LogRow:
    """A call of the log: where it was, when it was made, the call request and its outcome."""

    line: int
    at: dt.datetime
    stamp: float  # at as a POSIX timestamp: the sort key
    call: dict[str, Any]
    outcome: str | None


@contextlib.contextmanager
def bulk() -> Iterator[None]:
    """No cyclic garbage collection while millions of acyclic dicts are made: its passes over
    them would cost more than the work itself."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def log_format(path: Path, given: str | None = None) -> str:
    """The format named, else the one the file's suffix says."""
    if given:
        return given
    fmt = _SUFFIXES.get(path.suffix.lower())
    if fmt is None:
        raise InputError(f"{path}: cannot tell the log format from the suffix "
                         f"'{path.suffix}'; give --format ({', '.join(FORMATS)})")
    return fmt


def read_log(path: Path, fmt: str | None = None) -> tuple[list[LogRow], list[LogError]]:
    """Every row of a call log, and the rows that cannot be replayed (with their line).

    Raises :class:`~ringfence.errors.InputError` when the file cannot be read at all.
    """
    fmt = log_format(path, fmt)
    rows: list[LogRow] = []
    errors: list[LogError] = []
    try:
        with bulk():
            records = {"csv": _csv_records, "jsonl": jsonl_records, "parquet": _parquet_records}[fmt]
            for line, record in records(path):
                item = record if isinstance(record, LogError) else _row(line, record)
                if isinstance(item, LogError):
                    errors.append(item)
                else:
                    rows.append(item)
    except OSError as err:
        raise InputError(f"cannot read call log {path}: {err.strerror or err}") from None
    except (csv.Error, UnicodeDecodeError) as err:
        raise InputError(f"{path}: not a {fmt} call log ({err})") from None
    return rows, errors


def _row(line: int, record: Any) -> LogRow | LogError:
    if not isinstance(record, dict):
        return LogError(line, "(call)", "a call must be a JSON object")
    call = dict(record)
    outcome = call.pop("outcome", None)
    if outcome is not None and outcome not in _OUTCOMES:
        return LogError(line, "outcome", f"{outcome!r} is not one of {', '.join(sorted(_OUTCOMES))}")
    purpose = call.get("purpose")
    if purpose is not None and not (isinstance(purpose, str) and _WORD.match(purpose)):
        return LogError(line, "purpose", f"{purpose!r} is not a word (letters, digits, _ and -)")
    for key in ("subject", "campaign"):
        if key in call and not isinstance(call[key], str):
            return LogError(line, key, f"{call[key]!r} is not text")
    if not isinstance(call.get("to"), str):
        return LogError(line, "to", "the number called is missing")
    at = call.get("at")
    try:
        when = dt.datetime.fromisoformat(at) if isinstance(at, str) else None
    except ValueError:
        when = None
    if when is None or when.tzinfo is None:
        return LogError(line, "at", f"{at!r} is not an RFC 3339 instant with an offset or Z")
    return LogRow(line, when, when.timestamp(), call, outcome)


def jsonl_records(path: Path) -> Iterator[tuple[int, Any]]:
    """(line number, JSON value or :class:`LogError`) of each non-blank line of a JSON Lines file."""
    with path.open("rb") as fh:
        for number, data in enumerate(fh, start=1):
            if not data.strip():
                continue
            try:
                yield number, orjson.loads(data)
            except orjson.JSONDecodeError:
                # orjson is the fast road; the standard parser words the error (and reads the
                # few things orjson refuses, such as integers past 64 bits)
                try:
                    yield number, json.loads(data.decode("utf-8"))
                except json.JSONDecodeError as err:
                    yield number, LogError(number, "(line)",
                                           f"not JSON: {err.msg} (column {err.colno})")


def _csv_records(path: Path) -> Iterator[tuple[int, Any]]:
    with path.open(encoding="utf-8", newline="") as fh:
        for number, raw in enumerate(csv.DictReader(fh), start=1):
            yield number, csv_record(number, raw.items())


def csv_record(number: int, cells: Iterable[tuple[str | None, str | None]]) -> Any:
    """One CSV row as a call: an empty cell is an absent field, nested fields are JSON text."""
    record: dict[str, Any] = {}
    for key, value in cells:
        if key is None:
            return LogError(number, "(row)", "more cells than columns")
        if value is None or value == "":
            continue
        if key in NESTED:
            try:
                record[key] = json.loads(value)
            except json.JSONDecodeError as err:
                return LogError(number, key, f"not JSON: {err.msg}")
        else:
            record[key] = value
    return record


def _parquet_records(path: Path) -> Iterator[tuple[int, Any]]:
    try:
        import pyarrow.parquet as pq
        from pyarrow import ArrowException
    except ImportError:  # pragma: no cover - pyarrow is a dependency
        raise InputError("reading Parquet needs pyarrow (pip install pyarrow)") from None
    number = 0
    try:
        for batch in pq.ParquetFile(path).iter_batches():
            for record in batch.to_pylist():
                number += 1
                yield number, plain(record)
    except ArrowException as err:
        raise InputError(f"{path}: not a Parquet call log ({err})") from None


def plain(value: Any) -> Any:
    """Parquet values as JSON values: nulls dropped, instants and dates as RFC 3339 text."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, dt.datetime):
        return (value if value.tzinfo else value.replace(tzinfo=dt.UTC)).isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def replay(rows: Iterable[LogRow], lookback: dt.timedelta) -> Iterator[tuple[LogRow, dict[str, Any]]]:
    """The rows in time order (ties in the order given), each with the call to judge: the row's
    call with the earlier calls to the same number within ``lookback`` added to its ``history``.

    Only calls to the same number interact, so the rows may be split by number and replayed apart.
    """
    earlier: dict[str, tuple[list[float], list[dict[str, Any]]]] = {}
    seen = earlier.get
    horizon = lookback.total_seconds()
    for row in sorted(rows, key=_STAMP):
        call = row.call
        stamp = row.stamp
        found = seen(call["to"])
        if found is None:  # the number's first call: the log answers history, none before it
            earlier[call["to"]] = ([stamp], [_attempt(row)])
            yield row, (call if "history" in call else {**call, "history": []})
            continue
        times, attempts = found
        if times[0] <= stamp - horizon:  # older than any rule can look back: drop them, so a
            start = bisect_right(times, stamp - horizon)  # busy number stays cheap
            del times[:start], attempts[:start]
        # The log is the record of the calls made: it answers history ([] when none is recent).
        given = call.get("history")
        call = {**call, "history": [*given, *attempts] if given else attempts[:]}
        yield row, call
        times.append(stamp)
        attempts.append(_attempt(row))


_STAMP = attrgetter("stamp")
_ATTEMPT_FIELDS = ("subject", "campaign", "purpose")


def _attempt(row: LogRow) -> dict[str, Any]:
    call = row.call
    attempt: dict[str, Any] = {"at": call["at"]}  # the RFC 3339 text the log gave
    if row.outcome:
        attempt["outcome"] = row.outcome
    for key in _ATTEMPT_FIELDS:
        if key in call:
            attempt[key] = call[key]
    return attempt

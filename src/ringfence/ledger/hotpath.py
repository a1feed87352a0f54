"""The statements every decision runs, in the driver's own SQL: read numbers' facts, reserve.

Written against the tables of :mod:`ringfence.ledger.schema`; the ledger tests run them on SQLite
and PostgreSQL. Facts are read for many numbers at once (one statement per table for a whole
array of calls) and then sorted out per number.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ringfence.ledger.merge import LedgerFacts, Revocation
from ringfence.ledger.times import from_micros

# Numbers asked for in one statement: far below SQLite's limit of bound parameters.
_CHUNK = 400
_SELECT = {
    "attempts": ("SELECT number_key, at, outcome, subject, campaign, purpose FROM attempts", "at"),
    "consents": ("SELECT number_key, type, purposes, seller, campaign, given_at, expires_at "
                 "FROM consents", "given_at"),
    "revocations": ("SELECT number_key, purposes, at, channel FROM revocations", "at"),
    "opt_outs": ("SELECT number_key, purposes, seller, campaign, received_at FROM opt_outs",
                 "received_at"),
}
_WASHES = "SELECT list_name, MAX(obtained_at) FROM washes GROUP BY list_name"
ATTEMPT_COLUMNS = ("id", "number_key", "at", "outcome", "campaign", "subject", "purpose", "agent",
                   "dialer", "decision_id", "recorded_at", "reported_at")


@dataclass(frozen=True)
class Dialect:
    """The placeholder of a driver: ``?`` for sqlite3, ``%s`` for psycopg."""

    mark: str

    def insert_attempt(self) -> str:
        marks = ", ".join(self.mark for _ in ATTEMPT_COLUMNS)
        return f"INSERT INTO attempts ({', '.join(ATTEMPT_COLUMNS)}) VALUES ({marks})"

    def by_numbers(self, table: str, count: int) -> str:
        select, order = _SELECT[table]
        return (f"{select} WHERE number_key IN ({', '.join(self.mark for _ in range(count))}) "
                f"ORDER BY {order}")


def statements(dialect: str) -> Dialect:
    """The SQL flavour of the dialect's driver."""
    return Dialect("?" if dialect == "sqlite" else "%s")


def _purposes(value: Any) -> list[str] | None:
    # SQLite hands JSON columns back as text, psycopg as Python values
    found = json.loads(value) if isinstance(value, str) else value
    return None if found is None else [str(p) for p in found]


@dataclass
class Rows:
    """The rows of several numbers, by table and number key, and the latest washes."""

    tables: dict[str, dict[str, list[tuple[Any, ...]]]] = field(
        default_factory=lambda: {name: defaultdict(list) for name in _SELECT})
    washes: dict[str, int] = field(default_factory=dict)


def read_rows(cursor: Any, sql: Dialect, keys: Iterable[str]) -> Rows:
    """Every row about the number keys, one statement per table (per 400 keys)."""
    wanted = list(dict.fromkeys(keys))
    rows = Rows()
    for start in range(0, len(wanted), _CHUNK):
        chunk = wanted[start:start + _CHUNK]
        for table, by_key in rows.tables.items():
            for row in cursor.execute(sql.by_numbers(table, len(chunk)), chunk).fetchall():
                by_key[row[0]].append(row[1:])
    rows.washes = dict(cursor.execute(_WASHES).fetchall())
    return rows


def facts_of(rows: Rows, keys: list[str], campaign: str | None, seller: str | None) -> LedgerFacts:
    """The facts about one number (stored under ``keys``) that a call of ``campaign`` may use.

    Scoped consents count only where their scope is known to fit; scoped opt-outs count unless
    their scope is known not to fit (both fail closed).
    """
    facts = LedgerFacts()

    def of(table: str) -> list[tuple[Any, ...]]:
        found = [row for key in dict.fromkeys(keys) for row in rows.tables[table].get(key, ())]
        if len(keys) > 1:  # rows under both keys: back into time order
            order = {"attempts": 0, "consents": 4, "revocations": 1, "opt_outs": 3}[table]
            found.sort(key=lambda row: row[order])
        return found

    for at, outcome, subject, call_campaign, purpose in of("attempts"):
        item: dict[str, Any] = {"at": from_micros(at)}
        for name, value in (("outcome", outcome), ("subject", subject),
                            ("campaign", call_campaign), ("purpose", purpose)):
            if value is not None:
                item[name] = value
        facts.history.append(item)
    for kind, purposes, by, scope, given, expires in of("consents"):
        if (by is not None and by != seller) or (scope is not None and scope != campaign):
            continue
        item = {"type": kind, "purposes": _purposes(purposes), "at": from_micros(given)}
        if expires is not None:
            item["expires_at"] = from_micros(expires)
        facts.consent.append(item)
    for purposes, at, channel in of("revocations"):
        listed = _purposes(purposes)
        facts.revocations.append(Revocation(None if listed is None else tuple(listed), at, channel))
    for purposes, by, scope, received in of("opt_outs"):
        if (by is not None and seller is not None and by != seller) or (
                scope is not None and campaign is not None and scope != campaign):
            continue
        item = {"at": from_micros(received)}
        listed = _purposes(purposes)
        if listed is not None:
            item["purposes"] = listed
        facts.opt_outs.append(item)
    facts.lists_checked_at = {name: from_micros(at) for name, at in rows.washes.items()}
    return facts


def insert_attempt(cursor: Any, sql: Dialect, row: dict[str, Any]) -> None:
    """Insert one attempt row (a dict with every column of ``ATTEMPT_COLUMNS``)."""
    cursor.execute(sql.insert_attempt(), tuple(row.get(name) for name in ATTEMPT_COLUMNS))

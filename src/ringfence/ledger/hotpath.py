"""The statements every decision runs, in the driver's own SQL: read a number's facts, reserve.

Written against the tables of :mod:`ringfence.ledger.schema`; the ledger tests run them on SQLite
and PostgreSQL. Placeholders are written ``?`` and turned into ``%s`` for psycopg.
"""

from __future__ import annotations

import json
from typing import Any

from ringfence.ledger.merge import LedgerFacts, Revocation
from ringfence.ledger.times import from_micros

_BY_NUMBER = "WHERE number_key IN (?, ?) ORDER BY {order}"
_SQL = {
    "attempts": "SELECT at, outcome, subject, campaign, purpose FROM attempts "
                + _BY_NUMBER.format(order="at"),
    "consents": "SELECT type, purposes, seller, campaign, given_at, expires_at FROM consents "
                + _BY_NUMBER.format(order="given_at"),
    "revocations": "SELECT purposes, at, channel FROM revocations " + _BY_NUMBER.format(order="at"),
    "opt_outs": "SELECT purposes, seller, campaign, received_at FROM opt_outs "
                + _BY_NUMBER.format(order="received_at"),
    "washes": "SELECT list_name, MAX(obtained_at) FROM washes GROUP BY list_name",
}
ATTEMPT_COLUMNS = ("id", "number_key", "at", "outcome", "campaign", "subject", "purpose", "agent",
                   "dialer", "decision_id", "recorded_at", "reported_at")
_SQL["insert_attempt"] = (f"INSERT INTO attempts ({', '.join(ATTEMPT_COLUMNS)}) "
                          f"VALUES ({', '.join('?' for _ in ATTEMPT_COLUMNS)})")
_PSYCOPG = {name: sql.replace("?", "%s") for name, sql in _SQL.items()}


def statements(dialect: str) -> dict[str, str]:
    """The statements in the paramstyle of the dialect's driver."""
    return _SQL if dialect == "sqlite" else _PSYCOPG


def _purposes(value: Any) -> list[str] | None:
    # SQLite hands JSON columns back as text, psycopg as Python values
    return json.loads(value) if isinstance(value, str) else value


def read_facts(cursor: Any, sql: dict[str, str], keys: list[str], campaign: str | None,
               seller: str | None) -> LedgerFacts:
    """The facts about a number (stored under ``keys``) that a call of ``campaign`` may use.

    Scoped consents count only where their scope is known to fit; scoped opt-outs count unless
    their scope is known not to fit (both fail closed).
    """
    facts = LedgerFacts()
    params = (keys[0], keys[-1])
    for at, outcome, subject, call_campaign, purpose in cursor.execute(sql["attempts"], params).fetchall():
        item: dict[str, Any] = {"at": from_micros(at)}
        for name, value in (("outcome", outcome), ("subject", subject),
                            ("campaign", call_campaign), ("purpose", purpose)):
            if value is not None:
                item[name] = value
        facts.history.append(item)
    for kind, purposes, by, scope, given, expires in cursor.execute(sql["consents"], params).fetchall():
        if (by is not None and by != seller) or (scope is not None and scope != campaign):
            continue
        item = {"type": kind, "purposes": _purposes(purposes), "at": from_micros(given)}
        if expires is not None:
            item["expires_at"] = from_micros(expires)
        facts.consent.append(item)
    for purposes, at, channel in cursor.execute(sql["revocations"], params).fetchall():
        listed = _purposes(purposes)
        facts.revocations.append(Revocation(None if listed is None else tuple(listed), at, channel))
    for purposes, by, scope, received in cursor.execute(sql["opt_outs"], params).fetchall():
        if (by is not None and seller is not None and by != seller) or (
                scope is not None and campaign is not None and scope != campaign):
            continue
        item = {"at": from_micros(received)}
        listed = _purposes(purposes)
        if listed is not None:
            item["purposes"] = listed
        facts.opt_outs.append(item)
    for name, obtained in cursor.execute(sql["washes"]).fetchall():
        facts.lists_checked_at[name] = from_micros(obtained)
    return facts


def insert_attempt(cursor: Any, sql: dict[str, str], row: dict[str, Any]) -> None:
    """Insert one attempt row (a dict with every column of ``ATTEMPT_COLUMNS``)."""
    cursor.execute(sql["insert_attempt"], tuple(row.get(name) for name in ATTEMPT_COLUMNS))

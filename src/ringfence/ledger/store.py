"""The ledger: the compliance facts about each number, kept so dialers need not resend them.

>>> ledger = Ledger("ringfence.db")                                    # doctest: +SKIP
>>> ledger.record_opt_out("+12125550101", "2026-06-01T10:00:00Z", channel="sms")  # doctest: +SKIP
>>> outcome = ledger.decide(policies, call, reserve=True)              # doctest: +SKIP
>>> ledger.report_outcome(outcome.attempt_id, "no_answer")             # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import hmac
import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from ringfence.contract.fields import VOCABULARIES
from ringfence.contract.request import CONTRACT
from ringfence.errors import CallError, InputError, did_you_mean, excerpt
from ringfence.ledger import db, hotpath
from ringfence.ledger.merge import LedgerFacts, merge_call
from ringfence.ledger.schema import attempts, complaints, consents, opt_outs, revocations, washes
from ringfence.ledger.times import from_micros, now_micros, to_micros

if TYPE_CHECKING:
    from ringfence.api import PolicySet
    from ringfence.contract.decision import Decision

_E164 = re.compile(r"\+[1-9][0-9]{6,14}\Z")
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*\Z")
# The call contract's vocabularies (schemas/call.schema.json), in a stable order for messages.
CONSENT_TYPES = tuple(sorted(VOCABULARIES["consent.type"]))
OUTCOMES = tuple(sorted(VOCABULARIES["history.outcome"]))
PURPOSES = CONTRACT.word_vocabularies["purpose"]
# Words dialers use for the same outcomes.
OUTCOME_ALIASES = {"connected": "conversation", "answered": "conversation",
                   "no-answer": "no_answer", "noanswer": "no_answer"}
# A reservation the dialer did not use: the pending attempt is removed.
CANCELLED = "cancelled"


def _number(value: Any) -> str:
    if not isinstance(value, str) or not _E164.match(value):
        raise InputError(f"to: not an E.164 number (+12125550101): {value!r}")
    return value


def _purposes(value: Iterable[str] | None, field: str, place: str, declared: frozenset[str], *,
              required: bool = False) -> list[str] | None:
    """Purpose words of the contract's vocabulary at ``place`` (or ``declared`` by policies),
    read in lowercase as the call reader reads them; an unknown one is refused, naming the
    closest word."""
    if value is None:
        if required:
            raise InputError(f"{field}: give at least one purpose")
        return None
    if isinstance(value, str) or not all(isinstance(p, str) for p in value):
        raise InputError(f"{field}: a list of purpose words (marketing, ...), not {value!r}")
    out = [_purpose(p, field, place, declared) for p in value]
    if required and not out:
        raise InputError(f"{field}: give at least one purpose")
    return out


def _word(value: str, field: str, known: frozenset[str] | tuple[str, ...], what: str, *,
          aliases: Mapping[str, str] | None = None) -> str:
    """``value`` in lowercase (an alias translated) if it is one of ``known``; else an
    InputError naming the field, the words and the closest one."""
    word = value.lower()
    word = aliases.get(word, word) if aliases else word
    if word in known:
        return word
    hint = did_you_mean(word, known)
    raise InputError(f"{field}: {excerpt(value)} is not {what} ({', '.join(sorted(known))})"
                     + (f"; did you mean {hint!r}?" if hint else ""))


def _purpose(value: str, field: str, place: str, declared: frozenset[str]) -> str:
    """A purpose word of the contract at ``place``, or one the policies declared."""
    what = ("a purpose of the call contract nor one the policies declare" if declared else
            "a purpose of the call contract (a policy may declare it: uses purpose NAME)")
    return _word(value, field, PURPOSES.at(place, declared), what)


def _text(value: Any, field: str) -> str | None:
    if value is not None and not isinstance(value, str):
        raise InputError(f"{field}: expected text, got {type(value).__name__}")
    return value


def outcome_word(value: Any) -> str:
    """The contract's outcome word for ``value``, matched without regard to case (an alias is
    translated), or an InputError naming the closest word."""
    if not isinstance(value, str):
        raise InputError(f"outcome: one of {', '.join((*OUTCOMES, CANCELLED))}, not {value!r}")
    return _word(value, "outcome", (*OUTCOMES, CANCELLED), "an outcome", aliases=OUTCOME_ALIASES)


@dataclass
class LedgerDecision:
    """A decision made with the ledger: the facts it used (None: made without a ledger), the
    attempt it reserved, and the decision id that attempt records."""

    decision: Decision
    facts: LedgerFacts | None
    attempt_id: str | None = None
    decision_id: str | None = None


class Ledger:
    """The compliance facts about numbers, in SQLite (a file) or PostgreSQL (a URL).

    ``key`` (bytes) makes the ledger keep numbers as keyed hashes (HMAC-SHA256) instead of
    text; it is also what erasure needs to keep an erased person's opt-outs in force.
    ``seller`` is who this ledger decides for: consents scoped to another seller do not count.
    ``purposes``: words policies declare (``uses purposes fundraising``) that facts may name
    besides the call contract's purposes; outcomes and purposes are read in lowercase.
    The schema is migrated to the newest revision when the ledger is opened.
    """

    def __init__(self, target: str, *, key: bytes | None = None, seller: str | None = None,
                 purposes: Iterable[str] = ()):
        self.engine = db.create_engine(str(target))
        self.key = key
        self.seller = seller
        #: purpose words policies declare (uses purposes ...), recorded besides the contract's
        self.purposes = frozenset(w.lower() for w in purposes)
        self._sql = hotpath.statements(self.engine.dialect.name)
        db.migrate(self.engine)

    def close(self) -> None:
        """Release the database connections."""
        self.engine.dispose()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # -- numbers ----------------------------------------------------------------------------

    def _hashed(self, number: str) -> str | None:
        if self.key is None:
            return None
        return "hmac:" + hmac.new(self.key, number.encode(), hashlib.sha256).hexdigest()

    def number_keys(self, number: str) -> list[str]:
        """The keys under which the number's records may be stored (the first is used to write).

        With a key the hash is written; the text is still read, for records kept before a key
        was configured.
        """
        number = _number(number)
        hashed = self._hashed(number)
        return [hashed, number] if hashed else [number]

    # -- recording facts ----------------------------------------------------------------------

    def _insert(self, table: sa.Table, number: str | None, **values: Any) -> str:
        row_id = str(uuid.uuid4())
        row = {"id": row_id, "recorded_at": now_micros(), **values}
        lock = None
        if number is not None:
            lock = row["number_key"] = self.number_keys(number)[0]
        with db.writing(self.engine, lock) as conn:
            conn.execute(table.insert().values(**row))
        return row_id

    def record_consent(self, number: str, type: str, purposes: Iterable[str], given_at: Any, *,
                       expires_at: Any = None, seller: str | None = None,
                       campaign: str | None = None, recording_id: str | None = None,
                       form_url: str | None = None, document_hash: str | None = None) -> str:
        """Record a consent and its evidence; returns its id."""
        if not isinstance(type, str):
            raise InputError(f"type: one of {', '.join(CONSENT_TYPES)}, not {type!r}")
        return self._insert(
            consents, number, type=_word(type, "type", CONSENT_TYPES, "a consent type"),
            purposes=_purposes(purposes, "purposes", "consent.purposes", self.purposes,
                               required=True),
            seller=_text(seller, "seller"), campaign=_text(campaign, "campaign"),
            evidence_recording_id=_text(recording_id, "evidence.recording_id"),
            evidence_form_url=_text(form_url, "evidence.form_url"),
            evidence_document_hash=_text(document_hash, "evidence.document_hash"),
            given_at=to_micros(given_at, "given_at"),
            expires_at=None if expires_at is None else to_micros(expires_at, "expires_at"))

    def revoke_consent(self, number: str, at: Any, channel: str,
                       purposes: Iterable[str] | None = None) -> str:
        """Record that the person withdrew consent (for ``purposes``, or all) at ``at``."""
        return self._insert(revocations, number,
                            purposes=_purposes(purposes, "purposes", "consent.purposes",
                                               self.purposes),
                            channel=_text(channel, "channel") or "unknown",
                            at=to_micros(at, "at"))

    def record_opt_out(self, number: str, received_at: Any, channel: str, *,
                       purposes: Iterable[str] | None = None, seller: str | None = None,
                       campaign: str | None = None, complaint_id: str | None = None) -> str:
        """Record a do-not-call request (for ``purposes``, or all); returns its id."""
        return self._insert(opt_outs, number, channel=_text(channel, "channel") or "unknown",
                            purposes=_purposes(purposes, "purposes", "opt_outs.purposes",
                                               self.purposes),
                            seller=_text(seller, "seller"), campaign=_text(campaign, "campaign"),
                            received_at=to_micros(received_at, "received_at"),
                            complaint_id=complaint_id)

    def record_complaint(self, number: str, received_at: Any, channel: str, *,
                         details: str | None = None, opt_out: bool = False,
                         purposes: Iterable[str] | None = None) -> str:
        """Record a complaint; with ``opt_out`` it also records a do-not-call request."""
        complaint_id = self._insert(complaints, number, channel=_text(channel, "channel") or "unknown",
                                    received_at=to_micros(received_at, "received_at"),
                                    details=_text(details, "details"))
        if opt_out:
            self.record_opt_out(number, received_at, channel, purposes=purposes,
                                complaint_id=complaint_id)
        return complaint_id

    def _attempt_row(self, number: str, at: Any, outcome: str | None, **details: Any
                     ) -> dict[str, Any]:
        for name, value in details.items():
            _text(value, name)
        return {"id": str(uuid.uuid4()), "number_key": self.number_keys(number)[0],
                "at": to_micros(at, "at"), "outcome": outcome, "recorded_at": now_micros(),
                "reported_at": None, **details}

    def record_attempt(self, number: str, at: Any, outcome: str | None = None, *,
                       campaign: str | None = None, subject: str | None = None,
                       purpose: str | None = None, agent: str | None = None,
                       dialer: str | None = None) -> str:
        """Record a call attempt (``outcome`` None: still pending); returns its id."""
        word = None if outcome is None else outcome_word(outcome)
        if word == CANCELLED:
            raise InputError("outcome: 'cancelled' only ends a reservation; record no attempt")
        if purpose is not None:
            purpose = _purpose(_text(purpose, "purpose") or "", "purpose", "history.purpose",
                               self.purposes)
        row = self._attempt_row(number, at, word, campaign=campaign, subject=subject,
                                purpose=purpose, agent=agent, dialer=dialer)
        if word is not None:
            row["reported_at"] = row["recorded_at"]
        with db.writing(self.engine, row["number_key"]) as conn:
            conn.execute(attempts.insert(), row)
        return str(row["id"])

    def report_outcome(self, attempt_id: str, outcome: str, *, agent: str | None = None) -> None:
        """Set the outcome of a reserved attempt; ``cancelled`` removes the reservation.

        Raises :class:`InputError` when no attempt has that id.
        """
        word = outcome_word(outcome)
        with db.writing(self.engine) as conn:
            where = attempts.c.id == attempt_id
            if word == CANCELLED:
                done = conn.execute(attempts.delete().where(where))
            else:
                values: dict[str, Any] = {"outcome": word, "reported_at": now_micros()}
                if agent is not None:
                    values["agent"] = _text(agent, "agent")
                done = conn.execute(attempts.update().where(where).values(**values))
            if done.rowcount == 0:
                raise InputError(f"attempt_id: no attempt {attempt_id!r} in the ledger")

    def record_wash(self, list_name: str, obtained_at: Any, content_hash: str | None = None) -> str:
        """Record that a copy of a number list obtained at ``obtained_at`` was used to wash."""
        if not isinstance(list_name, str) or not _WORD.match(list_name):
            raise InputError(f"list: a list name (national_dnc), not {list_name!r}")
        return self._insert(washes, None, list_name=list_name,
                            obtained_at=to_micros(obtained_at, "obtained_at"),
                            content_hash=_text(content_hash, "content_hash"))

    # -- reading facts ------------------------------------------------------------------------

    def facts(self, number: str, *, campaign: str | None = None) -> LedgerFacts:
        """Everything the ledger holds about ``number`` that a call of ``campaign`` may use."""
        keys = self.number_keys(number)
        with db.raw(self.engine, write=False) as cursor:
            rows = hotpath.read_rows(cursor, self._sql, keys)
        return hotpath.facts_of(rows, keys, campaign, self.seller)

    # -- deciding -----------------------------------------------------------------------------

    def _keys_of(self, call: Any) -> list[str] | None:
        """The number keys of a call's ``to``, or None when it is no E.164 number."""
        number = call.get("to") if isinstance(call, dict) else None
        if not isinstance(number, str) or not _E164.match(number):
            return None
        return self.number_keys(number)

    def decide(self, policies: PolicySet, call: Any, *, reserve: bool = False,
               decision_id: str | None = None, agent: str | None = None,
               dialer: str | None = None) -> LedgerDecision:
        """Judge ``call`` with the ledger's facts merged in (see :mod:`ringfence.ledger.merge`).

        With ``reserve``, an allowed call is recorded as a pending attempt in the same
        transaction as the decision, under the number's write lock: two workers deciding the
        same number at once are serialised, and the second sees the first one's attempt.
        Raises :class:`ringfence.errors.CallError` for a malformed call (nothing is written).
        """
        keys = self._keys_of(call)
        if keys is None:
            # The contract's own error names the field.
            return LedgerDecision(policies.decide(call), LedgerFacts())
        with db.raw(self.engine, write=reserve, lock_keys=keys[:1]) as cursor:
            rows = hotpath.read_rows(cursor, self._sql, keys)
            made = self._decide_with(rows, keys, policies, call, decision_id)
            if reserve and made.decision.allowed:
                made.attempt_id = self._reserve(cursor, call, agent, decision_id, dialer)
        return made

    def reserve_many(self, policies: PolicySet, calls: list[tuple[Any, str, str | None]]
                     ) -> list[LedgerDecision | CallError]:
        """Decide and reserve several calls, given as ``(call, decision_id, agent)``, in ONE
        write transaction (group commit): one lock, one commit for the lot.

        The calls are judged in order on one connection, so a later call sees the attempts the
        earlier ones reserved (two calls to one number in a group cannot both pass a cap of
        one), and nothing is reserved unless the whole group commits. A malformed call gives
        its :class:`CallError` in its place and writes nothing.
        """
        keyed = [(call, self._keys_of(call), decision_id, agent)
                 for call, decision_id, agent in calls]
        locks = sorted({ks[0] for _, ks, _, _ in keyed if ks})
        out: list[LedgerDecision | CallError] = []
        with db.raw(self.engine, write=True, lock_keys=locks) as cursor:
            for call, keys, decision_id, agent in keyed:
                try:
                    if keys is None:
                        out.append(LedgerDecision(policies.decide(call), LedgerFacts()))
                        continue
                    rows = hotpath.read_rows(cursor, self._sql, keys)
                    made = self._decide_with(rows, keys, policies, call, decision_id)
                except CallError as err:
                    out.append(err)
                    continue
                if made.decision.allowed:
                    made.attempt_id = self._reserve(cursor, call, agent, decision_id)
                out.append(made)
        return out

    def _reserve(self, cursor: Any, call: dict[str, Any], agent: str | None,
                 decision_id: str | None, dialer: str | None = None) -> str:
        """Insert the pending attempt of an allowed call on ``cursor``; returns its id."""
        purpose = call.get("purpose")  # the reader took it in any case: kept in lowercase
        row = self._attempt_row(call["to"], call["at"], None, campaign=call.get("campaign"),
                                subject=call.get("subject"),
                                purpose=purpose.lower() if isinstance(purpose, str) else None,
                                agent=agent, dialer=dialer, decision_id=decision_id)
        hotpath.insert_attempt(cursor, self._sql, row)
        return str(row["id"])

    def decide_many(self, policies: PolicySet, calls: list[Any]) -> list[LedgerDecision | CallError]:
        """Judge many calls without reserving, on one read of the ledger (one statement per
        table for all their numbers, in one transaction).

        A malformed call gives its :class:`CallError` in its place; the others are decided.
        """
        keys = [self._keys_of(call) for call in calls]
        with db.raw(self.engine, write=False) as cursor:
            rows = hotpath.read_rows(cursor, self._sql, (k for ks in keys if ks for k in ks))
        out: list[LedgerDecision | CallError] = []
        for call, call_keys in zip(calls, keys, strict=True):
            try:
                if call_keys is None:
                    out.append(LedgerDecision(policies.decide(call), LedgerFacts()))
                else:
                    out.append(self._decide_with(rows, call_keys, policies, call, None))
            except CallError as err:
                out.append(err)
        return out

    def _decide_with(self, rows: hotpath.Rows, keys: list[str], policies: PolicySet, call: Any,
                     decision_id: str | None) -> LedgerDecision:
        campaign = call.get("campaign")
        facts = hotpath.facts_of(rows, keys, campaign if isinstance(campaign, str) else None,
                                 self.seller)
        return LedgerDecision(policies.decide(merge_call(call, facts)), facts, None, decision_id)

    # -- privacy ------------------------------------------------------------------------------

    def purge(self, older_than_days: float, *, now: Any = None) -> int:
        """Delete attempts made more than ``older_than_days`` ago; returns how many.

        Opt-outs, consents, revocations and complaints stay. Keep the retention longer than the
        longest frequency window of your policies, or capped calls become allowed again.
        """
        if older_than_days < 0:
            raise InputError("--days: a retention of zero days or more")
        cutoff = (now_micros() if now is None else to_micros(now, "now")) - int(
            older_than_days * 86_400_000_000)
        with db.writing(self.engine) as conn:
            return conn.execute(attempts.delete().where(attempts.c.at < cutoff)).rowcount

    def export(self, number: str) -> dict[str, Any]:
        """Every record the ledger keeps about one person's number (for an access request)."""
        keys = self.number_keys(number)
        out: dict[str, Any] = {"number": number}
        with db.reading(self.engine) as conn:
            for table in (consents, revocations, complaints, opt_outs, attempts):
                rows = conn.execute(sa.select(table).where(table.c.number_key.in_(keys))).mappings()
                out[table.name] = [_exported(dict(row)) for row in rows]
        return out

    def erase(self, number: str) -> dict[str, int]:
        """Erase one person's records; their opt-outs stay, under the keyed hash of the number.

        Needs a key (an unkeyed hash of a phone number is reversed by trying every number).
        Returns how many records of each kind were deleted.
        """
        hashed = self._hashed(_number(number))
        if hashed is None:
            raise InputError("erase needs a ledger key (--key-file or RINGFENCE_LEDGER_KEY) to keep "
                             "the opt-outs of an erased number in force")
        keys = self.number_keys(number)
        counts: dict[str, int] = {}
        with db.writing(self.engine, keys[0]) as conn:
            for table in (consents, revocations, complaints, attempts):
                done = conn.execute(table.delete().where(table.c.number_key.in_(keys)))
                counts[table.name] = done.rowcount
            # An opt-out outlives the person's other records; only its link to a deleted
            # complaint goes.
            conn.execute(opt_outs.update().where(opt_outs.c.number_key.in_(keys))
                         .values(number_key=hashed, complaint_id=None))
        return counts


def _exported(row: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in row.items():
        if name == "number_key":
            continue
        if (name == "at" or name.endswith("_at")) and isinstance(value, int):
            value = from_micros(value)
        out[name] = value
    return out

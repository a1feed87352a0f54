"""The call request: validated against the shipped JSON Schema and turned into a :class:`Call`.

Validation runs on every call, so it must be cheap: a single pass converts each field and checks
it against the same constraints as ``schemas/call.schema.json``. When that pass rejects a call,
``jsonschema`` (the contract's reference validator) produces the error with its field path; a test
checks on generated calls that both accept and reject the same calls.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import re
from dataclasses import dataclass
from typing import Any, NamedTuple

import jsonschema

from .errors import CallError
from .resources import schema_path

_DT = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})\Z")
_DATE_OR_DT = re.compile(
    r"\d{4}-\d{2}-\d{2}([Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2}))?\Z")
_E164 = re.compile(r"\+[1-9][0-9]{6,14}\Z")
_FROM = re.compile(r"(\+[1-9][0-9]{6,14}|withheld)\Z")
_REGION = re.compile(r"[A-Z]{2}(-[A-Z0-9]{1,3})?\Z")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*\Z")

LINE_TYPES = frozenset({"mobile", "landline", "voip", "unknown"})
TECHNOLOGIES = frozenset({"manual", "autodialer", "prerecorded", "artificial_voice"})
CONSENT_TYPES = frozenset({"express", "express_written"})
OUTCOMES = frozenset({"conversation", "voicemail", "no_answer", "busy", "abandoned",
                      "answering_machine", "refused"})
PURPOSES = ("marketing", "informational", "debt_collection", "research", "political", "charity",
            "claims_management")

_TOP = frozenset({"id", "to", "at", "from", "to_timezone", "to_region", "line_type", "purpose",
                  "sector", "technology", "subject", "campaign", "consent", "relationship",
                  "lists", "lists_checked_at", "opt_outs", "history", "meta"})
_CONSENT_KEYS = frozenset({"type", "purposes", "at", "expires_at", "revoked_at"})
_RELATIONSHIP_KEYS = frozenset({"last_transaction_at", "last_inquiry_at", "contract_active"})
_HISTORY_KEYS = frozenset({"at", "outcome", "subject", "campaign", "purpose"})
_OPT_OUT_KEYS = frozenset({"at", "purposes"})
_LIST_KEYS = frozenset({"name", "listed_at"})


class ConsentRecord(NamedTuple):
    type: str
    purposes: frozenset[str]
    at: float
    expires_at: float | None
    revoked_at: float | None


class OptOut(NamedTuple):
    at: float
    purposes: frozenset[str] | None  # None: every purpose


class Attempt(NamedTuple):
    at: float
    outcome: str | None
    subject: str | None
    campaign: str | None
    purpose: str | None


@dataclass(slots=True)
class Call:
    """A validated call. Timestamps are POSIX seconds (floats) for fast comparison."""

    raw: dict[str, Any]
    to: str
    at: dt.datetime
    at_ts: float
    from_: str | None
    to_timezone: str | None
    to_region: str | None
    line_type: str | None
    purpose: str | None
    sector: str | None
    technology: str
    subject: str | None
    campaign: str | None
    consent: tuple[ConsentRecord, ...]
    last_transaction_at: float | None
    last_inquiry_at: float | None
    contract_active: bool | None
    lists: dict[str, float | dt.date | None]
    lists_checked_at: dict[str, float | dt.date]
    opt_outs: tuple[OptOut, ...]
    history: tuple[Attempt, ...]


class _Reject(Exception):
    """Raised inside the fast pass; carries the path and message used if jsonschema is silent."""

    def __init__(self, path: str, message: str):
        super().__init__(message)
        self.path = path
        self.message = message


def _z(value: str) -> str:
    # RFC 3339 allows a lowercase "z"; Python 3.11's fromisoformat does not.
    return value[:-1] + "Z" if value[-1] == "z" else value


def _instant(value: object, path: str) -> dt.datetime:
    if type(value) is not str or not _DT.match(value):
        raise _Reject(path, f"{value!r} is not an RFC 3339 instant with an offset")
    try:
        return dt.datetime.fromisoformat(_z(value))
    except ValueError:
        raise _Reject(path, f"{value!r} is not a real date and time") from None


def _ts(value: object, path: str) -> float:
    return _instant(value, path).timestamp()


def _date_or_ts(value: object, path: str) -> float | dt.date:
    """An instant (POSIX seconds), or a bare date: the evaluator reads a date as the start of
    that day in the callee's own zone, which only it knows."""
    if type(value) is not str or not _DATE_OR_DT.match(value):
        raise _Reject(path, f"{value!r} is not a date or an RFC 3339 instant")
    try:
        if len(value) == 10:
            return dt.date.fromisoformat(value)
        return dt.datetime.fromisoformat(_z(value)).timestamp()
    except ValueError:
        raise _Reject(path, f"{value!r} is not a real date") from None


def _opt_ts(obj: dict, key: str, path: str) -> float | None:
    value = obj.get(key)
    return None if value is None and key not in obj else _ts(value, f"{path}.{key}")


def _text(obj: dict, key: str, path: str, pattern: re.Pattern[str] | None = None) -> str | None:
    if key not in obj:
        return None
    value = obj[key]
    if type(value) is not str or (pattern is not None and not pattern.match(value)):
        raise _Reject(f"{path}{key}", f"{value!r} is not allowed here")
    return value


def _enum(obj: dict, key: str, allowed: frozenset[str], path: str = "") -> str | None:
    if key not in obj:
        return None
    value = obj[key]
    if type(value) is not str or value not in allowed:
        raise _Reject(f"{path}{key}", f"{value!r} is not one of {sorted(allowed)}")
    return value


def _objects(raw: dict, key: str) -> list[dict]:
    value = raw.get(key, ())
    if type(value) not in (list, tuple):
        raise _Reject(key, "must be a list")
    for item in value:
        if type(item) is not dict:
            raise _Reject(key, "every item must be an object")
    return value  # type: ignore[return-value]


def _keys(obj: dict, allowed: frozenset[str], path: str) -> None:
    if not allowed.issuperset(obj):
        extra = sorted(set(obj) - allowed)
        raise _Reject(path, f"unknown field {extra[0]!r}")


def _names(value: object, path: str) -> frozenset[str]:
    if type(value) not in (list, tuple) or not all(
        type(v) is str and _NAME.match(v) for v in value  # type: ignore[union-attr]
    ):
        raise _Reject(path, "must be a list of names")
    return frozenset(value)  # type: ignore[arg-type]


def _consent(raw: dict) -> tuple[ConsentRecord, ...]:
    out = []
    for i, item in enumerate(_objects(raw, "consent")):
        path = f"consent[{i}]"
        _keys(item, _CONSENT_KEYS, path)
        if "type" not in item or "purposes" not in item or "at" not in item:
            raise _Reject(path, "needs type, purposes and at")
        out.append(ConsentRecord(
            _enum(item, "type", CONSENT_TYPES, path + "."),  # type: ignore[arg-type]
            _names(item["purposes"], path + ".purposes"),
            _ts(item["at"], path + ".at"),
            _opt_ts(item, "expires_at", path),
            _opt_ts(item, "revoked_at", path),
        ))
    return tuple(out)


def _history(raw: dict) -> tuple[Attempt, ...]:
    # The hot loop of validation (dialers send long histories): checks inlined on purpose.
    out = []
    match, parse = _DT.match, dt.datetime.fromisoformat
    for i, item in enumerate(_objects(raw, "history")):
        at = item.get("at")
        if not _HISTORY_KEYS.issuperset(item) or type(at) is not str or not match(at):
            path = f"history[{i}]"
            _keys(item, _HISTORY_KEYS, path)
            if "at" not in item:
                raise _Reject(path, "needs at")
            _instant(at, path + ".at")
        try:
            ts = parse(at).timestamp()  # type: ignore[arg-type]
        except ValueError:
            # a lowercase "z", or not a real date (which _instant rejects with its path)
            ts = _instant(at, f"history[{i}].at").timestamp()
        outcome = item.get("outcome")
        subject = item.get("subject")
        campaign = item.get("campaign")
        purpose = item.get("purpose")
        if (
            ((outcome is not None or "outcome" in item)
             and (type(outcome) is not str or outcome not in OUTCOMES))
            or ((subject is not None or "subject" in item) and type(subject) is not str)
            or ((campaign is not None or "campaign" in item) and type(campaign) is not str)
            or ((purpose is not None or "purpose" in item)
            and (type(purpose) is not str or not _NAME.match(purpose)))
        ):
            path = f"history[{i}]."
            _enum(item, "outcome", OUTCOMES, path)
            _text(item, "subject", path)
            _text(item, "campaign", path)
            _text(item, "purpose", path, _NAME)
        out.append(Attempt(ts, outcome, subject, campaign, purpose))
    return tuple(out)


def _opt_outs(raw: dict) -> tuple[OptOut, ...]:
    out = []
    for i, item in enumerate(_objects(raw, "opt_outs")):
        path = f"opt_outs[{i}]"
        _keys(item, _OPT_OUT_KEYS, path)
        if "at" not in item:
            raise _Reject(path, "needs at")
        purposes = _names(item["purposes"], path + ".purposes") if "purposes" in item else None
        out.append(OptOut(_ts(item["at"], path + ".at"), purposes))
    return tuple(out)


def _lists(raw: dict) -> dict[str, float | dt.date | None]:
    out: dict[str, float | dt.date | None] = {}
    for i, item in enumerate(_objects(raw, "lists")):
        path = f"lists[{i}]"
        _keys(item, _LIST_KEYS, path)
        name = _text(item, "name", path + ".", _NAME)
        if name is None:
            raise _Reject(path, "needs name")
        listed = _date_or_ts(item["listed_at"], path + ".listed_at") if "listed_at" in item else None
        # The same list twice: an unknown listing date wins (it reads as "listed long ago"), else
        # the first one given is kept.
        if name not in out or listed is None:
            out[name] = listed
    return out


def _lists_checked(raw: dict) -> dict[str, float | dt.date]:
    value = raw.get("lists_checked_at", {})
    if type(value) is not dict:
        raise _Reject("lists_checked_at", "must be an object")
    out = {}
    for name, when in value.items():
        if not _NAME.match(name):
            raise _Reject("lists_checked_at", f"{name!r} is not a list name")
        out[name] = _date_or_ts(when, f"lists_checked_at.{name}")
    return out


def _fast(raw: object) -> Call:
    if type(raw) is not dict:
        raise _Reject("", "a call must be a JSON object")
    if not _TOP.issuperset(raw):
        extra = sorted(set(raw) - _TOP)
        raise _Reject(extra[0], f"unknown field {extra[0]!r}")
    if "to" not in raw or "at" not in raw:
        raise _Reject("", "'to' and 'at' are required")
    to = raw["to"]
    if type(to) is not str or not _E164.match(to):
        raise _Reject("to", f"{to!r} is not an E.164 number like +12125550101")
    at = _instant(raw["at"], "at")
    # JSON Schema counts 1.0 as an integer, so the fast pass does too.
    if "id" in raw and type(raw["id"]) not in (str, int) and not (
        type(raw["id"]) is float and raw["id"].is_integer()
    ):
        raise _Reject("id", "must be a string or an integer")
    if "meta" in raw and type(raw["meta"]) is not dict:
        raise _Reject("meta", "must be an object")
    tz = raw.get("to_timezone")
    if "to_timezone" in raw and (type(tz) is not str or not tz):
        raise _Reject("to_timezone", "must be an IANA time zone name")
    rel = raw.get("relationship", {})
    if type(rel) is not dict:
        raise _Reject("relationship", "must be an object")
    _keys(rel, _RELATIONSHIP_KEYS, "relationship")
    active = rel.get("contract_active")
    if "contract_active" in rel and type(active) is not bool:
        raise _Reject("relationship.contract_active", "must be true or false")
    return Call(
        raw=raw,
        to=to,
        at=at,
        at_ts=at.timestamp(),
        from_=_text(raw, "from", "", _FROM),
        to_timezone=tz,
        to_region=_text(raw, "to_region", "", _REGION),
        line_type=_enum(raw, "line_type", LINE_TYPES),
        purpose=_text(raw, "purpose", "", _NAME),
        sector=_text(raw, "sector", "", _NAME),
        technology=_enum(raw, "technology", TECHNOLOGIES) or "manual",
        subject=_text(raw, "subject", ""),
        campaign=_text(raw, "campaign", ""),
        consent=_consent(raw) if "consent" in raw else (),
        last_transaction_at=_opt_ts(rel, "last_transaction_at", "relationship"),
        last_inquiry_at=_opt_ts(rel, "last_inquiry_at", "relationship"),
        contract_active=active,
        lists=_lists(raw) if "lists" in raw else {},
        lists_checked_at=_lists_checked(raw) if "lists_checked_at" in raw else {},
        opt_outs=_opt_outs(raw) if "opt_outs" in raw else (),
        history=_history(raw) if "history" in raw else (),
    )


@functools.cache
def call_schema() -> dict[str, Any]:
    """The call-request JSON Schema shipped in the package."""
    return json.loads(schema_path("call.schema.json").read_text(encoding="utf-8"))


@functools.cache
def _validator() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(call_schema())


def schema_error(raw: object) -> CallError | None:
    """The reference validator's verdict: the most relevant schema error, or None."""
    error = jsonschema.exceptions.best_match(_validator().iter_errors(raw))
    if error is None:
        return None
    path = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)
    return CallError(path.lstrip("."), error.message)


def parse_call(raw: object) -> Call:
    """Validate a call request and convert it; raise :class:`CallError` naming the field."""
    try:
        return _fast(raw)
    except _Reject as reject:
        found = schema_error(raw)
        if found is not None:
            raise found from None
        raise CallError(reject.path, reject.message) from None


def resolve_dates(call: Call, zone: dt.tzinfo) -> None:
    """Turn bare dates in list fields into the start of that day in the callee's zone."""
    def start(value: float | dt.date | None) -> float | None:
        if type(value) is dt.date:
            return dt.datetime.combine(value, dt.time(), zone).timestamp()
        return value  # type: ignore[return-value]

    if any(type(v) is dt.date for v in call.lists.values()):
        call.lists = {k: start(v) for k, v in call.lists.items()}
    if any(type(v) is dt.date for v in call.lists_checked_at.values()):
        call.lists_checked_at = {k: start(v) for k, v in call.lists_checked_at.items()}  # type: ignore[misc]

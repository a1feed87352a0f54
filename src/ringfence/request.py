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
from collections.abc import Mapping
from types import MappingProxyType
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
    purposes: tuple[str, ...]
    at: float
    expires_at: float | None
    revoked_at: float | None


class OptOut(NamedTuple):
    at: float
    purposes: tuple[str, ...] | None  # None: every purpose


class Attempt(NamedTuple):
    at: float
    outcome: str | None
    subject: str | None
    campaign: str | None
    purpose: str | None


# NamedTuple's own constructor is a Python function; building from a tuple skips that frame.
_attempt = functools.partial(tuple.__new__, Attempt)
_NO_ENTRIES: Mapping[str, Any] = MappingProxyType({})


class Call:
    """A validated call. Timestamps are POSIX seconds (floats) for fast comparison.

    A field the request does not give keeps the class default below; validation only touches
    the fields a call has.
    """

    __slots__ = ("__dict__", "at", "at_ts", "raw", "to")

    from_: str | None = None
    to_timezone: str | None = None
    to_region: str | None = None
    line_type: str | None = None
    purpose: str | None = None
    sector: str | None = None
    technology: str = "manual"
    subject: str | None = None
    campaign: str | None = None
    consent: tuple[ConsentRecord, ...] = ()
    last_transaction_at: float | None = None
    last_inquiry_at: float | None = None
    contract_active: bool | None = None
    lists: Mapping[str, float | dt.date | None] = _NO_ENTRIES
    lists_checked_at: Mapping[str, float | dt.date] = _NO_ENTRIES
    opt_outs: tuple[OptOut, ...] = ()
    history: tuple[Attempt, ...] = ()

    def __init__(self, raw: dict[str, Any], to: str, at: dt.datetime):
        self.raw = raw
        self.to = to
        self.at = at
        self.at_ts = at.timestamp()


class _Reject(Exception):
    """Raised inside the fast pass; carries the path and message used if jsonschema is silent."""

    def __init__(self, path: str, message: str):
        super().__init__(message)
        self.path = path
        self.message = message


_parse_instant = dt.datetime.fromisoformat


# The two everyday RFC 3339 forms, "2026-06-01T10:00:00Z" and "2026-06-01T10:00:00+02:00", are
# told by their punctuation at every third position from the fifth (value[4::3]); fromisoformat
# then rejects anything but ASCII digits elsewhere, and impossible dates. Other forms (a fraction,
# a lowercase "t" or "z") go through the schema's pattern.
_SHAPE_Z = "--T::Z"
_SHAPES_OFFSET = frozenset({"--T::+:", "--T::-:"})


def _everyday(value: str) -> bool:
    n = len(value)
    return (n == 20 and value[4::3] == _SHAPE_Z) or (n == 25 and value[4::3] in _SHAPES_OFFSET)


def _instant(value: object, path: str) -> dt.datetime:
    if type(value) is str and (_everyday(value) or _DT.match(value) is not None):
        try:
            # RFC 3339 allows a lowercase "z"; Python 3.11's fromisoformat does not.
            return _parse_instant(value[:-1] + "Z" if value[-1] == "z" else value)
        except ValueError:
            raise _Reject(path, f"{value!r} is not a real date and time") from None
    raise _Reject(path, f"{value!r} is not an RFC 3339 instant with an offset")


def _ts(value: object, path: str) -> float:
    return _instant(value, path).timestamp()


def _date_or_ts(value: object, path: str) -> float | dt.date:
    """An instant (POSIX seconds), or a bare date: the evaluator reads a date as the start of
    that day in the callee's own zone, which only it knows."""
    if type(value) is str and len(value) == 10:
        if not _DATE_OR_DT.match(value):
            raise _Reject(path, f"{value!r} is not a date or an RFC 3339 instant")
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            raise _Reject(path, f"{value!r} is not a real date") from None
    return _ts(value, path)


def _opt_ts(obj: dict, key: str, path: str) -> float | None:
    """The instant at ``key``, None when the key is absent; ``path`` names the key in errors."""
    if key not in obj:
        return None
    return _ts(obj[key], path)


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


# Names (purposes, sectors, list names) come from a small vocabulary: remember the good ones.
_GOOD_NAMES: set[str] = set()
_GOOD_NAMES_MAX = 4096


def _name(value: object, path: str) -> str:
    if type(value) is str and (value in _GOOD_NAMES or _NAME.match(value)):
        if len(_GOOD_NAMES) < _GOOD_NAMES_MAX:
            _GOOD_NAMES.add(value)
        return value
    raise _Reject(path, f"{value!r} is not a name (letters, digits, '_' and '-')")


def _objects(value: object, path: str) -> list[dict]:
    if type(value) not in (list, tuple):
        raise _Reject(path, "must be a list")
    for item in value:  # type: ignore[attr-defined]
        if type(item) is not dict:
            raise _Reject(path, "every item must be an object")
    return value  # type: ignore[return-value]


def _keys(obj: dict, allowed: frozenset[str], path: str) -> None:
    if not allowed.issuperset(obj):
        extra = sorted(set(obj) - allowed)
        raise _Reject(path, f"unknown field {extra[0]!r}")


def _names(value: object, path: str) -> tuple[str, ...]:
    if type(value) not in (list, tuple):
        raise _Reject(path, "must be a list of names")
    return tuple(_name(v, path) for v in value)  # type: ignore[attr-defined]


def _located(error: _Reject, path: str) -> _Reject:
    """The same rejection, placed at ``path`` (paths are only built when something is wrong)."""
    return _Reject(path + (f".{error.path}" if error.path else ""), error.message)


_consent_record = functools.partial(tuple.__new__, ConsentRecord)


def _consent(call: Call, value: object) -> None:
    # The usual record ({type, purposes, at} with known names and an everyday instant) is taken
    # here; anything else goes through _consent_checked.
    if type(value) is list:
        out = []
        good, types = _GOOD_NAMES, CONSENT_TYPES
        for item in value:
            if type(item) is not dict or len(item) != 3:
                break
            get = item.get
            kind, purposes, at = get("type"), get("purposes"), get("at")
            if (type(kind) is not str or kind not in types or type(purposes) is not list
                    or type(at) is not str or not _everyday(at)):
                break
            for name in purposes:
                if type(name) is not str or name not in good:
                    break
            else:
                try:
                    ts = _parse_instant(at).timestamp()
                except ValueError:
                    break
                out.append(_consent_record((kind, tuple(purposes), ts, None, None)))
                continue
            break
        else:
            call.consent = tuple(out)
            return
    _consent_checked(call, value)


def _consent_checked(call: Call, value: object) -> None:
    out = []
    for i, item in enumerate(_objects(value, "consent")):
        try:
            if not _CONSENT_KEYS.issuperset(item):
                _keys(item, _CONSENT_KEYS, "")
            if "type" not in item or "purposes" not in item or "at" not in item:
                raise _Reject("", "needs type, purposes and at")
            kind = item["type"]
            if type(kind) is not str or kind not in CONSENT_TYPES:
                raise _Reject("type", f"{kind!r} is not one of {sorted(CONSENT_TYPES)}")
            out.append(_consent_record((
                kind,
                _names(item["purposes"], "purposes"),
                _ts(item["at"], "at"),
                _opt_ts(item, "expires_at", "expires_at"),
                _opt_ts(item, "revoked_at", "revoked_at"),
            )))
        except _Reject as error:
            raise _located(error, f"consent[{i}]") from None
    call.consent = tuple(out)


def _history(call: Call, value: object) -> None:
    # The hot loop of validation (dialers send long histories), inlined on purpose: it accepts
    # only items that are certainly valid and hands anything else to _history_checked.
    if type(value) is list or type(value) is tuple:
        out = []
        append = out.append
        keys, outcomes, parse = _HISTORY_KEYS, OUTCOMES, _parse_instant
        shape_z, shapes_offset = _SHAPE_Z, _SHAPES_OFFSET
        for item in value:  # type: ignore[attr-defined]
            if type(item) is not dict or not keys.issuperset(item):
                break
            get = item.get
            at, outcome, subject, campaign, purpose = (
                get("at"), get("outcome"), get("subject"), get("campaign"), get("purpose"))
            if (
                type(at) is not str
                or not ((len(at) == 20 and at[4::3] == shape_z)
                        or (len(at) == 25 and at[4::3] in shapes_offset))
                or (outcome is not None and (type(outcome) is not str or outcome not in outcomes))
                or (subject is not None and type(subject) is not str)
                or (campaign is not None and type(campaign) is not str)
                or (purpose is not None and (type(purpose) is not str
                                             or purpose not in _GOOD_NAMES))
                # a field given as null: the schema allows none
                or len(item) != 1 + (outcome is not None) + (subject is not None)
                + (campaign is not None) + (purpose is not None)
            ):
                break
            try:
                ts = parse(at).timestamp()
            except ValueError:
                break
            append(_attempt((ts, outcome, subject, campaign, purpose)))
        else:
            call.history = tuple(out)
            return
    _history_checked(call, value)


def _history_checked(call: Call, value: object) -> None:
    """Every history item checked one by one: rejects with the item's path, or accepts forms
    the fast pass leaves to it (a fraction of a second, a lowercase "z")."""
    out = []
    keys, outcomes = _HISTORY_KEYS, OUTCOMES
    for i, item in enumerate(_objects(value, "history")):
        try:
            if not keys.issuperset(item):
                _keys(item, keys, "")
            if "at" not in item:
                raise _Reject("", "needs at")
            ts = _instant(item["at"], "at").timestamp()
        except _Reject as error:
            raise _located(error, f"history[{i}]") from None
        get = item.get
        outcome, subject, campaign, purpose = (
            get("outcome"), get("subject"), get("campaign"), get("purpose"))
        if (
            (outcome is not None and (type(outcome) is not str or outcome not in outcomes))
            or (subject is not None and type(subject) is not str)
            or (campaign is not None and type(campaign) is not str)
            or (purpose is not None and (type(purpose) is not str or not _NAME.match(purpose)))
            # a field given as null: the schema allows none
            or len(item) != 1 + (outcome is not None) + (subject is not None)
            + (campaign is not None) + (purpose is not None)
        ):
            path = f"history[{i}]."
            _enum(item, "outcome", outcomes, path)
            _text(item, "subject", path)
            _text(item, "campaign", path)
            _text(item, "purpose", path, _NAME)
        out.append(_attempt((ts, outcome, subject, campaign, purpose)))
    call.history = tuple(out)


def _opt_outs(call: Call, value: object) -> None:
    out = []
    for i, item in enumerate(_objects(value, "opt_outs")):
        path = f"opt_outs[{i}]"
        _keys(item, _OPT_OUT_KEYS, path)
        if "at" not in item:
            raise _Reject(path, "needs at")
        purposes = _names(item["purposes"], path + ".purposes") if "purposes" in item else None
        out.append(OptOut(_ts(item["at"], path + ".at"), purposes))
    call.opt_outs = tuple(out)


def _lists(call: Call, value: object) -> None:
    out: dict[str, float | dt.date | None] = {}
    for i, item in enumerate(_objects(value, "lists")):
        path = f"lists[{i}]"
        _keys(item, _LIST_KEYS, path)
        if "name" not in item:
            raise _Reject(path, "needs name")
        name = _name(item["name"], path + ".name")
        listed = _date_or_ts(item["listed_at"], path + ".listed_at") if "listed_at" in item else None
        # The same list twice: an unknown listing date wins (it reads as "listed long ago"), else
        # the first one given is kept.
        if name not in out or listed is None:
            out[name] = listed
    call.lists = out


def _lists_checked(call: Call, value: object) -> None:
    if type(value) is not dict:
        raise _Reject("lists_checked_at", "must be an object")
    out = {}
    for name, when in value.items():
        if type(name) is not str or not _NAME.match(name):
            raise _Reject("lists_checked_at", f"{name!r} is not a list name")
        out[name] = _date_or_ts(when, f"lists_checked_at.{name}")
    call.lists_checked_at = out


def _relationship(call: Call, value: object) -> None:
    if type(value) is not dict:
        raise _Reject("relationship", "must be an object")
    _keys(value, _RELATIONSHIP_KEYS, "relationship")
    if "contract_active" in value:
        active = value["contract_active"]
        if type(active) is not bool:
            raise _Reject("relationship.contract_active", "must be true or false")
        call.contract_active = active
    call.last_transaction_at = _opt_ts(value, "last_transaction_at",
                                       "relationship.last_transaction_at")
    call.last_inquiry_at = _opt_ts(value, "last_inquiry_at", "relationship.last_inquiry_at")


def _id(_call: Call, value: object) -> None:
    # JSON Schema counts 1.0 as an integer, so the fast pass does too.
    if type(value) not in (str, int) and not (type(value) is float and value.is_integer()):
        raise _Reject("id", "must be a string or an integer")


def _meta(_call: Call, value: object) -> None:
    if type(value) is not dict:
        raise _Reject("meta", "must be an object")


def _to_timezone(call: Call, value: object) -> None:
    if type(value) is not str or not value:
        raise _Reject("to_timezone", "must be an IANA time zone name")
    call.to_timezone = value


def _matching(attribute: str, pattern: re.Pattern[str]):
    def check(call: Call, value: object) -> None:
        if type(value) is not str or not pattern.match(value):
            raise _Reject(attribute, f"{value!r} is not allowed here")
        setattr(call, attribute, value)

    return check


def _one_of(attribute: str, allowed: frozenset[str]):
    def check(call: Call, value: object) -> None:
        if type(value) is not str or value not in allowed:
            raise _Reject(attribute, f"{value!r} is not one of {sorted(allowed)}")
        setattr(call, attribute, value)

    return check


def _named(attribute: str):
    def check(call: Call, value: object) -> None:
        setattr(call, attribute, _name(value, attribute))

    return check


def _free_text(attribute: str):
    def check(call: Call, value: object) -> None:
        if type(value) is not str:
            raise _Reject(attribute, f"{value!r} is not text")
        setattr(call, attribute, value)

    return check


def _from(call: Call, value: object) -> None:
    if type(value) is not str or not _FROM.match(value):
        raise _Reject("from", f"{value!r} is not an E.164 number or \"withheld\"")
    call.from_ = value


# One validator per optional field; "to" and "at" are read first, as every call has them.
_FIELD_CHECKS = {
    "id": _id, "meta": _meta, "from": _from, "to_timezone": _to_timezone,
    "to_region": _matching("to_region", _REGION),
    "line_type": _one_of("line_type", LINE_TYPES),
    "technology": _one_of("technology", TECHNOLOGIES),
    "purpose": _named("purpose"), "sector": _named("sector"),
    "subject": _free_text("subject"), "campaign": _free_text("campaign"),
    "consent": _consent, "relationship": _relationship, "lists": _lists,
    "lists_checked_at": _lists_checked, "opt_outs": _opt_outs, "history": _history,
}
assert {*_FIELD_CHECKS, "to", "at"} == _TOP

# Fields whose valid string values are set directly by the fast pass: any text, a fixed
# vocabulary, or the names already checked once (purposes and sectors). Attribute = field name.
_ANY_TEXT: frozenset[str] = frozenset()
_KNOWN_STRINGS: dict[str, frozenset[str] | set[str]] = {
    "subject": _ANY_TEXT, "campaign": _ANY_TEXT, "technology": TECHNOLOGIES,
    "line_type": LINE_TYPES, "purpose": _GOOD_NAMES, "sector": _GOOD_NAMES,
}


def _fast(raw: object) -> Call:
    if type(raw) is not dict:
        raise _Reject("", "a call must be a JSON object")
    if not _TOP.issuperset(raw):
        extra = sorted(set(raw) - _TOP)
        raise _Reject(extra[0], f"unknown field {extra[0]!r}")
    if "to" not in raw or "at" not in raw:
        raise _Reject("", "'to' and 'at' are required")
    to = raw["to"]
    # "+" then 7 to 15 ASCII digits, the first not 0: the schema's E.164 pattern, by hand.
    if type(to) is not str or not (8 <= len(to) <= 16 and to[0] == "+" and to[1] != "0"
                                   and to.isascii() and to[1:].isdigit()):
        raise _Reject("to", f"{to!r} is not an E.164 number like +12125550101")
    call = Call(raw, to, _instant(raw["at"], "at"))
    if len(raw) == 2:
        return call
    # Plain string fields with a value seen before are set directly; every other field, and
    # a first sighting of a name, goes through its check (which learns good names).
    attributes = call.__dict__
    known, checks = _KNOWN_STRINGS, _FIELD_CHECKS
    for key, value in raw.items():
        if type(value) is str:
            good = known.get(key)
            if good is not None and (good is _ANY_TEXT or value in good):
                attributes[key] = value
                continue
        check = checks.get(key)
        if check is not None:
            check(call, value)
    return call


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

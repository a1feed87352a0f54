"""The call request: validated against the shipped JSON Schema and turned into a :class:`Call`.

Validation runs on every call, so it must be cheap: ``jsonschema_rs`` (a compiled JSON Schema
validator) checks each call against ``schemas/call.schema.json``, and a lean pass then converts
the fields the schema has vouched for (instants to POSIX seconds, lists to tuples). When a call
is rejected, ``jsonschema`` (the reference implementation) names the most relevant error and its
field path; a test checks on generated calls that both validators accept and reject the same
calls. The schema is the only statement of the contract: there is no hand-written validator.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from collections.abc import Iterable, Mapping, Sequence
from types import MappingProxyType
from typing import Any, NamedTuple

import jsonschema
import jsonschema_rs

from .errors import CallError
from .resources import schema_path

LINE_TYPES = frozenset({"mobile", "landline", "voip", "unknown"})
TECHNOLOGIES = frozenset({"manual", "autodialer", "prerecorded", "artificial_voice"})
CONSENT_TYPES = frozenset({"express", "express_written"})
OUTCOMES = frozenset({"conversation", "voicemail", "no_answer", "busy", "abandoned",
                      "answering_machine", "refused"})


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
# The text fields of a call: attribute -> field of the request ("from" is a Python keyword).
TEXT_FIELDS = {"from_": "from", "to_timezone": "to_timezone", "to_region": "to_region",
               "line_type": "line_type", "purpose": "purpose", "sector": "sector",
               "technology": "technology", "subject": "subject", "campaign": "campaign"}
_NO_ENTRIES: Mapping[str, Any] = MappingProxyType({})


class Call:
    """A validated call. Timestamps are POSIX seconds (floats) for fast comparison.

    Text fields (``purpose``, ``technology``, ``from_``...) are read from the request when asked,
    since the schema has already checked them; converted fields are set when the call is
    converted, and a field the request does not give keeps the class default below.
    """

    __slots__ = ("__dict__", "at", "at_ts", "raw", "to")

    from_: str | None
    to_timezone: str | None
    to_region: str | None
    line_type: str | None
    purpose: str | None
    sector: str | None
    technology: str
    subject: str | None
    campaign: str | None
    consent: tuple[ConsentRecord, ...] = ()
    last_transaction_at: float | None = None
    last_inquiry_at: float | None = None
    contract_active: bool | None = None
    lists: Mapping[str, float | dt.date | None] = _NO_ENTRIES
    lists_checked_at: Mapping[str, float | dt.date] = _NO_ENTRIES
    opt_outs: tuple[OptOut, ...] = ()
    # Prior attempts: their instants are converted with the call (which also checks them), the
    # rest is read from the items as given, when a rule asks (see `history`).
    history_at: tuple[float, ...] = ()
    history_items: Sequence[dict[str, Any]] = ()

    def __init__(self, raw: dict[str, Any], to: str, at: dt.datetime):
        self.raw = raw
        self.to = to
        self.at = at
        self.at_ts = at.timestamp()

    def __getattr__(self, name: str) -> Any:
        # Only reached for names the instance and class do not have: the text fields.
        field = TEXT_FIELDS.get(name)
        if field is None:
            raise AttributeError(name)
        return self.raw.get(field, "manual" if field == "technology" else None)

    @functools.cached_property
    def history(self) -> tuple[Attempt, ...]:
        """Prior attempts as records, built the first time a rule reads them."""
        return tuple(_attempt((ts, item.get("outcome"), item.get("subject"), item.get("campaign"),
                               item.get("purpose")))
                     for ts, item in zip(self.history_at, self.history_items, strict=True))


class _Reject(Exception):
    """A value the schema admits but that is not real (2026-02-30): its path and the reason."""

    def __init__(self, path: str, message: str):
        super().__init__(message)
        self.path = path
        self.message = message


_parse_instant = dt.datetime.fromisoformat


# The place of a value in the call, as path parts ("consent", 0, "at"): joined into a path
# (consent[0].at) only when the value is rejected.
Where = str | int


def _instant(value: str, *where: Where) -> dt.datetime:
    """A schema-valid RFC 3339 instant as an aware datetime; _Reject when the date is not real."""
    try:
        return _parse_instant(value)
    except ValueError:
        pass
    # RFC 3339 allows a lowercase "t" and "z"; Python 3.11's fromisoformat does not.
    try:
        return _parse_instant(value[:10] + "T" + value[11:-1] + value[-1].upper())
    except ValueError:
        raise _Reject(_path(where), f"{value!r} is not a real date and time") from None


def _ts(value: str, *where: Where) -> float:
    return _instant(value, *where).timestamp()


def _date_or_ts(value: str, *where: Where) -> float | dt.date:
    """An instant (POSIX seconds), or a bare date: the evaluator reads a date as the start of
    that day in the callee's own zone, which only it knows."""
    if len(value) == 10:
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            raise _Reject(_path(where), f"{value!r} is not a real date") from None
    return _ts(value, *where)


def _opt_ts(obj: dict, key: str, *where: Where) -> float | None:
    """The instant at ``key``, None when the key is absent; ``where`` places ``obj``."""
    value = obj.get(key)
    return None if value is None else _ts(value, *where, key)


_consent_record = functools.partial(tuple.__new__, ConsentRecord)


def _consent(call: Call, items: list[dict]) -> None:
    call.consent = tuple(
        _consent_record((item["type"], tuple(item["purposes"]), _ts(item["at"], "consent", i, "at"),
                         _opt_ts(item, "expires_at", "consent", i),
                         _opt_ts(item, "revoked_at", "consent", i)))
        for i, item in enumerate(items))


def _history(call: Call, items: list[dict]) -> None:
    # The hot loop of conversion (dialers send long histories): only the instants, which the
    # schema cannot check are real, are converted now.
    parse = _parse_instant
    try:
        call.history_at = tuple([parse(item["at"]).timestamp() for item in items])
    except ValueError:
        # A lowercase form, or a date that is not real: again one by one, naming the item.
        call.history_at = tuple(_ts(item["at"], "history", i, "at") for i, item in enumerate(items))
    call.history_items = items


def _opt_outs(call: Call, items: list[dict]) -> None:
    call.opt_outs = tuple(
        OptOut(_ts(item["at"], "opt_outs", i, "at"),
               tuple(item["purposes"]) if "purposes" in item else None)
        for i, item in enumerate(items))


def _lists(call: Call, items: list[dict]) -> None:
    out: dict[str, float | dt.date | None] = {}
    for i, item in enumerate(items):
        name = item["name"]
        listed = item.get("listed_at")
        if listed is not None:
            listed = _date_or_ts(listed, "lists", i, "listed_at")
        # The same list twice: an unknown listing date wins (it reads as "listed long ago"), else
        # the first one given is kept.
        if name not in out or listed is None:
            out[name] = listed
    call.lists = out


def _lists_checked(call: Call, value: dict[str, str]) -> None:
    call.lists_checked_at = {name: _date_or_ts(when, "lists_checked_at", name)
                             for name, when in value.items()}


def _relationship(call: Call, value: dict) -> None:
    call.contract_active = value.get("contract_active")
    call.last_transaction_at = _opt_ts(value, "last_transaction_at", "relationship")
    call.last_inquiry_at = _opt_ts(value, "last_inquiry_at", "relationship")


# Fields converted by a function; the text fields are read as given (see Call).
_CONVERT = {"consent": _consent, "relationship": _relationship, "lists": _lists,
            "lists_checked_at": _lists_checked, "opt_outs": _opt_outs, "history": _history}


def _convert(raw: dict[str, Any]) -> Call:
    """Turn a schema-valid call into a :class:`Call`."""
    call = Call(raw, raw["to"], _instant(raw["at"], "at"))
    convert = _CONVERT
    for key, value in raw.items():
        found = convert.get(key)
        if found is not None:
            found(call, value)
    return call


@functools.cache
def call_schema() -> dict[str, Any]:
    """The call-request JSON Schema shipped in the package."""
    return json.loads(schema_path("call.schema.json").read_text(encoding="utf-8"))


@functools.cache
def _validator() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(call_schema())


@functools.cache
def _fast_validator() -> jsonschema_rs.Draft202012Validator:
    return jsonschema_rs.Draft202012Validator(call_schema())


def _path(parts: Iterable[str | int]) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in parts).lstrip(".")


def schema_error(raw: object) -> CallError | None:
    """The reference validator's verdict: the most relevant schema error, or None."""
    error = jsonschema.exceptions.best_match(_validator().iter_errors(raw))
    if error is None:
        return None
    return CallError(_path(error.absolute_path), error.message)


def parse_call(raw: object) -> Call:
    """Validate a call request and convert it; raise :class:`CallError` naming the field."""
    try:
        valid = _fast_validator().is_valid(raw)
    except (ValueError, TypeError, OverflowError):
        valid = False  # a Python value JSON has no form for: the reference validator judges
    if not valid:
        found = schema_error(raw)
        if found is not None:
            raise found from None
        # The reference is laxer in one place: Python's "$" also matches before a final newline.
        try:
            first = next(iter(_fast_validator().iter_errors(raw)), None)
        except (ValueError, TypeError, OverflowError):
            first = None
        if first is not None:
            raise CallError(_path(first.instance_path), first.message)
    try:
        return _convert(raw)  # type: ignore[arg-type]
    except _Reject as reject:
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

"""The call request: validated against the shipped JSON Schema and turned into a :class:`Call`.

Validation runs on every call, so it must be cheap. There are two roads to the same
:class:`Call`:

- the **compiled reader** (``_callreader.c``, built with the wheel when a C compiler is at hand)
  checks the call against the schema's rules and converts it in one pass over the dict. It only
  ever accepts: whatever it is not sure of, it hands to the reference path;
- the **reference path**: ``jsonschema_rs`` (a compiled JSON Schema validator) checks the call
  against ``schemas/call.schema.json``, and a lean pass converts the fields the schema has vouched
  for (instants to POSIX seconds, lists to tuples). When a call is rejected, ``jsonschema`` (the
  reference implementation) names the most relevant error and its field path.

Tests check on generated and mutated calls that jsonschema_rs and jsonschema accept and reject the
same calls, and that the compiled reader gives exactly the reference path's Call and accepts
nothing the schema rejects. The schema is the only statement of the contract.
"""

from __future__ import annotations

import copy
import datetime as dt
import functools
import json
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from types import MappingProxyType
from typing import Any, NamedTuple

import jsonschema
import jsonschema_rs

from ringfence.errors import CallError
from ringfence.resources import schema_path

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


def _text_field(field: str, default: str | None = None) -> Any:
    """A text field of the request, read when asked (the schema has already checked it).

    A property rather than ``__getattr__``: a class without ``__getattr__`` keeps Python's fast
    lookups for its slots, which the rules read on every call."""
    return property(lambda call: call.raw.get(field, default), doc=f"the request's {field!r}")


class Call:
    """A validated call. Timestamps are POSIX seconds (floats) for fast comparison.

    Text fields (``purpose``, ``technology``, ``from_``...) are read from the request when asked,
    since the schema has already checked them; the converted fields are slots, and a field the
    request does not give holds the empty value set in ``__init__`` (the compiled reader builds
    calls without ``__init__`` and sets the same values).
    """

    __slots__ = ("__dict__", "at", "at_ts", "consent", "contract_active", "history_at",
                 "history_items", "last_inquiry_at", "last_transaction_at", "lists",
                 "lists_checked_at", "opt_outs", "raw", "to")

    from_ = _text_field("from")
    to_timezone = _text_field("to_timezone")
    to_region = _text_field("to_region")
    # "unknown" says the dialer does not know the line type: for conditions, not given
    line_type = property(lambda call: None if (kind := call.raw.get("line_type")) == "unknown"
                         else kind, doc="the request's 'line_type' (None when not known)")
    purpose = _text_field("purpose")
    sector = _text_field("sector")
    technology = _text_field("technology", "manual")
    subject = _text_field("subject")
    campaign = _text_field("campaign")
    consent: tuple[ConsentRecord, ...]
    last_transaction_at: float | None
    last_inquiry_at: float | None
    contract_active: bool | None
    lists: Mapping[str, float | dt.date | None]
    lists_checked_at: Mapping[str, float | dt.date]
    opt_outs: tuple[OptOut, ...]
    # Prior attempts: their instants are converted with the call (which also checks them), the
    # rest is read from the items as given, when a rule asks (see `history`).
    history_at: tuple[float, ...]
    history_items: Sequence[dict[str, Any]]

    def __init__(self, raw: dict[str, Any], to: str, at: dt.datetime):
        self.raw = raw
        self.to = to
        self.at = at
        self.at_ts = at.timestamp()
        self.consent = self.opt_outs = self.history_at = self.history_items = ()
        self.last_transaction_at = self.last_inquiry_at = self.contract_active = None
        self.lists = self.lists_checked_at = _NO_ENTRIES

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
_consent_record = functools.partial(tuple.__new__, ConsentRecord)
_opt_out = functools.partial(tuple.__new__, OptOut)
# The fields converted at all; a call without them (most calls have few) skips their code.
_CONVERTED = frozenset({"consent", "relationship", "lists", "lists_checked_at", "opt_outs",
                        "history"})


def _seconds(value: str | None) -> float | None:
    return None if value is None else _parse_instant(value).timestamp()


def _date_or_seconds(value: str) -> float | dt.date:
    """An instant (POSIX seconds), or a bare date: the evaluator reads a date as the start of
    that day in the callee's own zone, which only it knows."""
    return dt.date.fromisoformat(value) if len(value) == 10 else _parse_instant(value).timestamp()


def _lists(items: list[dict]) -> dict[str, float | dt.date | None]:
    out: dict[str, float | dt.date | None] = {}
    for item in items:
        name = item["name"]
        listed = item.get("listed_at")
        if listed is not None:
            listed = _date_or_seconds(listed)
        # The same list twice: an unknown listing date wins (it reads as "listed long ago"), else
        # the first one given is kept.
        if name not in out or listed is None:
            out[name] = listed
    return out


def _convert(raw: dict[str, Any], given: dict[str, Any]) -> Call:
    """Turn a schema-valid call into a :class:`Call` (``given`` is the request as the caller
    gave it, which the call keeps).

    Runs on every call, so it names no places: a ValueError means an instant in lowercase
    (which Python 3.11 does not read) or one that is not real, and :func:`_canonical` then
    rewrites or names it.
    """
    parse = _parse_instant
    call = Call(given, raw["to"], parse(raw["at"]))
    if _CONVERTED.isdisjoint(raw):
        return call
    items = raw.get("history")
    if items is not None:
        # The hot loop (dialers send long histories): only the instants are converted now, the
        # rest of an attempt is read from its item when a rule asks (see Call.history).
        call.history_at = tuple([parse(item["at"]).timestamp() for item in items])
        call.history_items = items
    items = raw.get("consent")
    if items is not None:
        records = []
        for item in items:
            expires, revoked = item.get("expires_at"), item.get("revoked_at")
            records.append(_consent_record((
                item["type"], tuple(item["purposes"]), parse(item["at"]).timestamp(),
                None if expires is None else parse(expires).timestamp(),
                None if revoked is None else parse(revoked).timestamp())))
        call.consent = tuple(records)
    items = raw.get("opt_outs")
    if items is not None:
        call.opt_outs = tuple([
            _opt_out((parse(item["at"]).timestamp(),
                      tuple(item["purposes"]) if "purposes" in item else None))
            for item in items])
    value = raw.get("relationship")
    if value is not None:
        call.contract_active = value.get("contract_active")
        call.last_transaction_at = _seconds(value.get("last_transaction_at"))
        call.last_inquiry_at = _seconds(value.get("last_inquiry_at"))
    items = raw.get("lists")
    if items is not None:
        call.lists = _lists(items)
    value = raw.get("lists_checked_at")
    if value is not None:
        call.lists_checked_at = {name: _date_or_seconds(when) for name, when in value.items()}
    return call


# The place of a value in the call, as path parts ("consent", 0, "at").
Where = str | int


def _instant_places(raw: dict[str, Any]) -> Iterator[tuple[tuple[Where, ...], dict, str, bool]]:
    """Every instant of a call: (its path, the object holding it, its key, whether a bare date
    is allowed there)."""
    yield ("at",), raw, "at", False
    for field, keys in (("consent", ("at", "expires_at", "revoked_at")), ("opt_outs", ("at",)),
                        ("history", ("at",)), ("lists", ("listed_at",))):
        for i, item in enumerate(raw.get(field, ())):
            for key in keys:
                if key in item:
                    yield (field, i, key), item, key, field == "lists"
    relationship = raw.get("relationship", {})
    for key in ("last_transaction_at", "last_inquiry_at"):
        if key in relationship:
            yield ("relationship", key), relationship, key, False
    checked = raw.get("lists_checked_at", {})
    for name in checked:
        yield ("lists_checked_at", name), checked, name, True


def _canonical(raw: dict[str, Any]) -> dict[str, Any]:
    """A copy of a schema-valid call with every instant written as Python 3.11 reads it
    (RFC 3339 also allows a lowercase "t" and "z"); :class:`_Reject` naming the first value
    that is not a real date or time."""
    # "meta" (the caller's own, of any depth) holds no instant and the Call keeps the request
    # as given: copying it could only run out of recursion (found by fuzzing, issue #12).
    copied = copy.deepcopy({key: value for key, value in raw.items() if key != "meta"})
    for where, holder, key, date_allowed in _instant_places(copied):
        value = holder[key]
        if date_allowed and len(value) == 10:
            try:
                dt.date.fromisoformat(value)
            except ValueError:
                raise _Reject(_path(where), f"{value!r} is not a real date") from None
            continue
        try:
            holder[key] = _parse_instant(
                value[:10] + "T" + value[11:-1] + value[-1].upper()).isoformat()
        except ValueError:
            raise _Reject(_path(where), f"{value!r} is not a real date and time") from None
    return copied


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
    return CallError(_path(error.absolute_path), _wording(error))


def _wording(error: jsonschema.ValidationError) -> str:
    """The error in words: a pattern is named by the field's description, not its regex."""
    described = error.schema.get("description") if isinstance(error.schema, dict) else None
    if error.validator == "pattern" and described:
        return f"{error.instance!r} is not in the form required here: {described}"
    return error.message


def parse_call(raw: object) -> Call:
    """Validate a call request and convert it; raise :class:`CallError` naming the field."""
    call = read_compiled(raw) if read_compiled is not None else None
    return call if call is not None else parse_call_reference(raw)


def parse_call_reference(raw: object) -> Call:
    """:func:`parse_call` by the reference path alone (JSON Schema, then the Python conversion)."""
    try:
        valid = _fast_validator().is_valid(raw)
    except (ValueError, TypeError, OverflowError):
        valid = False  # a Python value JSON has no form for: the reference validator judges
    if not valid:
        try:
            found = schema_error(raw)
        except RecursionError:  # a Python value nested deeper than repr (and JSON) can go
            raise CallError("", "the call is nested too deeply to read") from None
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
        return _convert(raw, raw)  # type: ignore[arg-type]
    except ValueError:
        pass
    try:
        return _convert(_canonical(raw), raw)  # type: ignore[arg-type]
    except _Reject as reject:
        raise CallError(reject.path, reject.message) from None


def _compiled_reader() -> Any:
    """The compiled reader's ``read``, or None when the package was built without it or
    ``RINGFENCE_PURE_PYTHON`` is set (to compare the two roads, or to rule one out)."""
    try:
        from ringfence.contract import _callreader
    except ImportError:  # built without a C compiler: the reference path reads every call
        return None
    _callreader.configure(Call, ConsentRecord, OptOut, _NO_ENTRIES)
    return None if os.environ.get("RINGFENCE_PURE_PYTHON") else _callreader.read


#: The compiled reader: ``read(raw)`` gives the Call, or None when the reference path must read
#: the call (:func:`parse_call` does both); None itself when the reader is not in use.
read_compiled = _compiled_reader()
#: Which road reads calls in this process: "compiled" or "python".
READER = "python" if read_compiled is None else "compiled"


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

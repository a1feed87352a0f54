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

The compiled reader also reads a call from its **line of JSON** (``read_line``, ``read_lines``),
with no dict between, for lines in a plain subset of JSON it is sure of; it hands every other line
over, to be read as JSON first and then by one of the two roads.

Tests check on generated and mutated calls that jsonschema_rs and jsonschema accept and reject the
same calls, and that the compiled reader gives exactly the reference path's Call and accepts
nothing the schema rejects (and reads from a line exactly the Call of the line's dict).

The schema is the only statement of the contract: what this module knows of a call's shape (the
Call's slots, the text fields and their defaults, where instants stand) comes from
:data:`CONTRACT`, derived from it by ``contract/schema.py``, as do the compiled reader's tables.
A :class:`Call` is immutable once built.
"""

from __future__ import annotations

import datetime as dt
import functools
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar, overload

import jsonschema_rs
import orjson

from ringfence.contract import schema as _derive
from ringfence.contract import wordscan
from ringfence.contract.schema import RECORD_SLOTS
from ringfence.errors import CallError, did_you_mean, excerpt
from ringfence.resources import schema_path

if TYPE_CHECKING:  # the reference validator words errors: imported when a call has one
    import jsonschema


@functools.cache
def call_schema() -> dict[str, Any]:
    """The call-request JSON Schema shipped in the package."""
    return _derive.load(schema_path("call.schema.json"))


#: What the call schema says, in the forms the rest of Ringfence reads (see contract/schema.py).
CONTRACT = _derive.Contract(call_schema())
#: The text fields of a call: Call attribute -> field of the request ("from" is a keyword).
TEXT_FIELDS: Mapping[str, str] = CONTRACT.text_fields


class ConsentRecord(NamedTuple):
    """A consent record; its fields are the keys of ``consent[]`` in the schema, in order."""

    type: str
    purposes: tuple[str, ...]
    at: float
    expires_at: float | None
    revoked_at: float | None
    seller: str | None  # the seller it was given to; None: any seller
    number: str | None  # the number it covers; None: the call's own


class OptOut(NamedTuple):
    """An opt-out; its fields are the keys of ``opt_outs[]`` in the schema, in order."""

    at: float
    purposes: tuple[str, ...] | None  # None: every purpose


class Attempt(NamedTuple):
    """A prior attempt; its fields are the keys of ``history[]`` in the schema, in order."""

    at: float
    outcome: str | None
    subject: str | None
    campaign: str | None
    purpose: str | None


#: The record class of each array of records (the compiled reader builds them too).
RECORDS: Mapping[str, type[tuple[Any, ...]]] = {"consent": ConsentRecord, "opt_outs": OptOut}
# NamedTuple's own constructor is a Python function; building from a tuple skips that frame.
_attempt = functools.partial(tuple.__new__, Attempt)
_NO_ENTRIES: Mapping[str, Any] = MappingProxyType({})
#: What each slot of a Call holds when the request does not give its field. An array left out
#: is None, not empty: "not sent" says the caller does not know (a rule that needs it denies,
#: naming it), ``[]`` says there are none.
DEFAULTS: Mapping[str, Any] = {
    "raw": None, "at": None, "at_ts": None, "consent": None, "opt_outs": None,
    "history_at": None, "history_items": None, "lists": None,
    "lists_checked_at": _NO_ENTRIES, "new_words": False,
    **{p.attribute: p.default for p in CONTRACT.flat_fields}}
#: The words of the contract's vocabulary each place of words takes (``purpose``: the purposes;
#: ``consent.purposes``: also ``outside_hours``), by the place's dotted name.
CONTRACT_WORDS: Mapping[str, frozenset[str]] = {
    place: vocabulary.at(place) for vocabulary in CONTRACT.word_vocabularies.values()
    for place in vocabulary.places}
#: The places of words, in the schema's order, and the scan for words outside known ones.
WORD_PLACES = tuple(p for p in CONTRACT.places if p.name in CONTRACT_WORDS)
first_unknown_word = wordscan.compile_scan(WORD_PLACES, RECORDS)
_CONTRACT_KNOWN = tuple(CONTRACT_WORDS[p.name] for p in WORD_PLACES)


class _CallSlots:
    """The slots of a :class:`Call`, one per entry of ``CONTRACT.slots``, writable: the
    conversion fills one, then makes it a Call (see :func:`_frozen`)."""

    __slots__ = ("__dict__", *CONTRACT.slots)
    # The request as given: its dict, or for a call read from its line of JSON (read_line) a
    # read-only mapping over the line, which makes the dict when more than id and meta is read.
    raw: Mapping[str, Any]
    to: str
    at: dt.datetime
    at_ts: float
    from_: str | None
    to_timezone: str | None
    to_postal_code: str | None
    to_region: str | None
    line_type: str | None
    purpose: str | None
    sector: str | None
    technology: str
    subject: str | None
    campaign: str | None
    seller: str | None
    consent: tuple[ConsentRecord, ...] | None
    last_transaction_at: float | None
    last_inquiry_at: float | None
    contract_active: bool | None
    lists: Mapping[str, float | dt.date | None] | None
    lists_checked_at: Mapping[str, float | dt.date]
    opt_outs: tuple[OptOut, ...] | None
    # Prior attempts: their instants are converted with the call (which also checks them), the
    # rest is read from the items as given, when a rule asks (see `history`).
    history_at: tuple[float, ...] | None
    history_items: Sequence[dict[str, Any]] | None
    # Whether a word of a vocabulary (a purpose) is not the contract's own: a policy may have
    # declared it, which the policy set checks (contract/words.py); most calls have none.
    new_words: bool


class Call(_CallSlots):
    """A validated call, immutable once built. Timestamps are POSIX seconds (floats) for fast
    comparison.

    Every field of the request a policy condition may name is an attribute (``CONTRACT.slots``;
    the table ``contract/fields.py`` names them): the top-level text fields as given (``from`` is
    ``from_``; a ``line_type`` of ``unknown`` reads as None, a missing ``technology`` as
    ``manual``), the members of ``relationship`` (instants as seconds), None when not given.
    The arrays are converted: ``consent`` and ``opt_outs`` to tuples of records, ``history_at``
    the attempts' instants (``history`` the attempts, built when first read), ``lists`` (name ->
    listing instant, date or None) and ``lists_checked_at`` (name -> instant or date, each
    converted when read: :class:`CheckedDates`). An array
    the request leaves out (``consent``, ``opt_outs``, ``history``, ``lists``) is None: not
    known, which is not the same as ``[]`` (none).

    A bare date (in ``lists`` and ``lists_checked_at``) is kept as a :class:`datetime.date`: it
    means midnight at the start of that day in the callee's zone, which only the engine knows;
    :meth:`in_zone` gives the call with those dates placed, :func:`instant_in` one value.

    Both the compiled reader and the Python conversion build a Call in one go, without
    ``__init__``; assigning an attribute afterwards raises AttributeError.
    """

    __slots__ = ()

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"a Call cannot be changed (setting {name!r})")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"a Call cannot be changed (deleting {name!r})")

    @functools.cached_property
    def history(self) -> tuple[Attempt, ...] | None:
        """Prior attempts as records, built the first time a rule reads them (None: the request
        does not give them)."""
        if self.history_at is None or self.history_items is None:
            return None
        return tuple(_attempt((ts, *[item.get(key) for key in _ATTEMPT_KEYS]))
                     for ts, item in zip(self.history_at, self.history_items, strict=True))

    def in_zone(self, zone: dt.tzinfo) -> Call:
        """This call with every bare date of ``lists`` and ``lists_checked_at`` placed at
        midnight at the start of its day in ``zone`` (POSIX seconds), as each is read; the call
        itself when it names no list or is placed already. The call is not changed: the answer
        is a new Call."""
        lists, checked = self.lists, self.lists_checked_at
        if type(checked) is PlacedDates or (not lists and not checked):
            return self  # placed already (both maps are placed together), or nothing to place
        # Placed as read: a call names a dozen lists, of which the callee's policies read one
        # or two; placing them all cost more than the rest of reading the call.
        place = _placers.get(zone) or _placer(zone)
        # lists: None (not given) and {} (none) hold no date
        return _with_dates(self, PlacedDates(lists, place) if lists else lists,
                           PlacedDates(checked, place))

    def instants(self) -> Iterator[float | dt.date]:
        """Every instant the call gives besides its own ``at``, in no particular order (the
        instants an event may start a period at); bare dates as dates, unless the call is
        :meth:`in_zone`."""
        for read in _INSTANT_READERS:
            for value in read(self):
                if value is not None:
                    yield value


@overload
def instant_in(value: float | dt.date, zone: dt.tzinfo) -> float: ...
@overload
def instant_in(value: None, zone: dt.tzinfo) -> None: ...
@overload
def instant_in(value: float | dt.date | None, zone: dt.tzinfo) -> float | None: ...
def instant_in(value: float | dt.date | None, zone: dt.tzinfo) -> float | None:
    """A value of ``lists``/``lists_checked_at`` as POSIX seconds (None stays None): a bare date
    is midnight at the start of that day in ``zone`` (the callee's)."""
    return (_placers.get(zone) or _placer(zone))(value)


#: How a value of ``lists``/``lists_checked_at`` is placed in one zone (see :func:`instant_in`).
Placer = Callable[[float | dt.date | None], float | None]
_Value = TypeVar("_Value")


class ConvertedOnRead(Mapping[str, _Value]):
    """A read-only mapping over ``given``, each value converted by ``convert`` when it is read
    (each time: the readers keep what costs)."""

    __slots__ = ("_convert", "_given")

    def __init__(self, given: Mapping[str, Any], convert: Callable[[Any], _Value]):
        self._given = given
        self._convert = convert

    def __getitem__(self, name: str) -> _Value:
        return self._convert(self._given[name])

    def get(self, name: str, default: Any = None) -> Any:  # one call, not Mapping's two
        given = self._given
        return self._convert(given[name]) if name in given else default

    def __contains__(self, name: object) -> bool:
        return name in self._given

    def __iter__(self) -> Iterator[str]:
        return iter(self._given)

    def __len__(self) -> int:
        return len(self._given)

    def __repr__(self) -> str:
        return repr(dict(self.items()))


class CheckedDates(ConvertedOnRead[float | dt.date]):
    """A call's ``lists_checked_at`` as the request gives it (name -> text, every value checked
    when the call was read), each value converted when it is read: a bare date to a
    :class:`datetime.date`, an instant to POSIX seconds. A call gives a dozen, of which its
    policies read one or two; converting them all cost a third of reading the call. Like
    ``history``, it reads the request as given, which must not change once read.

    ``convert`` converts one value: :func:`_date_or_seconds` for the reference path; the compiled
    reader builds these itself, with its own ``date_or_seconds``."""

    __slots__ = ()


class PlacedDates(ConvertedOnRead[float | None]):
    """A call's ``lists`` or ``lists_checked_at`` with every bare date read as midnight at the
    start of that day in one zone (see :meth:`Call.in_zone`), placed when it is read."""

    __slots__ = ()


# Midnight of each date already placed, per zone. A call gives a dozen list dates, nearly all
# shared with the calls around it, and placing one (combine, then timestamp through the zone's
# rules) costs over a microsecond. Bounded: a zone's table starts afresh past _MAX_MIDNIGHTS.
# Threads may race to fill an entry; both compute the same value.
_MIDNIGHTS: dict[dt.tzinfo, dict[dt.date, float]] = {}
_MAX_MIDNIGHTS = 100_000
# The placing function of each zone, made once (it was a closure made for every call).
_placers: dict[dt.tzinfo, Placer] = {}


def _placer(zone: dt.tzinfo) -> Placer:
    """The function placing values of ``lists``/``lists_checked_at`` in ``zone`` (see
    :func:`instant_in`), with that zone's table of midnights; made and kept on first use."""
    midnights = _MIDNIGHTS.setdefault(zone, {})

    def place(value: float | dt.date | None) -> float | None:
        if type(value) is not dt.date:
            return value  # type: ignore[return-value]
        seconds = midnights.get(value)
        if seconds is None:
            if len(midnights) >= _MAX_MIDNIGHTS:
                midnights.clear()
            seconds = midnights[value] = dt.datetime.combine(value, dt.time(), zone).timestamp()
        return seconds

    return _placers.setdefault(zone, place)


def _frozen(draft: _CallSlots) -> Call:
    # Assigning __class__ is allowed between classes of the same layout (Call adds no slots);
    # the draft's plain slot assignments cost a fraction of object.__setattr__ on a Call.
    draft.__class__ = Call
    return draft  # type: ignore[return-value]


_ATTEMPT_KEYS = Attempt._fields[1:]


def _instant_reader(path: tuple[str, ...]) -> Callable[[Call], Iterable[Any]] | None:
    """How to read the converted values of one instant path from a Call."""
    head, *rest = path
    if not rest:
        return None  # the call's own instant
    if head == "history":
        return lambda call: call.history_at or ()
    if head in ("lists", "lists_checked_at"):
        return lambda call: (getattr(call, head) or _NO_ENTRIES).values()
    if rest[0] == "*":  # a field of each record
        key = rest[1]
        return lambda call: [getattr(record, key) for record in getattr(call, head) or ()]
    attribute = CONTRACT.place(*path).attribute
    return lambda call: (getattr(call, attribute),)


_INSTANT_READERS = tuple(r for r in (_instant_reader(p.path) for p in CONTRACT.instant_paths)
                         if r is not None)


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
_CONVERTED = frozenset(p.key for p in CONTRACT.children() if p.kind in _derive.STRUCTURED)
# The members of objects, each in a slot: object -> ((attribute, key, is an instant), ...).
_MEMBERS = {parent.key: tuple((p.attribute, p.key, p.kind in _derive.INSTANTS)
                              for p in CONTRACT.children(*parent.path))
            for parent in CONTRACT.children() if parent.kind == "object"}


def _start_source() -> str:
    """The source of ``_start(raw, given, at)``: a Call draft with every slot set, the flat
    fields from the request (a missing one takes its default; the value meaning "not known" reads
    as None) and the rest empty.

    Written out from the contract once, at import: a loop of ``setattr`` over the fields costs
    several times more, and this runs for every call the reference path reads."""
    lines = ["def _start(raw, given, at):",
             "    call = new(_CallSlots)",
             "    call.raw = given",
             "    call.at = at",
             "    call.at_ts = at.timestamp()",
             "    call.new_words = False",
             "    get = raw.get"]
    for place in CONTRACT.flat_fields:
        if len(place.path) > 1:  # a member of an object: see _MEMBERS
            lines.append(f"    call.{place.attribute} = {place.default!r}")
            continue
        read = f"get({place.key!r}, {place.default!r})"
        if place.kind == "term":  # a word of a vocabulary: read in lowercase
            lines += [f"    value = {read}",
                      "    if value is not None:",
                      "        value = value.lower()",
                      f"        if value not in WORDS[{place.name!r}]:",
                      "            call.new_words = True",
                      f"    call.{place.attribute} = value"]
        elif place.not_known is None:
            lines.append(f"    call.{place.attribute} = {read}")
        else:
            lines += [f"    value = {read}",
                      f"    call.{place.attribute} = None if value == {place.not_known!r} "
                      "else value"]
    lines += [f"    call.{name} = {'None' if DEFAULTS[name] is None else 'NO_ENTRIES'}"
              for name in RECORD_SLOTS if name not in ("raw", "at", "at_ts", "new_words")]
    lines.append("    return call")
    return "\n".join(lines) + "\n"


def _compile_start() -> Callable[[dict[str, Any], dict[str, Any], dt.datetime], _CallSlots]:
    namespace: dict[str, Any] = {"new": object.__new__, "_CallSlots": _CallSlots,
                                 "NO_ENTRIES": _NO_ENTRIES, "WORDS": CONTRACT_WORDS}
    exec(compile(_start_source(), "<ringfence call contract>", "exec"), namespace)
    start: Callable[[dict[str, Any], dict[str, Any], dt.datetime], _CallSlots] = (
        namespace["_start"])
    return start


_start = _compile_start()


def _compile_copy() -> Callable[[Call], _CallSlots]:
    """``_copy(call)``: a draft holding every slot of ``call``, written out once (a loop of
    ``setattr`` over the slots cost more than judging the call)."""
    lines = ["def _copy(call):", "    draft = new(_CallSlots)",
             *(f"    draft.{name} = call.{name}" for name in CONTRACT.slots), "    return draft"]
    namespace: dict[str, Any] = {"new": object.__new__, "_CallSlots": _CallSlots}
    exec(compile("\n".join(lines) + "\n", "<ringfence call copy>", "exec"), namespace)
    copy: Callable[[Call], _CallSlots] = namespace["_copy"]
    return copy


_copy = _compile_copy()


def with_dates_python(call: Call, lists: Mapping[str, float | dt.date | None] | None,
                      lists_checked_at: Mapping[str, float | dt.date | None]) -> Call:
    """A new Call holding every slot of ``call`` but ``lists`` and ``lists_checked_at``, given
    (the reference of the compiled reader's ``with_dates``)."""
    draft = _copy(call)
    draft.lists = lists
    draft.lists_checked_at = lists_checked_at  # type: ignore[assignment]  # placed: no None
    return _frozen(draft)


def _date_or_seconds(value: str) -> float | dt.date:
    """An instant (POSIX seconds), or a bare date: the engine reads a date as the start of
    that day in the callee's own zone, which only it knows (see Call.in_zone)."""
    return dt.date.fromisoformat(value) if len(value) == 10 else _parse_instant(value).timestamp()


def _lists(items: list[dict[str, Any]]) -> dict[str, float | dt.date | None]:
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


# The words of a prior attempt that are read in lowercase (its outcome, its purpose).
_HISTORY_WORDS = frozenset(p.key for p in CONTRACT.children("history", "*")
                           if p.kind in ("enum", "term"))


def _lowered(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Prior attempts with their words (outcome, purpose) in lowercase: the items themselves
    when they are already (the rules read the items as given, see Call.history)."""
    for item in items:
        for key in _HISTORY_WORDS:
            value = item.get(key)
            if value is not None and value != value.lower():
                return [{k: v.lower() if k in _HISTORY_WORDS else v for k, v in each.items()}
                        for each in items]
    return items


def _convert(raw: dict[str, Any], given: dict[str, Any]) -> Call:
    """Turn a schema-valid call into a :class:`Call` (``given`` is the request as the caller
    gave it, which the call keeps).

    Runs on every call, so it names no places: a ValueError means an instant in lowercase
    (which Python 3.11 does not read) or one that is not real, and :func:`_canonical` then
    rewrites or names it.
    """
    parse = _parse_instant
    call = _start(raw, given, parse(raw["at"]))
    if _CONVERTED.isdisjoint(raw):
        return _frozen(call)
    items = raw.get("history")
    if items is not None:
        # The hot loop (dialers send long histories): only the instants are converted now, the
        # rest of an attempt is read from its item when a rule asks (see Call.history).
        call.history_at = tuple([parse(item["at"]).timestamp() for item in items])
        call.history_items = _lowered(items)
    items = raw.get("consent")
    if items is not None:
        records = []
        for item in items:
            expires, revoked = item.get("expires_at"), item.get("revoked_at")
            records.append(_consent_record((
                item["type"], tuple([p.lower() for p in item["purposes"]]),
                parse(item["at"]).timestamp(),
                None if expires is None else parse(expires).timestamp(),
                None if revoked is None else parse(revoked).timestamp(),
                item.get("seller"), item.get("number"))))
        call.consent = tuple(records)
    items = raw.get("opt_outs")
    if items is not None:
        call.opt_outs = tuple([
            _opt_out((parse(item["at"]).timestamp(),
                      tuple([p.lower() for p in item["purposes"]]) if "purposes" in item
                      else None))
            for item in items])
    for name, members in _MEMBERS.items():
        value = raw.get(name)
        if value is not None:
            for attribute, key, instant in members:
                member = value.get(key)
                if instant and member is not None:
                    member = parse(member).timestamp()
                setattr(call, attribute, member)
    items = raw.get("lists")
    if items is not None:
        call.lists = _lists(items)
    value = raw.get("lists_checked_at")
    if value is not None:
        for when in value.values():
            _date_or_seconds(when)  # checked now (ValueError), converted when read
        call.lists_checked_at = CheckedDates(value, _date_or_seconds)
    call.new_words = first_unknown_word(call, _CONTRACT_KNOWN) >= 0
    return _frozen(call)


# The place of a value in the call, as path parts ("consent", 0, "at").
Where = str | int


def _instant_places(holder: dict[str, Any], inside: tuple[str, ...] = (),
                    where: tuple[Where, ...] = ()
                    ) -> Iterator[tuple[tuple[Where, ...], dict[str, Any], str, bool]]:
    """Every instant of a schema-valid call, in the schema's order (an array item by item):
    (its path, the object holding it, its key, whether a bare date is allowed there).
    ``inside`` is the schema path of ``holder``, ``where`` its place in the call."""
    for place in CONTRACT.children(*inside):
        key = place.key
        if key not in holder:
            continue
        value = holder[key]
        if place.kind in _derive.INSTANTS:
            yield (*where, key), holder, key, place.kind == "date_or_instant"
        elif place.kind == "items":
            for i, item in enumerate(value):
                yield from _instant_places(item, (*place.path, "*"), (*where, key, i))
        elif place.kind == "object":
            yield from _instant_places(value, place.path, (*where, key))
        elif place.kind == "map" and CONTRACT.place(*place.path, "*").kind in _derive.INSTANTS:
            dates = CONTRACT.place(*place.path, "*").kind == "date_or_instant"
            for name in value:
                yield (*where, key, name), value, name, dates


def _copy_described(holder: dict[str, Any], inside: tuple[str, ...] = ()) -> dict[str, Any]:
    """A copy of the containers of a schema-valid call that the schema describes (where instants
    stand); anything else, such as ``meta``, is shared and never walked, however deep it is."""
    copied = dict(holder)
    for place in CONTRACT.children(*inside):
        value = copied.get(place.key)
        if place.kind == "items" and isinstance(value, list):
            copied[place.key] = [_copy_described(item, (*place.path, "*"))
                                 if isinstance(item, dict) else item for item in value]
        elif place.kind == "object" and isinstance(value, dict):
            copied[place.key] = _copy_described(value, place.path)
        elif place.kind == "map" and isinstance(value, dict):
            copied[place.key] = dict(value)
    return copied


def _enum_values(holder: dict[str, Any], inside: tuple[str, ...] = ()
                 ) -> Iterator[tuple[dict[str, Any], _derive.Place]]:
    """Every text value of a closed vocabulary (an ``enum``) in a call that may be malformed:
    (the object holding it, its place)."""
    for place in CONTRACT.children(*inside):
        value = holder.get(place.key)
        if place.kind == "enum" and isinstance(value, str):
            yield holder, place
        elif place.kind == "items" and isinstance(value, list):
            for item in value:
                if isinstance(item, dict):
                    yield from _enum_values(item, (*place.path, "*"))
        elif place.kind == "object" and isinstance(value, dict):
            yield from _enum_values(value, place.path)


def _folded(raw: object) -> dict[str, Any] | None:
    """A copy of a call the schema rejects with each value of a closed vocabulary that it gives
    in another case (``"Mobile"``) in lowercase, as the vocabulary writes it; None when there is
    none. Such values are read case-insensitively (the compiled reader does the same)."""
    if not isinstance(raw, dict):
        return None
    copied = _copy_described(raw)
    changed = False
    for holder, place in _enum_values(copied):
        value = holder[place.key]
        lowered = value.lower()
        if lowered != value and lowered in (place.vocabulary or ()):
            holder[place.key] = lowered
            changed = True
    return copied if changed else None


def _canonical(raw: dict[str, Any]) -> dict[str, Any]:
    """A copy of a schema-valid call with every instant written as Python 3.11 reads it
    (RFC 3339 also allows a lowercase "t" and "z"); :class:`_Reject` naming the first value
    that is not a real date or time."""
    copied = _copy_described(raw)
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
def _validator() -> jsonschema.Draft202012Validator:
    import jsonschema

    return jsonschema.Draft202012Validator(call_schema())


@functools.cache
def _fast_validator() -> jsonschema_rs.Draft202012Validator:
    return jsonschema_rs.Draft202012Validator(call_schema())


def _path(parts: Iterable[str | int]) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in parts).lstrip(".")


def schema_error(raw: object) -> CallError | None:
    """The reference validator's verdict: the most relevant schema error, or None."""
    import jsonschema.exceptions

    error = jsonschema.exceptions.best_match(_validator().iter_errors(raw))
    if error is None:
        return None
    return CallError(_path(error.absolute_path), _wording(error))


def _wording(error: jsonschema.ValidationError) -> str:
    """The error in words: a pattern is named by the field's description, not its regex."""
    schema = error.schema if isinstance(error.schema, dict) else {}
    described = schema.get("description")
    if error.validator == "enum" and isinstance(error.instance, str):
        name = ".".join(p for p in error.absolute_path if isinstance(p, str))
        words = [str(w) for w in schema.get("enum", ())]
        hint = did_you_mean(error.instance.lower(), words)
        return (f"{excerpt(error.instance)} is not a value of {name} ({', '.join(words)})"
                + (f"; did you mean {hint!r}?" if hint else ""))
    if (error.validator == "additionalProperties" and isinstance(error.instance, dict)
            and "properties" in schema):
        # the keys of an object are a closed set too: name the unknown one and the closest key
        keys = list(schema["properties"])
        unknown = next(k for k in error.instance if k not in schema["properties"])
        hint = did_you_mean(str(unknown), keys)
        return (f"{excerpt(str(unknown))} is not a field here (the fields are {', '.join(keys)})"
                + (f"; did you mean {hint!r}?" if hint else ""))
    if error.validator == "pattern" and described:
        return f"{error.instance!r} is not in the form required here: {described}"
    return error.message


def parse_call(raw: object) -> Call:
    """Validate a call request and convert it; raise :class:`CallError` naming the field. A
    :class:`Call` (read already, as :data:`read_line` reads a line) is returned as it is."""
    call = read_compiled(raw) if read_compiled is not None else None
    return call if call is not None else parse_call_reference(raw)


def _schema_valid(raw: object) -> bool:
    """Whether the compiled validator accepts ``raw``; False for a Python value JSON has no
    form for (a lone surrogate, a huge integer...), which the reference validator then words."""
    try:
        return bool(_fast_validator().is_valid(raw))
    except (ValueError, TypeError, OverflowError):
        return False


def parse_call_reference(raw: object) -> Call:
    """:func:`parse_call` by the reference path alone (JSON Schema, then the Python conversion)."""
    if type(raw) is Call:
        return raw
    if not _schema_valid(raw):
        folded = _folded(raw)
        if folded is not None and _schema_valid(folded):
            return _converted(folded, raw)  # type: ignore[arg-type]
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
    return _converted(raw, raw)  # type: ignore[arg-type]


def _converted(valid: dict[str, Any], given: dict[str, Any]) -> Call:
    """The Call of a schema-valid call (``given``: the request as the caller gave it)."""
    try:
        return _convert(valid, given)
    except ValueError:
        pass
    try:
        return _convert(_canonical(valid), given)
    except _Reject as reject:
        raise CallError(reject.path, reject.message) from None


def _compiled_reader() -> Any:
    """The compiled reader's ``read``, or None when the package was built without it or
    ``RINGFENCE_PURE_PYTHON`` is set (to compare the two roads, or to rule one out)."""
    try:
        from ringfence.contract import _callreader
    except ImportError:  # built without a C compiler: the reference path reads every call
        return None
    _callreader.configure(Call, dict(RECORDS), dict(DEFAULTS), CheckedDates)
    # A call read from its line keeps the request as the line (see _callreader.read_line); the
    # dict made when it is asked for is orjson's, as the lines of `decide` are read.
    _callreader.configure_lines(orjson.loads)
    Mapping.register(_callreader.LineRequest)
    Mapping.register(_callreader.LineDates)
    return None if os.environ.get("RINGFENCE_PURE_PYTHON") else _callreader.read


#: The compiled reader: ``read(raw)`` gives the Call, or None when the reference path must read
#: the call (:func:`parse_call` does both); None itself when the reader is not in use.
read_compiled = _compiled_reader()
#: Which road reads calls in this process: "compiled" or "python".
READER = "python" if read_compiled is None else "compiled"


#: What ``read_lines(data, first)`` gives: (number, Call or the line's bytes) for each line that
#: is not blank, and the positions of the lines' bytes in that list.
LinesRead = tuple[list[tuple[int, "Call | bytes"]], list[int]]


def _line_readers() -> tuple[Callable[[bytes], Call | None] | None,
                             Callable[[bytes, int], LinesRead] | None]:
    """The compiled reader's ``read_line`` and ``read_lines`` when the reader is in use."""
    if read_compiled is None:
        return None, None
    from ringfence.contract import _callreader

    return _callreader.read_line, _callreader.read_lines


#: ``read_line(line)``: the Call of a line of JSON (bytes) read straight from its bytes, exactly
#: the Call :func:`parse_call` gives for the line's dict; None when the line must be read as
#: JSON first (a line outside the plain subset of JSON it reads, or a call the compiled reader
#: would hand over). ``read_lines(data, first)``: each line of a block (cut at ``\n``, blank
#: ones left out, the first numbered ``first``) by ``read_line``, or as its bytes when it hands
#: it over (:data:`LinesRead`). Both None when the compiled reader is not in use.
read_line, read_lines = _line_readers()


def _compiled_with_dates() -> Callable[[Call, Any, Any], Call]:
    """The compiled reader's ``with_dates`` (a copy slot by slot in C) when the reader is in
    use, else :func:`with_dates_python`."""
    if read_compiled is None:
        return with_dates_python
    from ringfence.contract import _callreader

    return _callreader.with_dates


_with_dates = _compiled_with_dates()


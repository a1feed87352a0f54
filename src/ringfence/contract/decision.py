"""What ``decide`` returns: the decision, the rules that decided it, and when the call may be made."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import orjson

from ringfence.errors import Span
from ringfence.resources import source_name

#: How the callee was located (``located_by``): the call's ``to_timezone``, its
#: ``to_postal_code``, the number's prefix (one zone), or the number's prefix where it reaches
#: several zones, all of which are judged.
ZONE_GIVEN = "zone_given"
POSTAL_CODE = "postal_code"
NUMBER_PREFIX = "number_prefix"
MULTIZONE = "multizone_fallback"


class _WrittenOnce:
    """An immutable part of decisions, shared by every decision it is part of: its JSON, in
    either form of :meth:`Decision.to_dict` (compact or not), is written once, when first asked
    for, not once per decision (no part of the value: not compared, copied or pickled)."""

    __slots__ = ("_json", "_written")
    _written: dict[bool, orjson.Fragment]  # fragment's answers by form, made with the first
    _json: dict[bool, bytes]  # written's answers by form (the compiled line writer reads them)

    def fragment(self, compact: bool = False) -> orjson.Fragment:
        """What the part's :meth:`Decision.to_dict` data of form ``compact`` is in compact
        JSON (orjson's), for orjson to write as it stands inside a decision.

        Raises ``orjson.JSONEncodeError`` when orjson cannot write it."""
        try:  # a subscript, not dict.get: this runs for each finding of each decision line
            return self._written[compact]
        except (AttributeError, KeyError):
            return self._write(compact)[1]

    def written(self, compact: bool = False) -> bytes:
        """:meth:`fragment`'s JSON, as bytes (what the compiled line writer reads)."""
        try:
            return self._json[compact]
        except (AttributeError, KeyError):
            return self._write(compact)[0]

    def _write(self, compact: bool) -> tuple[bytes, orjson.Fragment]:
        data = orjson.dumps(self._data(compact))
        fragment = orjson.Fragment(data)
        self._by_form("_json")[compact] = data
        self._by_form("_written")[compact] = fragment
        return data, fragment

    def _by_form(self, name: str) -> dict[bool, Any]:
        try:
            return getattr(self, name)  # type: ignore[no-any-return]
        except AttributeError:  # racing threads make a dict each; either may stay
            by_form: dict[bool, Any] = {}
            object.__setattr__(self, name, by_form)  # the value itself stays frozen
            return by_form

    def _data(self, compact: bool) -> Any:
        raise NotImplementedError


@dataclass(frozen=True, slots=True)
class Finding(_WrittenOnce):
    """A violated deny rule or a fired warn rule."""

    policy: str
    rule: str
    title: str
    level: Literal["deny", "warn"]
    message: str
    citations: tuple[str, ...]
    source: Span
    # a rule's finding is one object, shared by every call the rule denies
    missing_facts: tuple[str, ...] = ()

    def to_dict(self, *, compact: bool = False) -> dict[str, Any]:
        """The finding as JSON-able data; ``compact`` names the source file as
        :func:`ringfence.resources.source_name` does (never an installation path)."""
        source = self.source
        return {
            "policy": self.policy, "rule": self.rule, "title": self.title, "level": self.level,
            "message": self.message, "citations": list(self.citations),
            "source": {"file": source_name(source.file) if compact else source.file,
                       "line": source.line, "column": source.column},
            "missing_facts": list(self.missing_facts),
        }

    def _data(self, compact: bool) -> dict[str, Any]:
        return self.to_dict(compact=compact)


@dataclass(frozen=True, slots=True)
class RuleTrace:
    """How one rule came out for a call, and why (filled when ``trace=True``)."""

    policy: str
    rule: str
    outcome: Literal["violated", "passed", "exempt", "not_applicable", "not_in_force"]
    level: str
    detail: str

    def to_dict(self) -> dict[str, Any]:
        return {"policy": self.policy, "rule": self.rule, "outcome": self.outcome,
                "level": self.level, "detail": self.detail}


@dataclass(frozen=True, slots=True)
class PolicyRef(_WrittenOnce):
    """Audit provenance of one evaluated policy."""

    id: str
    version: str | None
    hash: str
    # a policy's two refs are shared by every call (see ir.Policy.ref_applicable)
    applicable: bool

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "version": self.version, "hash": self.hash,
                "applicable": self.applicable}

    def _data(self, compact: bool) -> dict[str, Any]:
        return self.to_dict()  # the same in both forms


@dataclass(frozen=True, slots=True)
class PolicyRefs(_WrittenOnce):
    """The policy references of one outcome of judging (which policies applied, of those
    evaluated), shared by every call with that outcome: :meth:`fragment` writes them as
    :meth:`Decision.to_dict` lists them (``compact``: only those that applied)."""

    refs: tuple[PolicyRef, ...]

    def _data(self, compact: bool) -> list[dict[str, Any]]:
        return [p.to_dict() for p in self.refs if p.applicable or not compact]


def rfc3339(when: dt.datetime | None) -> str | None:
    """An instant as RFC 3339 (``Z`` for UTC)."""
    if when is None:
        return None
    return when.isoformat().replace("+00:00", "Z")


@dataclass(slots=True)
class Decision:
    """The verdict on one call.

    ``next_allowed_at`` is computed when first read (from where the rules that denied the call
    can change, see ``engine/timeline.py``), so bulk callers that only need the verdict do not
    pay for it.
    """

    decision: Literal["allow", "deny"]
    at: dt.datetime
    violations: list[Finding]
    warnings: list[Finding]
    timezones: list[str]
    region: str | None
    country: str | None
    policies: list[PolicyRef]
    call_id: str | int | None = None
    meta: dict[str, Any] | None = None
    trace: list[RuleTrace] = field(default_factory=list)
    # The computation of next_allowed_at, run on (_context, violations) when first read; None once
    # it has run, or when not needed (an allowed call may be made at its own instant).
    _search: Callable[[Any, list[Finding]], dt.datetime | None] | None = None
    _context: Any = None
    _next_value: dt.datetime | None = None
    located_by: str = NUMBER_PREFIX
    # why the callee was not located as the call asked: an unknown postal code, or a postal
    # code and a number that name different places
    location_note: str | None = None
    # the judge's references, of which ``policies`` is a copy: to_json writes theirs, written
    # once per outcome of judging, in place of the policies' (a decision is not edited after
    # it is made); None for a decision made otherwise, whose policies are written each time
    _refs: PolicyRefs | None = None

    @property
    def allowed(self) -> bool:
        return self.decision == "allow"

    @property
    def next_allowed_at(self) -> dt.datetime | None:
        """The earliest instant at or after the call at which it would be allowed, or None."""
        search = self._search
        if search is not None:
            # _context stays: a thread that read _search before this one cleared it still needs it
            self._next_value = search(self._context, self.violations)
            self._search = None
        return self._next_value

    def to_dict(self, *, compact: bool = False) -> dict[str, Any]:
        """The decision as JSON-able data (see ``schemas/decision.schema.json``).

        The full form (the default) lists every policy evaluated and names rule files by the
        path they were loaded from. The ``compact`` form, what ``ringfence decide`` prints unless
        given ``--full``, lists only the policies that applied to the call and names a shipped
        policy's file relative to the library (``us-federal.rf``).
        """
        return self._record(rfc3339(self.at), rfc3339(self.next_allowed_at),
                            [f.to_dict(compact=compact) for f in self.violations],
                            [f.to_dict(compact=compact) for f in self.warnings],
                            [p.to_dict() for p in self.policies if p.applicable or not compact])

    def to_json(self, *, compact: bool = False, extra: dict[str, Any] | None = None) -> bytes:
        """What ``orjson.dumps`` writes for :meth:`to_dict` (with ``extra``'s fields added at
        its end), and a line break; written for a fraction of the cost: each finding and policy
        reference is written once per run (:meth:`Finding.fragment`), and the instants by orjson
        itself when it writes them as :func:`rfc3339` does.

        Raises ``orjson.JSONEncodeError`` when orjson cannot write it (an integer past 64 bits
        in ``meta``, a lone surrogate).
        """
        # This runs once per output line of ``ringfence decide``: no comprehension where a list
        # is most often empty or holds one finding, no property where the slot answers, no
        # call where a fixed zone answers (each costs a tenth of a µs).
        at, found, warned, after = self.at, self.violations, self.warnings, self._next_value
        if self._search is not None:
            after = self.next_allowed_at
        written_at = at if at.tzinfo in _WHOLE_MINUTES else _instant(at)
        # an allowed call's is its instant; a denied call's, later or none
        written_after = written_at if after is at else (None if after is None else _instant(after))
        violations: list[Any]
        if not found:
            violations = found
        elif len(found) == 1:
            violations = [found[0].fragment(compact)]
        else:
            violations = [f.fragment(compact) for f in found]
        warnings = [f.fragment(compact) for f in warned] if warned else warned
        # a compact line names only the few policies that applied, of the dozens evaluated:
        # written once per outcome of judging when the judge gave them (PolicyRefs)
        judged = self._refs
        if judged is not None:
            policies: Any = judged.fragment(compact)
        elif compact:
            policies = [p.fragment() for p in self.policies if p.applicable]
        else:
            policies = [p.fragment() for p in self.policies]
        record = self._record(written_at, written_after, violations, warnings, policies)
        if extra:
            record.update(extra)
        return orjson.dumps(record, option=_LINE)

    def _record(self, at: Any, next_allowed_at: Any, violations: Any, warnings: Any,
                policies: Any) -> dict[str, Any]:
        """The decision's record, with its instants, findings and policies as given, in the
        schema's order (the order its JSON is written in)."""
        # one dict built whole (its keys are constants), its "id" dropped when there is none
        out: dict[str, Any] = {
            "id": self.call_id,
            "decision": self.decision,
            "allowed": self.decision == "allow",
            "at": at,
            "violations": violations,
            "warnings": warnings,
            "next_allowed_at": next_allowed_at,
            "timezones": self.timezones,
            "region": self.region,
            "country": self.country,
            "located_by": self.located_by,
            "location_note": self.location_note,
            "policies": policies,
        }
        if self.call_id is None:
            del out["id"]
        if self.meta is not None:
            out["meta"] = self.meta
        if self.trace:
            out["trace"] = [t.to_dict() for t in self.trace]
        return out


# How a decision's line is written: instants in UTC as "Z", as rfc3339 writes them.
_LINE = orjson.OPT_UTC_Z | orjson.OPT_APPEND_NEWLINE
# The fixed zones (datetime.timezone) seen with an offset of whole minutes: an instant in one is
# written by orjson as it stands (a call's instants come in a few such zones; asking each for
# its offset cost a fifth of a µs).
_WHOLE_MINUTES: set[dt.tzinfo | None] = set()


def _instant(when: dt.datetime | None) -> dt.datetime | str | None:
    """An instant for orjson (``OPT_UTC_Z``) to write as :func:`rfc3339` does: itself, unless
    its UTC offset has seconds (a zone's local mean time before 1900), which orjson rounds to
    the minute and ``isoformat`` keeps."""
    if when is None:
        return None
    zone = when.tzinfo
    if zone in _WHOLE_MINUTES:
        return when
    offset = when.utcoffset()
    if offset is not None and (offset.seconds % 60 or offset.microseconds):
        return rfc3339(when)
    if type(zone) is dt.timezone:  # equal offsets are equal zones: as many as there are offsets
        _WHOLE_MINUTES.add(zone)
    return when

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


@dataclass(frozen=True, slots=True)
class Finding:
    """A violated deny rule or a fired warn rule."""

    policy: str
    rule: str
    title: str
    level: Literal["deny", "warn"]
    message: str
    citations: tuple[str, ...]
    source: Span
    missing_facts: tuple[str, ...] = ()
    # fragment's answers by form (compact or not), written when first asked for: a rule's
    # finding is one object, shared by every call the rule denies, so it is written once per run
    _json: dict[bool, orjson.Fragment] = field(default_factory=dict, init=False, repr=False,
                                               compare=False)

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

    def fragment(self, compact: bool) -> orjson.Fragment:
        """:meth:`to_dict` as compact JSON (orjson's), for orjson to write as it stands inside
        a decision; written once per finding and form.

        Raises ``orjson.JSONEncodeError`` when orjson cannot write it."""
        written = self._json.get(compact)
        if written is None:
            written = self._json[compact] = orjson.Fragment(
                orjson.dumps(self.to_dict(compact=compact)))
        return written


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
class PolicyRef:
    """Audit provenance of one evaluated policy."""

    id: str
    version: str | None
    hash: str
    applicable: bool
    # fragment's answer, written when first asked for (a policy's two refs are shared by every
    # call, see ir.Policy.ref_applicable)
    _json: list[orjson.Fragment] = field(default_factory=list, init=False, repr=False,
                                         compare=False)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "version": self.version, "hash": self.hash,
                "applicable": self.applicable}

    def fragment(self) -> orjson.Fragment:
        """:meth:`to_dict` as compact JSON (orjson's), for orjson to write as it stands inside
        a decision; written once per reference."""
        written = self._json
        if not written:
            written.append(orjson.Fragment(orjson.dumps(self.to_dict())))
        return written[0]


@dataclass(frozen=True, slots=True)
class PolicyRefs:
    """The policy references of one outcome of judging (which policies applied, of those
    evaluated), shared by every call with that outcome: their JSON, in either form of
    :meth:`Decision.to_dict`, is written once per outcome, not once per call."""

    refs: tuple[PolicyRef, ...]
    # fragment's answers by form (compact or not), written when first asked for
    _json: dict[bool, orjson.Fragment] = field(default_factory=dict, init=False, repr=False,
                                               compare=False)

    def fragment(self, compact: bool) -> orjson.Fragment:
        """The references as :meth:`Decision.to_dict` lists them (``compact``: only those that
        applied) in compact JSON (orjson's); written once per outcome and form.

        Raises ``orjson.JSONEncodeError`` when orjson cannot write it."""
        written = self._json.get(compact)
        if written is None:
            written = self._json[compact] = orjson.Fragment(orjson.dumps(
                [p.to_dict() for p in self.refs if p.applicable or not compact]))
        return written


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
        # is most often empty, no property where the slot answers (each costs a tenth of a µs).
        at, found, warned = self.at, self.violations, self.warnings
        written_at = _instant(at)
        after = self._next_value if self._search is None else self.next_allowed_at
        violations = [f.fragment(compact) for f in found] if found else found
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
        record = self._record(written_at, written_at if after is at else _instant(after),
                              violations, warnings, policies)
        if extra:
            record.update(extra)
        return orjson.dumps(record, option=orjson.OPT_UTC_Z | orjson.OPT_APPEND_NEWLINE)

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


def _instant(when: dt.datetime | None) -> dt.datetime | str | None:
    """An instant for orjson (``OPT_UTC_Z``) to write as :func:`rfc3339` does: itself, unless
    its UTC offset has seconds (a zone's local mean time before 1900), which orjson rounds to
    the minute and ``isoformat`` keeps."""
    offset = None if when is None else when.utcoffset()
    if offset is not None and (offset.seconds % 60 or offset.microseconds):
        return rfc3339(when)
    return when

"""What ``decide`` returns: the decision, the rules that decided it, and when the call may be made."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

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

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "version": self.version, "hash": self.hash,
                "applicable": self.applicable}


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
        out: dict[str, Any] = {}
        if self.call_id is not None:
            out["id"] = self.call_id
        out.update({
            "decision": self.decision,
            "allowed": self.allowed,
            "at": rfc3339(self.at),
            "violations": [f.to_dict(compact=compact) for f in self.violations],
            "warnings": [f.to_dict(compact=compact) for f in self.warnings],
            "next_allowed_at": rfc3339(self.next_allowed_at),
            "timezones": self.timezones,
            "region": self.region,
            "country": self.country,
            "located_by": self.located_by,
            "location_note": self.location_note,
            "policies": [p.to_dict() for p in self.policies if p.applicable or not compact],
        })
        if self.meta is not None:
            out["meta"] = self.meta
        if self.trace:
            out["trace"] = [t.to_dict() for t in self.trace]
        return out

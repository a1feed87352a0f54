"""Merge what the ledger knows about a number into a call request.

The rule is *the call may add a fact, never erase one*:

- ``history``: the call's attempts, then every ledger attempt not already given identically by the
  call. The engine counts attempts strictly before the call's instant, so a ledger attempt at or
  after it (another worker's reservation for the same instant, or a call judged with an earlier
  ``at`` than one already made) is passed as made 1 ms before the call: it must count.
- ``consent``: the call's consents and the ledger's (those whose scope fits the call). Then every
  revocation the ledger holds applies to *every* consent given before it, the call's included: a
  call cannot bring back a consent the person withdrew. A revocation of some of a consent's
  purposes splits it into a revoked part and a part still in force.
- ``opt_outs``: the call's and the ledger's.
- ``lists_checked_at``: per list, the later of the call's date and the ledger's latest wash.

The ledger is the record of a number's attempts, consents and opt-outs, so a merged call always
gives ``history``, ``consent`` and ``opt_outs``: where neither the call nor the ledger holds one,
the ledger answers "none" (``[]``), which a call on its own cannot (left out, they are unknown).

A call whose fields have the wrong shape is returned as it is: ``decide`` rejects it with the
call contract's own error, naming the field.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ringfence.errors import InputError
from ringfence.ledger.times import from_micros, to_micros

# How far before the call a ledger attempt at or after the call's instant is placed.
_BEFORE_CALL_US = 1000


@dataclass(frozen=True)
class Revocation:
    """A withdrawal of consent: for some purposes (None: all) from an instant on."""

    purposes: tuple[str, ...] | None
    at: int
    channel: str


@dataclass
class LedgerFacts:
    """What the ledger holds about one number, in the call contract's shapes."""

    history: list[dict[str, Any]] = field(default_factory=list)
    consent: list[dict[str, Any]] = field(default_factory=list)
    revocations: list[Revocation] = field(default_factory=list)
    opt_outs: list[dict[str, Any]] = field(default_factory=list)
    lists_checked_at: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The facts as JSON-able data (what the decision log records as used)."""
        return {
            "history": self.history, "consent": self.consent,
            "revocations": [{"purposes": list(r.purposes) if r.purposes is not None else None,
                             "at": from_micros(r.at), "channel": r.channel}
                            for r in self.revocations],
            "opt_outs": self.opt_outs, "lists_checked_at": self.lists_checked_at,
        }


def _instant(value: Any) -> int | None:
    try:
        return to_micros(value) if isinstance(value, str) else None
    except InputError:
        return None


def _revoke(consent: dict[str, Any], revocations: list[Revocation]) -> list[dict[str, Any]]:
    """The consent with the revocations that follow it applied (one or two records)."""
    given = _instant(consent.get("at"))
    purposes = consent.get("purposes")
    if given is None or not isinstance(purposes, list):
        return [consent]
    parts = [consent]
    for rev in sorted(revocations, key=lambda r: r.at):
        if rev.at < given:
            continue
        still: list[dict[str, Any]] = []
        for part in parts:
            if "revoked_at" in part and (_instant(part["revoked_at"]) or 0) <= rev.at:
                still.append(part)
                continue
            hit = part["purposes"] if rev.purposes is None else [
                p for p in part["purposes"] if p in rev.purposes]
            if not hit:
                still.append(part)
                continue
            still.append({**part, "purposes": hit, "revoked_at": from_micros(rev.at)})
            rest = [p for p in part["purposes"] if p not in hit]
            if rest:
                still.append({**part, "purposes": rest})
        parts = still
    return parts


def merge_call(call: Any, facts: LedgerFacts) -> Any:
    """A copy of ``call`` with the ledger's facts merged in (see the module's rule)."""
    if not isinstance(call, dict):
        return call
    call_at = _instant(call.get("at"))
    if call_at is None:
        return call
    merged = dict(call)
    history = call.get("history", [])
    if isinstance(history, list):
        extra = []
        for item in facts.history:
            at = _instant(item["at"])
            if at is not None and at >= call_at:
                item = {**item, "at": from_micros(call_at - _BEFORE_CALL_US)}
            if item not in history:
                extra.append(item)
        merged["history"] = [*history, *extra]
    consent = call.get("consent", [])
    if isinstance(consent, list) and all(isinstance(c, dict) for c in consent):
        everything = [*consent, *(c for c in facts.consent if c not in consent)]
        if facts.revocations:
            everything = [part for c in everything for part in _revoke(c, facts.revocations)]
        merged["consent"] = everything
    opt_outs = call.get("opt_outs", [])
    if isinstance(opt_outs, list):
        extra = [o for o in facts.opt_outs if o not in opt_outs]
        merged["opt_outs"] = [*opt_outs, *extra]
    checked = call.get("lists_checked_at", {})
    if isinstance(checked, dict) and facts.lists_checked_at:
        out = dict(checked)
        for name, when in facts.lists_checked_at.items():
            given = _instant(out.get(name))
            # a date of the call's own that cannot be read is kept: decide names it as the error
            unreadable = name in out and given is None
            if not unreadable and (given is None or given < to_micros(when)):
                out[name] = when
        merged["lists_checked_at"] = out
    return merged

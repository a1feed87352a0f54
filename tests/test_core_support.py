"""Shared helpers for the core engine tests (no tests here).

Policies under test are written to a temporary folder so every test states the exact rule it
exercises; the fixed fixture policies live in tests/fixtures/core/.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import ringfence

FIXTURES = Path(__file__).parent / "fixtures" / "core"

# A New York City number (area code 212: one zone, America/New_York, region US-NY).
NYC = "+12125550101"
# Florida panhandle (850): spans America/Chicago and America/New_York.
PANHANDLE = "+18505550101"
# Miami (305): America/New_York, region US-FL.
MIAMI = "+13055550101"
# Philadelphia (215): America/New_York, region US-PA.
PHILLY = "+12155550101"

HEADER = 'policy {pid} "Test policy {pid}"\n  version 1\n  applies to {where}\n{extra}\n'


def policy_text(rules: str, *, pid: str = "t", where: str = "US", extra: str = "") -> str:
    """A whole policy: a standard header (plus ``extra`` header lines) and the given rules."""
    return HEADER.format(pid=pid, where=where, extra=extra) + "\n" + rules


def rule(effect: str, *clauses: str, rid: str = "r") -> str:
    """One rule with a citation: ``clauses`` (when/unless/...) then the effect line."""
    lines = [f'rule {rid} "Rule {rid}"', '  cite "Test citation"', *(f"  {c}" for c in clauses),
             f"  {effect}"]
    return "\n".join(lines) + "\n"


def write(tmp_path: Path, text: str, name: str = "t.rf") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def load_text(tmp_path: Path, text: str, name: str = "t.rf", **kwargs: Any) -> ringfence.PolicySet:
    """Write one policy and load it."""
    return ringfence.load(write(tmp_path, text, name), **kwargs)


def load_rule(tmp_path: Path, effect: str, *clauses: str, extra: str = "",
              where: str = "US", **kwargs: Any) -> ringfence.PolicySet:
    """A policy holding a single rule ``r``."""
    return load_text(tmp_path, policy_text(rule(effect, *clauses), extra=extra, where=where),
                     **kwargs)


def call(at: str = "2026-06-15T12:00:00-04:00", to: str = NYC, **fields: Any) -> dict[str, Any]:
    """A call request; default: a Monday noon in New York."""
    return {"to": to, "at": at, **fields}


def violated(decision: ringfence.Decision) -> set[str]:
    """Ids of the violated deny rules."""
    return {f.rule for f in decision.violations}


def warned(decision: ringfence.Decision) -> set[str]:
    return {f.rule for f in decision.warnings}


def iso(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


def same_instant(got: dt.datetime | None, expected: str) -> bool:
    """Whether a decision's datetime is the instant written in ``expected``."""
    return got is not None and got == iso(expected)


def ago(at: str, **delta: float) -> str:
    """RFC 3339 text of ``at`` minus a timedelta, in the same offset."""
    return (iso(at) - dt.timedelta(**delta)).isoformat()


def both_ways(policyset: ringfence.PolicySet, raw: dict[str, Any]) -> tuple[Any, Any]:
    """The violations of ``raw`` by the generated function and by the reference interpreter."""
    evaluator = policyset._evaluator
    ctx = evaluator.context(raw)
    fast = evaluator.judge(ctx)[0]
    reference = evaluator.interpreter.judge(ctx.at(ctx.t_dt))[0]
    return fast, reference

"""Which of the calls already made broke which rule: a call log replayed through the policies.

:func:`audit` judges every call of a log (see :mod:`ringfence.tools.calllog`) in time order, each
with the earlier calls to its number as history and by the law in force on its own date (the
engine honours each rule's ``effective from/until`` by the call's instant). It returns an
:class:`AuditResult`: one :class:`AuditFinding` per violated rule (and fired warning) of each call,
the rows that could not be judged, and the counts the report draws.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import multiprocessing
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from ringfence.api import PolicySet
from ringfence.contract.decision import rfc3339
from ringfence.errors import CallError
from ringfence.tools.calllog import LogError, LogRow, bulk, replay

__all__ = ["DEFAULT_LOOKBACK", "AuditFinding", "AuditResult", "audit", "write_findings"]

# Longer than any look-back of the shipped policies (60 days) with room for a year-long rule.
DEFAULT_LOOKBACK = dt.timedelta(days=366)


@dataclass(frozen=True, slots=True)
class AuditFinding:
    """One rule one call broke (level ``deny``), or one warning it drew (level ``warn``)."""

    line: int
    call_id: str | int | None
    at: dt.datetime
    to: str
    jurisdiction: str  # the callee's region, else country, else "unknown"
    local_hour: int | None  # hour of the day in the callee's zone
    campaign: str | None
    policy: str
    rule: str
    title: str
    level: str
    message: str
    citations: tuple[str, ...]

    @property
    def rule_ref(self) -> str:
        """``policy/rule``."""
        return f"{self.policy}/{self.rule}"

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (one line of the findings file)."""
        return {"line": self.line, "id": self.call_id, "at": rfc3339(self.at), "to": self.to,
                "jurisdiction": self.jurisdiction, "local_hour": self.local_hour,
                "campaign": self.campaign, "policy": self.policy, "rule": self.rule,
                "title": self.title, "level": self.level, "message": self.message,
                "citations": list(self.citations)}  # fmt: skip


@dataclass
class AuditResult:
    """Every finding of an audit, the rows that could not be judged, and what was audited."""

    calls: int = 0
    first: dt.datetime | None = None
    last: dt.datetime | None = None
    findings: list[AuditFinding] = field(default_factory=list)
    errors: list[LogError] = field(default_factory=list)
    policies: list[dict[str, Any]] = field(default_factory=list)  # id, title, version, hash

    @property
    def violations(self) -> list[AuditFinding]:
        """The deny findings (rules broken), without warnings."""
        return [f for f in self.findings if f.level == "deny"]

    @property
    def calls_in_breach(self) -> int:
        """How many calls broke at least one rule."""
        return len({f.line for f in self.violations})

    def count(self, key: str) -> Counter[Any]:
        """Violations counted by an :class:`AuditFinding` attribute (``rule_ref``,
        ``jurisdiction``, ``local_hour``, ``campaign``, ``to``) or by ``week`` (ISO, UTC)."""
        if key == "week":
            return Counter(_week(f.at) for f in self.violations)
        return Counter(getattr(f, key) for f in self.violations)


def _week(at: dt.datetime) -> str:
    year, week, _ = at.astimezone(dt.UTC).isocalendar()
    return f"{year}-W{week:02d}"


def audit(policies: PolicySet, rows: Iterable[LogRow], *, errors: Iterable[LogError] = (),
          lookback: dt.timedelta = DEFAULT_LOOKBACK, jobs: int = 1) -> AuditResult:  # fmt: skip
    """Judge every call of a log in time order, each with the earlier calls to its number
    (within ``lookback``) as its history.

    ``errors`` are rows the reader already rejected; calls the engine rejects join them. With
    ``jobs`` > 1 the numbers are shared among that many forked processes (where the platform
    can fork): calls to different numbers never interact, so the findings are the same.
    """
    rows = list(rows)
    result = AuditResult(errors=list(errors))
    result.policies = [{"id": p.id, "title": p.title, "version": p.version, "hash": p.hash}
                       for p in policies.policies]  # fmt: skip
    with bulk():
        parts = _by_number(rows, jobs)
        if len(parts) > 1:
            global _WORK  # read by the forked workers; never pickled
            _WORK = (policies, parts, lookback)
            try:
                with multiprocessing.get_context("fork").Pool(len(parts)) as pool:
                    outcomes = pool.map(_judge_part, range(len(parts)))
            finally:
                _WORK = None
        else:
            outcomes = [_judge(policies, rows, lookback)]
    for calls, first, last, findings, rejected in outcomes:
        result.calls += calls
        result.findings.extend(findings)
        result.errors.extend(rejected)
        if first is not None and last is not None:
            result.first = min(first, result.first or first)
            result.last = max(last, result.last or last)
    result.findings.sort(key=lambda f: (f.at, f.line))
    result.errors.sort(key=lambda e: e.line)
    return result


_WORK: tuple[PolicySet, list[list[LogRow]], dt.timedelta] | None = None
# Below this many calls a pool costs more than it saves.
_MIN_PARALLEL = 5_000


def _by_number(rows: list[LogRow], jobs: int) -> list[list[LogRow]]:
    if jobs <= 1 or len(rows) < _MIN_PARALLEL or "fork" not in multiprocessing.get_all_start_methods():
        return [rows]
    parts: list[list[LogRow]] = [[] for _ in range(jobs)]
    for row in rows:
        parts[hash(row.call["to"]) % jobs].append(row)  # forked children share the hash seed
    return parts


def _judge_part(index: int) -> _Outcome:
    assert _WORK is not None
    policies, parts, lookback = _WORK
    with bulk():
        return _judge(policies, parts[index], lookback)


_Outcome = tuple[int, dt.datetime | None, dt.datetime | None, list[AuditFinding], list[LogError]]


def _judge(policies: PolicySet, rows: list[LogRow], lookback: dt.timedelta) -> _Outcome:
    """(calls judged, first and last instant, findings, calls the engine rejected)."""
    findings: list[AuditFinding] = []
    rejected: list[LogError] = []
    calls = 0
    first = last = None
    judge = policies.judge  # the generated function alone: no Decision, no next_allowed_at
    for row, call in replay(rows, lookback):
        try:
            judged = judge(call)
        except CallError as err:
            rejected.append(LogError(row.line, err.path or "(call)", err.message))
            continue
        calls += 1
        first = first or row.at
        last = row.at
        if not judged.violations and not judged.warnings:
            continue
        hour = row.at.astimezone(judged.zones[0]).hour if judged.zones else None
        where = judged.region or judged.country or "unknown"
        for finding in (*judged.violations, *judged.warnings):
            findings.append(AuditFinding(
                row.line, call.get("id"), row.at, call["to"], where, hour, call.get("campaign"),
                finding.policy, finding.rule, finding.title, finding.level, finding.message,
                finding.citations))  # fmt: skip
    return calls, first, last, findings, rejected


_CSV_COLUMNS = ("line", "id", "at", "to", "jurisdiction", "local_hour", "campaign", "policy",
                "rule", "title", "level", "message", "citations")  # fmt: skip


def write_findings(result: AuditResult, out: TextIO, fmt: str) -> None:
    """Every finding, then every row that could not be judged, as JSON Lines or CSV."""
    if fmt == "csv":
        writer = csv.writer(out)
        writer.writerow((*_CSV_COLUMNS, "error", "path"))
        for finding in result.findings:
            data = finding.to_dict()
            data["citations"] = "; ".join(finding.citations)
            writer.writerow([*(data[c] for c in _CSV_COLUMNS), "", ""])
        for error in result.errors:
            writer.writerow([error.line, *[""] * (len(_CSV_COLUMNS) - 1), error.message, error.field])
        return
    for finding in result.findings:
        out.write(json.dumps(finding.to_dict(), ensure_ascii=False) + "\n")
    for error in result.errors:
        out.write(json.dumps(error.to_dict(), ensure_ascii=False) + "\n")


def findings_format(path: Path) -> str:
    """``csv`` for a ``.csv`` file, JSON Lines otherwise."""
    return "csv" if path.suffix.lower() == ".csv" else "jsonl"

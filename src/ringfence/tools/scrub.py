"""Scrubbing a campaign list: every row judged for a planned calling time or day.

:func:`judge_row` is the reference: one row's call (as the call-log readers make it) with the
planned instant put in, decided by :meth:`PolicySet.decide`. :func:`scrub` gives every row of a
:class:`~ringfence.tools.calltable.CallTable` the same answer, faster: rows are grouped by the
facts their decision depends on (:mod:`ringfence.engine.batch`), one row of each group is judged
as :func:`judge_row` judges it (for a local plan, told the zone its number already places the
callee in: one decision per group, not two), and each row gets its group's answer as a code in
a dictionary of the few distinct answers.

The planned time is one of (:class:`Plan`):

* the file's own ``at`` column (an instant per row);
* one instant for every row (``--at 2026-12-01T10:00:00-05:00``: an offset is required);
* a wall-clock time on a date in each callee's own zone (``--at-local 10:00 --date
  2026-12-01``): the first zone ``decide`` judges the call in (the zone ``to_timezone`` names,
  else the postal code's, else the number's). A time the clocks skip that day is read as
  zoneinfo does (fold 0: the offset before the change);
* a whole day in the callee's zone (``--day 2026-12-01``): allowed when some instant of that day
  is, with the first such instant as ``next_allowed_at``; a row denied all day names the rules
  that deny it at the start of the day and the first allowed instant after it.
"""

from __future__ import annotations

import datetime as dt
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any, Literal
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa

from ringfence.api import PolicySet
from ringfence.contract.decision import rfc3339
from ringfence.engine.batch import group_calls
from ringfence.errors import CallError
from ringfence.facts.locate import NumberFacts
from ringfence.tools.calllog import LogError
from ringfence.tools.calltable import CallTable

__all__ = ["Plan", "ScrubResult", "Verdict", "judge_row", "scrub"]

_NOON = dt.time(12)


@dataclass(frozen=True)
class Plan:
    """When the rows are judged: ``kind`` ``row`` (their own ``at``), ``instant`` (``at`` for
    all), ``local`` (``time`` on ``day`` on each callee's clock) or ``day`` (any time of ``day``)."""

    kind: Literal["row", "instant", "local", "day"] = "row"
    at: dt.datetime | None = None
    day: dt.date | None = None
    time: dt.time | None = None

    def start(self, zone: ZoneInfo) -> dt.datetime:
        """The planned instant on ``zone``'s clock (``local`` and ``day`` plans)."""
        assert self.day is not None
        return dt.datetime.combine(self.day, self.time or dt.time(), zone)


@dataclass(frozen=True, slots=True)
class Verdict:
    """One row's answer: ``allow``, ``deny`` or ``error`` (then ``error`` and ``field`` say why)."""

    decision: Literal["allow", "deny", "error"]
    at: str | None = None
    violations: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    next_allowed_at: str | None = None
    jurisdiction: str | None = None
    error: str | None = None
    field: str | None = None


def _zone(policies: PolicySet, call: dict[str, Any], day: dt.date,
          located: NumberFacts | None) -> ZoneInfo:
    """The callee's zone a local plan is read in: the first of the zones ``decide`` judges the
    call in (``to_timezone``, else the postal code's, else the number's).

    The reference finds them as ``decide`` does, for the call at noon UTC that day, so a
    malformed call is reported as ``decide`` reports it. The batch path knows what the number
    tells (``located``): when the call names no zone and no postal code, the number's first
    zone is that zone, and a malformed call is reported by the decision itself."""
    if (located is not None and located.zones and call.get("to_timezone") is None
            and call.get("to_postal_code") is None):
        return policies.facts.zone(located.zones[0])
    zones = policies.zones({**call, "at": rfc3339(dt.datetime.combine(day, _NOON, dt.UTC))})
    if not zones:
        raise CallError("to_timezone", f"no time zone is known for {call['to']}; give "
                        "to_timezone to plan a local time")
    return zones[0]


def judge_row(policies: PolicySet, call: dict[str, Any] | LogError, plan: Plan) -> Verdict:
    """The verdict on one row (the reference path)."""
    return _verdict(policies, call, plan, None)


def _verdict(policies: PolicySet, call: dict[str, Any] | LogError, plan: Plan,
             located: NumberFacts | None) -> Verdict:
    """:func:`judge_row`, told what the number tells when the batch path knows it."""
    if isinstance(call, LogError):
        return Verdict("error", error=call.message, field=call.field)
    try:
        return _judge(policies, call, plan, located)
    except CallError as err:
        return Verdict("error", error=err.message, field=err.path or "(call)")
    except Exception as err:  # a defect must cost this row, never the rest of the list
        return Verdict("error", error=f"internal error while deciding this row: "
                       f"{type(err).__name__}: {err}", field="(call)")


def _judge(policies: PolicySet, call: dict[str, Any], plan: Plan,
           located: NumberFacts | None) -> Verdict:
    end = None
    if plan.kind == "instant":
        assert plan.at is not None
        call = {**call, "at": rfc3339(plan.at)}
    elif plan.kind in ("local", "day"):
        assert plan.day is not None
        zone = _zone(policies, call, plan.day, located)
        call = {**call, "at": rfc3339(plan.start(zone))}
        if plan.kind == "day":
            end = dt.datetime.combine(plan.day + dt.timedelta(days=1), dt.time(), zone)
    decision = policies.decide(call)
    nxt = decision.next_allowed_at
    at = rfc3339(decision.at)
    where = decision.region or decision.country
    warnings = tuple(f"{f.policy}/{f.rule}" for f in decision.warnings)
    if end is not None and nxt is not None and nxt < end and not decision.allowed:
        return Verdict("allow", at, (), warnings, rfc3339(nxt), where)
    return Verdict(decision.decision, at, tuple(f"{f.policy}/{f.rule}" for f in decision.violations),
                   warnings, rfc3339(nxt), where)


@dataclass
class ScrubResult:
    """The answer of every row, as columns (the text of the answers as dictionaries: a few
    thousand distinct values over a million rows), and its counts."""

    table: pa.Table
    rows: int = 0
    decisions: Counter[str] = field(default_factory=Counter)
    by_rule: Counter[str] = field(default_factory=Counter)
    by_jurisdiction: dict[str, Counter[str]] = field(default_factory=dict)
    groups: int = 0
    # (wall, CPU) seconds of each stage: "grouping" (keying the rows: number facts, list
    # lookups), "deciding" (one row of each group, next_allowed_at included), "answers" (the
    # answer columns and the counts)
    stages: dict[str, tuple[float, float]] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        """The counts as JSON-able data (``--summary-json``)."""
        return {"rows": self.rows, "allowed": self.decisions["allow"],
                "denied": self.decisions["deny"], "errors": self.decisions["error"],
                "groups": self.groups,
                "denied_by_rule": dict(self.by_rule.most_common()),
                "by_jurisdiction": {k: dict(v) for k, v in sorted(self.by_jurisdiction.items())}}


def scrub(policies: PolicySet, calls: CallTable, plan: Plan, *, batch: bool = True) -> ScrubResult:
    """Judge every row; with ``batch=False`` every row goes through :func:`judge_row` (the
    reference the batch path is tested against)."""
    rows = len(calls)
    clock = [(time.perf_counter(), time.process_time())]
    if batch:
        columns = {name: _whole(calls.table.column(name)) for name in calls.table.column_names}
        groups = group_calls(policies, columns, rows, calls.by_row)
        alone = groups.alone
        representatives = np.concatenate([groups.first, alone])
        index = groups.group.copy()
        index[alone] = len(groups.first) + np.arange(len(alone))
        located = [*groups.located, *[None] * len(alone)]
    else:
        representatives = index = np.arange(rows)
        located = [None] * rows
    clock.append((time.perf_counter(), time.process_time()))
    verdicts = [_verdict(policies, call, plan, where) for call, where
                in zip(calls.records_at(representatives), located, strict=True)]
    clock.append((time.perf_counter(), time.process_time()))
    lines, order = calls.lines, None  # the table's rows are in the file's order
    if calls.errors:  # rows the reader could not read: error rows of their own, in their place
        verdicts.extend(Verdict("error", error=e.message, field=e.field) for e in calls.errors)
        index = np.concatenate([index, len(representatives) + np.arange(len(calls.errors))])
        lines = np.concatenate([lines, [e.line for e in calls.errors]])
        order = np.argsort(lines, kind="stable")
        index, lines = index[order], lines[order]
    result = _result(calls, verdicts, index, lines, order, len(representatives))
    clock.append((time.perf_counter(), time.process_time()))
    result.stages = {stage: (end[0] - start[0], end[1] - start[1]) for stage, (start, end)
                     in zip(("grouping", "deciding", "answers"), pairwise(clock), strict=True)}
    return result


def _whole(column: pa.ChunkedArray) -> pa.Array:
    """The column as one array: its only chunk as it is (joining copies even one chunk)."""
    return column.chunk(0) if column.num_chunks == 1 else column.combine_chunks()


def _spread(values: list[str | None], index: pa.Array) -> pa.DictionaryArray:
    """Row ``i`` takes ``values[index[i]]``: each row's code in a dictionary of the distinct
    values, in order (a million rows' text is never copied, nor hashed again when written; in
    order, equal answers are equal arrays whatever order the rows were judged in)."""
    names = sorted({value for value in values if value is not None})
    code: dict[str | None, int] = {None: -1, **{name: at for at, name in enumerate(names)}}
    codes = np.array([code[value] for value in values], dtype=np.int32)
    return pa.DictionaryArray.from_arrays(pa.array(codes, mask=codes < 0),
                                          pa.array(names, pa.string())).take(index)


def _spread_lists(values: list[tuple[str, ...]], index: pa.Array) -> pa.ListArray:
    """Row ``i`` takes the list ``values[index[i]]``, its items coded as by :func:`_spread`."""
    names = sorted({item for value in values for item in value})
    code = {name: at for at, name in enumerate(names)}
    taken = pa.array([[code[item] for item in value] for value in values],
                     pa.list_(pa.int32())).take(index)
    return pa.ListArray.from_arrays(taken.offsets, pa.DictionaryArray.from_arrays(
        taken.values, pa.array(names, pa.string())))


def _result(calls: CallTable, verdicts: Sequence[Verdict], index: np.ndarray, lines: np.ndarray,
            order: np.ndarray | None, judged: int) -> ScrubResult:
    """The answer columns (``order``: where each answer's row is among the table's rows and the
    error rows after them; None when every row was read, in order)."""
    columns: dict[str, pa.Array | pa.ChunkedArray] = {"row": pa.array(lines, pa.int64())}
    table = calls.table
    readable = len(calls)
    for name in ("id", "to"):
        if name not in table.column_names:
            continue
        if order is None:  # every row read, in the file's order: the columns as they are
            columns[name] = table.column(name)
            continue
        # rows the reader could not read have no values: nulls after the table's rows
        source = pa.concat_arrays([table.column(name).combine_chunks(),
                                   pa.nulls(len(order) - readable, table.column(name).type)])
        columns[name] = source.take(pa.array(order))
    rows = pa.array(index)
    for key in ("decision", "at", "violations", "warnings", "next_allowed_at", "jurisdiction",
                "error", "field"):
        values = [getattr(v, key) for v in verdicts]
        spread = _spread_lists if key in ("violations", "warnings") else _spread
        columns["error_field" if key == "field" else key] = spread(values, rows)
    weights = np.bincount(index, minlength=len(verdicts))
    result = ScrubResult(pa.table(columns), rows=len(index), groups=judged)
    for verdict, weight in zip(verdicts, weights.tolist(), strict=True):
        if not weight:
            continue
        result.decisions[verdict.decision] += weight
        place = result.by_jurisdiction.setdefault(verdict.jurisdiction or "unknown", Counter())
        place[verdict.decision] += weight
        for rule in verdict.violations:
            result.by_rule[rule] += weight
    return result

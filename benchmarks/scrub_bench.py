"""``ringfence scrub`` on a generated 1,000,000-row Parquet campaign list.

Generates a realistic list (distinct numbers across every NANP area code of the shipped table and
a few other countries; campaigns that fix purpose, technology, caller id and list wash; line
types; a ``lists_checked_at`` struct; empty ``history``, ``consent`` and ``opt_outs`` lists; a
few malformed and invalid numbers) and a do-not-call list holding about 10% of its numbers,
then times what ``ringfence scrub`` does after loading the policies:
read the Parquet file, judge every row at 10:00 on each callee's clock, write the answers as
Parquet. Prints rows/s (median of the runs, wall and CPU) and the time of each stage, then checks
that every row sampled (every row with ``--check-all``) has the answer the scalar path
(``judge_row``: ``decide`` on that row's call) gives it: decision, instant, rules broken and
warned, jurisdiction, error and ``next_allowed_at``.

    python benchmarks/scrub_bench.py [--rows N] [--runs R] [--sample S] [--check-all] [--keep DIR]

Target: at least 1,000,000 rows/s, with agreement on every row.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import gc
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

import ringfence
from ringfence.errors import CallError
from ringfence.facts.callee import StandardFacts
from ringfence.resources import data_path
from ringfence.tools.calltable import read_table
from ringfence.tools.scrub import Plan, judge_row, scrub
from ringfence.tools.scrub_cli import write_result

# Other countries' number prefixes (mobile and fixed), with how many digits follow each.
_ABROAD = (("+447", 9), ("+4420", 8), ("+3361", 7), ("+4915", 9), ("+614", 8), ("+3491", 7),
           ("+3934", 8), ("+3161", 7), ("+659", 7))
# (campaign, purpose, technology, caller id, national DNC last washed, share of the rows)
_CAMPAIGNS = (
    ("winter-offers", "marketing", "manual", "+12025550143", "2026-11-20", 0.4),
    ("renewals", "marketing", "autodialer", "+13125550188", "2026-11-20", 0.2),
    ("service-notices", "informational", "prerecorded", "+14155550123", "2026-10-01", 0.15),
    ("collections", "debt_collection", "manual", "withheld", "2026-11-20", 0.1),
    ("survey", "research", "manual", "+12025550143", "2026-11-20", 0.1),
    ("giving-tuesday", "charity", "autodialer", "+13125550188", "2026-11-20", 0.05),
)
_PLAN = Plan("local", day=dt.date(2026, 12, 1), time=dt.time(10))


def _area_codes() -> list[str]:
    with data_path("nanp_regions.csv").open(encoding="utf-8") as fh:
        rows = csv.reader(line for line in fh if not line.startswith("#"))
        next(rows)
        return [code for code, _region, _name in rows]


def numbers(count: int, rng: random.Random) -> list[str]:
    """``count`` distinct valid numbers: 90% NANP over every area code, 10% abroad."""
    facts = StandardFacts()
    areas = _area_codes()
    found: set[str] = set()
    while len(found) < count:
        if rng.random() < 0.9:
            number = f"+1{rng.choice(areas)}{rng.randint(200, 999)}{rng.randint(0, 9999):04d}"
        else:
            prefix, digits = rng.choice(_ABROAD)
            number = prefix + "".join(rng.choices("0123456789", k=digits))
        try:
            facts.number(number)
        except CallError:
            continue
        found.add(number)
    return sorted(found, key=lambda _: rng.random())


def _empty(rows: int, fields: list[tuple[str, pa.DataType]]) -> pa.Array:
    """A column of ``rows`` empty lists of records with ``fields``."""
    kind = pa.struct(fields)
    return pa.ListArray.from_arrays(pa.array(np.zeros(rows + 1, dtype=np.int32)),
                                    pa.array([], kind), type=pa.list_(kind))


def generate(rows: int, folder: Path, seed: int = 13) -> tuple[Path, Path]:
    """The campaign list (Parquet) and its do-not-call list (text), in ``folder``."""
    rng = random.Random(seed)
    distinct = numbers(max(1, rows * 4 // 5), rng)  # some numbers come twice (two campaigns)
    picks = np.random.default_rng(seed)
    to = [distinct[i] for i in picks.integers(0, len(distinct), rows)]
    for index in picks.choice(rows, size=min(rows, 50), replace=False):
        to[index] = rng.choice(("+1212555", "+12120000000", "12125550101", "+1 212 555 0101"))

    def pick(values: tuple[str, ...], weights: tuple[float, ...] | None = None,
             chosen: np.ndarray | None = None) -> pa.Array:
        if chosen is None:
            chosen = picks.choice(len(values), size=rows, p=weights)
        return pa.DictionaryArray.from_arrays(pa.array(chosen, pa.int32()),
                                              pa.array(values)).cast(pa.string())

    # A campaign fixes its purpose, dialing technology, caller id and last list wash; the line
    # type is known per number (or not).
    campaigns = picks.choice(len(_CAMPAIGNS), size=rows, p=[c[-1] for c in _CAMPAIGNS])
    fields = list(zip(*(c[:-1] for c in _CAMPAIGNS), strict=True))
    checked = pa.StructArray.from_arrays(
        [pick(fields[4], chosen=campaigns), pick(("2026-11-25",))], ["national_dnc", "tps"])
    table = pa.table({
        "id": pa.array([f"c{i:07d}" for i in range(rows)]),
        "to": pa.array(to),
        "campaign": pick(fields[0], chosen=campaigns),
        "purpose": pick(fields[1], chosen=campaigns),
        "technology": pick(fields[2], chosen=campaigns),
        "from": pick(fields[3], chosen=campaigns),
        "line_type": pick(("mobile", "landline", "voip", "unknown"), (0.55, 0.3, 0.1, 0.05)),
        "lists_checked_at": checked,
        # no earlier attempts, consent or opt-outs on record: stated (left out, each would be a
        # missing fact, which denies)
        "history": _empty(rows, [("at", pa.string()), ("outcome", pa.string())]),
        "consent": _empty(rows, [("type", pa.string()), ("purposes", pa.list_(pa.string())),
                                 ("at", pa.string())]),
        "opt_outs": _empty(rows, [("at", pa.string())]),
    })
    campaign = folder / "campaign.parquet"
    pq.write_table(table, campaign)
    dnc = folder / "dnc.txt"
    listed = rng.sample(distinct, k=len(distinct) // 10)
    dnc.write_text("".join(f"{n}\n" for n in listed), encoding="utf-8")
    return campaign, dnc


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--sample", type=int, default=2_000, help="rows checked against decide")
    parser.add_argument("--check-all", action="store_true", help="check every row against decide")
    parser.add_argument("--keep", type=Path, help="write the list, DNC list and answers here")
    args = parser.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="ringfence-scrub-"))
    folder.mkdir(parents=True, exist_ok=True)

    started = time.perf_counter()
    campaign, dnc = generate(args.rows, folder)
    print(f"generated {args.rows:,} rows -> {campaign} ({campaign.stat().st_size / 1e6:.1f} MB), "
          f"DNC list {dnc} in {time.perf_counter() - started:.1f} s")
    started = time.perf_counter()
    policies = ringfence.load_library(lists={"national_dnc": dnc})
    print(f"loaded the library and the DNC list in {time.perf_counter() - started:.1f} s")

    out = folder / "answers.parquet"
    times = []
    cpu = []
    stages: dict[str, list[tuple[float, float]]] = {}
    result = None
    for _ in range(args.runs):
        # each run as the command runs: a fresh fact source, nothing cached from the last run,
        # what is loaded frozen out of the collector's way, the answers written as it writes them
        policies = ringfence.load_library(lists={"national_dnc": dnc})
        gc.freeze()
        clock = [(time.perf_counter(), time.process_time())]
        calls = read_table(campaign)
        clock.append((time.perf_counter(), time.process_time()))
        result = scrub(policies, calls, _PLAN)
        clock.append((time.perf_counter(), time.process_time()))
        write_result(result.table, str(out), "parquet")
        clock.append((time.perf_counter(), time.process_time()))
        times.append(clock[-1][0] - clock[0][0])
        cpu.append(clock[-1][1] - clock[0][1])
        spans = {"reading": (clock[1][0] - clock[0][0], clock[1][1] - clock[0][1]),
                 **result.stages,
                 "writing": (clock[3][0] - clock[2][0], clock[3][1] - clock[2][1])}
        for stage, span in spans.items():
            stages.setdefault(stage, []).append(span)
    assert result is not None
    median = statistics.median(times)
    summary = result.summary()
    print(f"scrub: {args.rows:,} rows in {median:.3f} s wall (median of {args.runs}: "
          f"{', '.join(f'{t:.3f}' for t in times)}) = {args.rows / median:,.0f} rows/s; "
          f"CPU {statistics.median(cpu):.3f} s ({', '.join(f'{t:.3f}' for t in cpu)}; every "
          f"thread) = {args.rows / statistics.median(cpu):,.0f} rows per CPU second")
    print(f"  {summary['groups']:,} distinct calls decided; {summary['allowed']:,} allowed, "
          f"{summary['denied']:,} denied, {summary['errors']:,} errors")
    print("  stages, wall / CPU s (medians): " + ", ".join(
        f"{stage} {statistics.median(w for w, _ in spans):.3f} / "
        f"{statistics.median(c for _, c in spans):.3f}" for stage, spans in stages.items()))
    deciding = statistics.median(c for _, c in stages["deciding"])
    print(f"  deciding: {deciding / max(1, summary['groups']) * 1e3:.3f} ms CPU per distinct "
          "call, next_allowed_at included")
    print(f"load average: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")

    reference = ringfence.load_library(lists={"national_dnc": dnc})
    sample = set(random.Random(1).sample(range(args.rows), min(args.sample, args.rows)))
    answers = result.table.select(["decision", "at", "violations", "warnings", "next_allowed_at",
                                   "jurisdiction", "error", "error_field"])
    started = time.perf_counter()
    wrong = checked = 0
    for row, (call, got) in enumerate(zip(calls.records(), _rows(answers), strict=True)):
        if not (args.check_all or row in sample):
            continue
        expected = judge_row(reference, call, _PLAN)
        theirs = (expected.decision, expected.at, expected.violations, expected.warnings,
                  expected.next_allowed_at, expected.jurisdiction, expected.error, expected.field)
        mine = (got[0], got[1], tuple(got[2]), tuple(got[3]), *got[4:])
        checked += 1
        if mine != theirs:
            wrong += 1
            if wrong <= 5:
                print(f"row {row + 1}: scrub {mine} but decide {theirs}", file=sys.stderr)
    print(f"checked {checked:,} rows against decide row by row, next_allowed_at included, in "
          f"{time.perf_counter() - started:.1f} s: {wrong:,} disagree")
    return 1 if wrong else 0


def _rows(table: pa.Table) -> Iterator[tuple[Any, ...]]:
    """The table's rows as tuples, a batch at a time."""
    for batch in table.to_batches():
        yield from zip(*(column.to_pylist() for column in batch.columns), strict=True)


if __name__ == "__main__":
    sys.exit(main())

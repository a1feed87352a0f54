"""``ringfence audit`` on a generated log of 1,000,000 calls with known planted violations.

Generates the log (:mod:`ringfence.testing.planted`), writes it as JSON Lines, then times what
``ringfence audit`` does: read the file, replay every call in time order through the shipped
library, write the findings and the HTML report. Checks that the findings are exactly the
planted violations (every one found, no other), and prints the counts and the time.

    python benchmarks/audit_bench.py [--calls N] [--jobs J] [--keep DIR]

Target: 1,000,000 calls audited in under a minute (all cores of the machine).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import ringfence
from ringfence.testing.planted import planted_log
from ringfence.tools.audit import audit, write_findings
from ringfence.tools.audit_report import render_report
from ringfence.tools.calllog import read_log


def _cpu_seconds() -> float:
    """CPU time of this process and its finished children: the work itself, however busy the
    machine is with other things."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1_000_000)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--keep", type=Path, help="write the log, findings and report here")
    args = parser.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="ringfence-audit-"))
    folder.mkdir(parents=True, exist_ok=True)

    started = time.perf_counter()
    log = planted_log(args.calls)
    path = folder / "calls.jsonl"
    with path.open("w", encoding="utf-8") as out:
        out.writelines(json.dumps(call) + "\n" for call in log.calls)
    print(f"generated {len(log.calls):,} calls with {log.planted:,} planted violations "
          f"in {time.perf_counter() - started:.1f} s -> {path}")

    policies = ringfence.load_library()
    cpu_before = _cpu_seconds()
    started = time.perf_counter()
    rows, errors = read_log(path)
    read = time.perf_counter() - started
    result = audit(policies, rows, errors=errors, jobs=args.jobs)
    judged = time.perf_counter() - started
    with (folder / "findings.jsonl").open("w", encoding="utf-8") as out:
        write_findings(result, out, "jsonl")
    (folder / "report.html").write_text(render_report(result, str(path)), encoding="utf-8")
    total = time.perf_counter() - started
    cpu = _cpu_seconds() - cpu_before

    found = {(f.call_id, f.rule_ref) for f in result.violations}
    planted = {(call_id, rule) for call_id, rules in log.expected.items() for rule in rules}
    missed, extra = planted - found, found - planted
    print(f"audit of {result.calls:,} calls with {args.jobs} job(s): read {read:.1f} s, "
          f"judged by {judged:.1f} s, findings and report written by {total:.1f} s "
          f"({result.calls / total:,.0f} calls/s); {cpu:.1f} CPU seconds (all processes); "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"planted {len(planted):,}, found {len(found):,}: {len(planted & found):,} planted found, "
          f"{len(missed):,} missed, {len(extra):,} not planted; {len(result.errors)} rows rejected; "
          f"{len(result.findings) - len(result.violations)} warnings")
    print(f"report: {folder / 'report.html'}")
    ok = not missed and not extra and not result.errors
    print("target (< 60 s):", "met" if total < 60 else "MISSED", "; findings:", "exact" if ok else "WRONG")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

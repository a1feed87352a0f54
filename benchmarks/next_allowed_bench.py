"""``next_allowed_at`` computed (engine/timeline.py) against deciding, per denied call.

Loads the whole shipped library, judges the bundled example calls and every shipped suite case
(at their own instants) and, for each denied call, times in one process, interleaved:

- *decide*: ``PolicySet.decide`` (read the call, gather its facts, judge, build the Decision);
- *computed*: the computed ``next_allowed_at`` of that decision;
- *search*: the reference search over candidate instants (what ``decide`` ran before).

It prints the medians of three runs, per denied call, the ratio computed/decide (target: at most
1), how often the computation fell back to the search, and checks on every denied call that the
computed answer equals the search's.

    python benchmarks/next_allowed_bench.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path
from typing import Any

import ringfence
from ringfence.engine.runtime import Ctx
from ringfence.errors import CallError
from ringfence.testing.cli import load_suites

ROOT = Path(__file__).resolve().parent.parent


def calls_of(name: str) -> list[dict[str, Any]]:
    """The example calls, or every shipped suite case's call."""
    if name == "examples":
        lines = (ROOT / "examples" / "calls.jsonl").read_text(encoding="utf-8").splitlines()
        return [json.loads(line) for line in lines if line.strip()]
    suites = load_suites(sorted((ROOT / "policies").glob("*.test.yaml")))
    return [case.call for suite in suites for case in suite.cases]


def measure(policyset: ringfence.PolicySet, calls: list[dict[str, Any]]
            ) -> tuple[float, float, float, int, int]:
    """(decide, computed, search) seconds over the denied calls, their number, disagreements."""
    evaluator = policyset._evaluator
    schedule = evaluator.schedule
    denied: list[tuple[dict[str, Any], Ctx, list[Any]]] = []
    for call in calls:
        try:
            decision = policyset.decide(call)
        except CallError:
            continue
        if decision.decision == "deny":
            denied.append((call, evaluator.context(call), decision.violations))
    decide = computed = search = 0.0
    disagree = 0
    for call, ctx, violations in denied:
        t0 = time.perf_counter()
        policyset.decide(call)
        t1 = time.perf_counter()
        fast = schedule.next_allowed(ctx, violations)
        t2 = time.perf_counter()
        slow = schedule.reference(ctx, violations)
        t3 = time.perf_counter()
        decide, computed, search = decide + t1 - t0, computed + t2 - t1, search + t3 - t2
        disagree += fast != slow
    return decide, computed, search, len(denied), disagree


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    policyset = ringfence.load_library()
    schedule = policyset._evaluator.schedule
    for name in ("examples", "suites"):
        calls = calls_of(name)
        runs = []
        schedule.computed = schedule.searched = 0
        for _ in range(args.repeat):
            runs.append(measure(policyset, calls))
        denied, disagree = runs[0][3], max(r[4] for r in runs)
        decide, computed, search = (statistics.median(r[i] for r in runs) / max(denied, 1)
                                    for i in range(3))
        print(f"{name}: {len(calls)} calls, {denied} denied")
        print(f"  decide                 {decide * 1e6:9.1f} us per denied call")
        print(f"  next_allowed computed  {computed * 1e6:9.1f} us   "
              f"({computed / decide:.2f}x decide; target <= 1)")
        print(f"  next_allowed searched  {search * 1e6:9.1f} us   "
              f"({search / computed:.0f}x the computed)")
        print(f"  fell back to the search: {schedule.searched} of "
              f"{schedule.computed + schedule.searched} computations")
        print(f"  computed != searched: {disagree} calls")


if __name__ == "__main__":
    main()

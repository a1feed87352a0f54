"""``next_allowed_at`` computed (engine/timeline.py) against deciding, per denied call.

Loads the whole shipped library, judges the bundled example calls and every shipped suite case
(at their own instants) and, for each denied call, times in one process, interleaved:

- *decide*: ``PolicySet.decide`` (read the call, gather its facts, judge, build the Decision);
- *computed*: the computed ``next_allowed_at`` of that decision;
- *search*: the reference search over candidate instants (what ``decide`` ran before).

It prints the medians of three runs of the mean per denied call, and the median per call, with
the ratio computed/decide (target: at most 1), how often the computation fell back to the
search, and checks on every denied call that the computed answer equals the search's. Times are
CPU time of this process (``time.process_time``): on a machine shared with other work, time
spent waiting for a core is not the code's. As ``timeit`` does, the garbage collector is paused
while timing: on a loaded machine its pauses land on whichever call happens to allocate.

    python benchmarks/next_allowed_bench.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import gc
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
            ) -> tuple[list[float], list[float], list[float], int]:
    """Per denied call: decide, computed and search seconds; and how many calls the computed
    answer differed from the search's on."""
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
    decide: list[float] = []
    computed: list[float] = []
    search: list[float] = []
    disagree = 0
    gc.disable()
    try:
        for call, ctx, violations in denied:
            t0 = time.process_time()
            policyset.decide(call)
            t1 = time.process_time()
            fast = schedule.next_allowed(ctx, violations)
            t2 = time.process_time()
            slow = schedule.reference(ctx, violations)
            t3 = time.process_time()
            decide.append(t1 - t0)
            computed.append(t2 - t1)
            search.append(t3 - t2)
            disagree += fast != slow
    finally:
        gc.enable()
    return decide, computed, search, disagree


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
        denied, disagree = len(runs[0][0]), max(r[3] for r in runs)
        mean = [statistics.median(statistics.fmean(r[i]) for r in runs) for i in range(3)]
        median = [statistics.median(statistics.median(r[i]) for r in runs) for i in range(3)]
        print(f"{name}: {len(calls)} calls, {denied} denied; per denied call, mean (median):")
        for label, i in (("decide", 0), ("next_allowed computed", 1),
                         ("next_allowed searched", 2)):
            print(f"  {label:22} {mean[i] * 1e6:9.1f} us ({median[i] * 1e6:7.1f} us)   "
                  f"{mean[i] / mean[0]:6.2f}x decide ({median[i] / median[0]:.2f}x)")
        print(f"  fell back to the search: {schedule.searched} of "
              f"{schedule.computed + schedule.searched} computations")
        print(f"  computed != searched: {disagree} calls")


if __name__ == "__main__":
    main()

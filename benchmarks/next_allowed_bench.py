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

``--calls FILE`` adds the first ``--limit`` calls of a JSON Lines file (as
``benchmarks/cli_bench.py`` writes them), without the search (some 15 ms a denial; the tests
hold the two equal).

    python benchmarks/next_allowed_bench.py [--repeat 3] [--calls calls.jsonl [--limit 4000]]
"""

from __future__ import annotations

import argparse
import gc
import itertools
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


def calls_of(name: str, limit: int | None = None) -> list[dict[str, Any]]:
    """The example calls, every shipped suite case's call, or the first ``limit`` lines of the
    JSON Lines file ``name``."""
    if name == "suites":
        suites = load_suites(sorted((ROOT / "policies").glob("*.test.yaml")))
        return [case.call for suite in suites for case in suite.cases]
    path = ROOT / "examples" / "calls.jsonl" if name == "examples" else Path(name)
    with path.open(encoding="utf-8") as lines:
        return [json.loads(line) for line in itertools.islice(lines, limit) if line.strip()]


def measure(policyset: ringfence.PolicySet, calls: list[dict[str, Any]], searched: bool = True
            ) -> tuple[list[float], list[float], list[float], int]:
    """Per denied call: decide, computed and search seconds (none unless ``searched``); and
    how many calls the computed answer differed from the search's on."""
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
            decide.append(t1 - t0)
            computed.append(t2 - t1)
            if searched:
                slow = schedule.reference(ctx, violations)
                search.append(time.process_time() - t2)
                disagree += fast != slow
    finally:
        gc.enable()
    return decide, computed, search, disagree


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--calls", help="a JSON Lines file of calls to measure too")
    parser.add_argument("--limit", type=int, default=4000, help="of --calls, the first N")
    args = parser.parse_args()
    policyset = ringfence.load_library()
    schedule = policyset._evaluator.schedule
    for name in ("examples", "suites", *([args.calls] if args.calls else [])):
        searched = name in ("examples", "suites")
        calls = calls_of(name, None if searched else args.limit)
        runs = []
        schedule.computed = schedule.searched = 0
        for _ in range(args.repeat):
            runs.append(measure(policyset, calls, searched))
        denied, disagree = len(runs[0][0]), max(r[3] for r in runs)
        timed = 3 if searched else 2
        seconds = [(r[0], r[1], r[2]) for r in runs]  # per run: decide, computed, searched
        mean = [statistics.median(statistics.fmean(s[i]) for s in seconds) for i in range(timed)]
        median = [statistics.median(statistics.median(s[i]) for s in seconds)
                  for i in range(timed)]
        print(f"{name}: {len(calls)} calls, {denied} denied; per denied call, mean (median):")
        for label, i in (("decide", 0), ("next_allowed computed", 1),
                         ("next_allowed searched", 2))[:timed]:
            print(f"  {label:22} {mean[i] * 1e6:9.1f} us ({median[i] * 1e6:7.1f} us)   "
                  f"{mean[i] / mean[0]:6.2f}x decide ({median[i] / median[0]:.2f}x)")
        print(f"  fell back to the search: {schedule.searched} of "
              f"{schedule.computed + schedule.searched} computations")
        if searched:
            print(f"  computed != searched: {disagree} calls")


if __name__ == "__main__":
    main()

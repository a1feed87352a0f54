"""Ringfence against a hand-written Python function of the same policy, on the same calls.

Runs in one process: generates 100,000 calls and a 100,000-number list, loads
``benchmarks/bench.rf``, decides every call with both, checks that they agree on every call
(decision and violated rules), and prints decisions per second for each and their ratio. Then it
times loading and compiling a generated 200-rule policy set, and shows where a decision's time
goes, stage by stage.

    python benchmarks/bench.py [--calls N] [--repeat R]

Calls are read by the compiled call reader when the package was built with it; set
RINGFENCE_PURE_PYTHON=1 to time the pure-Python reference path instead.

Targets (one core): Ringfence >= 150,000 decisions/s and within 3x of the hand-written function;
a 200-rule policy set loads and compiles in under 1 s.
"""

from __future__ import annotations

import argparse
import datetime as dt
import operator
import random
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import ringfence
from ringfence.contract import request
from ringfence.facts.numberlist import NumberList

HERE = Path(__file__).resolve().parent
ZONES = ["America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles"]
AREAS = ["212", "305", "312", "404", "512", "602", "713", "801", "206", "415"]
CallDict = dict[str, Any]
Outcome = tuple[str, tuple[str, ...]]  # the decision and the rules it broke
Decide = Callable[[CallDict], Outcome]


def make_calls(n: int, rng: random.Random) -> tuple[list[CallDict], list[str]]:
    """n calls to 50,000 distinct numbers; half of a 100,000-number list overlaps them."""
    numbers = [f"+1{rng.choice(AREAS)}{rng.randint(200, 999)}{rng.randint(0, 9999):04d}"
               for _ in range(50_000)]
    listed = rng.sample(numbers, 5_000) + [
        f"+1{rng.choice(AREAS)}{rng.randint(200, 999)}{rng.randint(0, 9999):04d}"
        for _ in range(95_000)]
    base = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
    calls = []
    for i in range(n):
        at = base + dt.timedelta(seconds=rng.randint(0, 30 * 86400))
        call = {"id": i, "to": rng.choice(numbers), "at": at.isoformat().replace("+00:00", "Z"),
                "to_timezone": rng.choice(ZONES), "purpose": "marketing",
                "technology": rng.choice(["manual", "autodialer"]),
                "subject": f"s{rng.randint(1, 3)}", "consent": []}  # [] says none
        if rng.random() < 0.6:
            granted = at - dt.timedelta(days=rng.randint(-5, 300))
            call["consent"] = [{"type": rng.choice(["express", "express_written"]),
                                "purposes": ["marketing"], "at": granted.isoformat()}]
        call["history"] = [
            {"at": (at - dt.timedelta(minutes=rng.randint(1, 2 * 24 * 60))).isoformat(),
             "outcome": "no_answer", "subject": f"s{rng.randint(1, 3)}"}
            for _ in range(rng.choice([0, 1, 2, 3, 4, 5]))]
        calls.append(call)
    return calls, listed


def hand_written(listed: set[str]) -> Decide:
    """The same policy as bench.rf, written by hand in plain Python."""
    zones: dict[str, ZoneInfo] = {}
    day = 86400.0
    parse = dt.datetime.fromisoformat

    def decide(call: CallDict) -> Outcome:
        at = parse(call["at"])
        t = at.timestamp()
        zone = zones.get(call["to_timezone"])
        if zone is None:
            zone = zones[call["to_timezone"]] = ZoneInfo(call["to_timezone"])
        local = at.astimezone(zone)
        seconds = local.hour * 3600 + local.minute * 60 + local.second + local.microsecond / 1e6
        violated = []
        if not 8 * 3600 <= seconds <= 21 * 3600:
            violated.append("calling-hours")
        if call["to"] in listed:
            violated.append("dnc")
        if call.get("technology") == "autodialer":
            ok = False
            for c in call.get("consent", ()):
                if (c["type"] == "express_written" and "marketing" in c["purposes"]
                        and parse(c["at"]).timestamp() <= t):
                    ok = True
                    break
            if not ok:
                violated.append("consent")
        subject = call.get("subject")
        count = 0
        for h in call.get("history", ()):
            ht = parse(h["at"]).timestamp()
            if h.get("subject") == subject and t - day < ht < t:
                count += 1
        if count >= 3:
            violated.append("cap")
        return ("deny" if violated else "allow"), tuple(violated)

    return decide


def rates(fns: list[Decide], calls: list[CallDict], repeat: int) -> list[tuple[float, list[Outcome]]]:
    """Decisions per second of each function, best of ``repeat`` runs.

    The runs are interleaved (A, B, A, B, …) so that a slower stretch of the machine slows both
    alike and the ratio stays meaningful.
    """
    best = [float("inf")] * len(fns)
    results: list[list[Outcome]] = [[] for _ in fns]
    for _ in range(repeat):
        for i, fn in enumerate(fns):
            start = time.perf_counter()
            results[i] = [fn(c) for c in calls]
            best[i] = min(best[i], time.perf_counter() - start)
    return [(len(calls) / b, r) for b, r in zip(best, results, strict=True)]


def breakdown(policies: ringfence.PolicySet, calls: list[CallDict], repeat: int) -> list[tuple[str, float]]:
    """Microseconds per call spent in each stage of ``decide``.

    Each stage is timed cumulatively (reading the call, then that and the callee's facts, ...),
    best of ``repeat`` interleaved runs, and reported as the difference from the one before. It
    uses internals on purpose: it shows where the time goes.
    """
    evaluator = policies._evaluator

    def context_and_rules(call: CallDict) -> object:
        return evaluator.judge(evaluator.context(call))

    stages = [
        (f"read the call ({request.READER})", request.parse_call),
        ("callee facts", evaluator.context),
        ("rules (generated function)", context_and_rules),
        ("decision object", policies.decide),
    ]
    best = [float("inf")] * len(stages)
    for _ in range(repeat):
        for i, (_name, fn) in enumerate(stages):
            start = time.perf_counter()
            for call in calls:
                fn(call)
            best[i] = min(best[i], time.perf_counter() - start)
    micros = [b / len(calls) * 1e6 for b in best]
    return [(name, m - (micros[i - 1] if i else 0.0))
            for i, ((name, _fn), m) in enumerate(zip(stages, micros, strict=True))]


def big_policy_set(folder: Path, rules: int = 200, files: int = 10) -> list[Path]:
    """Generate `files` policies with `rules` rules in all, of every kind."""
    paths = []
    per = rules // files
    for f in range(files):
        lines = [f'policy gen-{f} "Generated policy {f}"', "  version 1", "  applies to US",
                 "  uses list dnc", ""]
        for r in range(per):
            kind = r % 4
            lines += [f'rule r{r} "Generated rule {r}"', f'  cite "Generated {f}.{r}"',
                      "  when purpose is marketing"]
            lines.append([
                f"  allow only\n    weekdays 0{8 + r % 2}:00 to 21:00 inclusive\n"
                "    saturday 10:00 to 18:00 exclusive\n    closed on sunday, public holidays",
                f"  deny if callee on list dnc listed at least {r + 1} days ago\n"
                "    unless consent express_written for marketing",
                f"  deny if count of attempts with same subject in last {r + 1} hours >= 3",
                f"  require consent express for marketing or last purchase within {r + 1} months",
            ][kind])
            lines.append("")
        path = folder / f"gen-{f}.rf"
        path.write_text("\n".join(lines), encoding="utf-8")
        paths.append(path)
    return paths


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    rng = random.Random(7)
    calls, listed = make_calls(args.calls, rng)
    listed_set = set(listed)
    policies = ringfence.load(HERE / "bench.rf",
                              lists={"dnc": NumberList((n, None) for n in listed)})

    rule_of = operator.attrgetter("rule")

    def ringfence_decide(call: CallDict) -> Outcome:
        d = policies.decide(call)
        return d.decision, tuple(map(rule_of, d.violations))

    (ours, ours_results), (theirs, their_results) = rates(
        [ringfence_decide, hand_written(listed_set)], calls, args.repeat)
    disagree = [i for i, (a, b) in enumerate(zip(ours_results, their_results, strict=True))
                if a != b]
    denied = sum(1 for d, _ in ours_results if d == "deny")

    with tempfile.TemporaryDirectory() as tmp:
        paths = big_policy_set(Path(tmp))
        start = time.perf_counter()
        big = ringfence.load(*paths)
        load_seconds = time.perf_counter() - start
    rules = sum(len(p.rules) for p in big.policies)

    print(f"calls: {len(calls):,} ({denied:,} denied), list: {len(listed):,} numbers, "
          f"call reader: {request.READER}")
    print(f"ringfence:    {ours:>10,.0f} decisions/s")
    print(f"hand-written: {theirs:>10,.0f} decisions/s")
    print(f"ratio (hand-written / ringfence): {theirs / ours:.2f}x")
    print(f"agreement: {len(calls) - len(disagree):,}/{len(calls):,} calls")
    print(f"load + compile {rules} rules in {len(big.policies)} policies: {load_seconds:.3f} s")
    print("where a decision's time goes (µs per call):")
    for name, micros in breakdown(policies, calls[:20_000], args.repeat):
        print(f"  {name:<28} {micros:6.2f}")
    ok = not disagree and ours >= 150_000 and theirs / ours <= 3 and load_seconds < 1
    print("targets (>= 150,000/s, within 3x, load < 1 s, full agreement):",
          "met" if ok else "NOT met")
    if disagree:
        i = disagree[0]
        print(f"first disagreement, call {i}: ringfence {ours_results[i]}, "
              f"hand-written {their_results[i]}", file=sys.stderr)
    return 0 if not disagree else 1


if __name__ == "__main__":
    sys.exit(main())

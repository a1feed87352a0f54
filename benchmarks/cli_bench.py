"""``ringfence decide --jurisdiction auto`` end to end, as a user runs it, beside the API figure.

Generates N calls (JSON Lines, the kinds of ``examples/calls.jsonl`` across the library's
jurisdictions, each with its own id) into a scratch file, then runs the command as a subprocess
with ``--jobs 1`` and ``--jobs 2`` (``--repeat`` times each, interleaved, median reported) and
prints for each: calls per second (wall clock, start-up included, and after start-up), the peak
memory of the whole process tree (PSS, sampled from /proc), the time from the first input line
to the first decision out, the CPU time of each process of ``--jobs 2`` (are both workers busy,
how much does the parent do), and the ratio of the two rates. Then, in the same run, the API figure
of ``benchmarks/bench.py`` and where a call's time goes in ``decide``, stage by stage.

    python benchmarks/cli_bench.py [--calls N] [--repeat R] [--api-calls N] [--profile] [--pool N]
    python benchmarks/cli_bench.py --against ../old/.venv/bin/python [--calls N] [--repeat R]

Every decision is the real one, ``next_allowed_at`` included. Targets (issue #13): at least
50,000 calls/s on one core, at least 1.7x that with --jobs 2, peak memory under 300 MB, the first
line out within 1 s of the first line in.
"""

from __future__ import annotations

import argparse
import cProfile
import importlib.util
import io
import json
import os
import pstats
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

HERE = Path(__file__).resolve().parent
RINGFENCE = [sys.executable, "-c", "from ringfence.tools.cli import main; main()"]
COMMAND = ["decide", "--jurisdiction", "auto", "--quiet"]
# Distinct generated calls; the N lines cycle through them, each with its own id. Repeated calls
# repeat their instants and numbers, which the caches keyed by them (dates per zone, numbering
# blocks) then always hold: --pool 0 makes every call distinct, to see what that repetition gives.
POOL = 2000


def _examples() -> Any:
    """``examples/generate_calls.py``, the generator of the README's example calls."""
    path = HERE.parent / "examples" / "generate_calls.py"
    spec = importlib.util.spec_from_file_location("generate_calls", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def write_calls(path: Path, n: int, distinct: int = POOL) -> None:
    """n JSON Lines calls: ``distinct`` calls repeated (all n distinct when it is 0), ids
    bench-0000000, bench-0000001, ..."""
    make_call = _examples().make_call
    rng = random.Random(13)
    distinct = distinct or n
    pool = []
    for i in range(distinct):
        call = make_call(rng, i)
        del call["id"]
        pool.append(orjson.dumps(call)[1:])  # the object without its opening brace
    with path.open("wb") as out:
        for i in range(n):
            out.write(b'{"id":"bench-%07d",%s\n' % (i, pool[i % distinct]))


def _tree(pid: int) -> list[int]:
    """A process and its descendants."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        try:
            with open(f"/proc/{current}/task/{current}/children") as children:
                todo.extend(int(c) for c in children.read().split())
        except OSError:
            continue
    return found


def _pss_kb(pid: int) -> int:
    """Proportional set size of a process (shared pages counted once over the tree)."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as rollup:
            return next(int(line.split()[1]) for line in rollup if line.startswith("Pss:"))
    except (OSError, StopIteration):
        return 0


def _cpu_seconds(pid: int) -> float | None:
    """User and system CPU time of a process so far."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class TreeSampler:
    """Samples the process tree every 50 ms while it runs: its peak PSS, and the CPU time of
    each process (the last seen: whether every process of --jobs was busy, and the parent's
    share)."""

    def __init__(self, pid: int):
        self.peak_kb = 0
        self.cpu: dict[int, float] = {}
        self._pid = pid
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        while not self._done.wait(0.05):
            pids = _tree(self._pid)
            self.peak_kb = max(self.peak_kb, sum(_pss_kb(pid) for pid in pids))
            for pid in pids:
                seconds = _cpu_seconds(pid)
                if seconds is not None:
                    self.cpu[pid] = seconds

    def stop(self) -> int:
        self._done.set()
        self._thread.join()
        return self.peak_kb


def startup_seconds() -> float:
    """Start-up of the command (imports, loading and compiling the library) on no input."""
    start = time.perf_counter()
    subprocess.run([*RINGFENCE, *COMMAND, "-"], stdin=subprocess.DEVNULL,
                   stdout=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start


def throughput(calls: Path, n: int, jobs: int, ringfence: list[str] = RINGFENCE
               ) -> dict[str, Any]:
    """One run over the file: wall time, calls/s, peak memory."""
    start = time.perf_counter()
    proc = subprocess.Popen([*ringfence, *COMMAND, "--jobs", str(jobs), str(calls)],
                            stdout=subprocess.PIPE)
    sampler = TreeSampler(proc.pid)
    out = proc.stdout
    assert out is not None
    lines = sum(chunk.count(b"\n") for chunk in iter(lambda: out.read(1 << 20), b""))
    # wait4: the CPU time of the command and of the worker processes it waited for
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - start
    peak = sampler.stop()
    if proc.returncode != 0 or lines != n:
        raise SystemExit(f"decide --jobs {jobs} exited {proc.returncode} with {lines:,} lines "
                         f"of {n:,}")
    parent = sampler.cpu.pop(proc.pid, 0.0)
    return {"wall": wall, "rate": n / wall, "peak_mb": peak / 1024,
            "cpu": usage.ru_utime + usage.ru_stime, "parent_cpu": parent,
            "workers_cpu": sorted(sampler.cpu.values(), reverse=True)}


def against(calls: Path, n: int, repeat: int, other: str) -> list[str]:
    """``--jobs 1`` runs of this checkout and of the ringfence another Python runs (an earlier
    version's venv), taken in turn (this, other, other, this, ...): on a machine whose speed
    drifts from minute to minute, only runs taken in turn compare."""
    commands = {"this": RINGFENCE, "other": [other, *RINGFENCE[1:]]}
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in commands}
    for i in range(repeat):
        for name in (["this", "other"] if i % 2 == 0 else ["other", "this"]):
            runs[name].append(throughput(calls, n, 1, commands[name]))
    lines, medians = [], {}
    for name, results in runs.items():
        wall = medians[name] = statistics.median(r["wall"] for r in results)
        cpu = statistics.median(r["cpu"] for r in results)
        lines.append(f"{name:>5}: {n / wall:>9,.0f} calls/s (start-up included), wall "
                     f"{wall:.1f} s, CPU {cpu:.1f} s ({cpu / n * 1e6:.1f} µs a call); walls "
                     + ", ".join(f"{r['wall']:.1f}" for r in results))
    lines.append(f"this / other: {medians['other'] / medians['this']:.2f}x the calls per second")
    return lines


def first_line_latency(calls: Path, jobs: int, wait: float) -> float:
    """Seconds from writing the first line to the command's stdin (once it has started up) to
    reading the first decision."""
    proc = subprocess.Popen([*RINGFENCE, *COMMAND, "--jobs", str(jobs), "-"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert proc.stdin is not None and proc.stdout is not None
    with calls.open("rb") as source:
        first = source.readline()
    time.sleep(wait)  # past start-up: the command now waits for input
    start = time.perf_counter()
    proc.stdin.write(first)
    proc.stdin.flush()
    proc.stdout.readline()
    latency = time.perf_counter() - start
    proc.stdin.close()
    proc.wait()
    return latency


def api_figure(api_calls: int) -> list[str]:
    """The figure lines of benchmarks/bench.py, run now; its hand-written function's rate is
    this machine's speed in plain Python, to compare runs made on different machines by."""
    done = subprocess.run([sys.executable, str(HERE / "bench.py"), "--calls", str(api_calls)],
                          capture_output=True, text=True, check=False)
    return [line for line in done.stdout.splitlines()
            if line.startswith(("ringfence:", "hand-written:", "calls:", "targets"))]


def stages(calls: Path, sample: int) -> list[tuple[str, float]]:
    """CPU microseconds per call of each step ``decide`` takes, measured in this process on the
    first ``sample`` calls: read a line, decide, next_allowed_at, write the decision's line
    (``Decision.to_json``, the compact form), and a block of lines through ``Decider.block``
    beyond deciding them (reading, writing, tallying)."""
    from ringfence.api import load_library
    from ringfence.tools.callstream import Block
    from ringfence.tools.decide_cli import _steady
    from ringfence.tools.decidework import DecideOptions, Decider
    from ringfence.tools.jsonlines import parse_json

    with calls.open("rb") as source:
        lines = [source.readline() for _ in range(sample)]
    policies = load_library()
    for line in lines[:POOL]:  # warm the caches a long run keeps warm
        policies.decide(orjson.loads(line)).to_dict(compact=True)
    raws: list[dict[str, Any]] = [orjson.loads(line) for line in lines]
    decisions = [policies.decide(raw) for raw in raws]
    for d in decisions:
        _ = d.next_allowed_at
    fresh = [policies.decide(raw) for raw in raws]  # next_allowed_at not computed yet
    # Decider.block with the decisions already made: the block's own work around deciding
    block = Block(1, b"".join(lines))
    made = iter(decisions)
    decider = Decider(policies, DecideOptions((), "auto", ()))
    decider._decide_calls = lambda calls: [(next(made), None) for _ in calls]  # type: ignore
    steps: list[tuple[str, Callable[[], object]]] = [
        ("read and parse a line", lambda: [parse_json(line) for line in lines]),
        ("decide (verdict)", lambda: [policies.decide(raw) for raw in raws]),
        ("next_allowed_at", lambda: [d.next_allowed_at for d in fresh]),
        ("decision line (compact)", lambda: [d.to_json(compact=True) for d in decisions]),
        ("Decider.block but deciding", lambda: decider.block(block)),
    ]
    best = [float("inf")] * len(steps)
    # With the command's own collector settings: the sample's decisions, held in lists here,
    # would otherwise be walked by collection after collection and charged to each step.
    with _steady():
        for _ in range(3):  # interleaved, best of three; CPU time, less inflated by a busy machine
            for i, (_name, step) in enumerate(steps):
                if i == 2:
                    fresh[:] = [policies.decide(raw) for raw in raws]
                if i == 4:
                    made = iter(decisions)
                start = time.process_time()
                step()
                best[i] = min(best[i], time.process_time() - start)
    return [(name, b / sample * 1e6) for (name, _step), b in zip(steps, best, strict=True)]


def profile(calls: Path, sample: int) -> str:
    """cProfile of the decide command's own block path on ``sample`` calls: top functions."""
    from ringfence.tools.callstream import blocks
    from ringfence.tools.decidework import DecideOptions, decider

    options = DecideOptions((), "auto", ())
    work = decider(options)
    with calls.open("rb") as source:
        data = b"".join(source.readline() for _ in range(sample))
    profiler = cProfile.Profile()
    profiler.enable()
    for block in blocks(io.BytesIO(data)):
        work.block(block)
    profiler.disable()
    text = io.StringIO()
    pstats.Stats(profiler, stream=text).sort_stats("tottime").print_stats(20)
    return text.getvalue()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--api-calls", type=int, default=100_000)
    parser.add_argument("--sample", type=int, default=5_000,
                        help="calls of the stage breakdown and the profile")
    parser.add_argument("--profile", action="store_true", help="print a cProfile of the block path")
    parser.add_argument("--pool", type=int, default=POOL,
                        help="distinct calls the N lines cycle through (0: every call distinct)")
    parser.add_argument("--against", metavar="PYTHON",
                        help="only time --jobs 1 of this checkout and of the ringfence this "
                             "Python runs (an earlier version's venv), taken in turn")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        calls = Path(tmp) / "calls.jsonl"
        write_calls(calls, args.calls, args.pool)
        size = calls.stat().st_size
        pool = f"{args.pool:,} distinct, repeated" if args.pool else "every one distinct"
        print(f"calls: {args.calls:,} ({pool}; {size / 1e6:,.0f} MB of JSON Lines), "
              f"load average {os.getloadavg()[0]:.2f}")
        if args.against:
            for line in against(calls, args.calls, args.repeat, args.against):
                print(line)
            return 0
        startup = statistics.median(startup_seconds() for _ in range(args.repeat))
        print(f"start-up (imports, load and compile the library): {startup:.2f} s")
        runs: dict[int, list[dict[str, Any]]] = {1: [], 2: []}
        for _ in range(args.repeat):
            for jobs in runs:  # interleaved: a slower stretch of the machine slows both
                runs[jobs].append(throughput(calls, args.calls, jobs))
        rates: dict[int, float] = {}
        cpu: dict[int, float] = {}
        peaks: list[float] = []
        latencies: list[float] = []
        for jobs, results in runs.items():
            wall = statistics.median(r["wall"] for r in results)
            peak = max(r["peak_mb"] for r in results)
            latency = statistics.median(first_line_latency(calls, jobs, startup * 2 + 1)
                                        for _ in range(args.repeat))
            rates[jobs] = args.calls / wall
            cpu[jobs] = statistics.median(r["cpu"] for r in results)
            peaks.append(peak)
            latencies.append(latency)
            steady = args.calls / max(wall - startup, 1e-9)
            print(f"--jobs {jobs}: {rates[jobs]:>9,.0f} calls/s ({steady:,.0f} after start-up), "
                  f"wall {wall:.1f} s, CPU {cpu[jobs]:.1f} s, peak memory {peak:.0f} MB, "
                  f"first line out {latency * 1000:.0f} ms after the first line in")
            if jobs > 1:  # the median run's: is every worker busy, how much does the parent do
                middle = sorted(results, key=lambda r: r["wall"])[len(results) // 2]
                workers = ", ".join(f"{c:.1f}" for c in middle["workers_cpu"])
                print(f"  CPU s per process: parent {middle['parent_cpu']:.1f} (start-up "
                      f"included), workers {workers}")
        ratio = rates[2] / rates[1]
        print(f"ratio --jobs 2 / --jobs 1: {ratio:.2f}x (CPU time --jobs 2 / --jobs 1: "
              f"{cpu[2] / cpu[1]:.2f}x; on a busy machine the wall ratio says little)")
        ok = rates[1] >= 50_000 and ratio >= 1.7 and max(peaks) < 300 and max(latencies) < 1
        print("targets (>= 50,000 calls/s on one core, >= 1.7x with --jobs 2, peak < 300 MB, "
              "first line < 1 s):", "met" if ok else "NOT met")
        print("where a call's time goes in decide (CPU µs per call, one process):")
        sample = min(args.sample, args.calls)
        for name, micros in stages(calls, sample):
            print(f"  {name:<24} {micros:9.1f}")
        if args.profile:
            print(profile(calls, sample))
    print("API (benchmarks/bench.py, same run):")
    for line in api_figure(args.api_calls):
        print(f"  {line}")
    print(json.dumps({"load_average": os.getloadavg()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())

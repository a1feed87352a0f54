"""Number lists at registry scale: compile, load, memory and lookups, beside the API figure.

Generates a list of N random NANP numbers (10,000,000 by default) as a text file, then prints:

- compile time (text -> ``.rfl``, as ``ringfence lists compile`` does), wall and CPU seconds;
- for the compiled list and for the same list read from text: load time, resident memory added
  by the load (VmRSS from /proc/self/status, in a fresh process) and after the lookups, and the
  cost of one lookup (``contains``, the evaluator's membership test, and ``lookup``, which also
  reads the listing date) for numbers on the list and numbers not on it, over random numbers
  (memory-bound: each probe touches pages no other probe did) and over a small working set;
- the cost of the same tests as the engine asks them, per call: ``callee on list NAME`` (the
  generated judge's copy of the runtime's ``on_list`` asks the list's slot, ``slot.contains``)
  and the dated forms ``listed at least ... ago`` and ``as of last wash`` (the runtime's
  ``listing``, through ``StandardFacts.listed``);
- the API figure of ``benchmarks/bench.py`` measured in the same run.

Lists are searched by the compiled finder when the package was built with it; set
RINGFENCE_PURE_PYTHON=1 to time the pure-Python reference finder instead.

Every figure is the median of ``--repeat`` runs (3 by default; the 100,000,000 case is meant to
be run once: ``--numbers 100000000 --repeat 1``; it needs about 2.2 GB in ``--dir``).

    python benchmarks/list_bench.py [--numbers N] [--repeat R] [--dir /tmp]

Targets at 10,000,000 numbers: compile < 10 s, load < 0.5 s, resident memory < 150 MB, lookup
< 0.5 µs.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ringfence.contract.request import parse_call
from ringfence.engine.runtime import Ctx, listing
from ringfence.facts import listindex
from ringfence.facts.callee import StandardFacts
from ringfence.facts.numberlist import NumberList

HERE = Path(__file__).resolve().parent
PROBES = 200_000
LOW, HIGH = 12_012_000_000, 19_899_999_999  # area codes 201 to 989, as a registry's


def rss_kb() -> dict[str, int]:
    """This process's resident set (kB) from /proc/self/status: in all (VmRSS), its own memory
    (RssAnon) and the pages of mapped files (RssFile: page cache, shared between processes)."""
    fields = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "RssAnon", "RssFile"):
            fields[name] = int(value.split()[0])
    return fields


def rss_delta(before: dict[str, int]) -> dict[str, float]:
    """MB added to each resident figure since ``before``."""
    return {name: (kb - before[name]) / 1024 for name, kb in rss_kb().items()}


def write_numbers(path: Path, n: int, seed: int) -> None:
    """n random 11-digit numbers, one ``+1…`` a line, written a block at a time."""
    rng = np.random.default_rng(seed)
    powers = 10 ** np.arange(10, -1, -1, dtype=np.int64)
    with path.open("wb") as fh:
        for start in range(0, n, 2_000_000):
            keys = rng.integers(LOW, HIGH, min(2_000_000, n - start), dtype=np.int64)
            rows = np.empty((len(keys), 13), np.uint8)
            rows[:, 0] = ord("+")
            rows[:, 1:12] = (keys[:, None] // powers) % 10 + ord("0")
            rows[:, 12] = ord("\n")
            fh.write(rows.tobytes())


def per_item_ns(run: Callable[[list[Any]], None], items: list[Any],
                repeat: int) -> tuple[float, float]:
    """Medians over ``repeat`` runs of ``run(items)`` of the nanoseconds an item takes: wall
    clock, and CPU time of this process (which leaves out the time other processes held the
    core)."""
    walls, cpus = [], []
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        run(items)
        walls.append((time.perf_counter() - wall) / len(items) * 1e9)
        cpus.append((time.process_time() - cpu) / len(items) * 1e9)
    return statistics.median(walls), statistics.median(cpus)


def per_call_ns(fn: Callable[[str], object], probes: list[str],
                repeat: int) -> tuple[float, float]:
    """As :func:`per_item_ns`, for one call of ``fn`` a probe."""
    def run(items: list[str]) -> None:
        for probe in items:
            fn(probe)
    return per_item_ns(run, probes, repeat)


def measure_load(path: Path, repeat: int) -> dict[str, Any]:
    """In this (fresh) process: load ``path`` once and time lookups on it."""
    before = rss_kb()
    start, cpu = time.perf_counter(), time.process_time()
    table = NumberList.from_file(path)
    load, load_cpu = time.perf_counter() - start, time.process_time() - cpu
    after_load = rss_delta(before)
    hits, misses = probes(table, PROBES, seed=11)
    warm = hits[:1000] * (PROBES // 1000)
    figures = {
        "load_s": load, "load_cpu_s": load_cpu, "rss_load_mb": after_load, "count": len(table),
        "contains_hit_ns": per_call_ns(table.contains, hits, repeat),
        "contains_miss_ns": per_call_ns(table.contains, misses, repeat),
        "contains_warm_ns": per_call_ns(table.contains, warm, repeat),
        "lookup_hit_ns": per_call_ns(table.lookup, hits, repeat),
        "lookup_miss_ns": per_call_ns(table.lookup, misses, repeat),
    }
    del hits, misses, warm
    figures["rss_lookups_mb"] = rss_delta(before)
    figures.update(engine_figures(table, repeat))
    return figures


def probes(table: NumberList, count: int, seed: int) -> tuple[list[str], list[str]]:
    """``count`` random numbers on the list and as many (or a few fewer) not on it."""
    rng = np.random.default_rng(seed)
    keys = table.keys
    hits = [f"+{k}" for k in keys[rng.integers(0, len(keys), count)].tolist()]
    misses = [f"+{k}" for k in rng.integers(LOW, HIGH, count).tolist() if f"+{k}" not in table]
    return hits, misses


def engine_figures(table: NumberList, repeat: int) -> dict[str, Any]:
    """Per call, the list tests as the engine makes them; measured after the memory figure
    (the calls built here take memory of their own), on probes of their own."""
    hits, misses = probes(table, PROBES // 4, seed=12)
    facts = StandardFacts({"dnc": table})
    slot, missing = facts.slot("dnc"), set[str]()
    zone = facts.zone("America/New_York")

    def contexts(numbers: list[str]) -> list[Ctx]:
        calls = (parse_call({"to": n, "at": "2026-06-15T16:00:00Z", "purpose": "marketing"})
                 for n in numbers)
        return [Ctx(call, call.at, (zone,), "US", None, facts) for call in calls]

    def on_list_pass(numbers: list[str]) -> None:
        for number in numbers:
            slot.contains(number)  # the judge's copy of on_list asks LIST.contains(call.to)

    def listing_pass(contexts: list[Ctx]) -> None:
        for ctx in contexts:
            listing(ctx, "dnc", missing)  # what on_list_aged and on_list_at_wash call

    return {
        "engine_on_list_hit_ns": per_item_ns(on_list_pass, hits, repeat),
        "engine_on_list_miss_ns": per_item_ns(on_list_pass, misses, repeat),
        "engine_listing_hit_ns": per_item_ns(listing_pass, contexts(hits), repeat),
        "engine_listing_miss_ns": per_item_ns(listing_pass, contexts(misses), repeat),
    }


def child(path: Path, repeat: int) -> dict[str, Any]:
    """``measure_load`` in a fresh interpreter, so resident memory counts only this list."""
    out = subprocess.run([sys.executable, __file__, "--measure", str(path), "--repeat",
                          str(repeat)], check=True, capture_output=True, text=True).stdout
    figures: dict[str, Any] = json.loads(out)
    return figures


def compile_times(source: Path, target: Path, repeat: int) -> tuple[float, float]:
    """Median wall and CPU seconds of text -> compiled list (what ``lists compile`` runs)."""
    walls, cpus = [], []
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        NumberList.from_file(source).save(target)
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return statistics.median(walls), statistics.median(cpus)


def api_figure() -> str:
    """The ``ringfence:`` line of benchmarks/bench.py (decisions per second through the API)."""
    out = subprocess.run([sys.executable, str(HERE / "bench.py"), "--calls", "50000"],
                         check=True, capture_output=True, text=True).stdout
    return next(line for line in out.splitlines() if line.startswith("ringfence:"))


def report(label: str, f: dict[str, Any]) -> None:
    def ns(key: str) -> str:
        return f"{f[key][0]:,.0f} ns ({f[key][1]:,.0f} CPU)"

    def mb(key: str) -> str:
        rss = f[key]
        return (f"+{rss['VmRSS']:,.1f} MB (own +{rss['RssAnon']:,.1f}, "
                f"mapped file +{rss['RssFile']:,.1f})")

    print(f"{label}: load {f['load_s'] * 1000:,.1f} ms ({f['load_cpu_s'] * 1000:,.1f} CPU)")
    print(f"  resident after load {mb('rss_load_mb')}; after {2 * PROBES:,} random lookups "
          f"{mb('rss_lookups_mb')}")
    print(f"  contains: hit {ns('contains_hit_ns')}, miss {ns('contains_miss_ns')}, "
          f"small working set {ns('contains_warm_ns')}")
    print(f"  lookup (with date): hit {ns('lookup_hit_ns')}, miss {ns('lookup_miss_ns')}")
    print(f"  engine, on list: hit {ns('engine_on_list_hit_ns')}, miss "
          f"{ns('engine_on_list_miss_ns')}; listed ... ago / as of last wash: hit "
          f"{ns('engine_listing_hit_ns')}, miss {ns('engine_listing_miss_ns')}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--numbers", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()))
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure_load(args.measure, args.repeat)))
        return 0

    args.dir.mkdir(parents=True, exist_ok=True)  # a folder named for the run may not exist yet
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        text, compiled = Path(tmp) / "dnc.txt", Path(tmp) / "dnc.rfl"
        start = time.perf_counter()
        write_numbers(text, args.numbers, seed=1)
        print(f"{args.numbers:,} numbers generated in {time.perf_counter() - start:.1f} s "
              f"({text.stat().st_size / 1e6:,.0f} MB of text); load average "
              f"{os.getloadavg()[0]:.2f} on {os.cpu_count()} cores; lists searched by the "
              f"{listindex.SEARCH} finder")
        wall, cpu = compile_times(text, compiled, args.repeat)
        print(f"compile: {wall:.2f} s wall, {cpu:.2f} s CPU "
              f"({compiled.stat().st_size / 1e6:,.0f} MB compiled)")
        fast = child(compiled, args.repeat)
        report(f"compiled list ({fast['count']:,.0f} unique)", fast)
        slow = child(text, args.repeat)
        report("text list", slow)
    api = api_figure()
    print(f"API (benchmarks/bench.py) {api}")
    lookups = [fast[k][i] for k in ("contains_hit_ns", "contains_miss_ns") for i in (0, 1)]
    ok = wall < 10 and fast["load_s"] < 0.5 and fast["rss_lookups_mb"]["VmRSS"] < 150
    print("targets (compile < 10 s, load < 0.5 s, resident < 150 MB):", "met" if ok else "NOT met",
          f"; lookup < 0.5 µs: wall {'met' if max(lookups[::2]) < 500 else 'NOT met'}, "
          f"CPU {'met' if max(lookups[1::2]) < 500 else 'NOT met'}"
          f" (load average now {os.getloadavg()[0]:.2f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

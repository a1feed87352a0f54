"""Where the callee is: the cost of the callee's number facts per call, in a fresh process.

Generates calls to 10-digit NANP numbers spread over many number blocks (area code + exchange),
then, each in a new process (nothing cached in memory, the location table read from the cache
folder on the first call):

- **table**: ``StandardFacts.number`` as ``decide`` calls it (the location table, see
  ``facts/locationtable.py``), timed over every call, the table's load included;
- **the loop alone**: the same loop calling ``len`` instead, for the machine's speed now;
- **per-block cache** (``--baseline``): the road before the table, ``phonenumbers`` once per
  number block and a dictionary after (``StandardFacts._cached_number``).

It then asks ``phonenumbers`` itself (``facts/locate.py``: parse, validity, region, zones, plus
the project's NANP data) about every distinct number called (in ``--jobs`` processes) and counts
the calls whose answer from the table differs (there must be none). Times are the median of ``--repeat`` runs.

    python benchmarks/location_bench.py [--calls 1000000] [--distinct 600000]
        [--blocks 0] [--repeat 3] [--jobs 2] [--baseline]

Times are CPU time of the timed process (and wall clock beside it): on a shared machine the wall
clock also counts the time other processes held the CPU.

Target: at most 2 µs per call on average with the table, cold (issue #17; about 15 µs before).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ringfence.errors import CallError
from ringfence.facts.callee import StandardFacts
from ringfence.facts.locate import reference
from ringfence.facts.locationtable import nanp_table

WORKER = """
import sys, time
from ringfence.errors import CallError
from ringfence.facts.callee import StandardFacts
numbers = open(sys.argv[1]).read().split()
facts = StandardFacts()
ask = {"baseline": facts._cached_number, "table": facts.number, "loop": len}[sys.argv[2]]
start, cpu = time.perf_counter(), time.process_time()
for number in numbers:
    try:
        ask(number)
    except CallError:
        pass
print(time.perf_counter() - start, time.process_time() - cpu)
"""


def make_numbers(calls: int, distinct: int, blocks: int, rng: random.Random) -> list[str]:
    """``calls`` calls to ``distinct`` numbers (a dialer calls a number more than once) over
    ``blocks`` area code + exchange pairs of valid area codes; one number in fifty is not valid
    (an unassigned area code or exchange)."""
    table = nanp_table()
    areas = [a for a in range(200, 1000)
             if not isinstance(table.find(a * 10**7 + 5550100), str)]
    pairs = [(a, x) for a in areas for x in range(200, 1000)]
    pairs = rng.sample(pairs, min(blocks, len(pairs)) if blocks else len(pairs))
    called = []
    for _ in range(distinct):
        if rng.random() < 0.02:
            called.append(f"+1{rng.randrange(10**10):010d}")
        else:
            area, exchange = rng.choice(pairs)
            called.append(f"+1{area}{exchange}{rng.randrange(10**4):04d}")
    return [*called, *rng.choices(called, k=calls - distinct)]


def cold_run(path: Path, mode: str) -> tuple[float, float]:
    """Seconds a fresh process spends on the callee facts of every number in ``path``: (wall
    clock, CPU time of the process). On a shared machine the CPU time is the fairer figure: the
    wall clock also counts the time other processes held the CPU."""
    done = subprocess.run([sys.executable, "-c", WORKER, str(path), mode], check=True,
                          capture_output=True, text=True, env=os.environ)
    wall, cpu = done.stdout.split()
    return float(wall), float(cpu)


def per_call(runs: list[tuple[float, float]], calls: int) -> tuple[float, float]:
    """Median wall clock and CPU time of ``runs``, in µs per call."""
    return (statistics.median(w for w, _ in runs) / calls * 1e6,
            statistics.median(c for _, c in runs) / calls * 1e6)


def _differing(numbers: list[str]) -> list[str]:
    facts = StandardFacts()
    wrong = []
    for number in numbers:
        try:
            found: object = facts.number(number)
        except CallError as err:
            found = err.message.removeprefix(f"{number} ")
        if found != reference(number):
            wrong.append(number)
    return wrong


def mismatches(numbers: list[str], jobs: int) -> tuple[int, int]:
    """(calls answered differently from phonenumbers, distinct numbers asked)."""
    distinct = sorted(set(numbers))
    chunks = [distinct[i::jobs * 8] for i in range(jobs * 8)]
    with multiprocessing.Pool(jobs) as pool:
        wrong = {n for part in pool.map(_differing, chunks) for n in part}
    return sum(n in wrong for n in numbers), len(distinct)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=1_000_000)
    parser.add_argument("--distinct", type=int, default=600_000, help="distinct numbers")
    parser.add_argument("--blocks", type=int, default=0,
                        help="area code + exchange pairs the numbers are drawn from (0: all)")
    parser.add_argument("--jobs", type=int, default=2, help="processes asking phonenumbers")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--baseline", action="store_true",
                        help="also time the per-block phonenumbers cache (once; slow)")
    args = parser.parse_args()
    rng = random.Random(17)
    start = time.perf_counter()
    nanp_table()  # built (or read) here, so the timed processes read it from the cache folder
    print(f"location table ready in {time.perf_counter() - start:.1f} s")
    numbers = make_numbers(args.calls, args.distinct, args.blocks, rng)
    distinct_blocks = len({n[:8] for n in numbers})
    print(f"{len(numbers):,} calls, {len(set(numbers)):,} distinct numbers, "
          f"{distinct_blocks:,} distinct area code + exchange blocks")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "numbers.txt"
        path.write_text("\n".join(numbers))
        count = len(numbers)
        runs = [cold_run(path, "table") for _ in range(args.repeat)]
        table_wall, table_cpu = per_call(runs, count)
        print(f"table, cold process: {table_cpu:.2f} µs CPU per call, {table_wall:.2f} µs wall "
              f"clock (median of {args.repeat}: {', '.join(f'{c:.2f} s' for _, c in runs)} CPU); "
              "target <= 2 µs")
        # the same loop calling len() instead: what the loop itself costs on this machine now
        loop_wall, loop_cpu = per_call([cold_run(path, "loop") for _ in range(args.repeat)], count)
        print(f"the loop alone (len() for the facts): {loop_cpu:.2f} µs CPU per call, "
              f"{loop_wall:.2f} µs wall clock")
        base_cpu = None
        if args.baseline:
            base_wall, base_cpu = per_call([cold_run(path, "baseline")], count)
            print(f"per-block phonenumbers cache, cold process: {base_cpu:.2f} µs CPU per call, "
                  f"{base_wall:.2f} µs wall clock (one run); the table takes "
                  f"{table_cpu / base_cpu:.1%} of its CPU time")
    start = time.perf_counter()
    wrong, asked = mismatches(numbers, args.jobs)
    print(f"answers differing from phonenumbers: {wrong} of {len(numbers):,} calls "
          f"({asked:,} distinct numbers asked, {time.perf_counter() - start:.0f} s)")
    print(json.dumps({"calls": len(numbers), "blocks": distinct_blocks, "table_cpu_us": table_cpu,
                      "table_wall_us": table_wall, "loop_cpu_us": loop_cpu,
                      "baseline_cpu_us": base_cpu, "mismatches": wrong,
                      "load": os.getloadavg()}))
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())

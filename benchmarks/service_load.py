"""Loopback load on `ringfence serve`: decisions per second and request latency (p50, p99).

Starts `ringfence serve --policy us-federal` on a free loopback port with a fresh SQLite ledger and
a decision log in a temporary folder, sends a bounded number of requests from a few keep-alive
connections (a small asyncio HTTP/1.1 client: the load generator must cost less than the server),
prints the figures and stops the server.

    python benchmarks/service_load.py reserve [--requests 20000] [--connections 16]
    python benchmarks/service_load.py array   [--requests 400] [--batch 100] [--connections 4]

``reserve``: one call per request with ``?reserve=true`` (each to a new number, so every decision
reserves an attempt: one SQLite write transaction per decision). ``array``: ``--batch`` calls per
request, no reservation. Targets: 2,000 decisions/s reserving on SQLite; 20,000 decisions/s through
the array endpoint without reservation; p99 < 25 ms.

Measured on the 2-core development machine shared with other sessions (load generator on the
same cores), decision log on, SQLite ledger, 8,000 requests; "server CPU" is the user + system time
of the server's processes per decision (independent of the load from others):

reserve, 2 workers, 8 connections, before group commit: 982 decisions/s, 701 us CPU a decision,
p99 38.9 ms (load average 3.4); with group commit: 1,661 decisions/s, 402 us, p99 24.1 ms
(load 3.6; 2.5 reservations a transaction);
reserve, 1 worker, 8 connections: 745/s, 595 us before; 1,384/s, 326 us, p99 17.3 ms after;
reserve, 2 workers, 16 connections: 2,010 decisions/s, 346 us, p99 33.2 ms (5.8 a transaction);
array of 100, no reservation: 14,559 decisions/s with 1 worker, 18,250 with 2 (44 us CPU a
decision: about 22,000/s a core with the machine to itself), p99 54 and 122 ms a request of 100
(load average 4). Earlier, at load average 3.5: 21,098 decisions/s through the array endpoint;
with a PostgreSQL ledger, reserving: 277 decisions/s (1 worker), 410 (2 workers) at load 7.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def start_server(folder: Path, port: int, workers: int, log: bool, ledger: str | None
                 ) -> subprocess.Popen[bytes]:
    command = [str(Path(sys.executable).with_name("ringfence")), "serve", "-p", "us-federal",
               "--insecure-local", "--port", str(port), "--workers", str(workers)]
    if ledger != "none":
        command += ["--ledger", ledger or str(folder / "ledger.db")]
    if log:
        command += ["--log", str(folder / "decisions.jsonl")]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1)
            return server
        except OSError:
            time.sleep(0.1)
    server.kill()
    raise SystemExit("the server did not start")


NUMBERS = 5000


def server_cpu(pid: int) -> float:
    """CPU seconds (user + system) used so far by the server and its worker processes: the
    machine is shared, so this is the figure that does not depend on what else runs."""
    ticks = os.sysconf("SC_CLK_TCK")
    total, todo = 0.0, [pid]
    while todo:
        current = todo.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / ticks
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except OSError:  # gone, or not Linux
            continue
        todo += [int(child) for child in children]
    return total


def call(n: int) -> dict[str, Any]:
    # Informational calls to New York numbers at 14:00 local time: us-federal allows them however
    # often they are made, so every reserving request reserves. The numbers come from a pool of
    # 5,000, as a dialer's list repeats them: a long-running service has met each one before.
    return {"to": f"+1212{5000000 + n % NUMBERS:07d}", "at": "2026-06-15T18:00:00Z",
            "purpose": "informational"}


async def connection(port: int, bodies: list[bytes], path: str, latencies: list[float]) -> int:
    """Send the bodies one after another on one keep-alive connection; count the 200s."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    ok = 0
    for body in bodies:
        started = time.perf_counter()
        writer.write(f"POST {path} HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n"
                     f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
        head = await reader.readuntil(b"\r\n\r\n")
        length = int(next(line.split(b":")[1] for line in head.split(b"\r\n")
                          if line.lower().startswith(b"content-length")))
        await reader.readexactly(length)
        latencies.append(time.perf_counter() - started)
        ok += head.startswith(b"HTTP/1.1 200")
    writer.close()
    return ok


async def run(port: int, bodies: list[bytes], path: str, connections: int) -> tuple[float, list[float], int]:
    latencies: list[float] = []
    shares = [bodies[i::connections] for i in range(connections)]
    started = time.perf_counter()
    oks = await asyncio.gather(*(connection(port, share, path, latencies) for share in shares))
    return time.perf_counter() - started, latencies, sum(oks)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("mode", choices=["reserve", "array"])
    parser.add_argument("--requests", type=int, default=None)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--connections", type=int, default=None)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--no-log", action="store_true", help="Serve without a decision log.")
    parser.add_argument("--ledger", default=None,
                        help="A ledger URL instead of a new SQLite file; 'none' for no ledger.")
    args = parser.parse_args()
    reserve = args.mode == "reserve"
    requests = min(args.requests or (20_000 if reserve else 400), 200_000)  # bounded
    connections = args.connections or (16 if reserve else 4)
    batch = 1 if reserve else args.batch
    if reserve:
        bodies = [json.dumps(call(n)).encode() for n in range(requests)]
        path = "/v1/decide?reserve=true"
    else:
        bodies = [json.dumps([call(n * batch + i) for i in range(batch)]).encode()
                  for n in range(requests)]
        path = "/v1/decide"
    with tempfile.TemporaryDirectory() as folder:
        port = free_port()
        server = start_server(Path(folder), port, args.workers, not args.no_log, args.ledger)
        try:
            warm = [json.dumps([call(n + i) for i in range(100)]).encode()
                    for n in range(0, NUMBERS, 100)]
            asyncio.run(run(port, warm, "/v1/decide", connections))  # every number met once
            cpu = server_cpu(server.pid)
            elapsed, latencies, ok = asyncio.run(run(port, bodies, path, connections))
            cpu = server_cpu(server.pid) - cpu
            metrics = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics").read().decode()
        finally:
            server.terminate()
            server.wait(timeout=30)
    latencies.sort()
    decisions = ok * batch
    print(f"mode {args.mode}: {requests} requests x {batch} call(s), {connections} connections, "
          f"{args.workers} worker(s), ledger {args.ledger or 'SQLite'}, "
          f"log {'off' if args.no_log else 'on'}")
    print(f"  {decisions / elapsed:,.0f} decisions/s ({ok}/{requests} answered 200 in {elapsed:.2f} s)")
    print(f"  server CPU {cpu * 1e6 / max(decisions, 1):.0f} us a decision "
          f"({cpu:.2f} s in all); load average {os.getloadavg()[0]:.2f}")
    groups = sum(float(line.split()[1]) for line in metrics.splitlines()
                 if line.startswith("ringfence_reserve_groups_total"))
    if reserve and groups:  # one worker's figure when there are several
        print(f"  group commit: {groups:.0f} transactions in the worker asked, about "
              f"{ok / max(args.workers, 1) / groups:.1f} reservations each")
    print(f"  request latency p50 {statistics.median(latencies) * 1000:.1f} ms, "
          f"p99 {latencies[int(len(latencies) * 0.99) - 1] * 1000:.1f} ms")


if __name__ == "__main__":
    main()

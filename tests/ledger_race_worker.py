"""One process of the reservation race (tests/test_ledger_race.py): many threads, one number.

Usage: python ledger_race_worker.py LEDGER POLICY THREADS. Prints "ready", waits for a line on
stdin, then has THREADS threads decide-and-reserve the same call at once; prints how many were
allowed.
"""

import sys
import threading

import ringfence
from ringfence.ledger import Ledger


def main() -> None:
    target, policy, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    policies = ringfence.load(policy)
    ledger = Ledger(target)
    call = {"to": "+12125550199", "at": "2026-06-15T12:00:00Z", "purpose": "marketing",
            "lists_checked_at": {"dnc": "2026-06-10"}}
    start = threading.Barrier(count)
    allowed: list[bool] = []

    def one() -> None:
        start.wait()
        allowed.append(ledger.decide(policies, call, reserve=True).decision.allowed)

    threads = [threading.Thread(target=one) for _ in range(count)]
    print("ready", flush=True)
    sys.stdin.readline()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    ledger.close()
    print(sum(allowed), len(allowed), flush=True)


if __name__ == "__main__":
    main()

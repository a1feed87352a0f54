"""200 concurrent decide-and-reserve for one number under a cap of one, from two processes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa

from ringfence.ledger import Ledger

WORKER = Path(__file__).parent / "ledger_race_worker.py"


def test_two_processes_race_one_number_and_exactly_one_call_is_allowed(ledger_url: str,
                                                                     house_policy: Path) -> None:
    Ledger(ledger_url).close()  # created and migrated before the race
    workers = [subprocess.Popen([sys.executable, str(WORKER), ledger_url, str(house_policy), "100"],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
               for _ in range(2)]
    try:
        for worker in workers:
            assert worker.stdout.readline().strip() == "ready"
        for worker in workers:
            worker.stdin.write("go\n")
            worker.stdin.flush()
        results = [worker.communicate(timeout=120)[0].split() for worker in workers]
    finally:
        for worker in workers:
            worker.kill()
    assert all(worker.returncode == 0 for worker in workers)
    assert sum(int(allowed) for allowed, _ in results) == 1
    assert sum(int(total) for _, total in results) == 200
    with Ledger(ledger_url) as ledger, ledger.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM attempts")).scalar() == 1

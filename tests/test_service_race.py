"""200 concurrent decide-and-reserve requests for one number under a cap of one, sent to two
`ringfence serve` processes sharing one ledger: with reservations grouped into one transaction
(group commit), still exactly one is allowed and exactly one attempt is recorded."""

from __future__ import annotations

import asyncio

import httpx
import sqlalchemy as sa

from ringfence.ledger import Ledger

NUMBER = "+12125550177"


async def race(urls: list[str], count: int) -> list[dict]:
    call = {"to": NUMBER, "at": "2026-06-15T12:00:00Z", "purpose": "marketing",
            "lists_checked_at": {"dnc": "2026-06-10"}}
    limits = httpx.Limits(max_connections=100)
    async with httpx.AsyncClient(limits=limits, timeout=60) as client:
        answers = await asyncio.gather(*(
            client.post(urls[n % len(urls)] + "/v1/decide?reserve=true", json=call)
            for n in range(count)))
    assert all(answer.status_code == 200 for answer in answers)
    return [answer.json() for answer in answers]


def test_two_servers_race_one_number_and_exactly_one_call_is_allowed(
        ledger_url, tmp_path_factory, start_server, house_policy) -> None:
    Ledger(ledger_url).close()  # created and migrated before the race
    folder = tmp_path_factory.mktemp("race")
    servers = [start_server("-p", str(house_policy), "--ledger", ledger_url, "--insecure-local",
                            "--log", str(folder / "decisions.jsonl"), cwd=folder)
               for _ in range(2)]
    answers = asyncio.run(race([server.url for server in servers], 200))
    allowed = [a for a in answers if a["result"]["allowed"]]
    assert len(allowed) == 1 and allowed[0]["attempt_id"]
    assert all(a["attempt_id"] is None for a in answers if not a["result"]["allowed"])
    with Ledger(ledger_url) as ledger, ledger.engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT id FROM attempts")).scalars().all()
    assert rows == [allowed[0]["attempt_id"]]
    logged = (folder / "decisions.jsonl").read_text().splitlines()
    assert len(logged) == 200

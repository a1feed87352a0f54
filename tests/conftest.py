"""Shared fixtures: ledgers on a real SQLite file and on the PostgreSQL server of this machine.

The PostgreSQL server is 127.0.0.1:5432 (user postgres, trust auth; override with
RINGFENCE_TEST_PG_HOST / _PORT / _USER). pytest-postgresql's no-process fixture points at it; each
test run creates its own database there and drops it at the end, and each test starts from an
empty schema. An unreachable server makes the tests ERROR: they are never skipped, so a green run
always includes PostgreSQL.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from pytest_postgresql import factories
from pytest_postgresql.executors import NoopExecutor
from pytest_postgresql.janitor import DatabaseJanitor

ringfence_pg_server = factories.postgresql_noproc(
    host=os.environ.get("RINGFENCE_TEST_PG_HOST", "127.0.0.1"),
    port=int(os.environ.get("RINGFENCE_TEST_PG_PORT", "5432")),
    user=os.environ.get("RINGFENCE_TEST_PG_USER", "postgres"),
    # it makes a template database "<dbname>_tmpl": unique per run, as other test runs share
    # the server and would race to create (and drop) the same one
    dbname=f"ringfence_ledger_test_{uuid.uuid4().hex[:12]}",
)


@pytest.fixture(scope="session")
def ringfence_pg_database(ringfence_pg_server: NoopExecutor) -> Iterator[str]:
    """A database of this test run's own on the server (dropped at the end); its URL."""
    server = ringfence_pg_server
    # process ids repeat across the machines (containers) sharing this server: add randomness
    name = f"ringfence_test_{os.getpid()}_{uuid.uuid4().hex[:12]}"
    with DatabaseJanitor(user=server.user, host=server.host, port=server.port, dbname=name,
                         password=server.password,
                         connection_timeout=10):
        yield f"postgresql://{server.user}@{server.host}:{server.port}/{name}"


@pytest.fixture(scope="session")
def house_policy() -> Path:
    """A small policy whose rules read every kind of fact the ledger keeps."""
    return Path(__file__).parent / "fixtures" / "ledger" / "house.rf"


@pytest.fixture(params=["sqlite", "postgresql"])
def ledger_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The address of an empty ledger database: a SQLite file, then a PostgreSQL database."""
    if request.param == "sqlite":
        return str(tmp_path / "ledger.db")
    url = request.getfixturevalue("ringfence_pg_database")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP SCHEMA public CASCADE")
        conn.execute("CREATE SCHEMA public")
    return url


class Server:
    """A `ringfence serve` process on a free loopback port."""

    def __init__(self, args: list[str], cwd: Path):
        import socket
        import subprocess
        import sys
        import time

        import httpx

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.output = cwd / f"serve-{self.port}.out"
        command = Path(sys.executable).with_name("ringfence")
        self.process = subprocess.Popen(
            [str(command), "serve", "--port", str(self.port), *args],
            cwd=cwd, stdout=self.output.open("w"), stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"ringfence serve exited: {self.output.read_text()}")
            try:
                httpx.get(self.url + "/health", timeout=1)
                return
            except httpx.TransportError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"ringfence serve did not start: {self.output.read_text()}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except Exception:
                self.process.kill()
                self.process.wait()


@pytest.fixture(scope="module")
def start_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    """Start `ringfence serve ARGS...` in a folder of its own (stopped after the module)."""
    started: list[Server] = []

    def start(*args: str, cwd: Path | None = None) -> Server:
        server = Server(list(args), cwd or tmp_path_factory.mktemp("serve"))
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()

"""Connections to the ledger database: SQLite (one file, WAL) or PostgreSQL, migrated on open.

Two kinds of transaction are offered, and every write uses the second:

- :func:`reading`: a plain transaction (a consistent snapshot on SQLite's WAL);
- :func:`writing`: one that holds the number's write lock from its first statement, so a decision
  and the attempt it reserves cannot interleave with another worker's. On SQLite that is
  ``BEGIN IMMEDIATE`` (the database's single writer lock, taken up front so two readers never
  both try to upgrade); on PostgreSQL a transaction-scoped advisory lock per number key.
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from ringfence.errors import InputError


def _driver_errors() -> tuple[type[Exception], ...]:
    # The hot path (`raw`) runs on the driver's own cursor, whose errors SQLAlchemy does not wrap.
    try:
        import psycopg
    except ImportError:  # PostgreSQL support is an optional extra
        return (sa.exc.SQLAlchemyError, sqlite3.Error)
    return (sa.exc.SQLAlchemyError, sqlite3.Error, psycopg.Error)


DATABASE_ERRORS = _driver_errors()
"""What a ledger database that fails (unreachable, locked, full) raises."""

_MIGRATIONS = Path(__file__).parent / "migrations"
# How long a SQLite writer waits for the lock before failing (milliseconds).
_BUSY_TIMEOUT_MS = 30_000
# Fixed key of the advisory lock held while the schema is migrated on PostgreSQL.
_MIGRATION_LOCK = 0x52494E47  # "RING"
# One writer at a time per SQLite engine inside a process. SQLite has one write lock anyway, and
# threads that meet it in the database wait in its busy handler, which sleeps in steps of up to
# 100 ms; queueing on a Python lock instead hands the lock over at once.
_SQLITE_WRITERS: weakref.WeakKeyDictionary[sa.Engine, threading.Lock] = weakref.WeakKeyDictionary()


def database_url(target: str) -> str:
    """The SQLAlchemy URL for a ledger given as a file path, ``sqlite:///...`` or ``postgresql://...``."""
    if target.startswith(("postgresql://", "postgres://")):
        return "postgresql+psycopg://" + target.split("://", 1)[1]
    if "://" in target:
        if target.startswith(("sqlite:", "postgresql+psycopg:")):
            return target
        raise InputError(f"--ledger: give a file path, sqlite:///FILE or postgresql://..., "
                         f"not {target!r}")
    return f"sqlite:///{Path(target)}"


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # The driver's own transaction handling is switched off so that ours (BEGIN or BEGIN
    # IMMEDIATE, below) is the only one: the pattern SQLAlchemy documents for pysqlite.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    # NORMAL in WAL mode: a commit survives a crash of the process (the decision log's
    # promise), and only a power loss can drop the last commits; FULL costs an fsync per call.
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute(f"PRAGMA busy_timeout={_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _sqlite_begin(conn: sa.Connection) -> None:
    mode = conn.get_execution_options().get("ringfence_begin", "")
    conn.exec_driver_sql(f"BEGIN {mode}".strip())


def create_engine(target: str) -> sa.Engine:
    """An engine for the ledger at ``target`` (path or URL); the schema is not touched."""
    url = sa.make_url(database_url(target))
    if url.get_backend_name() == "sqlite":
        if url.database in (None, "", ":memory:"):
            raise InputError("--ledger: an in-memory SQLite ledger is not shared; give a file")
        engine = sa.create_engine(url, pool_size=8, max_overflow=32)
        sa.event.listen(engine, "connect", _sqlite_connect)
        sa.event.listen(engine, "begin", _sqlite_begin)
        _SQLITE_WRITERS[engine] = threading.Lock()
        return engine
    if url.get_backend_name() == "postgresql":
        # at most 16 connections a process: a server allows 100 by default, shared by every
        # worker of every host; threads beyond that wait for a connection
        return sa.create_engine(url, pool_size=8, max_overflow=8, pool_pre_ping=True,
                                pool_timeout=60)
    raise InputError(f"--ledger: unsupported database {url.get_backend_name()!r}")


_ADVISORY_LOCK = sa.text("SELECT pg_advisory_xact_lock(:k)")


def lock_id(key: str) -> int:
    """A signed 64-bit advisory-lock id for a number key (PostgreSQL's bigint)."""
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big", signed=True)


@contextmanager
def reading(engine: sa.Engine) -> Iterator[sa.Connection]:
    """A transaction for reads only."""
    with engine.connect() as conn, conn.begin():
        yield conn


@contextmanager
def writing(engine: sa.Engine, lock_key: str | None = None) -> Iterator[sa.Connection]:
    """A write transaction holding the write lock (SQLite) or ``lock_key``'s advisory lock."""
    if engine.dialect.name == "sqlite":
        with _SQLITE_WRITERS[engine], engine.connect() as conn:
            conn = conn.execution_options(ringfence_begin="IMMEDIATE")
            with conn.begin():
                yield conn
        return
    with engine.connect() as conn, conn.begin():
        if lock_key is not None:
            conn.execute(_ADVISORY_LOCK, {"k": lock_id(lock_key)})
        yield conn


@contextmanager
def raw(engine: sa.Engine, *, write: bool, lock_keys: list[str] | tuple[str, ...] = ()
        ) -> Iterator[Any]:
    """A driver cursor in a transaction, locked as :func:`writing` locks when ``write``.

    For the statements every decision runs (see :mod:`ringfence.ledger.hotpath`): SQLAlchemy's
    own work per statement costs several times what SQLite takes to answer it. On PostgreSQL a
    writer takes the advisory lock of each of ``lock_keys``, in sorted order so that two groups
    of numbers never wait for each other in a cycle.
    """
    sqlite = engine.dialect.name == "sqlite"
    with _SQLITE_WRITERS[engine] if sqlite and write else nullcontext():
        connection = engine.raw_connection()
        try:
            cursor = connection.cursor()
            if sqlite:
                cursor.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            elif write:
                for key in sorted(lock_keys):
                    cursor.execute("SELECT pg_advisory_xact_lock(%s)", (lock_id(key),))
            yield cursor
            connection.commit()
        except BaseException:
            connection.rollback()
            raise
        finally:
            connection.close()  # back to the pool


def migrate(engine: sa.Engine) -> None:
    """Bring the schema to the newest revision (a no-op when it is there already).

    Several processes may open the same ledger at once: the migration runs under the writer
    lock (SQLite) or a fixed advisory lock (PostgreSQL), so only one of them applies it.
    """
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    with writing(engine) as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(_ADVISORY_LOCK, {"k": _MIGRATION_LOCK})
        config.attributes["connection"] = conn
        command.upgrade(config, "head")


def revision(engine: sa.Engine) -> str | None:
    """The schema revision the database is at (None before the first migration)."""
    from alembic.runtime.migration import MigrationContext

    with reading(engine) as conn:
        return MigrationContext.configure(conn).get_current_revision()

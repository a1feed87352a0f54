"""The decision log: every decision as a line of JSON, each chained to the one before by hash.

A record holds ``seq`` (1, 2, ...), ``prev`` (the previous record's hash; 64 zeros for the first)
and ``hash``: SHA-256 of ``prev`` and the record's canonical JSON without ``hash``. Editing a record
breaks its hash; deleting one breaks the next record's ``prev`` and ``seq``. Dropping the *last*
records leaves a shorter valid chain: compare the head that ``/health`` reports (``log.head``)
with what you stored elsewhere to catch that.

Several processes may append to one log: each append holds an exclusive ``flock`` on the file,
reads what other processes added since its last append, and writes one line with one
``write(2)`` on an ``O_APPEND`` descriptor. The line is in the kernel before the decision is
answered, so killing the process cannot lose an answered decision (``fsync=True`` also survives a
power loss, at a cost per decision).

Rotation by size: when the file passes ``max_bytes``, the appender that notices renames it to
``<name>.<n>`` and starts a new file whose first line is a ``rotated`` record chained to the old
file's last, so ``verify`` follows the chain across files.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ringfence.service.jsonio import dumps

GENESIS = "0" * 64


def canonical(record: dict[str, Any]) -> bytes:
    """The bytes a record's hash is taken over: sorted keys, no spaces, UTF-8."""
    return dumps(record, sort_keys=True)


def chain_hash(record: dict[str, Any]) -> str:
    """The hash of a record (everything but its ``hash`` field)."""
    body = {k: v for k, v in record.items() if k != "hash"}
    return hashlib.sha256(record["prev"].encode() + canonical(body)).hexdigest()


def _last_line(fd: int, size: int) -> bytes:
    """The last full line of the file (without its newline), reading backwards from the end."""
    block = 65536
    end = size
    tail = b""
    while end > 0:
        start = max(0, end - block)
        tail = os.pread(fd, end - start, start) + tail
        end = start
        body = tail[:-1] if tail.endswith(b"\n") else tail
        if b"\n" in body or end == 0:
            return body.rsplit(b"\n", 1)[-1]
    return b""


def rotated_files(path: Path) -> list[Path]:
    """The rotated parts of a log, oldest first."""
    pattern = re.compile(re.escape(path.name) + r"\.(\d+)\Z")
    found = [(int(m.group(1)), p) for p in path.parent.glob(path.name + ".*")
             if (m := pattern.match(p.name))]
    return [p for _, p in sorted(found)]


class DecisionLog:
    """An append-only, hash-chained JSON Lines file (thread- and process-safe)."""

    def __init__(self, path: str | Path, *, max_bytes: int = 100 * 2**20, fsync: bool = False):
        self.path = Path(path)
        self.max_bytes = max_bytes
        self.fsync = fsync
        self._lock = threading.Lock()
        self._fd: int | None = None
        self._head: tuple[int, str] = (0, GENESIS)
        self._size = -1  # size of the file when this process last knew its head

    def _open(self) -> int:
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
        if self._fd is not None:
            os.close(self._fd)
        self._fd, self._size = fd, -1
        return fd

    def _locked_fd(self) -> int:
        """The descriptor of the current file, with the lock held (reopened after a rotation)."""
        fd = self._fd if self._fd is not None else self._open()
        while True:
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                if os.stat(self.path).st_ino == os.fstat(fd).st_ino:
                    return fd
            except FileNotFoundError:
                pass
            fcntl.flock(fd, fcntl.LOCK_UN)
            fd = self._open()

    def _catch_up(self, fd: int) -> None:
        size = os.fstat(fd).st_size
        if size != self._size:
            read = os.open(self.path, os.O_RDONLY)
            try:
                line = _last_line(read, size)
            finally:
                os.close(read)
            if line:
                last = json.loads(line)
                self._head = (last["seq"], last["hash"])
            self._size = size

    def _write(self, fd: int, records: tuple[dict[str, Any], ...]) -> list[dict[str, Any]]:
        seq, prev = self._head
        done, lines = [], []
        for record in records:
            seq += 1
            record = {**record, "seq": seq, "prev": prev}
            prev = record["hash"] = chain_hash(record)
            done.append(record)
            lines.append(canonical(record) + b"\n")
        data = b"".join(lines)
        while data:  # a regular file takes it in one write; the loop only guards a short write
            data = data[os.write(fd, data):]
        if self.fsync:
            os.fsync(fd)
        self._head = (seq, prev)
        self._size = os.fstat(fd).st_size
        return done

    def _rotate(self, fd: int) -> int:
        parts = rotated_files(self.path)
        number = int(parts[-1].name.rsplit(".", 1)[1]) + 1 if parts else 1
        fresh = self.path.with_name(f"{self.path.name}.new")
        new_fd = os.open(fresh, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_TRUNC, 0o640)
        fcntl.flock(new_fd, fcntl.LOCK_EX)
        os.rename(self.path, self.path.with_name(f"{self.path.name}.{number:06d}"))
        os.rename(fresh, self.path)
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
        self._fd = new_fd
        self._write(new_fd, ({"rotated": f"{self.path.name}.{number:06d}"},))
        return new_fd

    def append(self, *records: dict[str, Any]) -> list[dict[str, Any]]:
        """Chain the records to the log, in order, and write them; returns them with seq, prev
        and hash. A batch is written under one lock (rotation happens only between batches)."""
        with self._lock:
            fd = self._locked_fd()
            try:
                self._catch_up(fd)
                if self._size >= self.max_bytes:
                    fd = self._rotate(fd)
                return self._write(fd, records)
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)

    @property
    def head(self) -> dict[str, Any]:
        """The last record this process wrote or saw: its seq and hash."""
        seq, digest = self._head
        return {"seq": seq, "hash": digest}

    def close(self) -> None:
        """Close the file."""
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None


@dataclass
class Verified:
    """What ``verify`` found: records checked, the head, and the first problem (or None)."""

    records: int
    head: str
    problem: str | None = None


def verify(path: str | Path) -> Verified:
    """Check the chain of a log and its rotated parts, oldest first."""
    path = Path(path)
    files = [*rotated_files(path), path] if path.exists() else rotated_files(path)
    if not files:
        return Verified(0, GENESIS, f"{path}: no such log")
    seq, prev, count = 0, GENESIS, 0
    for file in files:
        with open(file, "rb") as lines:
            for number, line in enumerate(lines, start=1):
                place = f"{file}:{number}"
                try:
                    record = json.loads(line)
                except ValueError:
                    return Verified(count, prev, f"{place}: not a JSON record (edited or cut)")
                if not isinstance(record, dict) or not {"seq", "prev", "hash"} <= record.keys():
                    return Verified(count, prev, f"{place}: not a chained record")
                if record["prev"] != prev or record["seq"] != seq + 1:
                    return Verified(count, prev, f"{place}: record {record['seq']} does not follow "
                                    f"record {seq}: a record before it was deleted or reordered")
                if chain_hash(record) != record["hash"]:
                    return Verified(count, prev, f"{place}: record {record['seq']} was edited "
                                    "(its hash does not match its contents)")
                seq, prev, count = record["seq"], record["hash"], count + 1
    return Verified(count, prev)

"""The running policies and number lists, each replaced whole on reload: a policy that fails to
check, or a list file that fails to load, never goes live.

Lists are reloaded on their own (``PolicySet.replace_list``, an atomic swap) when their file
changed, without loading the policies again; loading the policies again reuses the lists already
loaded. One lock orders the two, so a reload of each never undoes the other.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ringfence.api import PolicySet, load
from ringfence.errors import InputError, RingfenceError
from ringfence.facts.numberlist import NumberList

logger = logging.getLogger("ringfence.service")


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True)
class Loaded:
    """One generation of policies: the set, its summary, when it was loaded."""

    policies: PolicySet
    summary: list[dict[str, Any]]
    loaded_at: str

    @property
    def purposes(self) -> frozenset[str]:
        """The purpose words the policies declare (uses purposes ...)."""
        return frozenset(w for p in self.policies.policies for w in p.purposes)


@dataclass(frozen=True)
class LoadedList:
    """A list as loaded: its table, the SHA-256 of the file's bytes, and the file's identity
    (inode, size, modification time) when it was read, by which a change is noticed."""

    table: NumberList
    sha256: str
    stamp: tuple[int, int, int]
    loaded_at: str

    def summary(self, path: str) -> dict[str, Any]:
        return {"file": path, "count": len(self.table), "sha256": self.sha256,
                "loaded_at": self.loaded_at}


def _stamp(path: Path) -> tuple[int, int, int]:
    found = os.stat(path)
    return found.st_ino, found.st_size, found.st_mtime_ns


def _digest(path: Path) -> str:
    with open(path, "rb") as data:
        return hashlib.file_digest(data, "sha256").hexdigest()


def _read_list(name: str, path: Path) -> LoadedList:
    """Load a list file; the stamp is taken first, so a file changed while it is read is read
    again at the next check."""
    try:
        stamp = _stamp(path)
        digest = _digest(path)
    except OSError as err:
        raise InputError(f"list {name}: cannot read {path}: {err.strerror}") from None
    return LoadedList(NumberList.from_file(path), digest, stamp, _now())


def _file_stamp(path: str) -> tuple[int, int, int] | None:
    try:
        return _stamp(Path(path))
    except OSError:
        return None  # gone or unreadable: a change, which the reload then names


def _policy_stamps(loaded: Loaded) -> dict[str, tuple[int, int, int] | None]:
    """The identity of each file the policies were loaded from, by which a change is noticed."""
    return {p.path: _file_stamp(p.path) for p in loaded.policies.policies}


def _load(refs: tuple[str, ...], tables: Mapping[str, NumberList]) -> Loaded:
    policies = load(*refs, lists=dict(tables))
    summary = [{"id": p.id, "version": p.version, "hash": p.hash} for p in policies.policies]
    return Loaded(policies, summary, _now())


class PolicyHolder:
    """Holds the live generation and lists; ``reload`` and ``reload_lists`` swap in new ones
    only if they load and check."""

    def __init__(self, refs: tuple[str, ...], lists: Mapping[str, str]):
        self.refs = refs
        self.files = {name: Path(path) for name, path in lists.items()}
        self.lists = {name: _read_list(name, path) for name, path in self.files.items()}
        self.current = _load(refs, self._tables())
        self._policy_files = _policy_stamps(self.current)
        self.last_error: str | None = None
        #: why the last reload of each list failed (the running list stayed)
        self.list_errors: dict[str, str] = {}
        self._reloading = threading.Lock()

    def _tables(self) -> dict[str, NumberList]:
        return {name: loaded.table for name, loaded in self.lists.items()}

    def reload(self) -> bool:
        """Load the policies again (with the lists loaded now); on any error keep the running
        ones and record why."""
        with self._reloading:
            try:
                fresh = _load(self.refs, self._tables())
            except RingfenceError as err:
                self.last_error = str(err)
                logger.error("policy reload failed; the running policies stay: %s", err)
                return False
            # The error cleared first: whoever sees the new set sees it with no error (the
            # other order let /health show the new set beside the error it replaced).
            self.last_error = None
            # one reference assignment: a request sees the old set or the new one, never a mix
            self.current = fresh
            self._policy_files = _policy_stamps(fresh)
            logger.info("policies reloaded: %s", fresh.summary)
            return True

    def policies_changed(self) -> bool:
        """Whether a file of the running policies changed since they were loaded (or since the
        last look, so a file that fails to load is tried again only when it changes again)."""
        now = {path: _file_stamp(path) for path in self._policy_files}
        if now == self._policy_files:
            return False
        self._policy_files = now
        return True

    def reload_lists(self) -> list[str]:
        """Load again each list whose file changed (a new content hash) and swap it into the
        running policies; a list that fails to load keeps the running one. Returns the names
        of the lists replaced."""
        replaced = []
        with self._reloading:
            for name, path in self.files.items():
                running = self.lists[name]
                try:
                    if _stamp(path) == running.stamp:
                        continue
                except OSError:
                    pass  # gone or unreadable: _read_list names the cause
                try:
                    fresh = _read_list(name, path)
                    if fresh.sha256 != running.sha256:
                        self.current.policies.replace_list(name, fresh.table)
                        replaced.append(name)
                        logger.info("list %s reloaded: %d numbers, sha256 %s", name,
                                    len(fresh.table), fresh.sha256)
                except RingfenceError as err:
                    message = str(err)
                    if self.list_errors.get(name) != message:
                        logger.error("list reload failed; the running list stays: %s", message)
                    self.list_errors[name] = message
                    continue
                self.lists[name] = fresh  # same content under a new stamp: not read again
                self.list_errors.pop(name, None)
        return replaced

    def list_summary(self) -> dict[str, dict[str, Any]]:
        """Each running list: its file, count, SHA-256 and load time, and the last error."""
        out = {}
        for name, loaded in self.lists.items():
            out[name] = {**loaded.summary(str(self.files[name])),
                         "last_reload_error": self.list_errors.get(name)}
        return out

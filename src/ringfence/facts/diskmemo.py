"""Answers of a costly pure function kept on disk between processes (:class:`DiskMemo`).

A command run once per campaign list would otherwise work the same answers out again in every
process. The file's name hashes everything the answers depend on (the ``version`` given: a
library's version, the code that works them out), so a changed dependency reads a new, empty
file instead of stale answers.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable
from pathlib import Path

from ringfence.cachefiles import cache_dir, write_cache_file

__all__ = ["DiskMemo"]


class DiskMemo:
    """Integer answers by text key: read from the cache folder on first use, worked out when
    missing, and written back (merged with what other processes wrote meanwhile) by
    :meth:`save`. Thread-safe."""

    def __init__(self, name: str, version: bytes) -> None:
        self._name = f"{name}-{hashlib.sha256(version).hexdigest()[:16]}.json"
        self._known: dict[str, int] | None = None
        self._added = False
        self._lock = threading.Lock()

    @property
    def path(self) -> Path:
        """The cache file (the folder is read when asked: tests and tools may change it)."""
        return cache_dir() / self._name

    def _read(self) -> dict[str, int]:
        """The answers in the cache file; none when it is missing or not one of these files."""
        try:
            data = json.loads(self.path.read_bytes())
        except (OSError, ValueError):
            return {}
        if not isinstance(data, dict):
            return {}
        return {key: value for key, value in data.items()
                if isinstance(value, int) and not isinstance(value, bool)}

    def get(self, key: str, compute: Callable[[], int]) -> int:
        """The answer for ``key``: as kept, else ``compute()`` (then kept)."""
        known = self._known
        if known is None:
            with self._lock:
                if self._known is None:
                    self._known = self._read()
                known = self._known
        found = known.get(key)
        if found is None:
            found = compute()
            with self._lock:
                known[key] = found
                self._added = True
        return found

    def save(self) -> None:
        """Write the answers worked out here to the cache file, when there are any (a folder
        that cannot be written keeps them in memory only)."""
        with self._lock:
            if not self._added or self._known is None:
                return
            merged = {**self._read(), **self._known}
            self._known, self._added = merged, False
        write_cache_file(self.path, json.dumps(merged, sort_keys=True).encode())

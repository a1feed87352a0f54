"""The running policies, replaced whole on reload: a policy that fails to check never goes live."""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ringfence.api import PolicySet, load
from ringfence.errors import RingfenceError

logger = logging.getLogger("ringfence.service")


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


def _load(refs: tuple[str, ...], lists: Mapping[str, str]) -> Loaded:
    policies = load(*refs, lists=dict(lists))
    summary = [{"id": p.id, "version": p.version, "hash": p.hash} for p in policies.policies]
    return Loaded(policies, summary, dt.datetime.now(dt.UTC).isoformat().replace("+00:00", "Z"))


class PolicyHolder:
    """Holds the live generation; ``reload`` swaps in a new one only if it loads and checks."""

    def __init__(self, refs: tuple[str, ...], lists: Mapping[str, str]):
        self.refs = refs
        self.lists = dict(lists)
        self.current = _load(refs, self.lists)
        self.last_error: str | None = None
        self._reloading = threading.Lock()

    def reload(self) -> bool:
        """Load the policies again; on any error keep the running ones and record why."""
        with self._reloading:
            try:
                fresh = _load(self.refs, self.lists)
            except RingfenceError as err:
                self.last_error = str(err)
                logger.error("policy reload failed; the running policies stay: %s", err)
                return False
            # one reference assignment: a request sees the old set or the new one, never a mix
            self.current = fresh
            self.last_error = None
            logger.info("policies reloaded: %s", fresh.summary)
            return True

"""What ``ringfence serve`` runs with; passed to each worker process as JSON."""

from __future__ import annotations

import ipaddress
import json
import os
from dataclasses import asdict, dataclass, field

from ringfence.errors import InputError

ENV = "RINGFENCE_SERVE_CONFIG"


@dataclass
class ServiceConfig:
    """Settings of the decision service."""

    policies: tuple[str, ...]
    lists: dict[str, str] = field(default_factory=dict)
    ledger: str | None = None
    key_file: str | None = None
    seller: str | None = None
    tokens: str | None = None
    insecure_local: bool = False
    host: str = "127.0.0.1"
    max_body: int = 1 << 20
    max_batch: int = 10_000
    log: str | None = None
    log_max_bytes: int = 100 << 20
    log_fsync: bool = False
    retention_days: float | None = None
    # how often the list files are looked at for a change (seconds; 0: only on SIGHUP)
    list_check_s: float = 2.0
    # how often the policy files are looked at for a change (seconds; 0: only on SIGHUP)
    policy_check_s: float = 2.0

    def check(self) -> None:
        """Refuse settings that would serve without authentication off the loopback."""
        if not self.policies:
            raise InputError("give --policy PATH_OR_ID (repeatable)")
        if self.retention_days is not None and not self.ledger:
            raise InputError("--retention-days needs a --ledger to purge")
        if self.insecure_local:
            if not is_loopback(self.host):
                raise InputError(f"--insecure-local serves only on a loopback address, "
                                 f"not --host {self.host}")
        elif not self.tokens:
            raise InputError("give a token file (made by `ringfence token new`), or "
                             "insecure_local to serve without tokens on loopback")

    def to_env(self) -> str:
        """The settings as JSON for the environment of worker processes."""
        return json.dumps(asdict(self))

    @classmethod
    def from_env(cls) -> ServiceConfig:
        """The settings a worker process was started with."""
        data = json.loads(os.environ[ENV])
        data["policies"] = tuple(data["policies"])
        return cls(**data)


def is_loopback(host: str | None) -> bool:
    """Whether ``host`` is a loopback address (or ``localhost``)."""
    if host is None:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False

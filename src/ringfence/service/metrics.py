"""Prometheus metrics of the service, in a registry of its own (one per app)."""

from __future__ import annotations

from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Histogram


@dataclass
class Metrics:
    """Counters and latency of the decisions served."""

    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        self.decisions = Counter("ringfence_decisions", "Decisions made", ["decision", "reserved"],
                                 registry=self.registry)
        self.requests = Counter("ringfence_http_requests", "HTTP requests answered",
                                ["endpoint", "status"], registry=self.registry)
        self.latency = Histogram(
            "ringfence_request_seconds", "Time to answer a request", ["endpoint"],
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0),
            registry=self.registry)
        self.groups = Counter("ringfence_reserve_groups",
                              "Ledger transactions that reserved (each for a group of requests)",
                              registry=self.registry)
        self.reloads = Counter("ringfence_policy_reloads", "Policy reloads", ["result"],
                               registry=self.registry)

"""What the sandbox did: requests per endpoint, refusals, injected faults, changes and webhooks.

Writes count like every request, by method and route (``POST /products``, ``PUT /products/{id}``).

Tests and benchmarks read ``snapshot()`` (a plain, JSON-ready dict) and call ``reset()`` between
phases. ``request_times`` holds the clock reading of every request, for measuring the rate a client
actually achieved.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

Endpoint = tuple[str, str]  # (method, route), e.g. ("GET", "/orders") or ("GET", "/orders/{id}")
UNROUTED = "(no route)"


@dataclass
class Counters:
    requests: Counter[Endpoint] = field(default_factory=Counter)
    statuses: Counter[int] = field(default_factory=Counter)
    request_times: list[float] = field(default_factory=list)
    throttled: int = 0  # 429s sent, by the bucket or the burst fault
    server_errors: int = 0  # 5xx sent by the error fault
    hangs: int = 0
    truncated: int = 0
    malformed: int = 0
    lost_answers: int = 0  # writes that landed but were answered 502/504 (the lost_write_answers fault)
    mutations: Counter[str] = field(default_factory=Counter)  # touch, insert, delete
    webhooks: Counter[str] = field(default_factory=Counter)  # sent, duplicated, dropped, failed

    @property
    def total(self) -> int:
        return sum(self.requests.values())

    def request(self, method: str, route: str, at: float) -> None:
        self.requests[(method, route)] += 1
        self.request_times.append(at)

    def answered(self, status: int) -> None:
        self.statuses[status] += 1

    def snapshot(self) -> dict[str, Any]:
        return {
            "requests": {f"{method} {route}": n for (method, route), n in sorted(self.requests.items())},
            "total": self.total,
            "statuses": {str(status): n for status, n in sorted(self.statuses.items())},
            "throttled": self.throttled,
            "server_errors": self.server_errors,
            "hangs": self.hangs,
            "truncated": self.truncated,
            "malformed": self.malformed,
            "lost_answers": self.lost_answers,
            "mutations": {kind: self.mutations[kind] for kind in ("touch", "insert", "delete")},
            "webhooks": {kind: self.webhooks[kind] for kind in ("sent", "duplicated", "dropped", "failed")},
            "request_times": list(self.request_times),
        }

    def reset(self) -> None:
        self.requests.clear()
        self.statuses.clear()
        self.request_times.clear()
        self.throttled = self.server_errors = self.hangs = self.truncated = self.malformed = 0
        self.lost_answers = 0
        self.mutations.clear()
        self.webhooks.clear()

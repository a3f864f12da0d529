"""When a failed provider call is tried again, and how long Mercator waits before it does.

Retried: 429, 500, 502, 503, 504, timeouts, connection errors and bodies that are not complete JSON.
Any other 4xx fails at once: asking again will not change the answer. Waits use full jitter (a
uniform draw up to the exponential backoff) so that workers that failed together do not retry
together; a provider's ``Retry-After`` replaces the draw, up to ``max_retry_after``.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})

Sleep = Callable[[float], Awaitable[None]]


def retryable_status(status: int) -> bool:
    return status in RETRYABLE_STATUSES


@dataclass
class RetryPolicy:
    """``max_attempts`` counts the first try; ``sleep`` and ``rng`` are injectable for tests."""

    max_attempts: int = 5
    base_delay: float = 0.5
    max_delay: float = 30.0
    max_retry_after: float = 120.0
    rng: random.Random = field(default_factory=random.Random)
    sleep: Sleep = asyncio.sleep

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, not {self.max_attempts}")
        for name in ("base_delay", "max_delay", "max_retry_after"):
            if not getattr(self, name) >= 0:
                raise ValueError(f"{name} must be zero or more seconds, not {getattr(self, name)!r}")

    def backoff(self, attempt: int) -> float:
        """A full-jitter wait after failed attempt ``attempt`` (0 for the first try)."""
        return self.rng.uniform(0, min(self.max_delay, self.base_delay * 2.0 ** min(attempt, 64)))

    def too_long(self, retry_after: float | None) -> bool:
        """True when the provider asks for a longer wait than Mercator is willing to spend in one call."""
        return retry_after is not None and retry_after > self.max_retry_after

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """How long to wait before the next attempt: the provider's ``Retry-After``, else a backoff."""
        return retry_after if retry_after is not None else self.backoff(attempt)

    def gives_up(self, attempt: int) -> bool:
        """True when attempt ``attempt`` (0-based) was the last one allowed."""
        return attempt + 1 >= self.max_attempts

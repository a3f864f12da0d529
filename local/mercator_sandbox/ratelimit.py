"""A store's request budget: a leaky bucket, the way Shopify (and Salla) describe theirs.

Each admitted request adds one to the bucket; the bucket drains at ``rate`` requests per second and
holds at most ``burst``. A request that would overflow it is refused with the time until it would
fit. Refused requests add nothing (Shopify does not count them either). Time comes from the
injected clock only, so a test can step through a burst, a refusal and the refill exactly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field

from mercator_sandbox.timebase import Clock

# Float drift from repeated leaks must not refuse a request that fits exactly.
_EPSILON = 1e-9


class RateLimitConfig(BaseModel):
    """A per-store budget: ``rate`` requests per second sustained, ``burst`` at once."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rate: float = Field(gt=0, le=100_000, description="requests per second the bucket drains")
    burst: int = Field(ge=1, le=1_000_000, description="requests the bucket holds (the burst allowed)")


@dataclass(frozen=True)
class Admission:
    """What the bucket said about one request."""

    allowed: bool
    level: float  # requests in the bucket after this one
    capacity: int
    rate: float
    retry_after: float  # seconds until one more request fits; 0 when it fits now

    @property
    def used(self) -> int:
        """The fill as a whole number of calls (Shopify's ``n`` in ``n/40``)."""
        return min(self.capacity, math.ceil(self.level - _EPSILON))

    @property
    def remaining(self) -> int:
        return max(0, math.floor(self.capacity - self.level + _EPSILON))

    @property
    def drained_in(self) -> float:
        """Seconds until the bucket is empty again."""
        return self.level / self.rate


class LeakyBucket:
    def __init__(self, config: RateLimitConfig, clock: Clock) -> None:
        self.config = config
        self._clock = clock
        self._level = 0.0
        self._last = clock()

    def admit(self) -> Admission:
        """Count one request if it fits; otherwise say how long until it would."""
        level = self._leak()
        capacity = self.config.burst
        if level + 1 <= capacity + _EPSILON:
            self._level = level + 1
            return Admission(True, self._level, capacity, self.config.rate, 0.0)
        wait = (level + 1 - capacity) / self.config.rate
        return Admission(False, level, capacity, self.config.rate, wait)

    def _leak(self) -> float:
        now = self._clock()
        elapsed = max(0.0, now - self._last)
        self._last = now
        self._level = max(0.0, self._level - elapsed * self.config.rate)
        return self._level

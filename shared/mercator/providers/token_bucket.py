"""The in-process RateLimiter: a token bucket shared by every task of one process."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from mercator.domain.rate_limits import RateSignal

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]

# Float sums of small waits fall short of a whole token by ~1e-16; that must not cost another sleep.
_EPSILON = 1e-9


class TokenBucket:
    """``rate`` tokens per second, at most ``capacity`` saved up; one token per request.

    The default capacity of 1 paces calls evenly, like the shared bucket: a provider whose own bucket
    holds about one second of calls stays clear of 429s only when Mercator never bursts into it.

    Callers are served in arrival order: they queue on a FIFO lock and only the head of the queue
    sleeps, for exactly as long as its token (or a provider's hold) needs, so there is no busy loop.
    A bucket belongs to the event loop that first waits on it (one per Lambda invocation).
    """

    def __init__(
        self,
        rate: float,
        capacity: float = 1,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if not rate > 0:
            raise ValueError(f"rate must be a positive number of requests per second, not {rate!r}")
        if not capacity >= 1:
            raise ValueError(f"capacity must be at least 1 token, not {capacity!r}")
        self._rate = float(rate)
        self._capacity = float(capacity)
        self._clock = clock
        self._sleep = sleep
        self._tokens = self._capacity
        self._updated = clock()
        self._hold_until = float("-inf")
        self._queue = asyncio.Lock()

    @property
    def rate(self) -> float:
        return self._rate

    @property
    def capacity(self) -> float:
        return self._capacity

    @property
    def hold_until(self) -> float | None:
        """Clock time until which every caller is held, or None when no hold is in force."""
        return self._hold_until if self._hold_until > self._clock() else None

    async def acquire(self) -> None:
        async with self._queue:
            while True:
                now = self._clock()
                self._refill(now)
                wait = max(self._hold_until - now, (1 - self._tokens) / self._rate)
                if wait <= _EPSILON:
                    self._tokens -= 1
                    return
                # Re-checked after waking: a hold set meanwhile must delay this caller too.
                await self._sleep(wait)

    async def observe(self, signal: RateSignal) -> None:
        now = self._clock()
        if signal.retry_after is not None:
            self._hold(now + signal.retry_after)
        elif signal.remaining is not None and signal.remaining <= 1:
            pause = signal.reset_after if signal.reset_after is not None else 1 / self._rate
            self._hold(now + pause)

    def _refill(self, now: float) -> None:
        if now > self._updated:
            self._tokens = min(self._capacity, self._tokens + (now - self._updated) * self._rate)
            self._updated = now

    def _hold(self, until: float) -> None:
        if until <= self._hold_until or until <= self._clock():
            return
        self._hold_until = until
        # The provider's budget is spent: the hold ends with one token, not with everything saved up
        # while waiting, since a burst right after a refusal would only earn another one.
        self._tokens = 1.0
        self._updated = until

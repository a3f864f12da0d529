"""The retries Mercator's AWS adapters make on top of boto3's: one backoff formula, one bounded loop.

boto3 retries a request that failed as a whole. What it cannot retry is a request that succeeded in
part (BatchWriteItem's unprocessed items, SendMessageBatch's failed entries, PutEvents' refused
entries) or that lost a race (a conditional write, a transaction conflict): the adapter sends those
again itself, through ``Retries`` (or ``AsyncRetries`` on an event loop).

Waits grow exponentially with a cap: before retry ``n`` (0 for the first), up to ``min(cap, base *
2**n)``. Each adapter keeps its own bounds (attempts, base, cap), since a rate bucket race is over in
milliseconds and a throttled batch write in seconds. ``sleep`` and ``rng`` are injectable, so tests
run without waiting and draw the same delays every time.
"""

from __future__ import annotations

import asyncio
import math
import random
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Literal, get_args

Jitter = Literal["full", "equal", "none"]
JITTERS: tuple[Jitter, ...] = get_args(Jitter)

# 2**64 times any base is beyond every cap; a larger exponent would only overflow the float.
_MAX_EXPONENT = 64


@dataclass(frozen=True, kw_only=True)
class Backoff:
    """How long to wait before retry ``n``: a draw up to ``min(cap, base * 2**n)``.

    ``jitter`` says which part of that ceiling is drawn from: ``full``, from 0 (the default: callers
    that failed together spread out the most); ``equal``, from half of it, for a caller that must
    wait at least some time; ``none``, the ceiling itself, for a caller that must wait exactly.
    """

    base: float
    cap: float
    jitter: Jitter = "full"
    rng: random.Random = field(default_factory=random.Random, repr=False, compare=False)

    def __post_init__(self) -> None:
        for name, value in (("base", self.base), ("cap", self.cap)):
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"a backoff's {name} must be a finite number of seconds >= 0, got {value!r}")
        if self.jitter not in JITTERS:
            raise ValueError(f"jitter must be one of {', '.join(JITTERS)}, got {self.jitter!r}")

    def ceiling(self, retry: int) -> float:
        """The longest wait before retry ``retry`` (0 for the first)."""
        if retry < 0:
            raise ValueError(f"retry must be 0 or more, got {retry!r}")
        return min(self.cap, self.base * 2.0 ** min(retry, _MAX_EXPONENT))

    def delay(self, retry: int) -> float:
        """The wait before retry ``retry`` (0 for the first), drawn according to ``jitter``."""
        ceiling = self.ceiling(retry)
        if self.jitter == "none":
            return ceiling
        return self.rng.uniform(ceiling / 2 if self.jitter == "equal" else 0.0, ceiling)


def _check_attempts(max_attempts: int) -> None:
    if max_attempts < 1:
        raise ValueError(f"max_attempts must be at least 1, got {max_attempts!r}")


@dataclass(frozen=True, kw_only=True)
class Retries:
    """``for attempt in retries:`` runs at most ``max_attempts`` times (``attempt`` counts from 0),
    sleeping ``backoff`` before every attempt but the first; the loop body ends it when it succeeds.

    Nothing is slept after the last attempt, so a caller that runs out raises at once.
    """

    max_attempts: int
    backoff: Backoff
    sleep: Callable[[float], None] = time.sleep

    def __post_init__(self) -> None:
        _check_attempts(self.max_attempts)

    def __iter__(self) -> Iterator[int]:
        for attempt in range(self.max_attempts):
            if attempt:
                self.sleep(self.backoff.delay(attempt - 1))
            yield attempt

    def last(self, attempt: int) -> bool:
        """True when attempt ``attempt`` (0-based) is the last one allowed."""
        return attempt + 1 >= self.max_attempts


@dataclass(frozen=True, kw_only=True)
class AsyncRetries:
    """``Retries`` for a caller on an event loop: ``async for attempt in retries:``."""

    max_attempts: int
    backoff: Backoff
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep

    def __post_init__(self) -> None:
        _check_attempts(self.max_attempts)

    def __aiter__(self) -> _AsyncAttempts:
        return _AsyncAttempts(self)

    def last(self, attempt: int) -> bool:
        """True when attempt ``attempt`` (0-based) is the last one allowed."""
        return attempt + 1 >= self.max_attempts


class _AsyncAttempts:
    # A plain async iterator rather than an async generator: a loop left by ``return`` leaves no
    # suspended generator behind for the event loop to finalize.

    def __init__(self, retries: AsyncRetries) -> None:
        self._retries = retries
        self._next = 0

    def __aiter__(self) -> _AsyncAttempts:
        return self

    async def __anext__(self) -> int:
        attempt = self._next
        if attempt >= self._retries.max_attempts:
            raise StopAsyncIteration
        if attempt:
            await self._retries.sleep(self._retries.backoff.delay(attempt - 1))
        self._next = attempt + 1
        return attempt

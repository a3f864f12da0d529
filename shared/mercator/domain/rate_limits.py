"""The rate-limiter contract every provider call goes through, and what providers tell us about it.

A provider's budget (``syncConfiguration.rateLimitPerSecond``) belongs to the store, not to one caller:
every concurrent Lambda of an integration draws on it. Two limiters fulfil this contract: an in-process
token bucket (one process, tests, the CLI) and a bucket shared through DynamoDB (every Lambda of one
integration). Both also pause when the provider signals that its own budget is spent.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class RateSignal:
    """What one response said about the provider's budget; None where it said nothing.

    ``remaining``: calls left before the provider refuses (``X-RateLimit-Remaining``, Shopify's
    ``X-Shopify-Shop-Api-Call-Limit`` as capacity minus used, BigCommerce's ``-Requests-Left``);
    ``reset_after``: seconds until that budget refills; ``retry_after``: seconds the provider asked
    every caller to wait (``Retry-After`` on a 429 or 503); ``limit``: the size of the budget.
    """

    remaining: float | None = None
    reset_after: float | None = None
    retry_after: float | None = None
    limit: float | None = None

    @property
    def empty(self) -> bool:
        return self.remaining is None and self.retry_after is None


class RateLimiter(Protocol):
    """Paces the calls of one integration so that together they stay within its rate."""

    @property
    def rate(self) -> float:
        """Requests per second this limiter allows across all its callers."""
        ...

    async def acquire(self) -> None:
        """Wait until one request may be sent, then count it."""
        ...

    async def observe(self, signal: RateSignal) -> None:
        """Adapt to a provider's signal: hold every caller back until its budget refills."""
        ...

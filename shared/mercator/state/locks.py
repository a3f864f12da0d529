"""Lease locks in the state table: one holder at a time across every concurrent Lambda.

One item per lock::

    pk  LOCK#<name>   sk  LOCK
    owner       S   who holds it (a random id per attempt)
    expires_at  N   epoch milliseconds; past it, anyone may take the lock over
    ttl         N   epoch seconds, an hour after the lease ends, so idle locks disappear

A lease, not a plain flag: a holder that dies (a Lambda timing out mid-refresh) would otherwise keep
the lock forever. Taking and releasing are single conditional writes, so two callers can never both
hold a live lease. Releasing is conditional on the owner, so a holder whose lease ran out cannot
release the lock another caller has taken over since.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from mercator.state.dynamo import (
    PARTITION_KEY,
    TTL,
    ConditionFailedError,
    DynamoDBClient,
    Expression,
    Item,
    Table,
    key,
    n,
    s,
)

SORT = "LOCK"
_IDLE_EXPIRY_SECONDS = 3600


def lock_key(name: str) -> Item:
    return key(f"LOCK#{name}", SORT)


class DynamoLeaseLock:
    """Named lease locks over the state table; ``clock`` gives epoch seconds."""

    def __init__(
        self, client: DynamoDBClient, table_name: str, *, clock: Callable[[], float] = time.time
    ) -> None:
        self._table = Table(client, table_name)
        self._clock = clock

    def acquire(self, name: str, owner: str, lease_seconds: float) -> bool:
        """Take lock ``name`` for ``lease_seconds`` unless someone else holds a live lease; True if taken.

        The holder may call it again to extend its own lease.
        """
        _check(name, owner)
        if not 0 < lease_seconds <= _IDLE_EXPIRY_SECONDS:
            raise ValueError(
                f"lease_seconds must be above 0 and at most {_IDLE_EXPIRY_SECONDS}, not {lease_seconds}"
            )
        now = self._clock()
        until_ms = math.ceil((now + lease_seconds) * 1000)
        update = (
            Expression()
            .set("owner", s(owner))
            .set("expires_at", n(until_ms))
            .set(TTL, n(math.ceil(now + lease_seconds) + _IDLE_EXPIRY_SECONDS))
        )
        expires_at = update.name("expires_at")
        condition = (
            f"attribute_not_exists({update.name(PARTITION_KEY)}) "
            f"OR {expires_at} <= {update.value(n(math.floor(now * 1000)))} "
            f"OR {update.name('owner')} = {update.value(s(owner))}"
        )
        try:
            self._table.update(lock_key(name), update, condition)
        except ConditionFailedError:
            return False
        return True

    def release(self, name: str, owner: str) -> bool:
        """End ``owner``'s lease of lock ``name`` at once; False when it no longer held it."""
        _check(name, owner)
        update = Expression().set("expires_at", n(0))
        condition = f"{update.name('owner')} = {update.value(s(owner))}"
        try:
            self._table.update(lock_key(name), update, condition)
        except ConditionFailedError:
            return False
        return True

    def holder(self, name: str) -> str | None:
        """The owner of a live lease on ``name``, or None when nobody holds it."""
        item = self._table.get(lock_key(name))
        if item is None or int(item["expires_at"]["N"]) <= math.floor(self._clock() * 1000):
            return None
        owner = item["owner"]["S"]
        return owner if isinstance(owner, str) else None


def _check(name: str, owner: str) -> None:
    if not name:
        raise ValueError("a lock name must not be empty")
    if not owner:
        raise ValueError("a lock owner must not be empty")

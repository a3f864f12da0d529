"""The nonces of OAuth install states, so that each state is accepted once.

One item per state handed out::

    pk  OAUTHNONCE#<nonce>   sk  OAUTHNONCE
    expires_at  N   epoch seconds: the state is refused after it
    consumed    BOOL
    ttl         N   epoch seconds, an hour after expiry, so used and abandoned nonces disappear

Consuming is one conditional write: of two callbacks presenting the same state at once, exactly one
gets it.
"""

from __future__ import annotations

import re
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
    boolean,
    key,
    n,
)

SORT = "OAUTHNONCE"
_NONCE = re.compile(r"^[A-Za-z0-9_-]{16,128}$")
_KEEP_SECONDS = 3600


def nonce_key(nonce: str) -> Item:
    return key(f"OAUTHNONCE#{nonce}", SORT)


class DynamoOAuthNonces:
    """Records install-state nonces and consumes each at most once; ``clock`` gives epoch seconds."""

    def __init__(
        self, client: DynamoDBClient, table_name: str, *, clock: Callable[[], float] = time.time
    ) -> None:
        self._table = Table(client, table_name)
        self._clock = clock

    def record(self, nonce: str, expires_at: int) -> None:
        """Remember a new nonce, valid until ``expires_at`` (epoch seconds)."""
        _check(nonce)
        update = (
            Expression()
            .set("expires_at", n(expires_at))
            .set("consumed", boolean(False))
            .set(TTL, n(expires_at + _KEEP_SECONDS))
        )
        # A random nonce never repeats; should one, the first state keeps it rather than being renewed.
        condition = f"attribute_not_exists({update.name(PARTITION_KEY)})"
        try:
            self._table.update(nonce_key(nonce), update, condition)
        except ConditionFailedError:
            raise ValueError("this nonce was handed out already; make a new one") from None

    def consume(self, nonce: str) -> bool:
        """Use the nonce up; False when it is unknown, already used or expired."""
        if not _NONCE.fullmatch(nonce):
            return False
        update = Expression().set("consumed", boolean(True))
        condition = (
            f"attribute_exists({update.name(PARTITION_KEY)}) "
            f"AND {update.name('consumed')} = {update.value(boolean(False))} "
            f"AND {update.name('expires_at')} > {update.value(n(int(self._clock())))}"
        )
        try:
            self._table.update(nonce_key(nonce), update, condition)
        except ConditionFailedError:
            return False
        return True


def _check(nonce: str) -> None:
    if not _NONCE.fullmatch(nonce):
        raise ValueError("a nonce is 16 to 128 URL-safe characters (letters, digits, - and _)")

"""The rate bucket every concurrent Lambda of one integration shares through DynamoDB.

One item per integration in the single-table state table (partition key ``pk``, sort key ``sk``)::

    pk       S  "INTEGRATION#<integration_id>"
    sk       S  "RATE_BUCKET"
    tat      N  theoretical arrival time: epoch seconds, stored at full float precision
    version  N  bumped by every write; writes are conditional on the version read
    ttl      N  epoch seconds, an hour after the later of now and ``tat``, so idle buckets expire

Pacing is GCRA (the generic cell rate algorithm) with reservations. With emission interval
``T = 1/rate`` and burst tolerance ``tau = (capacity - 1) * T``, a caller reading ``tat`` at ``now``
owns the slot ``max(now, tat - tau)`` and writes ``max(tat, now) + T``. Exactly one conditional write
per granted request; the caller then sleeps locally until its slot, so nobody polls the table.

Because ``tat`` grows by at least ``T`` with every grant and no slot precedes ``tat - tau``, any
``k`` grants span at least ``(k - 1) * T - tau``: over any window ``w`` the integration's workers
together get at most ``rate * w + capacity`` slots. After idleness, the first ``floor(capacity)``
requests go back to back. The bound holds whatever clock each worker reads; clock skew between
machines only shifts when a worker acts on the slot it owns.

A provider's signal (``Retry-After``, an exhausted budget) pushes ``tat`` so that the next slot of
every worker is no earlier than the end of the hold; a hold never moves ``tat`` backwards.
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from mercator.domain.errors import RateBucketUnavailable
from mercator.domain.rate_limits import RateSignal
from mercator.state.aws_retry import AsyncRetries, Backoff
from mercator.state.dynamo import DynamoDBClient, error_code

PARTITION_KEY = "pk"
SORT_KEY = "sk"
BUCKET_SORT_KEY = "RATE_BUCKET"
IDLE_EXPIRY_SECONDS = 3600

_CONFLICT = "ConditionalCheckFailedException"
_THROTTLING = frozenset(
    {"ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded"}
)
# On top of boto3's own retries: a worker waits for the bucket, so it should rarely give up on it.
_THROTTLE_ATTEMPTS = 4
_THROTTLE_BASE_DELAY = 0.05
_THROTTLE_MAX_DELAY = 0.2  # the third retry's ceiling: 0.05 s doubled twice
# Conflicting writers are other workers of the same integration; a few milliseconds spread them out.
_CONFLICT_BASE_DELAY = 0.001
_CONFLICT_MAX_DELAY = 0.01

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class _BucketState:
    tat: float
    version: int  # 0: the item does not exist yet


class SharedRateBucket:
    """Paces all workers of one integration to ``rate`` requests per second through one DynamoDB item.

    ``capacity`` is how many requests may go back to back after idleness (1: no burst).
    ``max_conflicts`` is how many lost races in a row one call tolerates before giving up.
    """

    def __init__(
        self,
        dynamodb_client: DynamoDBClient,
        table_name: str,
        integration_id: str,
        rate: float,
        *,
        capacity: float = 1,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        max_conflicts: int = 50,
        jitter: random.Random | None = None,
    ) -> None:
        if not table_name:
            raise ValueError("table_name must name the state table")
        if not integration_id:
            raise ValueError("integration_id must not be empty")
        if not (math.isfinite(rate) and rate > 0):
            raise ValueError(f"rate must be a positive number of requests per second, got {rate!r}")
        if not (math.isfinite(capacity) and capacity >= 1):
            raise ValueError(f"capacity must be a number of requests of at least 1, got {capacity!r}")
        if max_conflicts < 1:
            raise ValueError(f"max_conflicts must be at least 1, got {max_conflicts!r}")
        self._client = dynamodb_client
        self._table = table_name
        self._integration_id = integration_id
        self._rate = float(rate)
        self._capacity = float(capacity)
        self._interval = 1.0 / self._rate
        self._tolerance = (self._capacity - 1.0) * self._interval
        self._clock = clock
        self._sleep = sleep
        rng = jitter or random.Random()
        self._conflict_retries = AsyncRetries(
            max_attempts=max_conflicts,
            backoff=Backoff(base=_CONFLICT_BASE_DELAY, cap=_CONFLICT_MAX_DELAY, rng=rng),
            sleep=sleep,
        )
        self._throttle_retries = AsyncRetries(
            max_attempts=_THROTTLE_ATTEMPTS,
            backoff=Backoff(base=_THROTTLE_BASE_DELAY, cap=_THROTTLE_MAX_DELAY, rng=rng),
            sleep=sleep,
        )
        self._key = {
            PARTITION_KEY: {"S": f"INTEGRATION#{integration_id}"},
            SORT_KEY: {"S": BUCKET_SORT_KEY},
        }

    @property
    def rate(self) -> float:
        return self._rate

    @property
    def capacity(self) -> float:
        return self._capacity

    async def acquire(self) -> None:
        """Reserve the integration's next slot, then wait until it comes."""
        # Rounded up so that float rounding never lets a slot come a hair early.
        new_tat = await self._advance(
            lambda tat, now: math.nextafter(max(tat, now) + self._interval, math.inf)
        )
        assert new_tat is not None  # a reservation always writes
        # max(tat, now) - tau is the slot itself when it lies ahead, and in the past otherwise.
        wait = new_tat - self._interval - self._tolerance - self._clock()
        if wait > 0:
            await self._sleep(wait)

    async def observe(self, signal: RateSignal) -> None:
        """Hold every worker of the integration back when the provider says its budget is spent."""
        hold = self._hold_seconds(signal)
        if hold is None:
            return

        def extend(tat: float, now: float) -> float | None:
            # The next slot is tat - tau, so the hold ends at tat - tau: no burst right after it.
            held_tat = now + hold + self._tolerance
            return held_tat if held_tat > tat else None

        await self._advance(extend)

    def _hold_seconds(self, signal: RateSignal) -> float | None:
        if signal.retry_after is not None:
            return _non_negative("retry_after", signal.retry_after)
        if signal.remaining is not None and signal.remaining <= 1:
            if signal.reset_after is None:
                return self._interval
            return _non_negative("reset_after", signal.reset_after) or self._interval
        return None

    async def _advance(self, step: Callable[[float, float], float | None]) -> float | None:
        """Apply ``step(tat, now)`` -> new tat (None: leave it) with a conditional write; retry lost races.

        Returns the tat written, or None when ``step`` chose not to write.
        """
        async for _ in self._conflict_retries:
            state = await self._read()
            now = self._clock()
            new_tat = step(state.tat, now)
            if new_tat is None:
                return None
            if await self._write(state, new_tat, now):
                return new_tat
        raise RateBucketUnavailable(
            f"the rate bucket of integration {self._integration_id!r} in table {self._table!r} "
            f"changed under every one of {self._conflict_retries.max_attempts} attempts in a row; "
            "too many workers are contending for it",
            integration_id=self._integration_id,
            code=_CONFLICT,
        )

    async def _read(self) -> _BucketState:
        response = await self._call(
            "GetItem",
            self._client.get_item,
            TableName=self._table,
            Key=self._key,
            ConsistentRead=True,
        )
        item = response.get("Item")
        if item is None:
            return _BucketState(tat=-math.inf, version=0)
        try:
            return _BucketState(tat=float(item["tat"]["N"]), version=int(item["version"]["N"]))
        except (KeyError, TypeError, ValueError) as e:
            raise RateBucketUnavailable(
                f"the rate bucket item of integration {self._integration_id!r} in table "
                f"{self._table!r} is malformed (expected numbers 'tat' and 'version'): {item!r}",
                integration_id=self._integration_id,
            ) from e

    async def _write(self, read: _BucketState, new_tat: float, now: float) -> bool:
        """Write ``new_tat`` if nobody wrote since ``read``; False when someone did."""
        if not math.isfinite(new_tat):
            raise ValueError(f"the rate bucket cannot hold until {new_tat!r}")
        item = {
            **self._key,
            "tat": {"N": repr(new_tat)},
            "version": {"N": str(read.version + 1)},
            "ttl": {"N": str(math.ceil(max(new_tat, now)) + IDLE_EXPIRY_SECONDS)},
        }
        if read.version == 0:
            condition: dict[str, Any] = {"ConditionExpression": f"attribute_not_exists({PARTITION_KEY})"}
        else:
            condition = {
                "ConditionExpression": "#version = :version",
                "ExpressionAttributeNames": {"#version": "version"},
                "ExpressionAttributeValues": {":version": {"N": str(read.version)}},
            }
        try:
            await self._call("PutItem", self._client.put_item, TableName=self._table, Item=item, **condition)
        except _WriteConflictError:
            return False
        return True

    async def _call(
        self, operation: str, method: Callable[..., dict[str, Any]], **request: Any
    ) -> dict[str, Any]:
        """Run one blocking client call off the event loop; retry throttling, map errors."""
        throttled: Exception | None = None
        async for attempt in self._throttle_retries:
            try:
                return await asyncio.to_thread(method, **request)
            except self._client.exceptions.ClientError as e:
                code = error_code(e)
                if code == _CONFLICT:
                    raise _WriteConflictError from e
                if code not in _THROTTLING:
                    raise self._unavailable(operation, e) from e
                throttled = e
                logger.warning(
                    "DynamoDB throttled %s on the rate bucket of integration %s (attempt %d of %d)",
                    operation,
                    self._integration_id,
                    attempt + 1,
                    self._throttle_retries.max_attempts,
                )
        assert throttled is not None  # every attempt either returned or was throttled
        raise self._unavailable(operation, throttled) from throttled

    def _unavailable(self, operation: str, error: Exception) -> RateBucketUnavailable:
        code = error_code(error)
        return RateBucketUnavailable(
            f"{operation} on the rate bucket of integration {self._integration_id!r} "
            f"in table {self._table!r} failed: {code or 'unknown error'}: {error}",
            integration_id=self._integration_id,
            code=code,
        )


class _WriteConflictError(Exception):
    """Another worker wrote the bucket between our read and our conditional write."""


def _non_negative(name: str, seconds: float) -> float:
    if not (math.isfinite(seconds) and seconds >= 0):
        raise ValueError(f"a rate signal's {name} must be a finite number of seconds >= 0, got {seconds!r}")
    return float(seconds)

"""The rate bucket shared through DynamoDB: pacing, bursts, concurrency, conflicts, holds, errors."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mercator.domain.errors import RateBucketUnavailable
from mercator.domain.rate_limits import RateSignal
from mercator.state.rate_buckets import SharedRateBucket
from tests.unit.state.clients import RivalWorker, ThrottledClient
from tests.unit.state.conftest import REGION, ClientFactory
from tests.unit.state.virtual_time import VirtualClock

START = 1_700_000_000.0
# Epoch seconds near START are floats with steps of about 2.4e-7 s; a slot may land a few steps off.
SLOT_PRECISION = 1e-5
StoredItem = Callable[[str], dict[str, Any] | None]


def bucket(
    client: Any,
    table: str,
    clock: VirtualClock,
    *,
    rate: float = 10,
    capacity: float = 1,
    integration_id: str = "shop-1",
    max_conflicts: int = 50,
) -> SharedRateBucket:
    return SharedRateBucket(
        client,
        table,
        integration_id,
        rate,
        capacity=capacity,
        clock=clock.time,
        sleep=clock.sleep,
        max_conflicts=max_conflicts,
    )


async def grant_times(limiter: SharedRateBucket, clock: VirtualClock, count: int) -> list[float]:
    """Acquire ``count`` times; the fake time (relative to START) at which each acquire returned."""
    grants = []
    for _ in range(count):
        await limiter.acquire()
        grants.append(clock.time() - START)
    return grants


def assert_within_rate(grants: list[float], rate: float, capacity: float) -> None:
    """Over every window, grants <= rate * window + capacity.

    The worst windows start and end on grants, so checking every pair of grants covers them all.
    Each window is widened by SLOT_PRECISION; any real excess is a whole interval (>= 20 ms here).
    """
    times = sorted(grants)
    for first in range(len(times)):
        for last in range(first, len(times)):
            count = last - first + 1
            window = times[last] - times[first]
            assert count <= rate * (window + SLOT_PRECISION) + capacity, (
                f"{count} grants within {window:.6f} s exceed {rate}/s with capacity {capacity}"
            )


def test_the_window_check_catches_a_burst_one_too_large() -> None:
    assert_within_rate([0.0, 0.0, 0.05], rate=10, capacity=2.5)
    with pytest.raises(AssertionError, match=r"3 grants within 0\.050000 s"):
        assert_within_rate([0.0, 0.0, 0.05], rate=10, capacity=2)


# --- pacing one caller -------------------------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("capacity", "expected"),
    [
        (1, [0.0, 0.1, 0.2, 0.3]),
        (3, [0.0, 0.0, 0.0, 0.1, 0.2, 0.3]),
        # tau = 1.5 intervals: two back to back, then the third half an interval later.
        (2.5, [0.0, 0.0, 0.05, 0.15, 0.25]),
    ],
)
async def test_first_capacity_requests_go_at_once_then_one_per_interval(
    table: str, new_client: ClientFactory, capacity: float, expected: list[float]
) -> None:
    clock = VirtualClock(START)
    limiter = bucket(new_client(), table, clock, rate=10, capacity=capacity)

    grants = await grant_times(limiter, clock, len(expected))

    assert grants == pytest.approx(expected, abs=SLOT_PRECISION)


@pytest.mark.anyio
async def test_idleness_refills_the_burst_up_to_capacity(table: str, new_client: ClientFactory) -> None:
    clock = VirtualClock(START)
    limiter = bucket(new_client(), table, clock, rate=10, capacity=3)
    await grant_times(limiter, clock, 3)  # tat is now START + 0.3

    await clock.sleep(0.15)  # one and a half intervals refill
    partly_refilled = await grant_times(limiter, clock, 3)
    await clock.sleep(5)  # far more than capacity intervals: full, never more
    refilled = await grant_times(limiter, clock, 4)

    assert partly_refilled == pytest.approx([0.15, 0.2, 0.3], abs=SLOT_PRECISION)
    assert refilled == pytest.approx([5.3, 5.3, 5.3, 5.4], abs=SLOT_PRECISION)


@pytest.mark.anyio
async def test_the_item_layout(table: str, new_client: ClientFactory, stored_item: StoredItem) -> None:
    clock = VirtualClock(START)
    limiter = bucket(new_client(), table, clock, rate=4, integration_id="shop-9")

    await limiter.acquire()
    await limiter.acquire()

    item = stored_item("shop-9")
    assert item is not None
    assert item["pk"] == {"S": "INTEGRATION#shop-9"}
    assert item["sk"] == {"S": "RATE_BUCKET"}
    assert float(item["tat"]["N"]) == pytest.approx(START + 0.5, abs=SLOT_PRECISION)
    assert item["version"] == {"N": "2"}
    # An hour after the later of now (START + 0.25) and tat (START + 0.5), in whole seconds.
    assert item["ttl"] == {"N": str(1_700_000_001 + 3600)}


@given(
    rate=st.floats(min_value=1, max_value=50),
    capacity=st.floats(min_value=1, max_value=4),
    pauses=st.lists(st.floats(min_value=0, max_value=0.5), min_size=2, max_size=12),
)
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_grants_never_exceed_rate_times_window_plus_capacity(
    table: str, new_client: ClientFactory, rate: float, capacity: float, pauses: list[float]
) -> None:
    async def scenario() -> list[float]:
        clock = VirtualClock(START)
        limiter = bucket(new_client(), table, clock, rate=rate, capacity=capacity, integration_id="prop")
        grants = []
        for pause in pauses:
            await clock.sleep(pause)  # the caller's own work between requests
            grants += await grant_times(limiter, clock, 2)
        return grants

    boto3.client("dynamodb", region_name=REGION).delete_item(
        TableName=table, Key={"pk": {"S": "INTEGRATION#prop"}, "sk": {"S": "RATE_BUCKET"}}
    )
    assert_within_rate(asyncio.run(scenario()), rate, capacity)


# --- many workers of one integration -----------------------------------------------------------------


@pytest.mark.anyio
async def test_concurrent_workers_together_stay_within_the_rate_and_all_get_served(
    table: str, new_client: ClientFactory
) -> None:
    rate, capacity, workers, each = 20.0, 3.0, 4, 6
    clock = VirtualClock(START)
    limiters = [bucket(new_client(), table, clock, rate=rate, capacity=capacity) for _ in range(workers)]

    per_worker = await clock.run(*(grant_times(limiter, clock, each) for limiter in limiters))

    grants = sorted(time for times in per_worker for time in times)
    assert len(grants) == workers * each
    assert_within_rate(grants, rate, capacity)
    # Every worker always has a reservation pending, so no slot goes unused: 3 at once, then 1 per 50 ms.
    assert grants[:3] == pytest.approx([0.0, 0.0, 0.0], abs=SLOT_PRECISION)
    assert grants[-1] == pytest.approx((workers * each - capacity) / rate, abs=0.05)
    # Starvation bound: a worker waits at most one slot per worker (plus a few ms of conflict backoff).
    for times in per_worker:
        gaps = [later - earlier for earlier, later in zip([0.0, *times], times, strict=False)]
        assert max(gaps) <= workers / rate + 0.05


@pytest.mark.anyio
async def test_another_integration_has_its_own_bucket(table: str, new_client: ClientFactory) -> None:
    clock = VirtualClock(START)
    busy = bucket(new_client(), table, clock, integration_id="busy-shop")
    quiet = bucket(new_client(), table, clock, integration_id="quiet-shop")
    await busy.observe(RateSignal(retry_after=30))

    assert await grant_times(quiet, clock, 2) == pytest.approx([0.0, 0.1], abs=SLOT_PRECISION)
    assert await grant_times(busy, clock, 1) == pytest.approx([30.0], abs=SLOT_PRECISION)


# --- conflicts ---------------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_a_write_lost_to_another_worker_is_retried_and_counts_its_slot(
    table: str, new_client: ClientFactory, stored_item: StoredItem
) -> None:
    clock = VirtualClock(START)
    client = RivalWorker(new_client(), rivals=2, rate=10, clock=clock.time)
    limiter = bucket(client, table, clock, rate=10)

    grants = await grant_times(limiter, clock, 1)

    # The rivals took the slots at +0 and +0.1 between our reads and writes, so ours is +0.2.
    assert grants == pytest.approx([0.2], abs=SLOT_PRECISION)
    assert client.calls.count("PutItem") == 3
    item = stored_item("shop-1")
    assert item is not None
    assert item["version"] == {"N": "3"}
    assert float(item["tat"]["N"]) == pytest.approx(START + 0.3, abs=SLOT_PRECISION)


@pytest.mark.anyio
async def test_too_many_conflicts_in_a_row_make_the_bucket_unavailable(
    table: str, new_client: ClientFactory
) -> None:
    clock = VirtualClock(START)
    client = RivalWorker(new_client(), rivals=1_000, rate=10, clock=clock.time)
    limiter = bucket(client, table, clock, max_conflicts=3)

    with pytest.raises(RateBucketUnavailable, match="every one of 3 attempts") as raised:
        await limiter.acquire()

    assert raised.value.code == "ConditionalCheckFailedException"
    assert raised.value.integration_id == "shop-1"
    assert client.calls.count("PutItem") == 3


# --- provider signals --------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_retry_after_holds_every_worker_and_leaves_no_burst_after_it(
    table: str, new_client: ClientFactory
) -> None:
    clock = VirtualClock(START)
    told = bucket(new_client(), table, clock, capacity=2)
    other = bucket(new_client(), table, clock, capacity=2)

    await told.observe(RateSignal(retry_after=5))

    assert await grant_times(other, clock, 2) == pytest.approx([5.0, 5.1], abs=SLOT_PRECISION)


@pytest.mark.anyio
async def test_a_shorter_hold_never_shortens_a_longer_one(
    table: str, new_client: ClientFactory, stored_item: StoredItem
) -> None:
    clock = VirtualClock(START)
    first = bucket(new_client(), table, clock)
    second = bucket(new_client(), table, clock)
    await first.observe(RateSignal(retry_after=5))
    held = stored_item("shop-1")

    await clock.sleep(1)
    await second.observe(RateSignal(retry_after=2))  # ends at +3, before the hold's +5
    await second.observe(RateSignal(remaining=0, reset_after=1))

    assert stored_item("shop-1") == held  # not even rewritten
    assert await grant_times(first, clock, 1) == pytest.approx([5.0], abs=SLOT_PRECISION)


@pytest.mark.anyio
async def test_a_longer_hold_extends_a_shorter_one(table: str, new_client: ClientFactory) -> None:
    clock = VirtualClock(START)
    limiter = bucket(new_client(), table, clock)
    await limiter.observe(RateSignal(retry_after=2))
    await limiter.observe(RateSignal(retry_after=7))

    assert await grant_times(limiter, clock, 1) == pytest.approx([7.0], abs=SLOT_PRECISION)


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("signal", "first_grant"),
    [
        (RateSignal(remaining=0, reset_after=2), 2.0),
        (RateSignal(remaining=1, reset_after=0.5, limit=40), 0.5),
        (RateSignal(remaining=0), 0.25),  # no reset time given: one interval at 4 requests/s
        (RateSignal(remaining=0, reset_after=0), 0.25),
        (RateSignal(remaining=2, reset_after=2), 0.0),
        (RateSignal(limit=40), 0.0),
    ],
)
async def test_an_exhausted_budget_holds_until_it_resets(
    table: str, new_client: ClientFactory, signal: RateSignal, first_grant: float
) -> None:
    clock = VirtualClock(START)
    limiter = bucket(new_client(), table, clock, rate=4)

    await limiter.observe(signal)

    assert await grant_times(limiter, clock, 1) == pytest.approx([first_grant], abs=SLOT_PRECISION)


@pytest.mark.anyio
async def test_a_signal_with_budget_left_writes_nothing(
    table: str, new_client: ClientFactory, stored_item: StoredItem
) -> None:
    clock = VirtualClock(START)
    client = new_client()
    limiter = bucket(client, table, clock)

    await limiter.observe(RateSignal(remaining=30, reset_after=10, limit=40))
    await limiter.observe(RateSignal())

    assert client.calls == []
    assert stored_item("shop-1") is None


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("signal", "field"),
    [
        (RateSignal(retry_after=-1), "retry_after"),
        (RateSignal(retry_after=math.nan), "retry_after"),
        (RateSignal(retry_after=math.inf), "retry_after"),
        (RateSignal(remaining=0, reset_after=-3), "reset_after"),
    ],
)
async def test_a_nonsensical_hold_is_refused(
    table: str, new_client: ClientFactory, signal: RateSignal, field: str
) -> None:
    limiter = bucket(new_client(), table, VirtualClock(START))

    with pytest.raises(ValueError, match=f"{field} must be a finite number of seconds >= 0"):
        await limiter.observe(signal)


# --- DynamoDB errors ---------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_a_missing_table_makes_the_bucket_unavailable(aws: None, new_client: ClientFactory) -> None:
    limiter = bucket(new_client(), "no-such-table", VirtualClock(START))

    with pytest.raises(RateBucketUnavailable, match=r"GetItem .* 'no-such-table' failed") as raised:
        await limiter.acquire()
    assert raised.value.code == "ResourceNotFoundException"
    assert isinstance(raised.value.__cause__, ClientError)

    with pytest.raises(RateBucketUnavailable):
        await limiter.observe(RateSignal(retry_after=1))


@pytest.mark.anyio
async def test_throttling_is_retried_a_few_times(table: str, new_client: ClientFactory) -> None:
    clock = VirtualClock(START)
    client = ThrottledClient(new_client(), throttles=2)
    limiter = bucket(client, table, clock)

    await limiter.acquire()

    assert client.calls == ["GetItem", "GetItem", "GetItem", "PutItem"]


@pytest.mark.anyio
async def test_persistent_throttling_makes_the_bucket_unavailable(
    table: str, new_client: ClientFactory
) -> None:
    client = ThrottledClient(new_client(), throttles=100)
    limiter = bucket(client, table, VirtualClock(START))

    with pytest.raises(RateBucketUnavailable) as raised:
        await limiter.acquire()

    assert raised.value.code == "ThrottlingException"
    assert client.calls == ["GetItem"] * 4  # the first try and three retries


@pytest.mark.anyio
async def test_a_malformed_item_is_reported_not_guessed_at(table: str, new_client: ClientFactory) -> None:
    boto3.client("dynamodb", region_name=REGION).put_item(
        TableName=table,
        Item={"pk": {"S": "INTEGRATION#shop-1"}, "sk": {"S": "RATE_BUCKET"}, "tat": {"S": "soon"}},
    )
    limiter = bucket(new_client(), table, VirtualClock(START))

    with pytest.raises(RateBucketUnavailable, match="malformed"):
        await limiter.acquire()


# --- construction ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"table_name": ""}, "table_name must name the state table"),
        ({"integration_id": ""}, "integration_id must not be empty"),
        ({"rate": 0}, "rate must be a positive number"),
        ({"rate": -2}, "rate must be a positive number"),
        ({"rate": math.nan}, "rate must be a positive number"),
        ({"rate": math.inf}, "rate must be a positive number"),
        ({"capacity": 0.5}, "capacity must be a number of requests of at least 1"),
        ({"capacity": math.inf}, "capacity must be a number of requests of at least 1"),
        ({"max_conflicts": 0}, "max_conflicts must be at least 1"),
    ],
)
def test_invalid_settings_are_refused(arguments: dict[str, Any], message: str) -> None:
    settings = {"table_name": "t", "integration_id": "shop-1", "rate": 2.0, **arguments}
    with pytest.raises(ValueError, match=message):
        SharedRateBucket(object(), **settings)  # type: ignore[arg-type]


def test_rate_and_capacity_are_exposed() -> None:
    limiter = SharedRateBucket(object(), "t", "shop-1", 2.5, capacity=4)  # type: ignore[arg-type]
    assert (limiter.rate, limiter.capacity) == (2.5, 4.0)

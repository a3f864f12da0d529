"""Several workers of one integration, each with its own DynamoDB client, share the store's budget.

Four ProviderClients list concurrently against one sandbox store whose rate is exactly the shared
bucket's: 40 requests a second; the bucket bursts 8, the store holds 10, so the store never reports
its budget as spent (which would rightly make the bucket hold everyone until the store's reset).
Time is virtual (the state tests' VirtualClock, read by the store, the buckets and the retries): it
moves only when every worker waits, so a request reaches the store at exactly the slot its bucket
granted.
"""

from __future__ import annotations

import threading
from itertools import cycle, islice

import boto3
import pytest

from mercator.providers.retries import RetryPolicy
from mercator.state.rate_buckets import SharedRateBucket
from mercator_sandbox import RateLimitConfig, Sandbox
from mercator_sandbox.app import FlavorName
from tests.integration.providers.conftest import REGION
from tests.integration.providers.support import (
    FLAVORS,
    listed_ids,
    listing_order,
    make_client,
    served_keys,
    transport,
)
from tests.unit.state.clients import SerializedClient
from tests.unit.state.virtual_time import VirtualClock

RATE = 40.0
CAPACITY = 8
WORKERS = 4
RECORDS = 48
PAGE_SIZE = 4  # 12 pages per worker, 48 requests in all
REQUESTS = WORKERS * RECORDS // PAGE_SIZE


async def list_concurrently(
    flavor: FlavorName, table: str, integration_ids: list[str]
) -> tuple[Sandbox, list[list[int]], list[str]]:
    """Each worker lists one resource through its own bucket; the store, the ids, the resource keys."""
    # Small virtual epoch: floats near 1e3 resolve far below a slot, unlike epoch seconds near 1.7e9.
    clock = VirtualClock(start=1_000.0)
    sizes = dict.fromkeys(("orders", "products", "customers", "carts"), RECORDS)
    sandbox = Sandbox(
        flavor,
        seed=9,
        sizes=sizes,
        rate_limit=RateLimitConfig(rate=RATE, burst=CAPACITY + 2),
        clock=clock.time,
        sleep=clock.sleep,
    )
    keys = list(islice(cycle(served_keys(flavor)), WORKERS))
    lock = threading.Lock()  # moto applies one request at a time, as DynamoDB does (see SerializedClient)
    async with transport(sandbox) as http:
        clients = [
            make_client(
                sandbox,
                http,
                limiter=SharedRateBucket(
                    SerializedClient(boto3.client("dynamodb", region_name=REGION), lock),
                    table,
                    integration_id,
                    RATE,
                    capacity=CAPACITY,
                    clock=clock.time,
                    sleep=clock.sleep,
                ),
                retry=RetryPolicy(base_delay=0.001, sleep=clock.sleep),
                # One request in flight per worker: each worker is one caller of the virtual clock.
                page_prefetch=1,
            )
            for integration_id in integration_ids
        ]
        results = await clock.run(
            *(
                listed_ids(client.pages(key, page_size=PAGE_SIZE))
                for client, key in zip(clients, keys, strict=True)
            )
        )
    return sandbox, [ids for ids, _ in results], keys


@pytest.mark.anyio
@pytest.mark.parametrize("flavor", FLAVORS)
async def test_workers_sharing_one_bucket_never_overrun_the_store(flavor: FlavorName, table: str) -> None:
    sandbox, listed, keys = await list_concurrently(flavor, table, ["shop-1"] * WORKERS)

    # Not one refusal, and every worker listed its resource completely
    assert sandbox.counters.throttled == 0
    assert dict(sandbox.counters.statuses) == {200: REQUESTS}
    for ids, key in zip(listed, keys, strict=True):
        assert ids == listing_order(sandbox, key)
    # And together they used the whole budget: 8 at once, then one every 25 ms, so the last of the
    # 48 requests went (48 - 8) / 40 = 1.0 s after the first.
    times = sandbox.counters.request_times
    assert times[-1] - times[0] == pytest.approx(1.0, abs=1e-6)


@pytest.mark.anyio
@pytest.mark.parametrize("flavor", FLAVORS)
async def test_workers_with_a_bucket_each_overrun_the_store(flavor: FlavorName, table: str) -> None:
    # The same workers, but each believing the whole budget is its own: the store refuses some,
    # which shows the test above could fail. Retries still get every record.
    sandbox, listed, keys = await list_concurrently(flavor, table, [f"shop-{n}" for n in range(WORKERS)])

    assert sandbox.counters.throttled > 0
    for ids, key in zip(listed, keys, strict=True):
        assert ids == listing_order(sandbox, key)

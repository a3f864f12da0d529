"""Pacing benchmark: how close Mercator's provider client runs to a store's rate limit without a 429.

A Salla-flavored sandbox store (20,000 orders, a leaky bucket of R = 20 requests/s holding 20, latency
100 ± 50 ms) is served by uvicorn on loopback. Against it, in one process:

(1) one Mercator worker: the shipped Salla connector at 100 orders a page and rateLimitPerSecond = R
    lists every order, then fetches the details of 2,000 of them, paced by the in-process token bucket;
(2) four Mercator workers, each with its own ProviderClient and its own SharedRateBucket on one
    DynamoDB table (moto), sharing the same pages and detail ids through a work queue, as concurrent
    Lambdas of one integration would;
(3) dlt's ``rest_api`` source (what the peer users would otherwise pick) lists the same orders at the
    same page size and fetches the same 2,000 details.

Reported for each run: requests served, wall time, achieved requests/s ÷ R, wall time ÷ ideal
(requests ÷ R), the busiest one-second window, 429s sent by the store. Figures are printed, never
asserted; the process exits 1 only when a run misses records.

    .venv/bin/python benchmarks/pacing.py [--orders 20000] [--details 2000] [--skip-dlt]

dlt is installed by ``make bench`` (the ``bench`` extra), not by the test suite.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import os
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import aclosing
from dataclasses import dataclass
from typing import Any

import boto3
import yaml
from moto import mock_aws

from mercator.connector import ConnectorDefinition, load_shipped, validate_definition
from mercator.domain.pages import PageCheckpoint
from mercator.domain.rate_limits import RateLimiter
from mercator.providers.client import ProviderClient
from mercator.providers.token_bucket import TokenBucket
from mercator.state.rate_buckets import SharedRateBucket
from mercator_sandbox import Faults, RateLimitConfig, Sandbox
from mercator_sandbox.serve import serving

# moto needs credentials to sign with; they never leave the process.
for _name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
    os.environ.setdefault(_name, "bench")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")

RATE = 20.0  # R: the store's budget, and the connector's rateLimitPerSecond
PAGE_SIZE = 100
TABLE = "mercator-bench-state"
CREDENTIALS = {"accessToken": "bench-access-token"}

TARGET_RATE = 0.9  # achieved / R
TARGET_WALL = 1.15  # wall / ideal
TARGET_SHARED_LOW, TARGET_SHARED_HIGH = 0.85, 1.0


@dataclass
class Run:
    name: str
    requests: int
    wall: float
    throttled: int
    busiest_second: int
    records: int
    details: int

    @property
    def achieved(self) -> float:
        return self.requests / self.wall

    @property
    def ideal(self) -> float:
        return self.requests / RATE


# --------------------------------------------------------------------------------------------------
# The store, served over HTTP so that every client (dlt included) talks to it the same way
# --------------------------------------------------------------------------------------------------


def busiest_second(times: list[float]) -> int:
    """The most requests the store saw within any one-second window."""
    ordered = sorted(times)
    return max((bisect.bisect_right(ordered, t + 1.0) - i for i, t in enumerate(ordered)), default=0)


def measured(
    sandbox: Sandbox, name: str, work: Callable[[], Awaitable[tuple[int, int]]] | Callable[[], Any]
) -> Run:
    sandbox.counters.reset()
    started = time.perf_counter()
    result = asyncio.run(work()) if asyncio.iscoroutinefunction(work) else work()
    wall = time.perf_counter() - started
    counts = sandbox.counters.snapshot()
    records, details = result
    return Run(
        name,
        counts["total"],
        wall,
        counts["throttled"],
        busiest_second(counts["request_times"]),
        records,
        details,
    )


# --------------------------------------------------------------------------------------------------
# Mercator
# --------------------------------------------------------------------------------------------------


def salla_at_pace() -> ConnectorDefinition:
    """The shipped Salla connector at 100 orders a page and R requests/s."""
    shipped = load_shipped("salla")
    assert shipped.source is not None
    document = yaml.safe_load(shipped.source.read_text(encoding="utf-8"))
    document["sync"]["syncConfiguration"]["rateLimitPerSecond"] = RATE
    pagination = document["sync"]["resources"]["orders"]["pagination"]
    pagination.update(defaultLimit=PAGE_SIZE, maxLimit=PAGE_SIZE)
    return validate_definition(document, str(shipped.source))


async def one_worker(definition: ConnectorDefinition, base_url: str, details: int) -> tuple[int, int]:
    limiter = TokenBucket(RATE)
    async with ProviderClient(definition, CREDENTIALS, limiter=limiter, base_url=base_url) as client:
        ids: list[str] = []
        async for page in client.pages("orders"):
            ids.extend(str(record["id"]) for record in page.records)
        fetched = 0
        async for result in client.details_many("orders", ids[:details]):
            fetched += result.record is not None
    return len(ids), fetched


class SerializedDynamoDB:
    """One boto3 client per worker, one request at a time across workers.

    DynamoDB applies each conditional write atomically; moto in-process does not across threads, so
    the workers share a lock around every single request (never around a read-then-write).
    """

    def __init__(self, lock: threading.Lock) -> None:
        self._client = boto3.client("dynamodb", region_name="us-east-1")
        self._lock = lock
        self.exceptions = self._client.exceptions

    def get_item(self, **request: Any) -> dict[str, Any]:
        with self._lock:
            response: dict[str, Any] = self._client.get_item(**request)
            return response

    def put_item(self, **request: Any) -> dict[str, Any]:
        with self._lock:
            response: dict[str, Any] = self._client.put_item(**request)
            return response


def create_state_table() -> None:
    boto3.client("dynamodb", region_name="us-east-1").create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )


async def shared_workers(
    definition: ConnectorDefinition, base_url: str, pages: int, details: int, workers: int
) -> tuple[int, int]:
    """``workers`` clients, each with its own DynamoDB bucket, drain one queue of pages and detail ids."""
    lock = threading.Lock()
    queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
    for number in range(1, pages + 1):
        queue.put_nowait(("page", number))
    pending_details = [details]
    batch = 20
    listed = 0
    fetched = 0

    async def worker() -> None:
        nonlocal listed, fetched
        limiter: RateLimiter = SharedRateBucket(SerializedDynamoDB(lock), TABLE, "bench-store", RATE)
        # One page per work item: no page is fetched ahead of the one asked for.
        async with ProviderClient(
            definition,
            CREDENTIALS,
            limiter=limiter,
            base_url=base_url,
            page_prefetch=1,
            details_concurrency=4,
        ) as client:
            while True:
                try:
                    kind, item = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                if kind == "page":
                    start = PageCheckpoint(
                        resource="orders", pagination="page_number", page=item, page_size=PAGE_SIZE
                    )
                    async with aclosing(client.pages("orders", resume=start)) as walk:
                        page = await anext(walk)
                    ids = [str(record["id"]) for record in page.records]
                    listed += len(ids)
                    wanted = ids[: max(0, pending_details[0])]
                    pending_details[0] -= len(wanted)
                    for at in range(0, len(wanted), batch):
                        queue.put_nowait(("details", wanted[at : at + batch]))
                else:
                    async for result in client.details_many("orders", item):
                        fetched += result.record is not None

    await asyncio.gather(*(worker() for _ in range(workers)))
    return listed, fetched


# --------------------------------------------------------------------------------------------------
# dlt's rest_api source, configured as its users would for the same store
# --------------------------------------------------------------------------------------------------


def dlt_run(base_url: str, detail_ids: list[str]) -> tuple[int, int]:
    import dlt  # noqa: PLC0415 - optional: installed by `make bench` only
    from dlt.sources.rest_api import rest_api_source  # noqa: PLC0415

    @dlt.resource(name="wanted")
    def wanted() -> Iterator[list[dict[str, str]]]:
        yield [{"id": record_id} for record_id in detail_ids]

    source = rest_api_source(
        {
            "client": {
                "base_url": base_url + "/",
                "headers": {"Authorization": f"Bearer {CREDENTIALS['accessToken']}"},
                "paginator": {
                    "type": "page_number",
                    "base_page": 1,
                    "page_param": "page",
                    "total_path": "pagination.totalPages",
                },
            },
            "resources": [
                {
                    "name": "orders",
                    "endpoint": {
                        "path": "orders",
                        "params": {"per_page": PAGE_SIZE},
                        "data_selector": "data",
                    },
                },
                wanted,
                {
                    "name": "order_details",
                    "endpoint": {
                        "path": "orders/{resources.wanted.id}",
                        "data_selector": "data",
                        "paginator": {"type": "single_page"},
                    },
                },
            ],
        }
    )
    records = details = 0
    for resource in ("orders", "order_details"):
        for _ in source.with_resources(resource):
            if resource == "orders":
                records += 1
            else:
                details += 1
    return records, details


# --------------------------------------------------------------------------------------------------


def report(runs: list[Run], orders: int, details: int) -> bool:
    print(f"\n  R = {RATE:g} requests/s; ideal wall time = requests ÷ R\n")
    columns = ("requests", 9), ("wall s", 9), ("req/s÷R", 9), ("wall÷ideal", 11), ("max/1s", 8), ("429s", 6)
    print(f"  {'run':<38}" + "".join(f"{title:>{width}}" for title, width in columns))
    for run in runs:
        print(
            f"  {run.name:<38}{run.requests:>9,}{run.wall:>9.1f}{run.achieved / RATE:>9.3f}"
            f"{run.wall / run.ideal:>11.3f}{run.busiest_second:>8}{run.throttled:>6}"
        )
    complete = True
    print()
    for run in runs:
        if run.records != orders or run.details != details:
            complete = False
            print(f"  {run.name}: INCOMPLETE: {run.records:,} orders, {run.details:,} details")
    single = runs[0]
    print(
        f"  one worker:   req/s÷R {single.achieved / RATE:.3f} (target ≥ {TARGET_RATE}), "
        f"429s {single.throttled} (target 0), wall÷ideal {single.wall / single.ideal:.3f} "
        f"(target ≤ {TARGET_WALL})"
    )
    if len(runs) > 1 and runs[1].name.startswith("mercator, 4"):
        shared = runs[1]
        print(
            f"  four workers: combined req/s÷R {shared.achieved / RATE:.3f} "
            f"(target {TARGET_SHARED_LOW} to {TARGET_SHARED_HIGH}), 429s {shared.throttled}"
        )
    for run in runs[2:]:
        print(
            f"  {run.name}: wall {run.wall:.1f} s = {run.wall / single.wall:.2f} times "
            f"Mercator's one worker, {run.throttled} 429s"
        )
    print("  (figures are reported, not asserted)")
    return complete


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--orders", type=int, default=20_000)
    parser.add_argument("--details", type=int, default=2_000)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--skip-dlt", action="store_true", help="leave out the dlt comparison")
    args = parser.parse_args(argv)

    sandbox = Sandbox(
        "salla",
        seed=20,
        sizes={"orders": args.orders, "products": 500, "customers": 2_000, "carts": 10},
        faults=Faults(latency_ms=100, jitter_ms=50),
        rate_limit=RateLimitConfig(rate=RATE, burst=int(RATE)),
        max_per_page=PAGE_SIZE,
    )
    definition = salla_at_pace()
    pages = -(-args.orders // PAGE_SIZE)
    print(
        f"Salla sandbox: {args.orders:,} orders ({pages} pages of {PAGE_SIZE}), {args.details:,} details, "
        f"limit {RATE:g} req/s (bucket of {int(RATE)}), latency 100 ± 50 ms"
    )
    runs: list[Run] = []
    with serving(sandbox) as origin:
        base_url = sandbox.base_url(origin)

        async def single() -> tuple[int, int]:
            return await one_worker(definition, base_url, args.details)

        runs.append(measured(sandbox, "mercator, 1 worker, token bucket", single))
        print(f"  done: {runs[-1].name}", flush=True)

        with mock_aws():
            create_state_table()

            async def shared() -> tuple[int, int]:
                return await shared_workers(definition, base_url, pages, args.details, args.workers)

            runs.append(measured(sandbox, f"mercator, {args.workers} workers, DynamoDB bucket", shared))
        print(f"  done: {runs[-1].name}", flush=True)

        if not args.skip_dlt:
            detail_ids = [str(i) for i in sorted(sandbox.store.ids("orders"), reverse=True)[: args.details]]
            runs.append(measured(sandbox, "dlt rest_api, 1 worker", lambda: dlt_run(base_url, detail_ids)))
            print(f"  done: {runs[-1].name}", flush=True)

    return 0 if report(runs, args.orders, args.details) else 1


if __name__ == "__main__":
    sys.exit(main())

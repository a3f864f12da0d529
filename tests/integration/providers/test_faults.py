"""Each fault the sandbox injects, one at a time: the client still returns the complete listing.

The store has 60 orders, listed in pages of 10: six pages, in the platform's order, every time.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest

from mercator.domain.pages import ClientStats
from mercator.domain.provider_errors import ProviderHTTPError
from mercator.providers.listing import list_records
from mercator.providers.retries import RetryPolicy
from mercator.providers.token_bucket import TokenBucket
from mercator_sandbox import Faults, RateLimitConfig, Sandbox
from mercator_sandbox.app import FlavorName
from tests.integration.providers.support import (
    FLAVORS,
    PAGE_NUMBER_FLAVORS,
    AutoTime,
    FrozenClock,
    connector,
    fast_retries,
    listed_ids,
    listing_order,
    make_client,
    secret_values,
    transport,
)

ORDERS = 60
PAGE_SIZE = 10
PAGES = 6

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


def store(flavor: FlavorName, faults: Faults, **options: Any) -> Sandbox:
    options.setdefault("clock", FrozenClock())
    options.setdefault("rate_limit", None)
    return Sandbox(flavor, seed=options.pop("seed", 21), sizes={"orders": ORDERS}, faults=faults, **options)


async def list_orders(sandbox: Sandbox, **client_options: Any) -> tuple[list[int], ClientStats]:
    """Every order id the client lists, in order, and the client's stats."""
    async with transport(sandbox) as http, make_client(sandbox, http, **client_options) as client:
        ids, pages = await listed_ids(client.pages("orders", page_size=PAGE_SIZE))
        assert pages == PAGES
        return ids, client.stats


@pytest.mark.anyio
@pytest.mark.parametrize("flavor", FLAVORS)
async def test_latency_with_jitter(flavor: FlavorName) -> None:
    # Given a store answering after 1 to 11 ms, drawn per request
    sandbox = store(flavor, Faults(latency_ms=6, jitter_ms=5))
    finished: list[int] = []

    async def recording(scope: Scope, receive: Receive, send: Send) -> None:
        await sandbox.app(scope, receive, send)
        page = parse_qs(scope["query_string"].decode()).get("page")
        finished.append(int(page[0]) if page else len(finished) + 1)

    # When the client lists the orders, page-number flavors with pages prefetched concurrently
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=recording))
    async with http, make_client(sandbox, http) as client:
        pages = [page async for page in client.pages("orders", page_size=PAGE_SIZE)]
        stats = client.stats

    # Then pages come out in order, complete, without a single retry
    assert [page.number for page in pages] == list(range(PAGES))
    assert [int(record["id"]) for page in pages for record in page.records] == listing_order(
        sandbox, "orders"
    )
    assert sandbox.counters.total == PAGES
    assert stats.retries == 0
    if flavor in PAGE_NUMBER_FLAVORS:
        # even though the prefetched answers arrived out of order
        assert finished != sorted(finished)


@pytest.mark.anyio
@pytest.mark.parametrize("flavor", FLAVORS)
async def test_server_errors_are_retried(flavor: FlavorName) -> None:
    sandbox = store(flavor, Faults(error_rate=0.3))

    ids, stats = await list_orders(sandbox)

    assert ids == listing_order(sandbox, "orders")
    assert sandbox.counters.server_errors > 0
    assert stats.server_errors == sandbox.counters.server_errors
    assert stats.retries == sandbox.counters.server_errors
    assert sandbox.counters.total == PAGES + sandbox.counters.server_errors


@pytest.mark.anyio
@pytest.mark.parametrize("flavor", FLAVORS)
async def test_a_burst_of_429s_is_waited_out_as_retry_after_asks(flavor: FlavorName) -> None:
    # Given a store that answers four requests, then refuses two with Retry-After: 3, over and over
    # (3 on every flavor: Salla and WooCommerce round up to whole seconds, Shopify asks for 2.0 or more)
    time = AutoTime()
    faults = Faults(burst_429_every=4, burst_429_length=2, burst_429_retry_after=3.0)
    sandbox = store(flavor, faults, clock=time.clock, sleep=time.sleeper("store"))
    limiter = TokenBucket(10_000, clock=time.clock, sleep=time.sleeper("limiter"))
    retry = RetryPolicy(base_delay=0.001, sleep=time.sleeper("retry"))

    ids, stats = await list_orders(sandbox, limiter=limiter, retry=retry)

    # Then the listing is complete. Six pages need eight requests: four answered, two refused,
    # then two answered; each refused one waited exactly the three seconds asked for
    assert ids == listing_order(sandbox, "orders")
    assert sandbox.counters.total == 8
    assert sandbox.counters.throttled == stats.throttled == 2
    assert time.sleeps["retry"] == [3.0, 3.0]
    # And the limiter held every caller: nothing reached the store within 3 s of a refusal
    arrivals = sandbox.counters.request_times
    for refused in (4, 5):
        assert all(later >= arrivals[refused] + 3.0 for later in arrivals[refused + 1 :])


@pytest.mark.anyio
@pytest.mark.parametrize("flavor", FLAVORS)
async def test_a_hanging_request_times_out_and_is_retried(flavor: FlavorName) -> None:
    # Given a connector with a 200 ms timeout and a store where some requests stall for a second
    # (real time: the timeout is the client's own). The seeded dice of seed 14 stall the 2nd and 4th
    # of the eight requests: six pages and two retries.
    sandbox = Sandbox(
        flavor,
        seed=14,
        sizes={"orders": ORDERS},
        faults=Faults(hang_rate=0.2, hang_seconds=1.0),
        rate_limit=None,
        clock=FrozenClock(),
    )

    ids, stats = await list_orders(sandbox, definition=connector(flavor, timeout_ms=200))

    assert ids == listing_order(sandbox, "orders")
    assert sandbox.counters.hangs == 2
    assert sandbox.counters.total == PAGES + 2
    assert stats.timeouts == sandbox.counters.hangs
    assert stats.retries == sandbox.counters.hangs


@pytest.mark.anyio
@pytest.mark.parametrize("flavor", FLAVORS)
@pytest.mark.parametrize("knob", ["truncated", "malformed"])
async def test_a_broken_body_is_retried(flavor: FlavorName, knob: str) -> None:
    # truncated: the JSON cut in half; malformed: a proxy's HTML page with status 200
    sandbox = store(flavor, Faults.model_validate({f"{knob}_rate": 0.3}))

    ids, stats = await list_orders(sandbox)

    broken = getattr(sandbox.counters, knob)
    assert ids == listing_order(sandbox, "orders")
    assert broken > 0
    assert stats.retries == broken
    assert sandbox.counters.total == PAGES + broken


@pytest.mark.anyio
@pytest.mark.parametrize("flavor", FLAVORS)
async def test_the_store_rate_limit_is_waited_out(flavor: FlavorName) -> None:
    # Given a store allowing 5 requests a second with a burst of 2, and a client that would go far
    # faster (four pages in flight): fake time shared by both, so the waits cost nothing
    time = AutoTime()
    sandbox = store(
        flavor,
        Faults(),
        rate_limit=RateLimitConfig(rate=5, burst=2),
        clock=time.clock,
        sleep=time.sleeper("store"),
    )
    limiter = TokenBucket(10_000, clock=time.clock, sleep=time.sleeper("limiter"))
    retry = RetryPolicy(base_delay=0.001, sleep=time.sleeper("retry"))

    ids, stats = await list_orders(sandbox, limiter=limiter, retry=retry)

    assert ids == listing_order(sandbox, "orders")
    if flavor == "salla":
        # Salla's X-RateLimit-Remaining and -Reset say when the budget is spent and when it comes
        # back: the limiter holds every caller until then, so the store never has to refuse one.
        assert sandbox.counters.throttled == 0
    else:
        assert sandbox.counters.throttled > 0
    assert stats.throttled == sandbox.counters.throttled
    assert stats.retries == sandbox.counters.throttled
    assert sandbox.counters.total == PAGES + sandbox.counters.throttled


# What each flavor's first list request looks like in a message: credential values masked, among
# them WooCommerce's store URL and Shopify's shop domain (their connectors hold both as credentials).
FIRST_REQUEST = {
    "salla": "http://salla.sandbox.test/admin/v2/orders?per_page=60&page=1",
    "shopify": "https://***/admin/api/2025-01/orders.json?status=any&limit=250",
    "woocommerce": "***/wp-json/wc/v3/orders?orderby=id&order=asc&per_page=100&page=1",
}


@pytest.mark.anyio
@pytest.mark.parametrize("flavor", FLAVORS)
async def test_exhausted_retries_fail_the_listing_with_a_redacted_message(
    flavor: FlavorName, caplog: pytest.LogCaptureFixture
) -> None:
    # Given a store that answers every request with a 5xx, and three attempts per request
    caplog.set_level(logging.DEBUG)
    sandbox = store(flavor, Faults(error_rate=1.0))

    # When the listing runs
    async with (
        transport(sandbox) as http,
        make_client(sandbox, http, retry=fast_retries(max_attempts=3)) as client,
    ):
        with pytest.raises(ProviderHTTPError) as caught:
            async for _ in list_records(client, "orders"):
                pass

    # Then it fails naming the method, the redacted URL and the status
    error = caught.value
    assert error.method == "GET"
    assert error.url == FIRST_REQUEST[flavor]
    assert error.status in (500, 502, 503)
    assert error.attempts == 3
    assert str(error).startswith(f"GET {FIRST_REQUEST[flavor]} answered {error.status} (after 3 attempts)")
    assert sandbox.counters.total == 3
    # And no credential shows, in the message or in anything logged on the way
    assert "retrying GET" in caplog.text
    assert "HTTP Request: GET" in caplog.text  # httpx's own lines were captured too
    shown = [str(error), error.url, caplog.text]
    assert [secret for secret in secret_values(flavor) if any(secret in text for text in shown)] == []

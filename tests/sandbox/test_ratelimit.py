"""The store's leaky bucket on an injected clock: burst, refusal with Retry-After, refill."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from mercator_sandbox import RateLimitConfig
from mercator_sandbox.ratelimit import LeakyBucket
from tests.sandbox.conftest import SMALL, FakeClock, SandboxFactory


def test_burst_then_refusal_then_refill(clock: FakeClock) -> None:
    bucket = LeakyBucket(RateLimitConfig(rate=1, burst=3), clock)
    admitted = [bucket.admit() for _ in range(3)]
    assert [a.allowed for a in admitted] == [True, True, True]
    assert [a.remaining for a in admitted] == [2, 1, 0]
    refused = bucket.admit()
    assert not refused.allowed
    assert refused.retry_after == pytest.approx(1.0)
    clock.advance(0.5)
    still = bucket.admit()
    assert not still.allowed
    assert still.retry_after == pytest.approx(0.5)
    clock.advance(0.5)
    again = bucket.admit()
    assert again.allowed
    assert again.used == 3
    clock.advance(10)  # long idle: the bucket empties, never below zero
    assert bucket.admit().used == 1


def test_refused_requests_do_not_fill_the_bucket(clock: FakeClock) -> None:
    bucket = LeakyBucket(RateLimitConfig(rate=2, burst=1), clock)
    assert bucket.admit().allowed
    for _ in range(5):
        assert not bucket.admit().allowed
    clock.advance(0.5)
    assert bucket.admit().allowed


@pytest.mark.parametrize("values", [{"rate": 0, "burst": 1}, {"rate": 1, "burst": 0}, {"rate": 1}])
def test_invalid_budgets_are_refused(values: dict[str, float]) -> None:
    with pytest.raises(ValidationError):
        RateLimitConfig.model_validate(values)


@pytest.mark.anyio
async def test_shopify_bucket_of_40(make_sandbox: SandboxFactory, clock: FakeClock) -> None:
    sandbox = make_sandbox("shopify", rate_limit="platform", sizes={**SMALL, "customers": 2})
    async with sandbox.client() as client:
        burst = [await client.get("/customers.json") for _ in range(40)]
        refused = await client.get("/customers.json")
        clock.advance(0.5)  # one call leaks out at 2 a second
        after = await client.get("/customers.json")
        again = await client.get("/customers.json")
    assert all(r.status_code == 200 for r in burst)
    assert burst[-1].headers["X-Shopify-Shop-Api-Call-Limit"] == "40/40"
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "2.0"
    assert refused.headers["X-Shopify-Shop-Api-Call-Limit"] == "40/40"
    assert refused.json()["errors"].startswith("Exceeded 2 calls per second for api client.")
    assert after.status_code == 200
    assert again.status_code == 429
    assert sandbox.counters.throttled == 2


@pytest.mark.anyio
async def test_salla_custom_budget(make_sandbox: SandboxFactory, clock: FakeClock) -> None:
    sandbox = make_sandbox("salla", rate_limit=RateLimitConfig(rate=0.25, burst=2))
    async with sandbox.client() as client:
        codes = [(await client.get("/orders")).status_code for _ in range(2)]
        refused = await client.get("/orders")
        clock.advance(4)
        refilled = await client.get("/orders")
    assert codes == [200, 200]
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "4"  # one call leaks out every 4 s
    assert refused.headers["X-RateLimit-Remaining"] == "0"
    assert refused.json()["error"]["code"] == "TooManyRequests"
    assert refilled.status_code == 200
    assert sandbox.counters.snapshot()["statuses"] == {"200": 3, "429": 1}


@pytest.mark.anyio
async def test_unauthenticated_requests_do_not_spend_the_budget(make_sandbox: SandboxFactory) -> None:
    sandbox = make_sandbox("shopify", rate_limit=RateLimitConfig(rate=1, burst=1))
    async with sandbox.client(headers={"X-Shopify-Access-Token": ""}) as anonymous:
        assert (await anonymous.get("/orders.json")).status_code == 401
    async with sandbox.client() as client:
        assert (await client.get("/orders.json")).status_code == 200

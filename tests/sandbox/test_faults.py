"""Each fault knob observed from the outside, reproducibly, and the counters that record them."""

from __future__ import annotations

import json
from collections import Counter

import pytest
from pydantic import ValidationError

from mercator_sandbox import Faults
from tests.sandbox.conftest import FakeClock, FakeSleep, SandboxFactory


@pytest.mark.anyio
async def test_error_rate_gives_5xx_at_about_that_rate(make_sandbox: SandboxFactory) -> None:
    async def statuses(seed: int) -> list[int]:
        sandbox = make_sandbox("salla", seed=seed, faults=Faults(error_rate=0.3))
        async with sandbox.client() as client:
            codes = [(await client.get("/customers?per_page=1")).status_code for _ in range(400)]
        assert sandbox.counters.server_errors == sum(code >= 500 for code in codes)
        return codes

    codes = await statuses(seed=3)
    errors = Counter(code for code in codes if code != 200)
    # 400 draws at p=0.3: mean 120, standard deviation 9.2; 80..160 is more than four deviations.
    assert 80 <= sum(errors.values()) <= 160
    assert set(errors) == {500, 502, 503}
    assert await statuses(seed=3) == codes  # the same seed meets the same faults


@pytest.mark.anyio
async def test_server_errors_keep_the_platform_shape(make_sandbox: SandboxFactory) -> None:
    async with make_sandbox("shopify", faults={"error_rate": 1.0}).client() as client:
        response = await client.get("/orders.json")
    assert response.status_code in (500, 502, 503)
    assert set(response.json()) == {"errors"}


@pytest.mark.anyio
async def test_burst_429_follows_the_exact_pattern(make_sandbox: SandboxFactory) -> None:
    sandbox = make_sandbox(
        "salla", faults=Faults(burst_429_every=3, burst_429_length=2, burst_429_retry_after=7)
    )
    async with sandbox.client() as client:
        responses = [await client.get("/products?per_page=1") for _ in range(11)]
    assert [r.status_code for r in responses] == [200, 200, 200, 429, 429, 200, 200, 200, 429, 429, 200]
    assert responses[3].headers["Retry-After"] == "7"
    assert sandbox.counters.throttled == 4


@pytest.mark.anyio
async def test_hang_sleeps_the_configured_time(make_sandbox: SandboxFactory, sleep: FakeSleep) -> None:
    sandbox = make_sandbox("woocommerce", faults=Faults(hang_rate=1.0, hang_seconds=45))
    async with sandbox.client() as client:
        response = await client.get("/products")
    assert response.status_code == 200  # a hang answers, late: the client's timeout is what fires
    assert sleep.calls == [45]
    assert sandbox.counters.hangs == 1


@pytest.mark.anyio
async def test_latency_and_jitter(make_sandbox: SandboxFactory, sleep: FakeSleep, clock: FakeClock) -> None:
    sandbox = make_sandbox("salla", faults=Faults(latency_ms=100, jitter_ms=50))
    async with sandbox.client() as client:
        for _ in range(30):
            await client.get("/customers?per_page=1")
    assert len(sleep.calls) == 30
    assert all(0.05 <= delay <= 0.15 for delay in sleep.calls)
    assert len(set(sleep.calls)) > 20  # jitter varies the delay
    # Each request was counted when it arrived, before its delay.
    times = sandbox.counters.snapshot()["request_times"]
    assert times[1] - times[0] == pytest.approx(sleep.calls[0])


@pytest.mark.anyio
async def test_truncated_body_has_valid_headers_and_invalid_json(make_sandbox: SandboxFactory) -> None:
    sandbox = make_sandbox("shopify", faults=Faults(truncated_rate=1.0))
    async with sandbox.client() as client:
        response = await client.get("/products.json?limit=5")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert int(response.headers["content-length"]) == len(response.content)
    with pytest.raises(json.JSONDecodeError):
        response.json()
    assert sandbox.counters.truncated == 1


@pytest.mark.anyio
async def test_malformed_body_is_an_html_page_with_200(make_sandbox: SandboxFactory) -> None:
    sandbox = make_sandbox("woocommerce", faults=Faults(malformed_rate=1.0))
    async with sandbox.client() as client:
        response = await client.get("/orders")
        missing = await client.get("/orders/1")  # errors are left alone
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert response.text.startswith("<!DOCTYPE html>")
    with pytest.raises(json.JSONDecodeError):
        response.json()
    assert missing.status_code == 404
    assert missing.json()["code"] == "woocommerce_rest_shop_order_invalid_id"
    assert sandbox.counters.malformed == 1


@pytest.mark.anyio
async def test_faults_change_in_the_middle_of_a_listing(make_sandbox: SandboxFactory) -> None:
    sandbox = make_sandbox("shopify")
    async with sandbox.client() as client:
        first = await client.get("/orders.json?status=any&limit=10")
        sandbox.set_faults(error_rate=1.0)
        failing = await client.get(first.links["next"]["url"])
        sandbox.set_faults(Faults())
        resumed = await client.get(first.links["next"]["url"])
    assert first.status_code == 200
    assert failing.status_code >= 500
    assert resumed.status_code == 200
    assert sandbox.faults == Faults()


def test_set_faults_validates_and_keeps_other_knobs(make_sandbox: SandboxFactory) -> None:
    sandbox = make_sandbox("salla", faults=Faults(latency_ms=20))
    changed = sandbox.set_faults(error_rate=0.5)
    assert (changed.latency_ms, changed.error_rate) == (20, 0.5)
    with pytest.raises(ValidationError):
        sandbox.set_faults(error_rate=1.5)
    with pytest.raises(ValueError, match="either a Faults object or knob changes"):
        sandbox.set_faults(Faults(), error_rate=0.1)


@pytest.mark.parametrize(
    ("knobs", "message"),
    [
        ({"burst_429_every": 5}, "burst_429_every and burst_429_length work together"),
        ({"latency_ms": 10, "jitter_ms": 20}, "jitter_ms must not exceed latency_ms"),
        ({"truncated_rate": -0.1}, "greater than or equal to 0"),
        ({"error_rte": 0.1}, "Extra inputs are not permitted"),
    ],
)
def test_invalid_fault_knobs(knobs: dict[str, float], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Faults.model_validate(knobs)


@pytest.mark.anyio
async def test_counters_per_endpoint_and_reset(make_sandbox: SandboxFactory, clock: FakeClock) -> None:
    sandbox = make_sandbox("salla")
    record_id = min(sandbox.store.ids("orders"))
    async with sandbox.client() as client:
        await client.get("/orders")
        clock.advance(1.5)
        await client.get("/orders?page=2")
        await client.get(f"/orders/{record_id}")
        await client.get("/orders/1")
        await client.get("/nowhere")
    snapshot = sandbox.counters.snapshot()
    assert snapshot["requests"] == {"GET (no route)": 1, "GET /orders": 2, "GET /orders/{id}": 2}
    assert snapshot["total"] == 5
    assert snapshot["statuses"] == {"200": 3, "404": 2}
    assert snapshot["request_times"] == [1000.0, 1001.5, 1001.5, 1001.5, 1001.5]
    assert sandbox.counters.requests[("GET", "/orders")] == 2
    json.dumps(snapshot)  # plain data
    sandbox.counters.reset()
    assert sandbox.counters.snapshot()["total"] == 0
    assert sandbox.counters.snapshot()["request_times"] == []

"""The store's clock: a jump moves every stamp after it, and every answer carries the store's Date."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from mercator_sandbox import OAuthServerConfig, RateLimitConfig, Sandbox, WebhookConfig, serve
from mercator_sandbox.app import FlavorName
from mercator_sandbox.flavors import Shopify
from tests.sandbox.conftest import FLAVORS, SMALL, FakeClock, Receiver, SandboxFactory

# The default anchor, 2025-01-01 00:00:00 UTC, in epoch seconds: the store's present at start.
ANCHOR = int(datetime(2025, 1, 1, tzinfo=UTC).timestamp())
HALF_HOUR = 1_800
AT_START = "Wed, 01 Jan 2025 00:00:00 GMT"
HALF_HOUR_LATER = "Wed, 01 Jan 2025 00:30:00 GMT"
LIST_PATHS: dict[FlavorName, str] = {"salla": "/orders", "shopify": "/orders.json", "woocommerce": "/orders"}
DETAILS_PATHS: dict[FlavorName, str] = {
    "salla": "/orders/{id}",
    "shopify": "/orders/{id}.json",
    "woocommerce": "/orders/{id}",
}


def gmt(text: str) -> int:
    """A WooCommerce ``*_gmt`` field in epoch seconds."""
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp())


# --- the jump -------------------------------------------------------------------------------------


def test_without_a_jump_store_time_follows_the_clock(make_sandbox: SandboxFactory, clock: FakeClock) -> None:
    # Given a store on a clock that moved five seconds
    sandbox = make_sandbox("shopify")
    clock.advance(5)

    # When nothing jumps, Then the store's time is the anchor plus those five seconds
    assert sandbox.store.time.now() == ANCHOR + 5
    assert sandbox.store.time.jumped == 0


def test_a_jump_moves_every_stamp_made_after_it(make_sandbox: SandboxFactory, receiver: Receiver) -> None:
    # Given a Shopify store that sends webhooks, at its anchor
    hooks = WebhookConfig(url="http://receiver.test/hooks", secret="s")
    sandbox = make_sandbox("shopify", webhooks=hooks, webhook_client=receiver.client())
    touched, doomed = sorted(sandbox.store.ids("orders"))[:2]

    # When its clock jumps half an hour and records change
    now = sandbox.advance_clock(HALF_HOUR)
    updated = sandbox.store.touch("orders", touched)
    created = sandbox.store.insert("products")
    sandbox.store.delete("orders", doomed)

    # Then the jump is reported, and every stamp is half an hour after the anchor
    assert now == ANCHOR + HALF_HOUR
    assert sandbox.store.time.jumped == HALF_HOUR
    assert updated.updated == ANCHOR + HALF_HOUR
    assert (created.created, created.updated) == (ANCHOR + HALF_HOUR, ANCHOR + HALF_HOUR)
    assert isinstance(sandbox.flavor, Shopify)
    assert {event.created_at for event in sandbox.flavor.event_log.events} == {ANCHOR + HALF_HOUR}
    assert sandbox.emitter is not None
    assert {delivery.headers["X-Shopify-Triggered-At"] for delivery in sandbox.emitter.pending} == {
        "2025-01-01T00:30:00Z"
    }


def test_jumps_add_up_with_the_clock(make_sandbox: SandboxFactory, clock: FakeClock) -> None:
    # Given a store whose clock jumped twice and also ran for ten seconds
    sandbox = make_sandbox("woocommerce")
    sandbox.advance_clock(60)
    clock.advance(10)
    sandbox.advance_clock(HALF_HOUR)

    # When an order is trashed
    order = sandbox.store.delete("orders", min(sandbox.store.ids("orders")))

    # Then its modification time is the anchor plus all of it
    assert order.updated == ANCHOR + 60 + 10 + HALF_HOUR


@pytest.mark.parametrize("seconds", [-1, math.nan, math.inf])
def test_the_clock_jumps_forward_only(make_sandbox: SandboxFactory, seconds: float) -> None:
    sandbox = make_sandbox("salla")
    with pytest.raises(ValueError, match="only jumps forward"):
        sandbox.advance_clock(seconds)
    assert sandbox.store.time.now() == ANCHOR


@pytest.mark.anyio
async def test_a_jump_does_not_refill_the_rate_budget(make_sandbox: SandboxFactory) -> None:
    # Given a Shopify store whose budget of two calls is spent
    sandbox = make_sandbox("shopify", rate_limit=RateLimitConfig(rate=0.01, burst=2))
    async with sandbox.client() as client:
        spent = [(await client.get("/orders.json")).status_code for _ in range(2)]

        # When the wall clock jumps an hour (no time elapses on the budget's clock)
        sandbox.advance_clock(3_600)
        after = await client.get("/orders.json")

    # Then the budget still refuses: it measures elapsed time, not the wall clock
    assert spent == [200, 200]
    assert after.status_code == 429


# --- the Date header ------------------------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize("flavor", FLAVORS)
async def test_every_answer_carries_one_date_in_store_time(
    make_sandbox: SandboxFactory, flavor: FlavorName
) -> None:
    # Given a store of each flavor
    sandbox = make_sandbox(flavor)
    order = min(sandbox.store.ids("orders"))
    async with sandbox.client() as client:
        # When it answers a list, details, an unknown route and a request without credentials
        answers = [
            await client.get(LIST_PATHS[flavor]),
            await client.get(DETAILS_PATHS[flavor].format(id=order)),
            await client.get("/no-such-route"),
            await client.get(LIST_PATHS[flavor], headers=dict.fromkeys(sandbox.credentials, "")),
        ]
        # ...and again after its clock jumped half an hour
        sandbox.advance_clock(HALF_HOUR)
        later = [await client.get(LIST_PATHS[flavor]), await client.get("/no-such-route")]

    # Then each carries exactly one Date, the store's time then
    assert [answer.status_code for answer in answers] == [200, 200, 404, 401]
    assert [answer.headers.get_list("date") for answer in answers] == [[AT_START]] * 4
    assert [answer.headers.get_list("date") for answer in later] == [[HALF_HOUR_LATER]] * 2


@pytest.mark.anyio
async def test_faults_and_throttles_carry_the_store_date_too(make_sandbox: SandboxFactory) -> None:
    # Given a store that answers 5xx, and one whose budget is spent
    failing = make_sandbox("salla", faults={"error_rate": 1.0})
    throttled = make_sandbox("shopify", rate_limit=RateLimitConfig(rate=0.01, burst=1))
    failing.advance_clock(HALF_HOUR)
    throttled.advance_clock(HALF_HOUR)

    # When each refuses
    async with failing.client() as client:
        error = await client.get("/orders")
    async with throttled.client() as client:
        await client.get("/orders.json")
        refused = await client.get("/orders.json")

    # Then the refusals carry the store's Date as well
    assert error.status_code >= 500 and refused.status_code == 429
    assert error.headers.get_list("date") == [HALF_HOUR_LATER]
    assert refused.headers.get_list("date") == [HALF_HOUR_LATER]


@pytest.mark.anyio
async def test_the_oauth_server_answers_in_store_time(clock: FakeClock) -> None:
    # Given a store with its OAuth server, half an hour after its anchor
    oauth = OAuthServerConfig(client_id="app-1", client_secret="secret-1")
    sandbox = Sandbox("salla", sizes=SMALL, rate_limit=None, clock=clock, oauth=oauth)
    sandbox.advance_clock(HALF_HOUR)

    # When a client asks for a token with a wrong secret
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=sandbox.app), base_url="http://t"
    ) as client:
        response = await client.post(
            "/oauth/token",
            data={"client_id": "app-1", "client_secret": "wrong", "grant_type": "refresh_token"},
        )

    # Then that answer, outside the flavor's pipeline, carries the store's Date too
    assert response.status_code >= 400
    assert response.headers.get_list("date") == [HALF_HOUR_LATER]


def test_served_by_uvicorn_the_only_date_is_the_stores(clock: FakeClock) -> None:
    # Given a store on a frozen clock, served over real HTTP
    sandbox = Sandbox("woocommerce", seed=3, sizes=SMALL, rate_limit=None, clock=clock)
    with serve.serving(sandbox) as origin:
        url = f"{sandbox.base_url(origin)}/orders"
        # When a client lists orders, before and after the clock jumps
        before = httpx.get(url, headers=sandbox.credentials)
        sandbox.advance_clock(HALF_HOUR)
        after = httpx.get(url, headers=sandbox.credentials)

    # Then each answer has one Date (uvicorn adds none) and it is the store's, not today's
    assert before.headers.get_list("date") == [AT_START]
    assert after.headers.get_list("date") == [HALF_HOUR_LATER]


def test_the_command_line_server_leaves_the_date_to_the_store(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given the CLI with uvicorn replaced by a recorder
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr("mercator_sandbox.serve.uvicorn.run", lambda app, **options: calls.append(options))

    # When it serves
    assert serve.run(["--flavor", "shopify", "--orders", "2", "--port", "8911"]) == 0

    # Then uvicorn was told not to stamp its own Date
    assert [call["date_header"] for call in calls] == [False]
    assert calls[0]["port"] == 8911

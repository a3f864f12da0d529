"""Token renewal against the sandbox's OAuth server, with the lock and the secret on moto.

Concurrent callers with one expired token renew it exactly once (asyncio tasks and threads, each with
clients of its own); a 401 in the middle of a run renews once; the rotated refresh token is stored;
no token shows up in the logs.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from contextlib import aclosing
from typing import Any

import pytest

from mercator.domain.entities import Integration
from mercator.domain.pages import DetailResult
from tests.integration.oauth.support import CLIENT_SECRET, Lambda, OAuthWorld

CALLERS = 10


async def fetch_one(
    world: OAuthWorld, integration: Integration, order_id: int, lambda_: Lambda | None = None
) -> dict[str, Any]:
    """One Lambda's work: read the credentials, open a session, fetch one order's details."""
    lambda_ = lambda_ or world.cold_start()
    credentials = lambda_.vault.credentials(integration)
    async with lambda_.sessions.open(world.definition, integration, credentials) as session:
        return await session.details("orders", order_id)


def assert_renewed_once(world: OAuthWorld, integration: Integration, old: dict[str, str]) -> dict[str, str]:
    """Exactly one refresh call reached the token endpoint, and its rotated tokens are stored."""
    assert world.oauth_server.counters.snapshot()["token_calls"] == {"refresh_token": 1}
    assert world.oauth_server.counters.refused == {}
    stored = world.cold_start().vault.credentials(integration)
    assert stored["accessToken"] != old["accessToken"]
    assert stored["refreshToken"] != old["refreshToken"]
    assert world.oauth_server.token_status(stored["accessToken"]) == "valid"
    # Everything else the integration holds is kept
    assert stored["webhookSecret"] == old["webhookSecret"]
    return stored


@pytest.mark.anyio
async def test_ten_tasks_with_an_expired_token_renew_it_once(world: OAuthWorld) -> None:
    # Given an integration whose token expired ten seconds ago (for Mercator and for the store)
    integration, old = world.installed(expires_in=-10)
    world.sandbox_clock.now += 3600
    ids = sorted(world.sandbox.store.ids("orders"))[:CALLERS]

    # When ten Lambdas fetch an order each at the same moment
    records = await asyncio.gather(*(fetch_one(world, integration, order_id) for order_id in ids))

    # Then all ten got their order, with one renewal between them
    assert [record["id"] for record in records] == ids
    assert_renewed_once(world, integration, old)


def test_ten_threads_with_an_expired_token_renew_it_once(world: OAuthWorld) -> None:
    # Given an integration whose token expired, and ten Lambdas on threads of their own
    integration, old = world.installed(expires_in=-10)
    world.sandbox_clock.now += 3600
    ids = sorted(world.sandbox.store.ids("orders"))[:CALLERS]
    start = threading.Barrier(CALLERS)
    results: dict[int, dict[str, Any] | BaseException] = {}
    # Cold starts first: boto3 makes clients safely on one thread only.
    lambdas = {order_id: world.cold_start() for order_id in ids}

    def run(order_id: int) -> None:
        start.wait()
        try:
            results[order_id] = asyncio.run(fetch_one(world, integration, order_id, lambdas[order_id]))
        except BaseException as exc:  # reported by the assertion below
            results[order_id] = exc

    threads = [threading.Thread(target=run, args=(order_id,)) for order_id in ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    # Then every thread got its order, and the token endpoint saw one refresh
    assert {order_id: record["id"] for order_id, record in results.items() if isinstance(record, dict)} == {
        order_id: order_id for order_id in ids
    }
    assert_renewed_once(world, integration, old)


@pytest.mark.anyio
async def test_a_token_about_to_expire_is_renewed_before_the_call(world: OAuthWorld) -> None:
    # Given a token Mercator sees expiring within its five-minute margin, though the store still takes it
    integration, old = world.installed(expires_in=120)
    order_id = sorted(world.sandbox.store.ids("orders"))[0]

    record = await fetch_one(world, integration, order_id)

    # Then it was renewed first: no 401 was needed
    assert record["id"] == order_id
    assert_renewed_once(world, integration, old)
    assert world.sandbox.counters.statuses.get(401, 0) == 0


@pytest.mark.anyio
async def test_a_401_in_the_middle_of_a_run_renews_once(world: OAuthWorld) -> None:
    # Given a token that Mercator believes valid for another day
    integration, old = world.installed(expires_in=86400)
    lambda_ = world.cold_start()
    session = lambda_.sessions.open(world.definition, integration, lambda_.vault.credentials(integration))
    ids = sorted(world.sandbox.store.ids("orders"))

    async with session:
        # When the first page is listed, then the store's clock passes the token's hour
        pages = aclosing(session.pages("orders", page_size=4))
        async with pages as walk:
            first = await anext(walk)
            world.sandbox_clock.now += 3600
            # And eight details are fetched at once (eight 401s), then the listing goes on
            results: list[DetailResult] = [
                result async for result in session.details_many("orders", ids[:8], concurrency=8)
            ]
            rest = [page async for page in walk]

    # Then everything was served, with one renewal after the refusals
    assert len(first.records) == 4 and sum(len(page.records) for page in rest) == len(ids) - 4
    assert sorted(int(result.id) for result in results if result.error is None) == ids[:8]
    assert world.sandbox.counters.statuses[401] >= 1
    stored = assert_renewed_once(world, integration, old)
    # The new expiry is an hour from the renewal (the sandbox grants 3600 s)
    assert int(stored["expiresAt"]) > int(old["expiresAt"]) - 86400 + 3000


@pytest.mark.anyio
async def test_a_second_lambda_with_the_old_token_uses_the_stored_one(world: OAuthWorld) -> None:
    # Given a Lambda that read the credentials before another renewed them
    integration, old = world.installed(expires_in=-10)
    world.sandbox_clock.now += 3600
    late = world.cold_start()
    stale_credentials = late.vault.credentials(integration)
    order_ids = sorted(world.sandbox.store.ids("orders"))[:2]
    await fetch_one(world, integration, order_ids[0])

    # When it calls with what it read
    async with late.sessions.open(world.definition, integration, stale_credentials) as session:
        record = await session.details("orders", order_ids[1])

    # Then it picked up the stored token instead of spending the rotated refresh token again
    assert record["id"] == order_ids[1]
    assert_renewed_once(world, integration, old)


@pytest.mark.anyio
async def test_no_token_reaches_the_logs(world: OAuthWorld, caplog: pytest.LogCaptureFixture) -> None:
    # Mercator's own lines at every level, and the HTTP libraries', which log each request's URL
    for name in ("mercator", "httpx", "httpcore"):
        caplog.set_level(logging.DEBUG, logger=name)
    integration, old = world.installed(expires_in=86400)
    world.sandbox_clock.now += 3600  # the store refuses it: a 401, then a renewal
    await fetch_one(world, integration, sorted(world.sandbox.store.ids("orders"))[0])
    new = assert_renewed_once(world, integration, old)

    assert "access token renewed" in caplog.text
    for secret in (
        old["accessToken"],
        old["refreshToken"],
        new["accessToken"],
        new["refreshToken"],
        CLIENT_SECRET,
    ):
        assert secret not in caplog.text

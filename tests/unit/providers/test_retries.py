"""Retries: what is retried, how long Mercator waits, and when it gives up."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable

import httpx
import pytest

from mercator.domain.provider_errors import (
    ProviderConnectionError,
    ProviderError,
    ProviderHTTPError,
    ProviderResponseError,
    ProviderTimeoutError,
)
from mercator.domain.rate_limits import RateSignal
from mercator.providers.retries import RetryPolicy
from tests.unit.providers.conftest import (
    HighestRandom,
    RecordingLimiter,
    SleepRecorder,
    connector,
    json_response,
    make_client,
    retry_policy,
)

DETAIL = {"id": 5, "name": "Mug"}


def test_backoff_is_full_jitter_under_an_exponential_cap() -> None:
    policy = RetryPolicy(base_delay=10, max_delay=30, rng=HighestRandom())
    # min(30, 10 * 2**n): 10, 20, then capped
    assert [policy.backoff(n) for n in range(4)] == [10, 20, 30, 30]


def test_backoff_draws_between_zero_and_the_cap() -> None:
    policy = RetryPolicy(base_delay=1, max_delay=8, rng=random.Random(7))
    draws = [policy.backoff(3) for _ in range(200)]
    assert all(0 <= draw <= 8 for draw in draws)
    assert len(set(draws)) > 100  # jittered, not one fixed wait


def test_retry_after_replaces_the_backoff() -> None:
    policy = RetryPolicy(rng=HighestRandom())
    assert policy.delay(0, 7.5) == 7.5
    assert policy.delay(2, None) == 2.0  # 0.5 * 2**2
    assert policy.too_long(121) and not policy.too_long(120) and not policy.too_long(None)


@pytest.mark.parametrize("field", ["max_attempts", "base_delay"])
def test_bad_policy_is_refused(field: str) -> None:
    with pytest.raises(ValueError, match=field):
        RetryPolicy(**{field: -1})  # type: ignore[arg-type]


def flaky(
    first: Callable[[httpx.Request], httpx.Response], failures: int = 1
) -> Callable[..., httpx.Response]:
    """Fails ``failures`` times with ``first``, then answers the detail record."""
    calls = {"n": 0}

    def handler(request: httpx.Request) -> httpx.Response:
        calls["n"] += 1
        return first(request) if calls["n"] <= failures else json_response(DETAIL)

    return handler


def status(code: int, **headers: str) -> Callable[[httpx.Request], httpx.Response]:
    return lambda request: httpx.Response(code, text="busy", headers=headers)


def raises(error: type[httpx.TransportError]) -> Callable[[httpx.Request], httpx.Response]:
    def handler(request: httpx.Request) -> httpx.Response:
        raise error("boom", request=request)

    return handler


def truncated(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, content=b'{"id": 5, "na', headers={"Content-Type": "application/json"})


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("failure", "counter"),
    [
        (status(429), "throttled"),
        (status(500), "server_errors"),
        (status(502), "server_errors"),
        (status(503), "server_errors"),
        (status(504), "server_errors"),
        (raises(httpx.ReadTimeout), "timeouts"),
        (raises(httpx.ConnectTimeout), "timeouts"),
        (raises(httpx.ConnectError), None),
        (raises(httpx.RemoteProtocolError), None),
        (truncated, None),
    ],
)
async def test_retryable_failures_are_tried_again(
    failure: Callable[[httpx.Request], httpx.Response], counter: str | None
) -> None:
    sleep = SleepRecorder()
    limiter = RecordingLimiter()
    client = make_client(connector(), flaky(failure, failures=2), limiter=limiter, retry=retry_policy(sleep))

    record = await client.details("orders", 5)

    assert record == DETAIL
    assert sleep.delays == [0.5, 1.0]  # full jitter drawing its top: 0.5 * 2**0, 0.5 * 2**1
    assert limiter.acquired == 3  # every attempt takes a token
    assert client.stats.requests == 3 and client.stats.retries == 2
    if counter:
        assert getattr(client.stats, counter) == 2


@pytest.mark.anyio
@pytest.mark.parametrize("code", [400, 401, 403, 404, 409, 422, 501])
async def test_other_statuses_fail_fast(code: int) -> None:
    sleep = SleepRecorder()
    client = make_client(connector(), status(code), retry=retry_policy(sleep))

    with pytest.raises(ProviderHTTPError) as raised:
        await client.details("orders", 5)

    assert raised.value.status == code
    assert f"GET https://api.example.com/v1/orders/5 answered {code}" in str(raised.value)
    assert sleep.delays == [] and client.stats.requests == 1


@pytest.mark.anyio
async def test_a_redirect_is_not_followed_and_says_where_to() -> None:
    client = make_client(connector(), status(301, Location="https://new.example.com/v1/orders/5"))

    with pytest.raises(ProviderHTTPError, match=r"301.*redirected to https://new.example.com/v1/orders/5"):
        await client.details("orders", 5)


@pytest.mark.anyio
async def test_retry_after_is_honoured_and_shared_through_the_limiter() -> None:
    sleep = SleepRecorder()
    limiter = RecordingLimiter()
    client = make_client(
        connector(), flaky(status(429, **{"Retry-After": "7"})), limiter=limiter, retry=retry_policy(sleep)
    )

    await client.details("orders", 5)

    assert sleep.delays == [7.0]
    assert limiter.signals == [RateSignal(retry_after=7.0)]


@pytest.mark.anyio
async def test_a_429_without_retry_after_still_pauses_every_caller() -> None:
    sleep = SleepRecorder()
    limiter = RecordingLimiter()
    client = make_client(connector(), flaky(status(429)), limiter=limiter, retry=retry_policy(sleep))

    await client.details("orders", 5)

    # The backoff this caller chose becomes everyone's hold
    assert sleep.delays == [0.5]
    assert limiter.signals == [RateSignal(retry_after=0.5)]


@pytest.mark.anyio
async def test_a_spent_budget_on_a_429_sets_the_wait() -> None:
    sleep = SleepRecorder()
    headers = {"X-Rate-Limit-Requests-Left": "0", "X-Rate-Limit-Time-Reset-Ms": "2500"}
    client = make_client(connector(), flaky(status(429, **headers)), retry=retry_policy(sleep))

    await client.details("orders", 5)

    assert sleep.delays == [2.5]


@pytest.mark.anyio
async def test_a_503_with_retry_after_waits_that_long() -> None:
    sleep = SleepRecorder()
    client = make_client(connector(), flaky(status(503, **{"Retry-After": "3"})), retry=retry_policy(sleep))

    await client.details("orders", 5)

    assert sleep.delays == [3.0]


@pytest.mark.anyio
async def test_a_retry_after_beyond_the_cap_fails_with_the_reason() -> None:
    sleep = SleepRecorder()
    limiter = RecordingLimiter()
    client = make_client(
        connector(), status(429, **{"Retry-After": "300"}), limiter=limiter, retry=retry_policy(sleep)
    )

    with pytest.raises(ProviderHTTPError, match=r"wait 300 s.*longer than the 120 s") as raised:
        await client.details("orders", 5)

    assert raised.value.status == 429
    assert sleep.delays == [] and client.stats.requests == 1
    # the others are still told to hold off
    assert limiter.signals == [RateSignal(retry_after=300)]


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("failure", "error"),
    [
        (status(503), ProviderHTTPError),
        (status(429), ProviderHTTPError),
        (raises(httpx.ReadTimeout), ProviderTimeoutError),
        (raises(httpx.ConnectError), ProviderConnectionError),
        (truncated, ProviderResponseError),
    ],
)
async def test_retries_run_out(
    failure: Callable[[httpx.Request], httpx.Response], error: type[ProviderError]
) -> None:
    sleep = SleepRecorder()
    client = make_client(connector(), failure, retry=retry_policy(sleep, max_attempts=4))

    with pytest.raises(error, match="after 4 attempts"):
        await client.details("orders", 5)

    assert sleep.delays == [0.5, 1.0, 2.0]
    assert client.stats.requests == 4 and client.stats.retries == 3


@pytest.mark.anyio
async def test_rate_signals_of_successful_answers_reach_the_limiter() -> None:
    limiter = RecordingLimiter()
    handler = lambda request: json_response(DETAIL, headers={"X-Shopify-Shop-Api-Call-Limit": "39/40"})  # noqa: E731
    client = make_client(connector(), handler, limiter=limiter)

    await client.details("orders", 5)

    assert limiter.signals == [RateSignal(remaining=1, limit=40)]


@pytest.mark.anyio
async def test_answers_without_signals_are_not_reported() -> None:
    limiter = RecordingLimiter()
    client = make_client(connector(), lambda request: json_response(DETAIL), limiter=limiter)

    await client.details("orders", 5)

    assert limiter.signals == []
    assert client.stats.bytes_received == len(b'{"id": 5, "name": "Mug"}')


@pytest.mark.anyio
async def test_a_fail_fast_status_after_a_retry_ends_at_once() -> None:
    answers = iter([httpx.Response(503, text="busy"), httpx.Response(404, text="gone")])
    sleep = SleepRecorder()
    client = make_client(connector(), lambda request: next(answers), retry=retry_policy(sleep))

    with pytest.raises(ProviderHTTPError, match="answered 404 \\(after 2 attempts\\)") as raised:
        await client.details("orders", 5)

    assert raised.value.status == 404 and sleep.delays == [0.5]


@pytest.mark.anyio
async def test_the_connector_timeout_cuts_off_an_answer_the_transport_never_times_out() -> None:
    # Given a transport that enforces no timeout and a first answer that would take a minute
    definition = connector().model_copy(deep=True)
    definition.sync.syncConfiguration.timeout = 100  # ms, the smallest a connector may set
    calls = {"n": 0}

    async def slow_then_quick(request: httpx.Request) -> httpx.Response:
        calls["n"] += 1
        if calls["n"] == 1:
            await asyncio.sleep(60)
        return json_response(DETAIL)

    client = make_client(definition, slow_then_quick, retry=retry_policy(SleepRecorder()))

    # When the record is fetched
    record = await client.details("orders", 5)

    # Then the slow attempt was abandoned as a timeout and retried
    assert record == DETAIL
    assert client.stats.timeouts == 1 and client.stats.requests == 2

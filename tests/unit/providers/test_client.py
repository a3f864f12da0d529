"""The client's requests: templated URLs and headers, auth, details, and its HTTP client's life."""

from __future__ import annotations

import asyncio
import base64
from typing import Any

import httpx
import pytest

from mercator.domain.errors import MissingCredentialError
from mercator.domain.pages import DetailResult
from mercator.domain.provider_errors import ProviderHTTPError, ProviderResponseError
from mercator.providers.client import ProviderClient
from mercator.providers.token_bucket import TokenBucket
from tests.unit.providers.conftest import (
    RecordingLimiter,
    connector,
    json_response,
    make_client,
    resource,
    retry_policy,
)

pytestmark = pytest.mark.anyio


def zid_like() -> Any:
    return connector(
        resource(
            "orders",
            endpoints={
                "list": {
                    "url": "/stores/[[storeId]]/orders",
                    "params": {"payload_type": "default", "paid": True},
                },
                "details": {"url": "/stores/[[storeId]]/orders/{id}/view", "dataProperty": "order"},
            },
            pagination={"type": "none"},
            responseMapping={"dataProperty": "orders"},
        ),
        auth={"type": "api_key", "credentials": ["accessToken", "storeId"]},
        headers={"X-Manager-Token": "[[accessToken]]", "Store-Id": "[[storeId]]", "Role": "Manager"},
        base_url="https://api.example.com/v1",
    )


CREDENTIALS = {"accessToken": "tok-abcdef123", "storeId": "4242"}


async def test_placeholders_fill_urls_headers_and_params() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return json_response({"orders": [{"id": 1}]})

    client = make_client(zid_like(), handler, credentials=CREDENTIALS)
    pages = [page async for page in client.pages("orders")]

    (request,) = seen
    assert str(request.url) == "https://api.example.com/v1/stores/4242/orders?payload_type=default&paid=true"
    assert request.headers["X-Manager-Token"] == "tok-abcdef123"
    assert request.headers["Store-Id"] == "4242"
    assert request.headers["Role"] == "Manager"
    assert pages[0].records == [{"id": 1}]


async def test_base_url_comes_from_credentials_and_can_be_overridden() -> None:
    definition = connector(
        resource("orders", pagination={"type": "none"}),
        auth={"type": "api_key", "credentials": ["accessToken", "storeUrl"]},
        base_url="[[storeUrl]]/wp-json/wc/v3",
    )
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return json_response([])

    credentials = {"accessToken": "t-0000000", "storeUrl": "https://shop.example.com/"}
    for base_url in (None, "http://127.0.0.1:8123/demo/"):
        client = make_client(definition, handler, credentials=credentials, base_url=base_url)
        async for _ in client.pages("orders"):
            pass

    assert seen == ["https://shop.example.com/wp-json/wc/v3/orders", "http://127.0.0.1:8123/demo/orders"]


async def test_basic_auth_sends_the_two_named_credentials() -> None:
    definition = connector(
        resource("orders", pagination={"type": "none"}),
        auth={"type": "basic", "username": "consumerKey", "password": "consumerSecret"},
        headers={"Accept": "application/json"},
    )
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return json_response([])

    client = make_client(definition, handler, credentials={"consumerKey": "ck_1", "consumerSecret": "cs_2"})
    async for _ in client.pages("orders"):
        pass

    assert seen[0].headers["Authorization"] == "Basic " + base64.b64encode(b"ck_1:cs_2").decode()
    assert seen[0].headers["Accept"] == "application/json"


@pytest.mark.parametrize(
    ("credentials", "where"),
    [
        ({"accessToken": "t"}, "sync.baseUrl"),  # no storeUrl
        ({"storeUrl": "https://shop.example.com"}, "sync.headers.Authorization"),  # no token
        ({"storeUrl": "https://shop.example.com", "accessToken": ""}, "sync.headers.Authorization"),
    ],
)
def test_a_missing_credential_is_named_with_where_it_is_needed(
    credentials: dict[str, str], where: str
) -> None:
    definition = connector(
        resource("orders"),
        auth={"type": "api_key", "credentials": ["accessToken", "storeUrl"]},
        base_url="[[storeUrl]]/api",
    )
    with pytest.raises(MissingCredentialError) as raised:
        ProviderClient(definition, credentials, limiter=RecordingLimiter())
    assert raised.value.where == where


def test_a_base_url_that_is_not_a_url_is_refused() -> None:
    definition = connector(
        resource("orders"),
        auth={"type": "api_key", "credentials": ["accessToken", "storeUrl"]},
        base_url="[[storeUrl]]/api",
    )
    with pytest.raises(ValueError, match="not an absolute http"):
        ProviderClient(
            definition, {"storeUrl": "shop.example.com", "accessToken": "t"}, limiter=RecordingLimiter()
        )


@pytest.mark.parametrize(("concurrency", "prefetch"), [(0, 4), (8, 0)])
def test_bad_concurrency_is_refused(concurrency: int, prefetch: int) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        ProviderClient(
            connector(),
            {"accessToken": "t"},
            limiter=RecordingLimiter(),
            details_concurrency=concurrency,
            page_prefetch=prefetch,
        )


async def test_an_unknown_resource_lists_the_valid_ones() -> None:
    client = make_client(
        connector(resource("orders"), resource("products")), lambda request: json_response([])
    )
    with pytest.raises(ValueError, match="no resource 'order'; resources: orders, products"):
        await client.details("order", 1)


# details


async def test_details_fills_the_quoted_id_and_unwraps_the_record() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return json_response({"status": "ok", "order": {"id": "A/1 x", "total": 5}})

    client = make_client(zid_like(), handler, credentials=CREDENTIALS)
    record = await client.details("orders", "A/1 x")

    assert record == {"id": "A/1 x", "total": 5}
    assert seen[0].url.raw_path == b"/v1/stores/4242/orders/A%2F1%20x/view"


async def test_details_without_a_record_object_is_an_error() -> None:
    client = make_client(zid_like(), lambda request: json_response({"status": "ok"}), credentials=CREDENTIALS)
    with pytest.raises(ProviderResponseError, match="expected a record object at 'order', found nothing"):
        await client.details("orders", 7)


async def test_details_needs_a_details_endpoint() -> None:
    definition = connector(resource("orders", endpoints={"list": {"url": "/orders"}}))
    client = make_client(definition, lambda request: json_response({}))
    with pytest.raises(ValueError, match=r"no endpoints\.details"):
        await client.details("orders", 1)
    with pytest.raises(ValueError, match=r"no endpoints\.details"):
        [result async for result in client.details_many("orders", [1])]


async def test_details_many_bounds_concurrency_and_reports_each_failure_alone() -> None:
    in_flight = 0
    most = 0

    async def handler(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, most
        record_id = int(request.url.path.rsplit("/", 1)[1])
        in_flight += 1
        most = max(most, in_flight)
        for _ in range(5):
            await asyncio.sleep(0)
        in_flight -= 1
        if record_id % 7 == 0:
            return httpx.Response(404, text="no such order")
        return json_response({"id": record_id})

    client = make_client(connector(), handler, retry=retry_policy())
    results = [result async for result in client.details_many("orders", range(1, 21), concurrency=3)]

    assert most == 3
    by_id = {result.id: result for result in results}
    assert sorted(by_id, key=int) == [str(n) for n in range(1, 21)]
    failed = sorted(int(result.id) for result in results if result.error is not None)
    assert failed == [7, 14]
    assert isinstance(by_id["7"].error, ProviderHTTPError) and by_id["7"].error.status == 404
    assert by_id["7"].record is None
    assert by_id["8"] == DetailResult("8", {"id": 8}, None)


async def test_details_many_uses_the_clients_concurrency_by_default() -> None:
    in_flight = 0
    most = 0

    async def handler(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, most
        in_flight += 1
        most = max(most, in_flight)
        for _ in range(5):
            await asyncio.sleep(0)
        in_flight -= 1
        return json_response({"id": 1})

    client = make_client(connector(), handler, details_concurrency=5)
    results = [result async for result in client.details_many("orders", [str(n) for n in range(30)])]

    assert len(results) == 30 and most == 5


async def test_details_many_with_no_ids_yields_nothing() -> None:
    client = make_client(connector(), lambda request: json_response({"id": 1}))
    assert [result async for result in client.details_many("orders", [])] == []


# the HTTP client's life


async def test_an_injected_http_client_is_left_open() -> None:
    http = httpx.AsyncClient(transport=httpx.MockTransport(lambda request: json_response({"id": 1})))
    async with ProviderClient(
        connector(), {"accessToken": "t"}, limiter=RecordingLimiter(), http=http
    ) as client:
        await client.details("orders", 1)
    assert not http.is_closed
    await http.aclose()


async def test_an_own_http_client_is_closed_on_exit() -> None:
    async with ProviderClient(connector(), {"accessToken": "t"}, limiter=TokenBucket(5)) as client:
        own = client._http
        assert not own.is_closed
        # the connector's timeout (5000 ms) applies to every request
        assert own.timeout.read == 5.0
    assert own.is_closed


async def test_stats_count_requests_and_bytes() -> None:
    client = make_client(connector(), lambda request: json_response({"id": 1}))
    await client.details("orders", 1)
    await client.details("orders", 2)
    assert client.stats.requests == 2
    assert client.stats.bytes_received == 2 * len(b'{"id": 1}')
    assert client.stats.retries == client.stats.throttled == client.stats.timeouts == 0

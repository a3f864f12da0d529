"""The client's details of list-shaped endpoints (``matchBy``), sub-resource calls, and resources
with no list endpoint."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from mercator.connector import validate_definition
from mercator.domain.provider_errors import (
    ProviderHTTPError,
    ProviderRecordNotFoundError,
    ProviderResponseError,
    SubResourceError,
)
from tests.unit.providers.conftest import (
    BASE,
    RecordingLimiter,
    SleepRecorder,
    connector,
    json_response,
    make_client,
    resource,
    retry_policy,
)

pytestmark = pytest.mark.anyio

BY_IDS = {"url": "/orders", "params": {"ids": "{id}"}, "dataProperty": "data", "matchBy": "id"}


def orders(**fields: Any) -> Any:
    return connector(resource("orders", endpoints={"list": {"url": "/orders"}, "details": BY_IDS}, **fields))


async def test_a_list_shaped_details_answer_gives_the_item_with_the_id() -> None:
    # Given a store that answers GET /orders?ids=7 with the order and an older revision of another
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return json_response({"data": [{"id": 70, "total": 1}, {"id": 7, "total": 5}]})

    client = make_client(orders(), handler)

    record = await client.details("orders", "7")

    # Then the id went out as the param, and the item whose id reads "7" is the record
    assert record == {"id": 7, "total": 5}
    assert seen[0].url.params["ids"] == "7"


async def test_a_list_shaped_details_answer_without_the_id_is_a_record_not_found() -> None:
    client = make_client(orders(), lambda request: json_response({"data": [{"id": 70}]}))

    with pytest.raises(ProviderRecordNotFoundError) as caught:
        await client.details("orders", "7")

    assert str(caught.value) == (
        "GET https://api.example.com/v1/orders?ids=7: the answer lists no record whose 'id' is '7'"
    )
    assert caught.value.record_id == "7"


async def test_a_list_shaped_details_answer_that_holds_no_list_is_a_response_error() -> None:
    client = make_client(orders(), lambda request: json_response({"data": {"id": 7}}))

    with pytest.raises(ProviderResponseError, match="expected a list of records at 'data', found an object"):
        await client.details("orders", "7")


def items_of(record: str) -> dict[str, Any]:
    return {"data": [{"sku": f"{record}-A", "qty": 1}]}


def with_items(**items: Any) -> Any:
    return orders(
        expandDetails=True,
        subResources={"items": {"url": "/orders/{id}/products", "dataProperty": "data", **items}},
    )


async def test_each_sub_resource_is_one_more_paced_counted_request_whose_answer_fills_its_field() -> None:
    # Given orders whose line items come from /orders/{id}/products
    paths: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        paths.append(request.url.path)
        if request.url.path.endswith("/products"):
            return json_response(items_of(request.url.path.split("/")[-2]))
        return json_response({"data": [{"id": int(request.url.params["ids"]), "items": "stale"}]})

    limiter = RecordingLimiter()
    client = make_client(with_items(), handler, limiter=limiter)

    # When the details of two orders are fetched
    results = {result.id: result async for result in client.details_many("orders", ["7", "8"], concurrency=1)}

    # Then each record carries its own items, in place of what the details body had there
    assert results["7"].record == {"id": 7, "items": [{"sku": "7-A", "qty": 1}]}
    assert results["8"].record == {"id": 8, "items": [{"sku": "8-A", "qty": 1}]}
    # And each record cost two requests, each through the limiter and in the client's counters
    assert paths == ["/v1/orders", "/v1/orders/7/products", "/v1/orders", "/v1/orders/8/products"]
    assert limiter.acquired == 4
    assert client.stats.requests == 4


async def test_a_sub_resource_is_retried_as_any_call_and_a_failure_fails_its_record_alone() -> None:
    # Given the items of order 7 answering 503 once, and those of order 8 answering 404
    answers = {"7": [503], "8": [404]}

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/products"):
            record = request.url.path.split("/")[-2]
            pending = answers[record]
            if pending:
                return json_response({"error": "no"}, status=pending.pop(0))
            return json_response(items_of(record))
        return json_response({"data": [{"id": int(request.url.params["ids"])}]})

    sleeps = SleepRecorder()
    client = make_client(with_items(), handler, retry=retry_policy(sleeps))

    results = {result.id: result async for result in client.details_many("orders", ["7", "8"], concurrency=1)}

    # Then order 7 has its items after one retry (a wait of the first backoff, 0.5 s)
    assert results["7"].record == {"id": 7, "items": [{"sku": "7-A", "qty": 1}]}
    assert sleeps.delays == [0.5]
    # And order 8 fails alone, with the sub-resource's own error as the cause
    error = results["8"].error
    assert results["8"].record is None
    assert isinstance(error, SubResourceError)
    assert (error.sub_resource, error.record_id) == ("items", "8")
    assert isinstance(error.cause, ProviderHTTPError)
    assert error.cause.status == 404
    assert str(error).startswith(
        "sub-resource 'items' of record '8': GET https://api.example.com/v1/orders/8"
    )
    # 2 details calls, 2 tries for order 7's items, 1 for order 8's (a 404 is not retried)
    assert client.stats.requests == 5


async def test_a_sub_resource_answer_without_its_data_is_an_error_not_an_empty_field() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/products"):
            return json_response({"meta": {}})
        return json_response({"data": [{"id": 7}]})

    client = make_client(with_items(), handler)

    with pytest.raises(SubResourceError) as caught:
        await client.details("orders", "7")

    assert isinstance(caught.value.cause, ProviderResponseError)
    assert caught.value.cause.problem == "expected the items at 'data', found nothing"


async def test_a_resource_without_a_list_endpoint_is_not_paged_and_not_probed() -> None:
    # Given a connector whose carts have no list endpoint (a webhook fetches them), beside orders
    carts = {
        "name": "carts",
        "displayName": "Carts",
        "contentType": "ecommerce:carts",
        "endpoints": {"details": {"url": "/carts/{id}"}},
        "apiMapping": {"code": "id"},
    }
    definition = validate_definition(
        {
            "name": "demo",
            "displayName": "Demo",
            "auth": {"type": "api_key", "credentials": ["accessToken"]},
            "sync": {
                "baseUrl": BASE,
                "headers": {"Authorization": "Bearer [[accessToken]]"},
                "resources": {"carts": carts, "orders": resource("orders")},
                "webhooks": {
                    "handlers": {
                        "cart.updated": {
                            "recordType": "cart",
                            "operation": "upsert",
                            "enrich": {"resource": "carts", "idPath": "id"},
                        }
                    }
                },
            },
        }
    )
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        return json_response([])

    client = make_client(definition, handler)

    with pytest.raises(ValueError, match=r"resource 'carts' has no endpoints\.list to page"):
        [page async for page in client.pages("carts")]
    # And checking the credentials lists the first resource that has a list
    await client.probe()
    assert seen == ["/v1/orders"]

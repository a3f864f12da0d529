"""DetailEnrichment with details that answer a list (``matchBy``) and sub-resources.

Salla's orders, changed so that their details come from ``GET /orders?ids={id}`` (``{"data": [...]}``)
and their line items from ``GET /orders/{id}/items``, served through ``httpx.MockTransport``.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from mercator.connector import ConnectorDefinition
from mercator.domain.entities import Integration
from mercator.domain.messages import EnrichBatch
from mercator.services.connectors import ConnectorCatalog
from mercator.services.enrich import DetailsUnavailableError, NotEnoughTimeError
from tests.unit.services.fakes import FakeIntegrations
from tests.unit.services.salla_samples import listed_orders, order_details
from tests.unit.services.support import TENANT, World, make_integration, plenty, tweaked_connector

RUN = "run-77"
FIRST, SECOND = "1017120475", "1013578136"  # the two orders of the List Orders sample
ITEMS_PATH = re.compile(r"/admin/v2/orders/(?P<id>[^/]+)/items$")


def line(order_id: str) -> dict[str, Any]:
    """The one line item the store gives order ``order_id``."""
    return {
        "id": f"{order_id}-1",
        "name": "Mug",
        "quantity": "2",
        "sku": " MUG-1 ",
        "product": {"id": 501, "thumbnail": "https://cdn.salla.test/mug.png"},
        "amounts": {"price_without_tax": {"amount": 25, "currency": "SAR"}, "total": {"amount": 50}},
    }


class ListedDetailsServer:
    """Answers GET /orders?ids={id} with ``{"data": [details]}`` and GET /orders/{id}/items with
    ``{"data": [line]}``; ``details`` and ``items`` replace an answer per id."""

    def __init__(self) -> None:
        self.details: dict[str, Callable[[str], httpx.Response]] = {}
        self.items: dict[str, Callable[[str], httpx.Response]] = {}
        self.requests: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        items = ITEMS_PATH.search(request.url.path)
        if items is not None:
            order_id = items["id"]
            self.requests.append(f"items {order_id}")
            answer = self.items.get(order_id)
            return answer(order_id) if answer else httpx.Response(200, json={"data": [line(order_id)]})
        if request.url.path.endswith("/admin/v2/orders") and "ids" in request.url.params:
            order_id = request.url.params["ids"]
            self.requests.append(f"details {order_id}")
            answer = self.details.get(order_id)
            if answer is not None:
                return answer(order_id)
            return httpx.Response(200, json={"data": [order_details(order_id)["data"]]})
        return httpx.Response(404, json={"status": 404, "success": False})

    def http(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.MockTransport(self))


def listed_details_with_items(document: dict[str, Any]) -> None:
    orders = document["sync"]["resources"]["orders"]
    orders["endpoints"]["details"] = {
        "url": "/orders",
        "params": {"ids": "{id}"},
        "dataProperty": "data",
        "matchBy": "id",
    }
    orders["subResources"] = {"items": {"url": "/orders/{id}/items", "dataProperty": "data"}}


def enrichment_world(server: ListedDetailsServer) -> tuple[World, Integration]:
    integration = make_integration("salla")
    definition: ConnectorDefinition = tweaked_connector("salla", listed_details_with_items)
    built = World(
        http=server.http,
        integrations=FakeIntegrations(integration),
        connectors=ConnectorCatalog({"salla": definition}),
    )
    return built, integration


def batch_of(integration: Integration, records: list[dict[str, Any]]) -> EnrichBatch:
    return EnrichBatch(integration_id=integration.id, resource="orders", run_id=RUN, records=records)


def status(code: int) -> Callable[[str], httpx.Response]:
    return lambda order_id: httpx.Response(code, json={"status": code, "success": False})


@pytest.mark.anyio
async def test_sub_resource_items_replace_the_listed_ones_and_every_request_is_counted() -> None:
    # Given two listed orders, whose items the store gives at /orders/{id}/items
    server = ListedDetailsServer()
    world, integration = enrichment_world(server)

    # When their batch is enriched
    outcome = await world.enrichment_service().enrich(batch_of(integration, listed_orders()), plenty)

    # Then each order is written with the items of its own sub-resource, mapped by apiMapping
    stored = world.records.of_type(TENANT, "ecommerce:orders")
    for order_id in (FIRST, SECOND):
        assert stored[order_id].record["items"] == [
            {
                "name": "Mug",
                "quantity": 2,
                "code": f"{order_id}-1",
                "productCode": "501",
                "sku": "MUG-1",
                "unitPrice": 25,
                "totalAmount": 50,
                "imageUrl": "https://cdn.salla.test/mug.png",
            }
        ]
    # And the details (found in the list the details call answers) were merged as before
    assert stored[FIRST].record["status"] == "completed"
    # And each order cost two requests (N+1 with one sub-resource), all counted in the run
    assert sorted(server.requests) == sorted(
        [f"details {FIRST}", f"items {FIRST}", f"details {SECOND}", f"items {SECOND}"]
    )
    counts = world.run_log.get(integration.id, "orders", RUN)
    assert (counts.new, counts.requests, counts.errors) == (2, 4, 0)
    assert outcome.stats.requests == 4


@pytest.mark.anyio
async def test_a_sub_resource_that_refuses_dead_letters_its_record_and_the_batch_mate_is_written() -> None:
    # Given the items of the second order answering 404
    server = ListedDetailsServer()
    server.items[SECOND] = status(404)
    world, integration = enrichment_world(server)

    # When the batch is enriched
    outcome = await world.enrichment_service().enrich(batch_of(integration, listed_orders()), plenty)

    # Then the first order is written, and the second is not written without its items
    assert world.records.written() == [FIRST]
    assert SECOND not in world.records.of_type(TENANT, "ecommerce:orders")
    # And the second is a dead letter naming the sub-resource and its answer, with the listed order
    [letter] = world.dead_letters.documents()
    assert letter["reason"].startswith(
        f"the orders record '{SECOND}' is not written without its sub-resource 'items': "
        f"GET https://api.salla.dev/admin/v2/orders/{SECOND}/items answered 404"
    )
    assert letter["detail"] == {"subResource": "items", "id": SECOND, "status": 404}
    assert letter["raw"] == listed_orders()[1]
    assert (letter["resource"], letter["run_id"]) == ("orders", RUN)
    # And it is an error of the run, not a deletion
    assert outcome.dead_letters == 1
    counts = world.run_log.get(integration.id, "orders", RUN)
    assert (counts.new, counts.errors, counts.deleted) == (1, 1, 0)


@pytest.mark.anyio
async def test_a_sub_resource_that_keeps_failing_with_503_fails_the_batch_after_the_rest_is_written() -> None:
    # Given the items of the second order answering 503 on every try
    server = ListedDetailsServer()
    server.items[SECOND] = status(503)
    world, integration = enrichment_world(server)

    # When the batch is enriched
    with pytest.raises(DetailsUnavailableError) as caught:
        await world.enrichment_service().enrich(batch_of(integration, listed_orders()), plenty)

    # Then the batch fails for that order alone (SQS delivers it again), after the first was written
    assert caught.value.failures.keys() == {SECOND}
    assert world.records.written() == [FIRST]
    assert world.dead_letters.bodies == []
    assert server.requests.count(f"items {SECOND}") == 5  # the client's five attempts


@pytest.mark.anyio
async def test_a_record_the_listed_details_no_longer_hold_is_marked_deleted_as_a_404_is() -> None:
    # Given both orders written once
    server = ListedDetailsServer()
    world, integration = enrichment_world(server)
    service = world.enrichment_service()
    await service.enrich(batch_of(integration, listed_orders()), plenty)
    world.triggers.take()
    kept = copy.deepcopy(world.records.of_type(TENANT, "ecommerce:orders")[SECOND].record)

    # When the details call for the second now answers a list without it
    server.details[SECOND] = lambda order_id: httpx.Response(200, json={"data": []})
    outcome = await service.enrich(batch_of(integration, listed_orders()), plenty)

    # Then it is marked deleted with its last content; nothing is dead-lettered or retried
    stored = world.records.of_type(TENANT, "ecommerce:orders")
    assert [code for code, item in stored.items() if item.deleted] == [SECOND]
    assert stored[SECOND].record == kept
    assert world.dead_letters.documents() == []
    assert outcome.stats.deleted == 1
    assert world.tracking.entries[(integration.id, "orders", SECOND)].deleted
    # And no sub-resource was asked for a record that is gone
    assert server.requests.count(f"items {SECOND}") == 1


@pytest.mark.anyio
async def test_the_time_a_batch_needs_counts_its_sub_resource_requests() -> None:
    # Given Salla's 2 requests/s: two orders of two requests each need 2 s plus the 10 s margin
    server = ListedDetailsServer()
    world, integration = enrichment_world(server)

    # When 11 s are left (enough for the details alone: 1 s + 10 s)
    with pytest.raises(NotEnoughTimeError) as caught:
        await world.enrichment_service().enrich(batch_of(integration, listed_orders()), lambda: 11.0)

    # Then the batch is refused before any request
    assert str(caught.value) == (
        "11 s left of this invocation, and the details of 2 orders record(s) (2 requests each) at 2 "
        "requests/s need about 12 s; the batch will be retried"
    )
    assert server.requests == []

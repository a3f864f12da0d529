"""What the sandbox serves maps without a single failure through the shipped connector definitions.

Endpoints, parameters and pagination are read from the shipped YAMLs, so this also proves the
sandbox answers exactly the calls those connectors make.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from mercator.connector import ConnectorDefinition, load_shipped
from mercator.connector.mapper import map_delivery, map_details_response, map_list_response
from mercator.connector.pagination import LinkHeaderPagination, PageNumberPagination
from mercator_sandbox import Sandbox, WebhookConfig
from tests.sandbox.conftest import FLAVORS, SandboxFactory

RESOURCE_KEYS = {
    "orders": "orders",
    "products": "products",
    "customers": "customers",
    "carts": "abandoned_carts",
    "shipments": "shipments",
}


async def list_all(client: httpx.AsyncClient, definition: ConnectorDefinition, key: str) -> list[Any]:
    """Every list response of a resource, paged the way its definition says."""
    resource = definition.resources[key]
    pagination = resource.pagination
    params: dict[str, Any] = dict(resource.endpoints.list.params)
    assert isinstance(pagination, PageNumberPagination | LinkHeaderPagination)
    assert pagination.paramName is not None
    params[pagination.paramName] = 13
    bodies = []
    if isinstance(pagination, LinkHeaderPagination):
        response = await client.get(resource.endpoints.list.url, params=params)
        while True:
            assert response.status_code == 200, response.text
            bodies.append(response.json())
            if "next" not in response.links:
                return bodies
            response = await client.get(response.links["next"]["url"])
    page = pagination.startPage
    while True:
        response = await client.get(
            resource.endpoints.list.url, params={**params, pagination.pageParam: page}
        )
        assert response.status_code == 200, response.text
        body = response.json()
        if not resource.responseMapping.records_in(body):
            return bodies
        bodies.append(body)
        page += 1


@pytest.mark.anyio
@pytest.mark.parametrize("flavor", FLAVORS)
async def test_every_resource_maps_without_failures(flavor: str, make_sandbox: SandboxFactory) -> None:
    sandbox = make_sandbox(flavor)
    definition = load_shipped(flavor)
    async with sandbox.client() as client:
        for resource in sandbox.store.resources:
            key = RESOURCE_KEYS[resource]
            mapped: list[dict[str, Any]] = []
            for body in await list_all(client, definition, key):
                outcome = map_list_response(definition, key, body)
                assert outcome.failures == [], outcome.failures[0].reason
                mapped += outcome.records
            expected = sorted(code_of(sandbox, resource, i) for i in sandbox.store.ids(resource))
            assert sorted(record["code"] for record in mapped) == expected
            details = definition.resources[key].endpoints.details
            if details is None:
                continue
            for record_id in sorted(sandbox.store.ids(resource)):
                response = await client.get(details.url.format(id=record_id))
                outcome = map_details_response(definition, key, response.json())
                assert outcome.failures == [], outcome.failures[0].reason
                assert outcome.records[0]["code"] == str(record_id)


@pytest.mark.anyio
@pytest.mark.parametrize("flavor", FLAVORS)
async def test_every_webhook_event_maps_without_failures(flavor: str, make_sandbox: SandboxFactory) -> None:
    sandbox = make_sandbox(flavor, webhooks=WebhookConfig(url="http://receiver/hooks", secret="s"))
    definition = load_shipped(flavor)
    emitter = sandbox.emitter
    assert emitter is not None
    covered: set[str] = set()
    for resource in sandbox.store.resources:
        for event in sandbox.flavor.events(resource):
            assert event in definition.handlers, (
                f"{flavor} sends {event}, which the connector does not handle"
            )
            for record_id in sorted(sandbox.store.ids(resource))[:5]:
                delivery = emitter.emit(resource, record_id, event)
                outcome = map_delivery(definition, event, json.loads(delivery.body))
                assert outcome.failures == [], outcome.failures[0].reason
                assert outcome.records[0]["code"] == code_of(sandbox, resource, record_id)
            covered.add(event)
    covered |= shipment_events(sandbox, definition)
    # Every handler of the connector is exercised by some event the sandbox sends.
    assert covered == set(definition.handlers)


def shipment_events(sandbox: Sandbox, definition: ConnectorDefinition) -> set[str]:
    """The shipment events of the store's own shipping (an order shipped, then delivered): those no
    record change of a listed resource sends (Shopify's fulfillment topics), each mapped."""
    emitter = sandbox.emitter
    assert emitter is not None
    if not any(handler.recordType == "shipment" for handler in definition.handlers.values()):
        return set()
    unshipped = [
        order_id for order_id in sorted(sandbox.store.ids("orders")) if not sandbox.shipments(order_id)
    ]
    emitter.pending.clear()
    shipment = sandbox.ship(unshipped[0], carrier="DHL", tracking_number="TRK-MAP-1")
    sandbox.set_shipment_status(shipment["id"], "delivered")
    covered: set[str] = set()
    for delivery in emitter.pending:
        handler = definition.handlers.get(delivery.event)
        if handler is None or handler.recordType != "shipment":
            continue
        outcome = map_delivery(definition, delivery.event, json.loads(delivery.body))
        assert outcome.failures == [], outcome.failures[0].reason
        assert outcome.records[0]["code"] == str(shipment["id"])
        covered.add(delivery.event)
    return covered


def code_of(sandbox: Sandbox, resource: str, record_id: int) -> str:
    """The code a record maps to: its id, except Shopify carts, keyed by their cart token."""
    if sandbox.flavor.name != "shopify" or resource != "carts":
        return str(record_id)
    state = sandbox.store.get(resource, record_id)
    token: str = sandbox.flavor.render(resource, state, "list", "http://x")["cart_token"]
    return token


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("flavor", "resource", "path"),
    [
        ("salla", "orders", "/orders/{id}"),
        ("shopify", "orders", "/orders/{id}.json"),
        ("shopify", "products", "/products/{id}.json"),
        ("woocommerce", "orders", "/orders/{id}"),
        ("woocommerce", "customers", "/customers/{id}"),
    ],
)
async def test_record_times_reach_the_mapped_record(
    make_sandbox: SandboxFactory, flavor: str, resource: str, path: str
) -> None:
    sandbox = make_sandbox(flavor)
    definition = load_shipped(flavor)
    record_id = min(sandbox.store.ids(resource))
    state = sandbox.store.get(resource, record_id)
    async with sandbox.client() as client:
        body = (await client.get(path.format(id=record_id))).json()
    record = map_details_response(definition, resource, body).records[0]
    assert record["updatedAt"] == datetime.fromtimestamp(state.updated, UTC).isoformat().replace(
        "+00:00", "Z"
    )
    assert record["createdAt"] == datetime.fromtimestamp(state.created, UTC).isoformat().replace(
        "+00:00", "Z"
    )

"""A thin delivery (an id and no record, as BigCommerce sends) becomes a record through enrichment."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from mercator.connector.mapper import map_details_response
from mercator.domain.deliveries import Headers, IncomingDelivery
from mercator.domain.messages import ChangeEvent, EnrichBatch
from mercator.services.connectors import ConnectorCatalog
from mercator.services.intake import Outcome
from mercator_local.webhook_signing import signed_headers
from mercator_sandbox import Sandbox
from tests.fake_aws import use_fake_aws
from tests.integration.providers.support import FrozenClock
from tests.unit.services.intake_world import World as IntakeWorld
from tests.unit.services.intake_world import intake_world
from tests.unit.services.support import TENANT, make_integration, plenty, tweaked_connector, world

SECRET = "thin-delivery-secret"


def thin_orders(document: dict[str, Any]) -> None:
    """WooCommerce with one more event whose body names the order and nothing else."""
    document["sync"]["webhooks"]["handlers"]["order.thin"] = {
        "recordType": "order",
        "operation": "upsert",
        "enrich": {"resource": "orders", "idPath": "data.id"},
    }
    document["triggers"].append({"event": "order.thin", "entityType": "Order"})


@pytest.fixture
def intake(monkeypatch: pytest.MonkeyPatch) -> Iterator[IntakeWorld]:
    use_fake_aws(monkeypatch, "eu-west-1")
    with intake_world({"webhookSecret": SECRET}, [("woocommerce", "woo-thin")]) as built:
        built.intake.connectors = ConnectorCatalog(
            {"woocommerce": tweaked_connector("woocommerce", thin_orders)}
        )
        yield built


@pytest.mark.anyio
async def test_a_thin_delivery_becomes_the_full_record_of_the_store(intake: IntakeWorld) -> None:
    # Given a store with orders, and a delivery that only names one of them
    sandbox = Sandbox(
        "woocommerce",
        seed=3,
        sizes={"orders": 4, "products": 0, "customers": 0},
        rate_limit=None,
        clock=FrozenClock(),
    )
    order_id = sorted(sandbox.store.ids("orders"))[2]
    body = json.dumps({"scope": "order.thin", "data": {"type": "order", "id": order_id}}).encode()
    definition = intake.intake.connectors.get("woocommerce")
    assert definition.webhook is not None
    headers = signed_headers(
        definition.webhook.verification, {"webhookSecret": SECRET}, body, now=datetime.now(UTC)
    )
    delivery = IncomingDelivery(
        "woo-thin", Headers({**headers, "X-WC-Webhook-Topic": "order.thin"}), body, datetime.now(UTC)
    )

    # When intake takes it, and enrichment works the batch it queued
    taken = intake.intake.receive(delivery, "application/json")
    [message] = intake.messages("enrich")
    batch = EnrichBatch.parse(message)
    integration = make_integration("woocommerce", sandbox)
    enrichment = world(sandbox, integration, definitions=[tweaked_connector("woocommerce", thin_orders)])
    await enrichment.enrichment_service().enrich(
        batch.model_copy(update={"integration_id": integration.id}), plenty
    )

    # Then the order is written as the store's details response maps, seen via webhook
    assert (taken.outcome, taken.code) == (Outcome.QUEUED, str(order_id))
    async with sandbox.client("http://woo.sandbox.test") as http:
        answer = await http.get(f"/orders/{order_id}", headers=sandbox.flavor.sample_headers)
        details = answer.json()
    mapped = map_details_response(definition, "orders", details)
    assert not mapped.failures, mapped.failures
    [expected] = mapped.records
    stored = enrichment.records.of_type(TENANT, "ecommerce:orders")
    assert list(stored) == [str(order_id)]
    assert stored[str(order_id)].record == expected
    [event] = [ChangeEvent.model_validate_json(body) for body in enrichment.triggers.bodies]
    assert (event.source, event.change, event.code) == ("webhook", "created", str(order_id))

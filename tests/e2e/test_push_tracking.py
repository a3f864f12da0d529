"""pushTracking end to end on the local stack, against the Shopify sandbox store: orders synced by
ScheduledSync, a shipment sent with ``POST /api/shipments`` through API Gateway and its authorizer,
written by CatalogPush as a fulfillment, the store then holding exactly one fulfillment with the
tenant's tracking; a changed tracking number moving it, a lost answer creating no second one."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from mercator.connector import load_shipped
from mercator.services.registration import register_integration
from mercator.state.api_keys import DynamoApiKeys
from mercator.state.integrations import DynamoIntegrations
from mercator.state.record_store import DynamoRecords
from mercator.state.secrets import SecretsVault
from mercator_local import LocalStack
from mercator_sandbox import Sandbox
from tests.e2e.support import CREDENTIALS, RATE_LIMIT, TENANT, SteppingClock, still_store_time

STORE_ID = f"{TENANT}-shopify"
SIZES = {"orders": 6, "products": 0, "customers": 0, "carts": 0}
FIRST, SECOND = "1Z999AA10123456784", "1Z999AA10123456785"


@dataclass
class TrackingWorld:
    stack: LocalStack
    store: Sandbox
    api: httpx.Client

    def ship(self, order: str, **fields: Any) -> httpx.Response:
        body = {
            "integrationId": STORE_ID,
            "orderCode": order,
            "shipmentId": f"SHP-{order}",
            "carrier": "UPS",
            "trackingNumber": FIRST,
            "trackingUrl": f"https://www.ups.com/track?tracknum={FIRST}",
        }
        return self.api.post("/api/shipments", json=body | fields)

    def shown(self, order: str) -> dict[str, Any]:
        answer = self.api.get(f"/api/shipments/SHP-{order}", params={"integrationId": STORE_ID})
        assert answer.status_code == 200, answer.text
        data: dict[str, Any] = answer.json()["data"]
        return data

    def work(self) -> None:
        report = self.stack.runner.run_until_idle(skip=["TriggerQueue", "SyncJobsQueue", "EnrichQueue"])
        assert report.idle, "the push jobs did not drain"

    def unshipped_order(self) -> str:
        """An order Mercator synced that the store has not shipped at all."""
        records = DynamoRecords(self.stack.client("dynamodb"), self.stack.table_name("RecordsTable"))
        for order in sorted(self.store.store.ids("orders"), key=int):
            synced = records.get(TENANT, "ecommerce:orders", str(order))
            if synced is not None and not self.store.shipments(int(order)):
                return str(order)
        raise AssertionError("every synced order is shipped already")


@pytest.fixture
def world() -> Iterator[TrackingWorld]:
    with LocalStack(clock=SteppingClock(), retry_after_seconds=0) as stack:
        store = Sandbox("shopify", seed=41, sizes=SIZES, rate_limit=None, clock=still_store_time)
        origin = stack.serve_sandbox(store)
        register_integration(
            DynamoIntegrations(stack.client("dynamodb"), stack.table_name("StateTable")),
            SecretsVault(stack.client("secretsmanager")),
            load_shipped("shopify"),
            tenant_id=TENANT,
            integration_id=STORE_ID,
            credentials=CREDENTIALS["shopify"],
            settings={
                "baseUrl": store.base_url(origin),
                "pushTracking": True,
                "rateLimitPerSecond": RATE_LIMIT,
            },
        )
        stack.runner.invoke_schedule("ScheduledSyncFunction", "orders")
        assert stack.runner.run_until_idle(skip=["TriggerQueue", "PushJobsQueue"]).idle
        key = DynamoApiKeys(stack.client("dynamodb"), stack.table_name("StateTable")).create(TENANT).key
        url = stack.serve_api("IntegrationsApi")
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=60) as api:
            yield TrackingWorld(stack, store, api)


def test_a_shipment_becomes_one_fulfillment_with_the_tenants_tracking(world: TrackingWorld) -> None:
    order = world.unshipped_order()

    # When the tenant sends a shipment of it, and CatalogPush works its queue
    sent = world.ship(order)
    assert (sent.status_code, sent.json()["data"]["status"]) == (202, "queued")
    world.work()

    # Then the store holds one fulfillment of the order with the tracking, and the API says pushed
    [shipment] = world.store.shipments(int(order))
    assert (shipment["carrier"], shipment["tracking_numbers"]) == ("UPS", [FIRST])
    shown = world.shown(order)
    assert (shown["status"], shown["storeId"]) == ("pushed", str(shipment["id"]))

    # When the same request comes again: 200, nothing queued, nothing written
    again = world.ship(order)
    assert (again.status_code, again.json()["data"]["status"]) == (200, "pushed")

    # When the tracking number changes: the same fulfillment moves to it
    moved = world.ship(order, trackingNumber=SECOND)
    assert moved.status_code == 202
    world.work()
    [shipment] = world.store.shipments(int(order))
    assert (str(shipment["id"]), shipment["tracking_numbers"]) == (shown["storeId"], [SECOND])


def test_a_lost_create_answer_makes_no_second_fulfillment(world: TrackingWorld) -> None:
    order = world.unshipped_order()
    world.store.set_faults(lost_write_answers={"count": 1})

    assert world.ship(order).status_code == 202
    world.work()

    # The create landed and its answer was lost; the fulfillment it wrote was found, not made again
    assert world.store.counters.snapshot()["lost_answers"] == 1
    assert len(world.store.shipments(int(order))) == 1
    assert world.shown(order)["status"] == "pushed"


def test_a_shipment_of_an_order_the_store_refuses_shows_the_stores_reasons(world: TrackingWorld) -> None:
    # Given an order the store has shipped whole already (no fulfillment order left to fulfil)
    order = world.unshipped_order()
    assert world.ship(order).status_code == 202
    world.work()

    # When a second shipment of it is sent
    assert world.ship(order, shipmentId=f"SHP-{order}-2", trackingNumber=SECOND).status_code == 202
    world.work()

    # Then it is refused with why, and the store still holds one fulfillment
    answer = world.api.get(f"/api/shipments/SHP-{order}-2", params={"integrationId": STORE_ID}).json()["data"]
    assert answer["status"] == "refused"
    assert "fulfillments.json answered 422" in answer["reason"]
    assert any("unfulfillable" in reason for reason in answer["reasons"])
    assert len(world.store.shipments(int(order))) == 1
    # And the push DLQ holds it, as a shipment
    [letter] = [json.loads(message["Body"]) for message in world.stack.receive_all("PushDLQ")]
    assert (letter["resource"], letter["detail"]["shipment"]) == ("shipments:push", f"SHP-{order}-2")

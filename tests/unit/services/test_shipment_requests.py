"""The API's side of pushTracking: a tenant's request becomes the canonical shipment, kept and queued
once per change; orders Mercator did not sync from the integration cannot be shipped."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from mercator.api.schemas import ShipmentRequest
from mercator.domain.messages import ShipmentPushJob
from mercator.services.shipment_requests import ShipmentOrderError, UnknownOrderError, request_hash
from tests.unit.services.shipment_world import BUYER, ORDER, STORE, ShipmentWorld, request


def test_a_request_becomes_the_canonical_shipment_with_the_orders_buyer_and_is_queued() -> None:
    world = ShipmentWorld()

    accepted = world.ask(items=[{"sku": "IPOD-342-N", "quantity": 1}], status="out_for_delivery")

    assert accepted.queued
    assert accepted.entry.record == {
        "code": "SHP-1",
        "orderCode": ORDER,
        "status": "out_for_delivery",
        "carrier": "UPS",
        "trackingNumbers": ["1Z999AA10123456784"],
        "trackingUrl": "https://www.ups.com/track?tracknum=1Z999AA10123456784",
        "items": [{"quantity": 1.0, "sku": "IPOD-342-N"}],
        "customer": BUYER,
    }
    assert (accepted.entry.state, accepted.entry.tenant_id, accepted.entry.requested_at) == (
        "queued",
        "acme",
        world.clock.now,
    )
    assert [ShipmentPushJob.parse(body) for body in world.push_jobs.bodies] == [
        ShipmentPushJob(integration_id=STORE, shipment="SHP-1")
    ]
    assert world.ledger.get(STORE, "SHP-1") == accepted.entry


def test_without_a_shipment_id_the_same_request_names_the_same_shipment() -> None:
    world = ShipmentWorld()

    first = world.ask(shipmentId=None)
    again = world.ask(shipmentId=None)
    other = world.ask(shipmentId=None, trackingNumbers=["1Z999AA10123456785"], trackingNumber=None)

    assert first.entry.shipment == again.entry.shipment
    assert first.entry.shipment.startswith("shp-") and len(first.entry.shipment) == 36
    assert other.entry.shipment != first.entry.shipment


@pytest.mark.parametrize(
    ("setup", "order"),
    [
        (lambda world: None, "999"),  # never synced
        (lambda world: world.orders.put("999", deleted=True), "999"),  # deleted in the store
        (lambda world: world.orders.put("999", integration_id="acme-salla"), "999"),  # another store's
    ],
)
def test_an_order_mercator_did_not_sync_from_the_integration_cannot_be_shipped(
    setup: Callable[[ShipmentWorld], None], order: str
) -> None:
    world = ShipmentWorld()
    setup(world)

    with pytest.raises(UnknownOrderError) as caught:
        world.ask(orderCode=order)

    assert str(caught.value) == (
        "Order not found: '999'; only orders Mercator synced from integration 'acme-shop' can be shipped"
    )
    assert world.push_jobs.bodies == [] and world.ledger.entries == {}


def test_a_shipment_id_stays_with_its_order() -> None:
    world = ShipmentWorld()
    world.orders.put("451")
    world.ask()

    with pytest.raises(ShipmentOrderError, match="'SHP-1' is a shipment of order '450789469'"):
        world.ask(orderCode="451")


def test_a_changed_request_replaces_the_kept_one_and_a_write_under_way_stays_under_way() -> None:
    # Given a shipment whose create is under way (the worker marked it creating)
    world = ShipmentWorld()
    first = world.ask()
    world.ledger.save_progress(first.entry.model_copy(update={"state": "creating", "creating_key": "1Z1"}))
    world.push_jobs.take()

    # When the tenant changes its tracking
    changed = world.ask(trackingNumber="1Z999AA10123456785")

    # Then the new request is kept, still creating (its create may have landed), and queued
    entry = world.ledger.get(STORE, "SHP-1")
    assert entry is not None
    assert (entry.state, entry.creating_key, entry.record["trackingNumbers"]) == (
        "creating",
        "1Z1",
        ["1Z999AA10123456785"],
    )
    assert entry.request_hash != first.entry.request_hash
    assert changed.queued and len(world.push_jobs.bodies) == 1


def test_a_refused_shipment_asked_again_as_it_was_is_tried_again() -> None:
    world = ShipmentWorld()
    first = world.ask()
    refused = first.entry.model_copy(
        update={"state": "refused", "settled_hash": first.entry.request_hash, "reason": "no"}
    )
    world.ledger.save_progress(refused)
    assert world.ledger.entries[(STORE, "SHP-1")].shown_state() == "refused"

    again = world.ask()

    assert again.queued
    assert (again.entry.shown_state(), again.entry.settled_hash) == ("queued", None)


def test_the_request_hash_leaves_the_buyer_out() -> None:
    record = json.loads(json.dumps(ShipmentWorld().ask().entry.record))

    assert request_hash(record) == request_hash(record | {"customer": {"email": "new@example.com"}})
    assert request_hash(record) != request_hash(record | {"carrier": "DHL"})


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"trackingNumber": None}, "give trackingNumber or trackingNumbers, one of the two"),
        ({"trackingNumbers": ["1Z2"]}, "give trackingNumber or trackingNumbers, one of the two"),
        ({"shipmentId": "a/b"}, "String should match pattern"),
        ({"items": [{"sku": "X", "quantity": 0}]}, "Input should be greater than 0"),
        ({"status": "lost"}, "Input should be 'pending', 'in_transit'"),
        ({"trackingUrl": "javascript:alert(1)"}, "String should match pattern"),
        ({"carrier": ""}, "String should have at least 1 character"),
    ],
)
def test_an_invalid_request_is_refused_by_its_model(fields: dict[str, object], problem: str) -> None:
    with pytest.raises(ValueError, match=problem.replace("(", r"\(")):
        request(**fields)


def test_the_request_model_reads_both_ways_of_giving_tracking() -> None:
    assert request().tracking_numbers() == ["1Z999AA10123456784"]
    many = ShipmentRequest.model_validate(
        {"integrationId": STORE, "orderCode": ORDER, "carrier": "DHL", "trackingNumbers": ["A1", "A2"]}
    )
    assert many.tracking_numbers() == ["A1", "A2"]
    assert many.status == "in_transit"

"""Zid shipments: the order is the shipment. The shipments resource maps samples/zid/shipments_list.json
(values checked by hand against the file), the transition triggers, and push.shipments' Change
Order Status body and answer (samples/zid/change_order_status.json)."""

from __future__ import annotations

from typing import Any

from tests.unit.connectors.support import definition, map_list, sample

ZID = "zid"
BUYER = {
    "code": "257",
    "name": "Test User 5",
    "firstName": "Test",
    "lastName": "User 5",
    "email": "testuser5@example.com",
    "phone": "966500000005",
}
ITEMS = [
    {
        "name": "نسخة من TrialProduct",
        "quantity": 1,
        "code": "62262",
        "productCode": "23edd6a6-3533-495d-8ffc-7f9e7c8c1f6a",
        "sku": "Z.1.1723970467001006",
    }
]
ADDRESS = {"line1": "street", "line2": "disc", "city": "Al Hariq", "postalCode": "000000", "country": "SA"}


def shipments() -> dict[str, dict[str, Any]]:
    return {record["code"]: record for record in map_list(ZID, "shipments")}


def test_an_order_in_delivery_is_an_in_transit_shipment_with_its_courier_and_tracking() -> None:
    record = shipments()["39018491"]
    assert record["orderCode"] == "39018491"
    assert (record["status"], record["rawStatus"]) == ("in_transit", "indelivery")
    # ZidShip's courier object: its English name
    assert record["carrier"] == "kwickbox"
    assert record["trackingNumbers"] == ["KWB2026020100042"]
    assert record["trackingUrl"] == "https://kwickbox.example/track/KWB2026020100042"
    assert record["items"] == ITEMS
    assert record["customer"] == BUYER
    assert record["shippingAddress"] == ADDRESS
    # Zid's zone-less times are UTC
    assert record["createdAt"] == "2026-01-30T15:56:02Z"
    assert record["updatedAt"] == "2026-02-01T09:12:40Z"
    assert record.get("deliveredAt") is None and record.get("shippedAt") is None
    assert record["attributes"]["trackingStatus"] == "In Transit"
    assert record["attributes"]["courierCode"] == "kwickbox"
    assert record["attributes"]["waybill"] == "https://zidship.example/waybills/KWB2026020100042.pdf"


def test_a_delivered_order_is_a_delivered_shipment_and_a_courier_given_as_text_is_the_carrier() -> None:
    record = shipments()["39018495"]
    assert (record["status"], record["rawStatus"]) == ("delivered", "delivered")
    assert record["carrier"] == "FedEx"
    assert record["trackingNumbers"] == ["TRACK-12345678"]
    assert record["trackingUrl"] == "https://example.com/track?number=TRACK-12345678"
    assert record["deliveredAt"] == "2026-02-03T14:05:11Z"
    assert record["attributes"]["shippingMethod"] == "Express Delivery"
    assert record["attributes"]["statusName"] == "Delivered"


def test_every_zid_status_has_a_shipment_status_and_custom_ones_read_pending() -> None:
    rule = definition(ZID).resources["shipments"].apiMapping["status"]
    assert isinstance(rule, dict)
    table = rule["args"]["table"]
    assert table == {
        "new": "pending",
        "preparing": "pending",
        "ready": "pending",
        "indelivery": "in_transit",
        "delivered": "delivered",
        "cancelled": "cancelled",
        "reversed": "returned",
        "reverse_in_progress": "returned",
        "partially_reversed": "returned",
    }
    assert rule["args"]["default"] == "pending"


def test_shipments_list_every_order_in_full_incrementally_as_orders_do() -> None:
    resources = definition(ZID).resources
    shipments_resource, orders = resources["shipments"], resources["orders"]
    listing = shipments_resource.endpoints.list
    assert listing is not None and listing.url == "/managers/store/orders"
    # payload_type=default (products are the items); no order_status filter: it takes one code only
    assert listing.params == {"payload_type": "default"}
    assert shipments_resource.incremental is not None and orders.incremental is not None
    assert shipments_resource.incremental.model_dump() == orders.incremental.model_dump()
    assert shipments_resource.incremental.params == {"date_attribute": "updated_at"}
    assert shipments_resource.pagination.model_dump() == orders.pagination.model_dump()
    assert shipments_resource.endpoints.details is None


def test_the_transition_triggers_and_no_handler_writes_shipments() -> None:
    defn = definition(ZID)
    transitions = {
        trigger.event: (trigger.entityType, trigger.transition.field, trigger.transition.to)
        for trigger in defn.triggers
        if trigger.transition is not None
    }
    assert transitions == {
        "order_status_changed": ("Order", "status", None),
        "shipment_status_changed": ("Shipment", "status", None),
        "shipment_delivered": ("Shipment", "status", "delivered"),
    }
    # Shipments arrive by sync: order.status.update keeps writing the order
    assert {handler.recordType for handler in defn.handlers.values()} == {
        "order",
        "product",
        "customer",
        "cart",
    }


SHIPMENT = {
    "code": "TENANT-1",
    "orderCode": "39018491",
    "status": "in_transit",
    "carrier": "Aramex",
    "trackingNumbers": ["KWB2026020100042", "KWB2026020100043"],
    "trackingUrl": "https://kwickbox.example/track/KWB2026020100042",
    "items": [],
}


def test_push_moves_the_order_to_delivery_with_the_first_tracking_number() -> None:
    push = definition(ZID).push
    assert push is not None and push.shipments is not None
    shipments_push = push.shipments
    key = shipments_push.key_of(SHIPMENT)
    values = {"order": "39018491", "key": key}

    url, params = shipments_push.create.endpoint.filled(values)
    body = shipments_push.create.request_body({**SHIPMENT, "store": values})

    assert key == "KWB2026020100042"
    assert (shipments_push.create.endpoint.method, url, params) == (
        "POST",
        "/managers/store/orders/39018491/change-order-status",
        {},
    )
    # No courier field: Zid's endpoint has none
    assert body == {
        "order_status": "indelivery",
        "tracking_number": "KWB2026020100042",
        "tracking_url": "https://kwickbox.example/track/KWB2026020100042",
    }
    # Idempotent by nature: no find, no update, nothing after
    assert (shipments_push.find, shipments_push.update, shipments_push.then) == (None, None, [])


def test_push_of_a_delivered_shipment_delivers_the_order_and_any_other_status_keeps_it_in_delivery() -> None:
    push = definition(ZID).push
    assert push is not None and push.shipments is not None
    values = {"order": "39018491", "key": "KWB2026020100042"}
    statuses = {}
    for status in ("delivered", "out_for_delivery", "failed"):
        body = push.shipments.create.request_body({**SHIPMENT, "status": status, "store": values})
        statuses[status] = body["order_status"]
    assert statuses == {"delivered": "delivered", "out_for_delivery": "indelivery", "failed": "indelivery"}


def test_the_answer_is_the_order_under_order_and_its_id_is_kept() -> None:
    push = definition(ZID).push
    assert push is not None and push.shipments is not None
    answer = sample(ZID, "samples/zid/change_order_status.json")
    order = push.shipments.create.product_in(answer)
    assert order["order_status"]["code"] == "indelivery"
    assert order["shipping"]["method"]["tracking"]["number"] == "KWB2026020100042"
    assert push.shipments.ids_in(order) == {"id": "39018491"}

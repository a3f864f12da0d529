"""Shopify shipments: the orders' fulfillments listed and delivered as ecommerce:shipments, the transition
triggers, and pushTracking's fulfillment requests.

Expected values are read by hand from the sample files (samples/shopify/): orders_list_fulfillments.json
is the REST reference's GET orders.json?status=any example (its one order, 450789469, has one
fulfillment, 255858046, whose status is failure); fulfillments_create.json / fulfillments_update.json
and fulfillment_events_create.json are shopify.dev's webhook samples, their ids rounded through float64
(order 820982911946154508 is 820982911946154500 there). Times at -05:00 become UTC.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from mercator.connector.auth import OAuth2Auth
from mercator.connector.mapper import map_delivery, map_list_response
from tests.unit.connectors.support import definition, map_event, map_list, sample

SHOPIFY = "shopify"
LIST_SAMPLE = "samples/shopify/orders_list_fulfillments.json"
CREATE_SAMPLE = "samples/shopify/fulfillments_create.json"
UPS_URL = "https://www.ups.com/WebTracking?loc=en_US&requester=ST&trackNums=1z827wk74630"


# --- the listing ------------------------------------------------------------------------------


def test_shipments_are_listed_as_the_fulfillments_of_every_order() -> None:
    resource = definition(SHOPIFY).resources["shipments"]
    assert resource.contentType == "ecommerce:shipments"
    assert resource.endpoints.list.url == "/orders.json"
    assert resource.endpoints.list.params == {
        "status": "any",
        "fields": "id,email,updated_at,shipping_address,fulfillments",
    }
    each = resource.responseMapping.each
    assert resource.responseMapping.dataProperty == "orders"
    assert each is not None and (each.path, each.parent) == ("fulfillments", "order")
    # The window is the orders': a fulfillment's change moves its order's updated_at
    assert resource.incremental is not None
    assert (resource.incremental.param, resource.incremental.recordUpdatedAt) == (
        "updated_at_min",
        "order.updated_at",
    )


def test_the_listed_fulfillment_maps_with_its_order() -> None:
    (shipment,) = map_list(SHOPIFY, "shipments")
    assert shipment["code"] == "255858046"
    assert shipment["orderCode"] == "450789469"
    # status failure, shipment_status null: the fulfillment failed
    assert (shipment["status"], shipment["rawStatus"]) == ("failed", "failure")
    assert shipment["carrier"] == "USPS"
    assert shipment["trackingNumbers"] == ["1Z1234512345123456"]
    assert (
        shipment["trackingUrl"]
        == "https://tools.usps.com/go/TrackConfirmAction_input?qtc_tLabels1=1Z1234512345123456"
    )
    assert shipment["items"] == [
        {
            "quantity": 1,
            "name": "IPod Nano - 8gb - green",
            "code": "466157049",
            "productCode": "632910392",
            "sku": "IPOD2008GREEN",
        }
    ]
    # created_at and updated_at 2025-01-02T11:29:59-05:00; a fulfillment is the parcel leaving
    assert shipment["createdAt"] == shipment["updatedAt"] == shipment["shippedAt"] == "2025-01-02T16:29:59Z"
    assert shipment["attributes"] == {
        "name": "#1001.0",
        "fulfillmentStatus": "failure",
        "shipmentStatus": None,
        "service": "manual",
        "locationId": "655441491",
        "trackingUrls": [
            "https://tools.usps.com/go/TrackConfirmAction_input?qtc_tLabels1=1Z1234512345123456"
        ],
    }


def test_the_listed_fulfillment_goes_to_the_orders_buyer_and_address() -> None:
    (shipment,) = map_list(SHOPIFY, "shipments")
    # the order's email, and the recipient of its shipping address (Bob Norman, Chestnut Street 92)
    assert shipment["customer"] == {
        "email": "bob.norman@mail.example.com",
        "name": "Bob Norman",
        "firstName": "Bob",
        "lastName": "Norman",
        "phone": "+1(502)-459-2181",
    }
    # address2 is "" in the sample: nothing
    assert shipment["shippingAddress"] == {
        "name": "Bob Norman",
        "line1": "Chestnut Street 92",
        "city": "Louisville",
        "region": "Kentucky",
        "postalCode": "40202",
        "country": "US",
        "phone": "+1(502)-459-2181",
    }


def test_an_order_without_fulfillments_lists_no_shipment() -> None:
    body = copy.deepcopy(sample(SHOPIFY, LIST_SAMPLE))
    second = copy.deepcopy(body["orders"][0])
    second["id"], second["fulfillments"] = 450789470, []
    body["orders"].append(second)
    outcome = map_list_response(definition(SHOPIFY), "shipments", body)
    assert [record["code"] for record in outcome.records] == ["255858046"]


# --- webhooks ---------------------------------------------------------------------------------


@pytest.mark.parametrize("event", ["fulfillments/create", "fulfillments/update"])
def test_fulfillment_webhooks_map_the_published_sample(event: str) -> None:
    shipment = map_event(SHOPIFY, event)
    assert shipment["code"] == "123456"
    assert shipment["orderCode"] == "820982911946154500"
    # status pending (a fulfillment service has not shipped yet), shipment_status null
    assert (shipment["status"], shipment["rawStatus"]) == ("pending", "pending")
    assert shipment["carrier"] == "UPS"
    assert shipment["trackingNumbers"] == ["1z827wk74630"]
    assert shipment["trackingUrl"] == UPS_URL  # \\u0026 in the file is "&"
    assert [(i["code"], i["quantity"], i["sku"]) for i in shipment["items"]] == [
        ("866550311766439000", 1, "IPOD2008PINK"),
        ("141249953214522980", 1, "IPOD2008PINK"),
    ]
    assert shipment["createdAt"] == shipment["updatedAt"] == "2022-01-01T00:00:00Z"
    assert shipment["attributes"]["name"] == "#9999.1"


def test_a_fulfillment_webhook_goes_to_the_orders_email_and_the_destination() -> None:
    shipment = map_event(SHOPIFY, "fulfillments/create")
    # email jon@example.com; destination Steve Shipper, 123 Shipping Street, Shippington KY 40003
    assert shipment["customer"] == {
        "email": "jon@example.com",
        "name": "Steve Shipper",
        "firstName": "Steve",
        "lastName": "Shipper",
        "phone": "555-555-SHIP",
    }
    assert shipment["shippingAddress"] == {
        "name": "Steve Shipper",
        "line1": "123 Shipping Street",
        "city": "Shippington",
        "region": "Kentucky",
        "postalCode": "40003",
        "country": "US",
        "phone": "555-555-SHIP",
    }


def test_the_listing_and_the_webhook_of_one_fulfillment_write_the_same_fields() -> None:
    # Given the webhook sample, and the same fulfillment as an order's listing holds it
    delivered = sample(SHOPIFY, CREATE_SAMPLE)
    fulfillment = {k: v for k, v in delivered.items() if k not in ("email", "destination")}
    order = {"id": delivered["order_id"], "email": delivered["email"], "updated_at": delivered["updated_at"]}
    listed = {
        "orders": [{**order, "shipping_address": delivered["destination"], "fulfillments": [fulfillment]}]
    }
    # When both are mapped
    (from_list,) = map_list_response(definition(SHOPIFY), "shipments", listed).records
    from_webhook = map_event(SHOPIFY, "fulfillments/create")
    # Then they are one record: neither path rewrites what the other wrote
    assert from_list == from_webhook


def test_a_carriers_event_updates_the_stored_shipment_partly() -> None:
    # Given fulfillment_events/create: in_transit for fulfillment 123456, at 2021-12-31T19:00:00-05:00
    update = map_event(SHOPIFY, "fulfillment_events/create")
    # Then only what the event knows is written over the stored shipment
    assert update == {
        "code": "123456",
        "orderCode": "820982911946154500",
        "status": "in_transit",
        "rawStatus": "in_transit",
        "updatedAt": "2022-01-01T00:00:00Z",
        "attributes": {"shipmentStatus": "in_transit"},
    }
    assert definition(SHOPIFY).handlers["fulfillment_events/create"].operation == "update"


def test_a_delivered_event_carries_the_expected_delivery_time() -> None:
    event = copy.deepcopy(sample(SHOPIFY, "samples/shopify/fulfillment_events_create.json"))
    event.update(
        status="delivered",
        estimated_delivery_at="2022-01-02T12:00:00-05:00",
        happened_at="2021-12-31T18:00:00-05:00",
    )
    (update,) = map_delivery(definition(SHOPIFY), "fulfillment_events/create", event).records
    assert (update["status"], update["estimatedDeliveryAt"]) == ("delivered", "2022-01-02T17:00:00Z")
    # the event was recorded at updated_at (19:00 -05:00), which is the shipment's change
    assert update["updatedAt"] == "2022-01-01T00:00:00Z"


@pytest.mark.parametrize(
    ("shipment_status", "status", "expected"),
    [
        (None, "success", "in_transit"),  # shipped, nothing reported yet
        (None, "open", "pending"),
        (None, "cancelled", "cancelled"),
        (None, "error", "failed"),
        ("label_printed", "success", "pending"),
        ("label_purchased", "success", "pending"),
        ("confirmed", "success", "in_transit"),
        ("in_transit", "success", "in_transit"),
        ("delayed", "success", "in_transit"),
        ("attempted_delivery", "success", "in_transit"),
        ("ready_for_pickup", "success", "out_for_delivery"),
        ("out_for_delivery", "success", "out_for_delivery"),
        ("delivered", "success", "delivered"),
        ("failure", "success", "failed"),
        ("lost_in_space", "success", "in_transit"),  # a status Shopify may add later
    ],
)
def test_status_is_the_carriers_word_else_the_fulfillments(
    shipment_status: str | None, status: str, expected: str
) -> None:
    body: dict[str, Any] = copy.deepcopy(sample(SHOPIFY, CREATE_SAMPLE))
    body.update(shipment_status=shipment_status, status=status)
    (shipment,) = map_delivery(definition(SHOPIFY), "fulfillments/update", body).records
    assert (shipment["status"], shipment["rawStatus"]) == (expected, shipment_status or status)


def test_fulfillment_handlers_create_upsert_and_update_shipments() -> None:
    handlers = definition(SHOPIFY).handlers
    assert {
        event: (handlers[event].recordType, handlers[event].operation)
        for event in handlers
        if "fulfillment" in event
    } == {
        "fulfillments/create": ("shipment", "create"),
        "fulfillments/update": ("shipment", "upsert"),
        "fulfillment_events/create": ("shipment", "update"),
    }


# --- triggers and scopes ----------------------------------------------------------------------


def test_shipment_triggers_and_the_three_transitions() -> None:
    triggers = {trigger.event: trigger for trigger in definition(SHOPIFY).triggers}
    assert {e: (triggers[e].entityType, triggers[e].syncChanges) for e in triggers if "fulfillment" in e} == {
        "fulfillments/create": ("Shipment", ["created"]),
        "fulfillments/update": ("Shipment", ["updated"]),
        "fulfillment_events/create": ("Shipment", []),
    }
    transitions = {
        event: (trigger.entityType, trigger.transition.field, trigger.transition.from_, trigger.transition.to)
        for event, trigger in triggers.items()
        if trigger.transition is not None
    }
    assert transitions == {
        "order_status_changed": ("Order", "status", None, None),
        "shipment_status_changed": ("Shipment", "status", None, None),
        "shipment_delivered": ("Shipment", "status", None, "delivered"),
    }


def test_the_app_asks_for_the_fulfillment_scopes() -> None:
    auth = definition(SHOPIFY).auth
    assert isinstance(auth, OAuth2Auth)
    # fulfillments/* and fulfillment_events/create need read_fulfillments; reading fulfillment orders
    # and writing fulfillments at the shop's locations, write_merchant_managed_fulfillment_orders
    assert {"read_fulfillments", "write_merchant_managed_fulfillment_orders"} <= set(auth.scopes)


# --- pushTracking -----------------------------------------------------------------------------

SHIPMENT: dict[str, Any] = {
    "code": "tenant-7",
    "orderCode": "450789469",
    "status": "in_transit",
    "carrier": "UPS",
    "trackingNumbers": ["1Z001985YW99744790", "1Z001985YW99744791"],
    "trackingUrl": "https://track.test/1Z001985YW99744790",
    "items": [{"sku": "IPOD2008GREEN", "quantity": 1}],
}
STORE = {"order": "450789469", "key": "1Z001985YW99744790", "fulfillmentOrderId": "1046000780"}


def push() -> Any:
    shipments = definition(SHOPIFY).push
    assert shipments is not None and shipments.shipments is not None
    return shipments.shipments


def test_the_fulfillment_order_is_looked_up_on_the_order() -> None:
    lookup = push().lookup["fulfillmentOrderId"]
    assert lookup.endpoint.filled(STORE) == ("/orders/450789469/fulfillment_orders.json", {})
    # the reference's example answer: its one fulfillment order, 1046000780
    assert lookup.value_in(sample(SHOPIFY, "samples/shopify/fulfillment_orders_list.json")) == 1046000780


def test_a_shipment_is_created_as_a_fulfillment_of_its_fulfillment_order() -> None:
    create = push().create
    assert create.endpoint.filled(STORE) == ("/fulfillments.json", {})
    assert create.endpoint.method == "POST"
    # the first tracking number (Shopify's tracking_info takes one), no line items: every unit left
    assert create.request_body({**SHIPMENT, "store": STORE}) == {
        "fulfillment": {
            "line_items_by_fulfillment_order": [{"fulfillment_order_id": 1046000780}],
            "tracking_info": {
                "number": "1Z001985YW99744790",
                "url": "https://track.test/1Z001985YW99744790",
                "company": "UPS",
            },
            "notify_customer": False,
        }
    }
    assert create.product_in({"fulfillment": {"id": 1069019868}}) == {"id": 1069019868}
    assert push().ids_in({"id": 1069019868}) == {"id": "1069019868"}


def test_a_shipment_without_carrier_or_url_sends_the_number_alone() -> None:
    bare = {**SHIPMENT, "carrier": None, "trackingUrl": None}
    body = push().create.request_body({**bare, "store": STORE})
    assert body["fulfillment"]["tracking_info"] == {"number": "1Z001985YW99744790"}


def test_new_tracking_goes_to_update_tracking_of_the_written_fulfillment() -> None:
    update = push().update
    store = {**STORE, "id": "1069019869"}
    assert update.endpoint.filled(store) == ("/fulfillments/1069019869/update_tracking.json", {})
    assert update.request_body({**SHIPMENT, "trackingNumbers": ["1111"], "store": store}) == {
        "fulfillment": {
            "tracking_info": {
                "number": "1111",
                "url": "https://track.test/1Z001985YW99744790",
                "company": "UPS",
            },
            "notify_customer": False,
        }
    }


def test_a_lost_create_is_found_among_the_orders_fulfillments_by_tracking_number() -> None:
    spec = push()
    assert spec.key_of(SHIPMENT) == "1Z001985YW99744790"
    assert spec.find.endpoint.filled(STORE) == ("/orders/450789469/fulfillments.json", {})
    answer = {
        "fulfillments": [
            {"id": 1, "tracking_number": "OTHER"},
            {"id": 2, "tracking_number": "1Z001985YW99744790"},
        ]
    }
    assert spec.find.found(answer, "1Z001985YW99744790") == {"id": 2, "tracking_number": "1Z001985YW99744790"}


def test_a_refusal_shows_shopifys_reasons() -> None:
    answer = {"errors": ["Fulfillment order 1046000780 has an unfulfillable status= closed."]}
    assert push().refusal_in(answer) == ["Fulfillment order 1046000780 has an unfulfillable status= closed."]

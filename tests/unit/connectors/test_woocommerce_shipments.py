"""WooCommerce shipments: the order is the shipment, its tracking the Shipment Tracking extension's
order meta. The shipments resource maps samples/woocommerce/shipments_list.json (values checked by
hand against the file: the site is at UTC-3, date_shipped is epoch seconds), and push.shipments'
order update and note are built from a tenant's shipment."""

from __future__ import annotations

from typing import Any

from tests.unit.connectors.support import definition, map_event, map_list, sample

WOO = "woocommerce"
TRACKING_KEY = "_wc_shipment_tracking_items"


def shipments() -> dict[str, dict[str, Any]]:
    return {record["code"]: record for record in map_list(WOO, "shipments")}


def test_a_processing_order_with_a_custom_carrier_is_a_pending_shipment_with_its_tracking() -> None:
    record = shipments()["735"]
    assert record["orderCode"] == "735"
    assert (record["status"], record["rawStatus"]) == ("pending", "processing")
    assert record["carrier"] == "Example Courier"
    assert record["trackingNumbers"] == ["12345678"]
    assert record["trackingUrl"] == "https://example.com/track/12345678"
    # "1490227200" is 2017-03-23 00:00:00 UTC
    assert record["shippedAt"] == "2017-03-23T00:00:00Z"
    assert record.get("deliveredAt") is None
    assert record["updatedAt"] == "2017-03-23T10:15:00Z"
    # A guest order (customer_id 0): the buyer has no code but an email, for send_email
    assert record["customer"] == {
        "name": "John Doe",
        "firstName": "John",
        "lastName": "Doe",
        "email": "john.doe@example.com",
        "phone": "(555) 555-5555",
    }
    assert record["items"] == [
        {"code": "315", "name": "Woo Single #1", "quantity": 2, "productCode": "93"},
        {
            "code": "316",
            "name": "Ship Your Idea &ndash; Color: Black, Size: M Test",
            "quantity": 1,
            "productCode": "22",
            "sku": "Bar3",
        },
    ]
    assert record["shippingAddress"]["city"] == "San Francisco"
    assert (
        record["attributes"]["trackingId"]
        == sample(WOO, "samples/woocommerce/shipments_list.json")[0]["meta_data"][-1]["value"][0][
            "tracking_id"
        ]
    )


def test_a_completed_order_is_delivered_and_a_predefined_provider_is_the_carrier_without_a_link() -> None:
    record = shipments()["737"]
    assert (record["status"], record["rawStatus"]) == ("delivered", "completed")
    assert record["carrier"] == "USPS"
    assert record["trackingNumbers"] == ["9400111899560000000000"]
    assert record.get("trackingUrl") is None
    # "1490054400" is 2017-03-21 00:00:00 UTC; completed at 16:54:51 site time, 19:54:51 GMT
    assert record["shippedAt"] == "2017-03-21T00:00:00Z"
    assert record["deliveredAt"] == "2017-03-21T19:54:51Z"
    assert record["customer"]["code"] == "26"
    assert record["customer"]["email"] == "joao.silva@example.com"
    assert record["attributes"]["trackingId"] == "7f4978c390ee633c6294ae0f258656f9"


def test_shipments_list_paid_orders_incrementally_as_orders_do() -> None:
    resources = definition(WOO).resources
    listing = resources["shipments"].endpoints.list
    assert listing is not None
    assert (listing.url, listing.params) == (
        "/orders",
        {"orderby": "id", "order": "asc", "status": "processing,completed"},
    )
    shipments_incremental, orders_incremental = (
        resources["shipments"].incremental,
        resources["orders"].incremental,
    )
    assert shipments_incremental is not None and orders_incremental is not None
    assert shipments_incremental.model_dump() == orders_incremental.model_dump()
    assert resources["shipments"].endpoints.details is None


def test_the_transition_triggers_and_no_handler_writes_shipments() -> None:
    defn = definition(WOO)
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
    assert {handler.recordType for handler in defn.handlers.values()} == {"order", "product", "customer"}


def test_order_updated_with_tracking_meta_still_maps_the_order() -> None:
    record = map_event(WOO, "order.updated", 2)
    assert (record["code"], record["status"], record["paymentStatus"]) == ("739", "processing", "paid")


SHIPMENT = {
    "code": "TENANT-1",
    "orderCode": "739",
    "status": "in_transit",
    "carrier": "Aramex",
    "trackingNumbers": ["35821947306", "35821947307"],
    "trackingUrl": "https://www.aramex.com/track/results?ShipmentNumber=35821947306",
    "items": [],
}


def shipments_push() -> Any:
    push = definition(WOO).push
    assert push is not None and push.shipments is not None
    return push.shipments


def test_push_writes_the_extensions_meta_with_an_order_update_and_leaves_the_status() -> None:
    push = shipments_push()
    values = {"order": "739", "key": push.key_of(SHIPMENT)}
    url, params = push.create.endpoint.filled(values)
    body = push.create.request_body({**SHIPMENT, "store": values})

    assert values["key"] == "35821947306"
    assert (push.create.endpoint.method, url, params) == ("PUT", "/orders/739", {})
    # One item for the first number; no status (WooCommerce has no in-transit state)
    assert body == {
        "meta_data": [
            {
                "key": TRACKING_KEY,
                "value": [
                    {
                        "tracking_provider": "",
                        "custom_tracking_provider": "Aramex",
                        "custom_tracking_link": "https://www.aramex.com/track/results?ShipmentNumber=35821947306",
                        "tracking_number": "35821947306",
                        "tracking_id": "35821947306",
                    }
                ],
            }
        ]
    }
    # Idempotent by nature: no find, no update
    assert (push.find, push.update) == (None, None)


def test_push_of_a_delivered_shipment_completes_the_order_and_a_missing_link_is_written_empty() -> None:
    push = shipments_push()
    values = {"order": "739", "key": "35821947306"}
    body = push.create.request_body(
        {**SHIPMENT, "status": "delivered", "carrier": None, "trackingUrl": None, "store": values}
    )
    assert body["status"] == "completed"
    (item,) = body["meta_data"][0]["value"]
    assert (item["custom_tracking_provider"], item["custom_tracking_link"]) == ("", "")


def test_then_a_customer_note_with_carrier_number_and_link() -> None:
    push = shipments_push()
    values = {"order": "739", "key": "35821947306"}
    (then,) = push.then
    url, _ = then.endpoint.filled(values)
    assert (then.endpoint.method, url) == ("POST", "/orders/739/notes")
    assert then.request_body({**SHIPMENT, "store": values}) == {
        "note": "Aramex 35821947306 https://www.aramex.com/track/results?ShipmentNumber=35821947306",
        "customer_note": True,
    }
    # Without a link, the note is carrier and number
    assert (
        then.request_body({**SHIPMENT, "trackingUrl": None, "store": values})["note"] == "Aramex 35821947306"
    )


def test_the_answer_is_the_order_and_its_id_is_kept() -> None:
    push = shipments_push()
    answer = sample(WOO, "samples/woocommerce/order_updated_tracking.json")
    order = push.create.product_in(answer)
    assert [entry["key"] for entry in order["meta_data"]] == [
        "_download_permissions_granted",
        "_order_stock_reduced",
        TRACKING_KEY,
    ]
    assert push.ids_in(order) == {"id": "739"}

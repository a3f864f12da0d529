"""The shipped Salla connector's shipments: the resource, the shipment webhooks and push.shipments.

Every expected value below was read by hand from the sample JSON under
shared/mercator/connectors/samples/salla/ (the comments say where; PROVENANCE.md says where Salla
publishes each). Salla date objects are Asia/Riyadh (UTC+3): 09:35:03 there is 06:35:03Z.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from mercator.connector.mapper import map_delivery
from tests.unit.connectors.support import definition, map_details, map_event, map_list, sample

SALLA = "salla"


def shipment_push() -> Any:
    push = definition(SALLA).push
    assert push is not None and push.shipments is not None
    return push.shipments


# --- the resource ----------------------------------------------------------------------------------


def test_the_list_sample_maps_three_shipments():
    # Given shipments_list.json (List Shipments' example): 362985662 and 362985663 are returns,
    # 362985660 a shipment; all three are "creating"
    records = map_list(SALLA, "shipments")
    assert [record["code"] for record in records] == ["362985662", "362985663", "362985660"]
    assert [record["orderCode"] for record in records] == ["560695738", "560695739", "560695732"]
    assert [record["status"] for record in records] == ["pending", "pending", "pending"]
    assert [record["rawStatus"] for record in records] == ["creating", "creating", "creating"]
    assert [record["attributes"]["type"] for record in records] == ["return", "return", "shipment"]


def test_a_tracking_number_of_0_is_none():
    # Given tracking_number "0" (362985662, 362985660) and "23424234354434" (362985663)
    first, second, third = map_list(SALLA, "shipments")
    assert first["trackingNumbers"] == [] and third["trackingNumbers"] == []
    assert second["trackingNumbers"] == ["23424234354434"]
    # and shipping_number likewise
    assert first["attributes"]["shippingNumber"] is None
    assert second["attributes"]["shippingNumber"] == "23424234354434"


def test_a_listed_shipment_maps_its_receiver_items_and_creation():
    # Given 362985660: DHL, tracking_link .../tracking-express.html?submit=1&tracking-id=12345, one
    # package "منتج تجريبي" sku 6ytrrhrhr x2, ship_to Username / username@email.com / 055-555-555,
    # created_at 2023-01-16 23:26:15 Asia/Riyadh
    record = map_list(SALLA, "shipments")[2]
    assert record["carrier"] == "DHL"
    assert (
        record["trackingUrl"]
        == "https://www.company/tracking/tracking-express.html?submit=1&tracking-id=12345"
    )
    assert record["items"] == [{"quantity": 2, "name": "منتج تجريبي", "sku": "6ytrrhrhr"}]
    assert record["customer"] == {"name": "Username", "email": "username@email.com", "phone": "055-555-555"}
    assert record["shippingAddress"] == {
        "name": "Username",
        # address_line " شارع 2345، ..." trimmed
        "line1": (
            "شارع 2345، الحي السلام 95128،, شارع عبدالله  سنابل السلام  مكة  السعوديه,, الرياض, السعودية"
        ),
        "line2": "السلام",
        "city": "ABBASIYA",
        "postalCode": "95128",
        "country": "السعودية",
        "phone": "055-555-555",
    }
    assert record["createdAt"] == "2023-01-16T20:26:15Z"
    assert "updatedAt" not in record  # Salla's shipments carry no update time
    assert record["attributes"]["orderNumber"] == "48922"
    assert record["attributes"]["courierId"] == "814202285"
    assert record["attributes"]["paymentMethod"] == "cod"


def test_a_return_goes_to_the_store_s_branch():
    # Given 362985662, a return whose ship_to is the branch "Riyadh" (email "", no country)
    record = map_list(SALLA, "shipments")[0]
    assert record["customer"] == {"name": "Riyadh", "phone": "0555555555"}
    assert record["items"] == []
    assert record["createdAt"] == "2023-01-18T06:35:03Z"


def test_the_details_sample_maps_one_shipment():
    # Given shipment_details.json (Shipment Details' example): 362985662, a DHL shipment "creating",
    # created 2023-01-12 14:19:08 Asia/Riyadh, tracking "0"
    record = map_details(SALLA, "shipments")
    assert (record["code"], record["orderCode"]) == ("362985662", "560695738")
    assert (record["status"], record["rawStatus"]) == ("pending", "creating")
    assert record["trackingNumbers"] == []
    assert record["createdAt"] == "2023-01-12T11:19:08Z"
    assert record["attributes"]["type"] == "shipment"
    assert record["customer"]["email"] == "username@email.com"


def test_shipments_page_by_60_and_list_the_week_before_the_cursor_day():
    resource = definition(SALLA).resources["shipments"]
    assert resource.contentType == "ecommerce:shipments"
    assert resource.endpoints.list is not None and resource.endpoints.list.url == "/shipments"
    incremental = resource.incremental
    assert incremental is not None
    # When the cursor is 2024-05-10 01:30 UTC (04:30 in Riyadh), less the week of overlap
    query = incremental.query(datetime(2024, 5, 10, 1, 30, tzinfo=UTC))
    # Then the run lists shipments created from 2024-05-03 (Riyadh) on
    assert query == {"from_date": "2024-05-03"}
    assert incremental.recordUpdatedAt == "created_at"


# --- the webhooks ------------------------------------------------------------------------------------


def test_shipment_creating_maps_the_app_cycle_delivery():
    # Given shipment_creating.json: 629905440 of order 538219147, "Shipping App", tracking 4324233,
    # status delivered, label https://company.com/lable.pdf, envelope created_at Sun Jan 29 2023
    # 21:16:38 GMT+0300, ship_to Username / username@email.com / 966501806978 in الرياض
    record = map_event(SALLA, "shipment.creating")
    assert (record["code"], record["orderCode"]) == ("629905440", "538219147")
    assert (record["status"], record["rawStatus"]) == ("delivered", "delivered")
    assert record["carrier"] == "Shipping App"
    assert record["trackingNumbers"] == ["4324233"]
    assert record["customer"] == {"name": "Username", "email": "username@email.com", "phone": "966501806978"}
    assert record["shippingAddress"]["city"] == "الرياض"
    assert record["createdAt"] == "2023-01-29T18:16:38Z"
    assert record["updatedAt"] == "2023-01-29T18:16:38Z"
    assert record["attributes"]["labelUrl"] == "https://company.com/lable.pdf"
    assert record["attributes"]["shippingNumber"] == "846984645"


def test_shipment_cancelled_is_the_same_shipment_cancelled():
    # Given shipment_cancelled.json: 629905440 again, status cancelled
    record = map_event(SALLA, "shipment.cancelled")
    assert (record["code"], record["status"], record["rawStatus"]) == ("629905440", "cancelled", "cancelled")


def test_the_webhook_model_example_maps_its_references_and_item():
    # Given shipment_event_model.json (the Shipments Webhook Events Model's example): reference
    # external_id 34567898 / external_additional_id OM656545543, order_reference_id 48927, one
    # package item_id 2077288690
    body = sample(SALLA, "samples/salla/shipment_event_model.json")
    outcome = map_delivery(definition(SALLA), "shipment.updated", body)
    assert outcome.failures == []
    (record,) = outcome.records
    assert record["code"] == "362985662"
    assert record["items"] == [
        {"quantity": 1, "name": "منتج تجريبي", "code": "2077288690", "sku": "6ytrrhrhr"}
    ]
    assert record["attributes"]["externalId"] == "34567898"
    assert record["attributes"]["externalAdditionalId"] == "OM656545543"
    assert record["attributes"]["orderNumber"] == "48927"


@pytest.mark.parametrize(
    ("salla", "mercator"),
    [
        ("creating", "pending"),
        ("created", "pending"),
        ("in_progress", "pending"),
        ("shipped", "in_transit"),
        ("in_transit", "in_transit"),
        ("received_at_final_hub", "in_transit"),
        ("to_be_reattempted", "failed"),
        ("reattempted", "out_for_delivery"),
        ("unable_to_deliver", "failed"),
        ("delivering", "out_for_delivery"),
        ("delivered", "delivered"),
        ("partially_delivered", "delivered"),
        ("cancelled", "cancelled"),
        ("lost", "failed"),
        ("damaged", "failed"),
        ("return_to_origin", "returned"),
        ("return_in_progress", "returned"),
        ("returned", "returned"),
        ("a_status_salla_adds_later", "pending"),
    ],
)
def test_salla_statuses_map_to_mercator_s(salla: str, mercator: str):
    body = {"event": "shipment.updated", "data": {"id": 1, "order_id": 2, "status": salla}}
    (record,) = map_delivery(definition(SALLA), "shipment.updated", body).records
    assert (record["status"], record["rawStatus"]) == (mercator, salla)


def test_shipment_events_write_shipments():
    handlers = definition(SALLA).handlers
    for event in ("shipment.creating", "shipment.created", "shipment.updated", "shipment.cancelled"):
        assert (handlers[event].recordType, handlers[event].operation) == ("shipment", "upsert")


# --- push.shipments --------------------------------------------------------------------------------

TENANT_SHIPMENT: dict[str, Any] = {
    "code": "SH-1",
    "orderCode": "1000001260",
    "status": "in_transit",
    "carrier": "Aramex",
    "trackingNumbers": ["AX123"],
    "trackingUrl": "https://track.test/AX123",
    "items": [],
}


def test_the_key_is_the_tenant_s_shipment_code():
    assert shipment_push().key_of(TENANT_SHIPMENT) == "SH-1"


def test_create_names_the_order_courier_references_and_the_order_s_lines():
    # Given a shipment without items, the store's first courier and the order's lines looked up
    store = {
        "order": "1000001260",
        "key": "SH-1",
        "courierId": "1723506348",
        "orderItems": [{"id": 9, "name": "Mug", "sku": "MUG-1", "quantity": 2, "notes": ""}],
    }
    body = shipment_push().create.request_body({**TENANT_SHIPMENT, "store": store})
    # Then Create Shipment gets its four required fields and the references find matches on
    assert body == {
        "order_id": 1000001260,
        "courier_id": 1723506348,
        "shipment_type": "shipment",
        "payment_method": "pre_paid",
        "overwrite_exists_pending": True,
        "external_company_name": "Aramex",
        "external_id": "AX123",
        "external_additional_id": "SH-1",
        "packages": [{"name": "Mug", "sku": "MUG-1", "quantity": 2}],
    }


def test_create_prefers_the_tenant_s_items():
    shipment = {**TENANT_SHIPMENT, "items": [{"name": "Cup", "sku": "CUP-1", "quantity": 1}]}
    store = {
        "order": "1",
        "key": "SH-1",
        "courierId": "1",
        "orderItems": [{"name": "Mug", "sku": "M", "quantity": 3}],
    }
    body = shipment_push().create.request_body({**shipment, "store": store})
    assert body["packages"] == [{"name": "Cup", "sku": "CUP-1", "quantity": 1}]


@pytest.mark.parametrize(
    ("status", "salla"),
    [
        ("pending", "created"),
        ("in_transit", "shipped"),
        ("out_for_delivery", "delivering"),
        ("delivered", "delivered"),
        ("failed", "unable_to_deliver"),
        ("returned", "return_to_origin"),
        ("cancelled", "cancelled"),
    ],
)
def test_update_and_then_send_the_tracking_and_salla_s_status(status: str, salla: str):
    push = shipment_push()
    source = {**TENANT_SHIPMENT, "status": status, "store": {"order": "1", "key": "SH-1", "id": "363000001"}}
    expected = {
        "shipment_number": "SH-1",
        "tracking_number": "AX123",
        "tracking_link": "https://track.test/AX123",
        "external_company_name": "Aramex",
        "status": salla,
    }
    assert push.update.request_body(source) == expected
    (then,) = push.then
    assert then.request_body(source) == expected
    assert push.update.endpoint.filled(source["store"]) == ("/shipments/363000001", {})


def test_find_matches_a_written_shipment_by_its_reference():
    # Given the order's shipments as List Shipments answers them, one written by Mercator
    push = shipment_push()
    listed = {
        "data": [
            {"id": 5, "reference": {"external_id": None, "external_additional_id": None}},
            {"id": 6, "reference": {"external_id": "AX123", "external_additional_id": "SH-1"}},
        ]
    }
    assert push.find.found(listed, "SH-1") == listed["data"][1]
    assert push.find.found(listed, "SH-2") is None
    assert push.find.endpoint.filled({"order": "1000001260"}) == ("/shipments", {"order_id": "1000001260"})
    assert push.ids_in(listed["data"][1]) == {"id": "6"}


def test_a_refusal_s_reasons_are_salla_s_fields():
    refused = {
        "status": 422,
        "success": False,
        "error": {
            "code": "error",
            "message": "alert.invalid_fields",
            "fields": {"courier_id": ["حقل رقم الشركة مطلوب."]},
        },
    }
    assert shipment_push().refusal_in(refused) == {"courier_id": ["حقل رقم الشركة مطلوب."]}


def test_the_lookups_read_the_first_courier_and_the_order_s_lines():
    # Given List Shipping Companies' example (first: سمسا, 1723506348) and List Order Items' example
    # (one line: SSD, sku sam-ssd-256g, quantity 1)
    lookup = shipment_push().lookup
    companies = sample(SALLA, "samples/salla/shipping_companies.json")
    items = sample(SALLA, "samples/salla/order_items.json")
    assert lookup["courierId"].endpoint.filled({}) == ("/shipping/companies", {})
    assert lookup["courierId"].value_in(companies) == 1723506348
    assert lookup["orderItems"].endpoint.filled({"order": "90828"}) == (
        "/orders/items",
        {"order_id": "90828"},
    )
    lines = lookup["orderItems"].value_in(items)
    # Then the create's packages are the order's lines
    store = {"order": "90828", "key": "SH-1", "courierId": 1723506348, "orderItems": lines}
    body = shipment_push().create.request_body({**TENANT_SHIPMENT, "store": store})
    assert body["packages"] == [{"name": "SSD", "sku": "sam-ssd-256g", "quantity": 1}]
    assert body["courier_id"] == 1723506348

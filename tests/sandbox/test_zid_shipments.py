"""The Zid flavor's orders and their delivery: the orders list and view, Change Order Status with
tracking and its refusals, order.status.update deliveries, the store's own shipping (``ship``,
``set_shipment_status``), and the shipped connector's shipments resource and push.shipments against
them."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from mercator.connector import load_shipped
from mercator.connector.mapper import map_delivery, map_list_response
from mercator.signatures.verification import verify_delivery
from mercator_sandbox import Sandbox, WebhookConfig
from mercator_sandbox.flavors import Zid
from mercator_sandbox.flavors.zid_shipments import CODES
from mercator_sandbox.webhooks import Delivery
from tests.sandbox.conftest import SandboxFactory

ORDERS = "/managers/store/orders"
SECRET = "hook-pass"
HOOKS = WebhookConfig(url="http://receiver.test/hooks", secret=SECRET)
# 2024-06-01 00:00:00 UTC: orders below are laid out around it.
ANCHOR = datetime(2024, 6, 1, tzinfo=UTC)
T = int(ANCHOR.timestamp())
DAY = 86_400


def store(make_sandbox: SandboxFactory, rows: list[tuple[int, int, str]], **options: Any) -> Sandbox:
    """A Zid store holding exactly ``rows``: (order id, days before T it was created, status code)."""
    sandbox = make_sandbox("zid", sizes={"products": 3, "orders": 0}, **options)
    for order_id, days, code in rows:
        created = T - days * DAY
        sandbox.store.insert(
            "orders", record_id=order_id, created=created, updated=created, status=CODES.index(code)
        )
    if sandbox.emitter is not None:
        sandbox.emitter.pending.clear()  # the inserts' order.create deliveries
    return sandbox


def status_of(sandbox: Sandbox, order_id: int) -> str:
    return CODES[sandbox.store.get("orders", order_id).status]


def queued(sandbox: Sandbox) -> list[Delivery]:
    assert sandbox.emitter is not None
    return list(sandbox.emitter.pending)


def tracking(order: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = order["shipping"]["method"]["tracking"]
    return found


# --- listing and view -----------------------------------------------------------------------------


@pytest.mark.anyio
async def test_the_orders_list_filters_one_status_pages_and_answers_the_fixture_envelope(
    make_sandbox: SandboxFactory,
) -> None:
    # Given five orders, two of them in delivery
    sandbox = store(
        make_sandbox,
        [
            (101, 5, "new"),
            (102, 4, "indelivery"),
            (103, 3, "delivered"),
            (104, 2, "indelivery"),
            (105, 1, "ready"),
        ],
    )
    async with sandbox.client() as client:
        # When the in-delivery orders are listed, then every order two a page
        filtered = (await client.get(ORDERS, params={"order_status": "indelivery"})).json()
        first = (await client.get(ORDERS, params={"per_page": 2})).json()
        third = (await client.get(ORDERS, params={"per_page": 2, "page": 3})).json()
        past = (await client.get(ORDERS, params={"per_page": 2, "page": 4})).json()

    # Then the filter keeps the two, newest first, and says how many it matched
    assert [order["id"] for order in filtered["orders"]] == [104, 102]
    assert filtered["total_order_count"] == 2
    # And the per-status counts are the store's, whatever the filter
    assert filtered["total_order_count_per_status"]["indelivery"] == 2
    assert filtered["total_order_count_per_status"]["new"] == 1
    assert list(filtered) == [
        "status",
        "orders",
        "grand_total",
        "total_order_count",
        "total_order_count_per_status",
        "tax_settings",
        "storeColors",
        "printed_invoice_settings",
        "orders_list_view_settings",
        "message",
    ]
    # And pages follow the creation date, newest first; a page past the last is empty
    assert [order["id"] for order in first["orders"]] == [105, 104]
    assert [order["id"] for order in third["orders"]] == [101]
    assert past["orders"] == [] and past["total_order_count"] == 5


@pytest.mark.anyio
async def test_a_simple_listing_has_no_products_and_payload_type_default_has_them(
    make_sandbox: SandboxFactory,
) -> None:
    sandbox = store(make_sandbox, [(201, 1, "indelivery")])
    async with sandbox.client() as client:
        simple = (await client.get(ORDERS)).json()["orders"][0]
        full = (await client.get(ORDERS, params={"payload_type": "default"})).json()["orders"][0]
        viewed = (await client.get(f"{ORDERS}/201/view")).json()

    assert "products" not in simple and "delivered_at" not in simple
    assert full["products"] and "delivered_at" in full
    # The view wraps the full order as the fixture does
    assert list(viewed) == ["status", "order", "message"]
    assert viewed["status"] == "object"
    assert viewed["order"] == full
    # And both carry the delivery where the SDK's model has it
    assert tracking(simple) == tracking(full)
    assert simple["order_status"] == {"name": "Delivery in progress", "code": "indelivery"}


@pytest.mark.anyio
async def test_updated_at_windows_list_the_orders_that_changed(make_sandbox: SandboxFactory) -> None:
    # Given two old orders, one of which is shipped today
    sandbox = store(make_sandbox, [(301, 30, "preparing"), (302, 20, "preparing")], anchor=ANCHOR)
    sandbox.ship(301, carrier="SMSA", tracking_number="SMSA1", tracking_url=None)
    async with sandbox.client() as client:
        # When the orders updated since yesterday are listed, as the connector's incremental run does
        changed = await client.get(
            ORDERS,
            params={"date_from": "2024-05-31T00:00:00Z", "date_attribute": "updated_at", "sort_by": "asc"},
        )
        created = await client.get(ORDERS, params={"date_from": "2024-05-31T00:00:00Z"})

    # Then only the shipped order is listed; on the creation date neither is
    assert [order["id"] for order in changed.json()["orders"]] == [301]
    assert changed.json()["orders"][0]["updated_at"] == "2024-06-01 00:00:00"
    assert created.json()["orders"] == []


@pytest.mark.anyio
async def test_an_unknown_order_is_zids_not_found_envelope(make_sandbox: SandboxFactory) -> None:
    sandbox = store(make_sandbox, [(401, 1, "new")])
    async with sandbox.client() as client:
        viewed = await client.get(f"{ORDERS}/999/view")
        changed = await client.post(f"{ORDERS}/999/change-order-status", json={"order_status": "indelivery"})

    for answer in (viewed, changed):
        assert answer.status_code == 404
        assert answer.json() == {
            "status": "error",
            "message": {
                "type": "error",
                "code": "ORDER_NOT_FOUND",
                "name": "Not Found",
                "description": "Order not found.",
            },
        }


# --- Change Order Status --------------------------------------------------------------------------


@pytest.mark.anyio
async def test_change_order_status_sets_delivery_and_tracking_and_fires_order_status_update(
    make_sandbox: SandboxFactory,
) -> None:
    # Given an order being prepared, in a store that sends webhooks
    sandbox = store(make_sandbox, [(501, 2, "preparing")], webhooks=HOOKS)
    sandbox.advance_clock(3_600)
    body = {
        "order_status": "indelivery",
        "tracking_number": "TRACK-12345678",
        "tracking_url": "https://example.com/track?number=TRACK-12345678",
        "waybill_url": "https://example.com/waybills/WB-1.pdf",
    }
    async with sandbox.client() as client:
        # When it is moved to delivery with tracking
        answer = await client.post(f"{ORDERS}/501/change-order-status", json=body)

    # Then the answer is the order in delivery with that tracking and waybill
    assert answer.status_code == 200
    order = answer.json()["order"]
    assert answer.json()["status"] == "object"
    assert order["order_status"]["code"] == "indelivery"
    assert tracking(order) == {
        "number": "TRACK-12345678",
        "status": None,  # no carrier report yet
        "url": "https://example.com/track?number=TRACK-12345678",
    }
    assert order["shipping"]["method"]["waybill"] == "https://example.com/waybills/WB-1.pdf"
    # And the store shows it, moved to the present
    assert status_of(sandbox, 501) == "indelivery"
    assert sandbox.store.get("orders", 501).updated == sandbox.store.time.now_seconds()
    # And one order.status.update went out, the full order with HTTP Basic credentials
    (delivery,) = queued(sandbox)
    assert delivery.event == "order.status.update"
    sent = json.loads(delivery.body)
    assert sent["id"] == 501 and tracking(sent)["number"] == "TRACK-12345678"
    assert (
        delivery.headers["Authorization"] == "Basic " + base64.b64encode(b"zid-webhooks:hook-pass").decode()
    )


@pytest.mark.anyio
async def test_the_same_change_twice_changes_nothing_more(make_sandbox: SandboxFactory) -> None:
    # Given an order moved to delivery with tracking
    sandbox = store(make_sandbox, [(601, 2, "ready")], webhooks=HOOKS)
    body = {"order_status": "indelivery", "tracking_number": "T-1", "tracking_url": "https://t.example/T-1"}
    async with sandbox.client() as client:
        first = (await client.post(f"{ORDERS}/601/change-order-status", json=body)).json()
        updated = sandbox.store.get("orders", 601).updated
        sandbox.advance_clock(600)
        # When the very same change is sent again (an answer that was lost)
        second = (await client.post(f"{ORDERS}/601/change-order-status", json=body)).json()

    # Then the order is as the first call left it, and only one webhook went out
    assert second == first
    assert sandbox.store.get("orders", 601).updated == updated
    assert [delivery.event for delivery in queued(sandbox)] == ["order.status.update"]


@pytest.mark.anyio
async def test_new_tracking_without_a_status_change_moves_updated_at_but_sends_nothing(
    make_sandbox: SandboxFactory,
) -> None:
    sandbox = store(make_sandbox, [(701, 2, "preparing")], webhooks=HOOKS)
    async with sandbox.client() as client:
        await client.post(f"{ORDERS}/701/change-order-status", json={"order_status": "indelivery"})
        sandbox.advance_clock(900)
        # When only the tracking number is given, the status staying in delivery
        answer = await client.post(
            f"{ORDERS}/701/change-order-status", data={"order_status": "indelivery", "tracking_number": "N-2"}
        )

    # Then the form body was read, the tracking changed and the order's time moved
    assert tracking(answer.json()["order"])["number"] == "N-2"
    assert answer.json()["order"]["updated_at"] == datetime.fromtimestamp(
        sandbox.store.time.now_seconds(), UTC
    ).strftime("%Y-%m-%d %H:%M:%S")
    # And Zid sent only the status change's webhook
    assert [delivery.event for delivery in queued(sandbox)] == ["order.status.update"]


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({}, {"order_status": ["The order status field is required."]}),
        ({"order_status": "shipped"}, {"order_status": ["The selected order status is invalid."]}),
        (
            {"order_status": "indelivery", "tracking_url": "track/1", "waybill_url": "ftp://w/1"},
            {
                "tracking_url": ["The tracking url format is invalid."],
                "waybill_url": ["The waybill url format is invalid."],
            },
        ),
    ],
)
async def test_change_order_status_refuses_with_the_field_errors_at_the_top(
    make_sandbox: SandboxFactory, body: dict[str, Any], errors: dict[str, list[str]]
) -> None:
    sandbox = store(make_sandbox, [(801, 2, "preparing")], webhooks=HOOKS)
    async with sandbox.client() as client:
        answer = await client.post(f"{ORDERS}/801/change-order-status", json=body)

    assert answer.status_code == 422
    refusal = answer.json()
    assert refusal["status"] == "error"
    assert refusal["message"]["type"] == "validation_errors"
    assert refusal["message"]["description"] == next(iter(errors.values()))[0]
    assert {name: value for name, value in refusal.items() if name not in ("status", "message")} == errors
    # And nothing changed
    assert status_of(sandbox, 801) == "preparing"
    assert queued(sandbox) == []


@pytest.mark.anyio
async def test_a_lost_answer_hides_a_change_that_landed(make_sandbox: SandboxFactory) -> None:
    sandbox = store(make_sandbox, [(901, 2, "ready")], webhooks=HOOKS)
    sandbox.set_faults(lost_write_answers={"count": 1})
    body = {"order_status": "indelivery", "tracking_number": "L-1"}
    async with sandbox.client() as client:
        lost = await client.post(f"{ORDERS}/901/change-order-status", json=body)
        retried = await client.post(f"{ORDERS}/901/change-order-status", json=body)

    assert lost.status_code == 502
    assert retried.status_code == 200
    assert tracking(retried.json()["order"])["number"] == "L-1"
    # The first call landed: the retry found nothing to change and sent no second webhook
    assert [delivery.event for delivery in queued(sandbox)] == ["order.status.update"]


# --- the store's own shipping ---------------------------------------------------------------------


@pytest.mark.anyio
async def test_the_merchant_ships_and_the_carrier_reports_until_delivered(
    make_sandbox: SandboxFactory,
) -> None:
    # Given an order being prepared
    sandbox = store(make_sandbox, [(1001, 3, "preparing")], webhooks=HOOKS)

    # When the merchant ships it with SMSA
    shipped = sandbox.ship(
        1001, carrier="SMSA", tracking_number="290019911", tracking_url="https://smsa.example/290019911"
    )
    sandbox.advance_clock(3_600)
    out = sandbox.set_shipment_status(1001, "out_for_delivery")
    sandbox.advance_clock(3_600)
    delivered = sandbox.set_shipment_status(1001, "delivered")

    # Then the shipment is the order, in Zid's status words, with the merchant's carrier
    assert shipped == {
        "id": 1001,
        "order_id": 1001,
        "status": "indelivery",
        "carrier": "SMSA",
        "tracking_numbers": ["290019911"],
        "tracking_url": "https://smsa.example/290019911",
    }
    assert out["status"] == "indelivery"
    assert delivered["status"] == "delivered"
    assert sandbox.shipments() == [delivered]
    # And the order shows the carrier's report and when it was delivered
    async with sandbox.client() as client:
        order = (await client.get(f"{ORDERS}/1001/view")).json()["order"]
    assert tracking(order)["status"] == "Delivered"
    assert order["shipping"]["method"]["courier"] == "SMSA"
    assert order["delivered_at"] == datetime.fromtimestamp(sandbox.store.time.now_seconds(), UTC).strftime(
        "%Y-%m-%d %H:%M:%S"
    )
    # And order.status.update went out for each status change only (not for "out for delivery")
    assert [(d.event, json.loads(d.body)["order_status"]["code"]) for d in queued(sandbox)] == [
        ("order.status.update", "indelivery"),
        ("order.status.update", "delivered"),
    ]


@pytest.mark.parametrize(
    ("report", "status", "said"),
    [
        ("in_transit", "indelivery", "In Transit"),
        ("failed", "indelivery", "Delivery Failed"),
        ("returned", "reversed", "Returned"),
    ],
)
def test_each_carrier_report_sets_zids_status_where_it_has_one(
    make_sandbox: SandboxFactory, report: Any, status: str, said: str
) -> None:
    sandbox = store(make_sandbox, [(1101, 3, "ready")])
    sandbox.ship(1101, carrier="Aramex", tracking_number="A-1", tracking_url=None)
    view = sandbox.set_shipment_status(1101, report)
    flavor = sandbox.flavor
    assert isinstance(flavor, Zid)
    assert view["status"] == status
    assert flavor.orders.delivery(sandbox.store.get("orders", 1101)).tracking_status == said


def test_a_carrier_cannot_report_on_an_order_never_shipped(make_sandbox: SandboxFactory) -> None:
    sandbox = store(make_sandbox, [(1201, 3, "new")])
    with pytest.raises(ValueError, match="was not shipped"):
        sandbox.set_shipment_status(1201, "delivered")
    assert sandbox.shipments(1201) == []


def test_generated_orders_in_delivery_carry_a_courier_and_tracking(make_sandbox: SandboxFactory) -> None:
    sandbox = make_sandbox("zid", sizes={"products": 5, "orders": 60})
    shipments = sandbox.shipments()
    shipped = {i for i in sandbox.store.ids("orders") if status_of(sandbox, i) in {"indelivery", "delivered"}}
    assert shipped and shipped <= {view["id"] for view in shipments}
    for view in shipments:
        assert view["carrier"] in {"SMSA", "Aramex", "SPL", "J&T Express"}
        assert len(view["tracking_numbers"]) == 1
        assert view["tracking_url"] is not None and view["tracking_numbers"][0] in view["tracking_url"]


# --- the shipped connector against the store ------------------------------------------------------


async def listed_shipments(sandbox: Sandbox) -> list[dict[str, Any]]:
    definition = load_shipped("zid")
    listing = definition.resources["shipments"].endpoints.list
    assert listing is not None
    async with sandbox.client() as client:
        body = (await client.get(listing.url, params={**listing.params, "per_page": 100})).json()
    outcome = map_list_response(definition, "shipments", body)
    assert outcome.failures == [], outcome.failures[0].reason
    return outcome.records


@pytest.mark.anyio
async def test_the_connector_maps_every_order_of_the_store_as_a_shipment(
    make_sandbox: SandboxFactory,
) -> None:
    # Given a generated store with one order shipped by the merchant and delivered
    sandbox = make_sandbox("zid", sizes={"products": 5, "orders": 40})
    order_id = next(i for i in sorted(sandbox.store.ids("orders")) if status_of(sandbox, i) == "preparing")
    sandbox.ship(order_id, carrier="SPL", tracking_number="SPL-77", tracking_url="https://spl.example/SPL-77")
    sandbox.set_shipment_status(order_id, "delivered")

    # When the connector lists the shipments resource
    records = {record["code"]: record for record in await listed_shipments(sandbox)}

    # Then every order is there, the ones that left with their carrier and tracking as the store has them
    assert set(records) == {str(i) for i in sandbox.store.ids("orders")}
    for view in sandbox.shipments():
        record = records[str(view["id"])]
        assert record["orderCode"] == str(view["order_id"])
        assert record["rawStatus"] == view["status"]
        assert record["carrier"] == view["carrier"]
        assert record["trackingNumbers"] == view["tracking_numbers"]
        assert record["trackingUrl"] == view["tracking_url"]
    delivered = records[str(order_id)]
    assert delivered["status"] == "delivered" and delivered["deliveredAt"] is not None
    assert delivered["customer"]["email"]


@pytest.mark.anyio
async def test_the_push_body_lands_as_change_order_status_and_a_retry_is_harmless(
    make_sandbox: SandboxFactory,
) -> None:
    # Given the connector's push.shipments and a tenant's shipment of an order being prepared
    sandbox = store(make_sandbox, [(1301, 2, "preparing")], webhooks=HOOKS)
    push = load_shipped("zid").push
    assert push is not None and push.shipments is not None
    shipment = {
        "code": "TENANT-SHIP-1",
        "orderCode": "1301",
        "status": "in_transit",
        "carrier": "Aramex",
        "trackingNumbers": ["35821947306"],
        "trackingUrl": "https://www.aramex.com/track/results?ShipmentNumber=35821947306",
        "items": [],
    }
    values = {"order": "1301", "key": push.shipments.key_of(shipment)}
    url, params = push.shipments.create.endpoint.filled(values)
    body = push.shipments.create.request_body({**shipment, "store": values})

    async with sandbox.client() as client:
        # When it is sent, then sent again (its answer lost), then the tenant says delivered
        first = await client.post(url, params=params, json=body)
        again = await client.post(url, params=params, json=body)
        done = push.shipments.create.request_body({**shipment, "status": "delivered", "store": values})
        final = await client.post(url, params=params, json=done)

    # Then the order went to delivery with the tenant's tracking, once, and then to delivered
    assert body == {
        "order_status": "indelivery",
        "tracking_number": "35821947306",
        "tracking_url": "https://www.aramex.com/track/results?ShipmentNumber=35821947306",
    }
    assert first.status_code == again.status_code == final.status_code == 200
    order = push.shipments.create.product_in(first.json())
    assert push.shipments.ids_in(order) == {"id": "1301"}
    assert again.json() == first.json()
    assert final.json()["order"]["order_status"]["code"] == "delivered"
    assert [json.loads(d.body)["order_status"]["code"] for d in queued(sandbox)] == [
        "indelivery",
        "delivered",
    ]


@pytest.mark.anyio
async def test_order_deliveries_verify_and_map_with_the_connector(make_sandbox: SandboxFactory) -> None:
    # Given a store sending webhooks and the shipped connector
    sandbox = store(make_sandbox, [(1401, 2, "ready")], webhooks=HOOKS)
    definition = load_shipped("zid")
    sandbox.ship(1401, carrier="SMSA", tracking_number="S-1", tracking_url=None)
    assert sandbox.emitter is not None
    for event in ("order.create", "order.payment_status.update"):
        sandbox.emitter.emit("orders", 1401, event)

    # When each delivery is verified with the webhook credentials and mapped by its handler
    credentials = {"webhookUsername": "zid-webhooks", "webhookPassword": SECRET}
    mapped = {}
    for delivery in queued(sandbox):
        headers = httpx.Headers(delivery.headers)
        verify_delivery(
            definition.webhook.verification if definition.webhook else None,
            credentials,
            headers,
            delivery.body,
            now=datetime.now(UTC),
        )
        outcome = map_delivery(definition, delivery.event, json.loads(delivery.body))
        assert outcome.failures == [], outcome.failures[0].reason
        mapped[delivery.event] = outcome.records[0]

    # Then every order handler maps the store's order, the status change as indelivery
    assert set(mapped) == {
        name for name, handler in definition.handlers.items() if handler.recordType == "order"
    }
    assert {record["code"] for record in mapped.values()} == {"1401"}
    assert mapped["order.status.update"]["status"] == "indelivery"

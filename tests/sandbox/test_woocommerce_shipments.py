"""The WooCommerce flavor's order tracking: the Shipment Tracking extension's meta written with
``PUT /orders/{id}``, order notes, order.updated deliveries, the store's own shipping (``ship``,
``set_shipment_status``), and the shipped connector's shipments resource and push.shipments against
them."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from mercator.connector import load_shipped
from mercator.connector.mapper import map_delivery, map_list_response
from mercator.signatures.verification import verify_delivery
from mercator_sandbox import Sandbox, WebhookConfig
from mercator_sandbox.flavors import WooCommerce
from mercator_sandbox.flavors.woocommerce import ORDER_STATUSES
from mercator_sandbox.flavors.woocommerce_shipments import TRACKING_KEY
from mercator_sandbox.webhooks import Delivery
from tests.sandbox.conftest import SandboxFactory

SECRET = "wc-secret"
HOOKS = WebhookConfig(url="http://receiver.test/hooks", secret=SECRET)
ITEM = {
    "tracking_provider": "",
    "custom_tracking_provider": "Aramex",
    "custom_tracking_link": "https://www.aramex.com/track/results?ShipmentNumber=358",
    "tracking_number": "358",
    "tracking_id": "358",
}


def store(make_sandbox: SandboxFactory, statuses: list[str], **options: Any) -> tuple[Sandbox, list[int]]:
    """A WooCommerce store whose orders are exactly one per status in ``statuses``, without tracking."""
    sandbox = make_sandbox("woocommerce", sizes={"orders": 0, "products": 4, "customers": 4}, **options)
    ids = [sandbox.store.insert("orders", status=ORDER_STATUSES.index(status)).id for status in statuses]
    if sandbox.emitter is not None:
        sandbox.emitter.pending.clear()  # the inserts' order.created deliveries
    return sandbox, ids


def queued(sandbox: Sandbox) -> list[Delivery]:
    assert sandbox.emitter is not None
    return list(sandbox.emitter.pending)


def tracking_meta(order: dict[str, Any]) -> list[dict[str, Any]]:
    return [entry for entry in order["meta_data"] if entry["key"] == TRACKING_KEY]


# --- PUT /orders/{id} with meta_data --------------------------------------------------------------


@pytest.mark.anyio
async def test_an_order_update_writes_the_tracking_meta_and_fires_one_order_updated(
    make_sandbox: SandboxFactory,
) -> None:
    # Given a processing order in a store sending webhooks
    sandbox, (order_id,) = store(make_sandbox, ["processing"], webhooks=HOOKS)
    sandbox.advance_clock(600)
    async with sandbox.client() as client:
        # When the tracking meta and the completed status are written in one update
        answer = await client.put(
            f"/orders/{order_id}",
            json={"status": "completed", "meta_data": [{"key": TRACKING_KEY, "value": [ITEM]}]},
        )
        shown = (await client.get(f"/orders/{order_id}")).json()

    # Then the order holds one tracking entry with the value written, and is completed
    assert answer.status_code == 200
    (entry,) = tracking_meta(answer.json())
    assert entry["value"] == [ITEM] and isinstance(entry["id"], int)
    assert shown["status"] == "completed" and tracking_meta(shown) == [entry]
    # And one order.updated went out, carrying the meta, signed as WooCommerce signs
    (delivery,) = queued(sandbox)
    assert delivery.event == "order.updated"
    assert tracking_meta(json.loads(delivery.body)) == [entry]
    digest = hmac.new(SECRET.encode(), delivery.body, hashlib.sha256).digest()
    assert delivery.headers["X-WC-Webhook-Signature"] == base64.b64encode(digest).decode()


@pytest.mark.anyio
async def test_writing_the_same_meta_again_changes_nothing_and_new_meta_replaces_the_old(
    make_sandbox: SandboxFactory,
) -> None:
    sandbox, (order_id,) = store(make_sandbox, ["processing"], webhooks=HOOKS)
    body = {"meta_data": [{"key": TRACKING_KEY, "value": [ITEM]}]}
    other = dict(ITEM, tracking_number="359", tracking_id="359")
    async with sandbox.client() as client:
        first = (await client.put(f"/orders/{order_id}", json=body)).json()
        sandbox.advance_clock(60)
        # When the same body is sent again (a lost answer), then a new tracking number
        again = (await client.put(f"/orders/{order_id}", json=body)).json()
        sandbox.advance_clock(60)
        replaced = (
            await client.put(
                f"/orders/{order_id}", json={"meta_data": [{"key": TRACKING_KEY, "value": [other]}]}
            )
        ).json()

    # Then the repeat left the order as it was (same meta id, same time), with no second webhook
    assert again == first
    # And a new value replaced the entry with that key: one entry, a new meta id
    (entry,) = tracking_meta(replaced)
    assert entry["value"] == [other] and entry["id"] != tracking_meta(first)[0]["id"]
    assert [delivery.event for delivery in queued(sandbox)] == ["order.updated", "order.updated"]


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("meta", "message"),
    [
        ("x", "meta_data is not of type array."),
        (["x"], "meta_data[0] is not of type object."),
        ([{"value": 1}], "meta_data[0][key] is not of type string."),
    ],
)
async def test_malformed_meta_is_refused_before_anything_is_saved(
    make_sandbox: SandboxFactory, meta: Any, message: str
) -> None:
    sandbox, (order_id,) = store(make_sandbox, ["processing"], webhooks=HOOKS)
    async with sandbox.client() as client:
        answer = await client.put(f"/orders/{order_id}", json={"status": "completed", "meta_data": meta})

    assert answer.status_code == 400
    assert answer.json() == {
        "code": "rest_invalid_param",
        "message": "Invalid parameter(s): meta_data",
        "data": {"status": 400, "params": {"meta_data": message}},
    }
    assert ORDER_STATUSES[sandbox.store.get("orders", order_id).status] == "processing"
    assert queued(sandbox) == []


# --- order notes ----------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_a_customer_note_is_created_listed_and_changes_nothing_else(
    make_sandbox: SandboxFactory,
) -> None:
    sandbox, (order_id,) = store(make_sandbox, ["processing"], webhooks=HOOKS)
    updated = sandbox.store.get("orders", order_id).updated
    async with sandbox.client() as client:
        created = await client.post(
            f"/orders/{order_id}/notes", json={"note": "Aramex 358", "customer_note": True}
        )
        await client.post(f"/orders/{order_id}/notes", json={"note": "Packed", "customer_note": "false"})
        every = (await client.get(f"/orders/{order_id}/notes")).json()
        customer = (await client.get(f"/orders/{order_id}/notes", params={"type": "customer"})).json()

    # Then the note is answered as the docs show it, with its Location
    assert created.status_code == 201
    note = created.json()
    assert (note["note"], note["customer_note"], note["author"]) == ("Aramex 358", True, "system")
    assert (
        created.headers["Location"] == f"http://testserver/wp-json/wc/v3/orders/{order_id}/notes/{note['id']}"
    )
    assert note["date_created_gmt"] == datetime.fromtimestamp(sandbox.store.time.now_seconds(), UTC).strftime(
        "%Y-%m-%dT%H:%M:%S"
    )
    # And the listing is newest first, the customer type only the customer's
    assert [found["note"] for found in every] == ["Packed", "Aramex 358"]
    assert [found["note"] for found in customer] == ["Aramex 358"]
    # And a note neither touches the order nor fires a webhook
    assert sandbox.store.get("orders", order_id).updated == updated
    assert queued(sandbox) == []


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("path_id", "body", "status", "refusal"),
    [
        (
            None,
            {"customer_note": True},
            400,
            {
                "code": "rest_missing_callback_param",
                "message": "Missing parameter(s): note",
                "data": {"status": 400, "params": ["note"]},
            },
        ),
        (
            None,
            {"note": "x", "customer_note": "maybe"},
            400,
            {
                "code": "rest_invalid_param",
                "message": "Invalid parameter(s): customer_note",
                "data": {"status": 400, "params": {"customer_note": "customer_note is not of type boolean."}},
            },
        ),
        (
            1,
            {"note": "x"},
            404,
            {
                "code": "woocommerce_rest_shop_order_invalid_id",
                "message": "Invalid order ID.",
                "data": {"status": 404},
            },
        ),
    ],
)
async def test_notes_are_refused_as_wordpress_refuses_them(
    make_sandbox: SandboxFactory,
    path_id: int | None,
    body: dict[str, Any],
    status: int,
    refusal: dict[str, Any],
) -> None:
    sandbox, (order_id,) = store(make_sandbox, ["processing"])
    async with sandbox.client() as client:
        answer = await client.post(f"/orders/{path_id or order_id}/notes", json=body)
        listed = (await client.get(f"/orders/{order_id}/notes")).json()

    assert (answer.status_code, answer.json()) == (status, refusal)
    assert listed == []


@pytest.mark.anyio
async def test_a_note_without_credentials_is_refused_as_a_create(make_sandbox: SandboxFactory) -> None:
    sandbox, (order_id,) = store(make_sandbox, ["processing"])
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=sandbox.app), base_url=sandbox.base_url()
    ) as client:
        answer = await client.post(f"/orders/{order_id}/notes", json={"note": "x"})
    assert answer.status_code == 401
    assert answer.json()["code"] == "woocommerce_rest_cannot_create"


# --- the store's own shipping ---------------------------------------------------------------------


def test_the_merchant_saves_tracking_and_a_delivery_completes_the_order(make_sandbox: SandboxFactory) -> None:
    # Given a processing order
    sandbox, (order_id,) = store(make_sandbox, ["processing"], webhooks=HOOKS)

    # When the merchant saves USPS tracking, then a custom carrier's, and the carrier reports
    first = sandbox.ship(order_id, carrier="USPS", tracking_number="9400111899560000000000")
    second = sandbox.ship(
        order_id, carrier="Example Courier", tracking_number="123", tracking_url="https://e.example/123"
    )
    on_the_way = sandbox.set_shipment_status(order_id, "in_transit")
    delivered = sandbox.set_shipment_status(order_id, "delivered")

    # Then a predefined provider's link is the extension's format, the status untouched by tracking
    assert first == {
        "id": order_id,
        "order_id": order_id,
        "status": "processing",
        "carrier": "USPS",
        "tracking_numbers": ["9400111899560000000000"],
        "tracking_url": "https://tools.usps.com/go/TrackConfirmAction_input?qtc_tLabels1=9400111899560000000000",
    }
    # And a second item is added after the first
    assert second["tracking_numbers"] == ["9400111899560000000000", "123"]
    # And in transit changes nothing (core has no such state); delivered completes the order
    assert on_the_way == second
    assert delivered == dict(second, status="completed")
    assert sandbox.shipments() == [delivered]
    # And each save of the order sent order.updated; the in-transit report sent nothing
    assert [delivery.event for delivery in queued(sandbox)] == ["order.updated"] * 3


def test_tracking_items_are_stored_as_the_extension_stores_them(make_sandbox: SandboxFactory) -> None:
    sandbox, (order_id,) = store(make_sandbox, ["processing"])
    sandbox.ship(
        order_id, carrier="Example Courier", tracking_number="123", tracking_url="https://e.example/123"
    )
    flavor = sandbox.flavor
    assert isinstance(flavor, WooCommerce)
    (item,) = flavor.shipping.tracking_items(sandbox.store.get("orders", order_id))
    assert set(item) == {
        "tracking_provider",
        "custom_tracking_provider",
        "custom_tracking_link",
        "tracking_number",
        "date_shipped",
        "tracking_id",
    }
    assert item["tracking_provider"] == "" and item["custom_tracking_link"] == "https://e.example/123"
    # date_shipped: epoch seconds as text (wc_clean of strtotime); tracking_id: an md5
    assert item["date_shipped"] == str(sandbox.store.time.now_seconds())
    assert len(item["tracking_id"]) == 32 and int(item["tracking_id"], 16) >= 0


def test_a_carrier_cannot_report_on_an_order_without_tracking(make_sandbox: SandboxFactory) -> None:
    sandbox, (order_id,) = store(make_sandbox, ["processing"])
    with pytest.raises(ValueError, match="carries no tracking"):
        sandbox.set_shipment_status(order_id, "delivered")
    assert sandbox.shipments(order_id) == []


def test_most_generated_completed_orders_carry_a_predefined_providers_tracking(
    make_sandbox: SandboxFactory,
) -> None:
    sandbox = make_sandbox("woocommerce")
    statuses = {i: ORDER_STATUSES[sandbox.store.get("orders", i).status] for i in sandbox.store.ids("orders")}
    shipments = sandbox.shipments()
    assert shipments
    assert {view["status"] for view in shipments} == {"completed"}
    completed = [i for i, status in statuses.items() if status == "completed"]
    assert len(shipments) < len(completed)  # one in five completed orders has none
    for view in shipments:
        assert view["carrier"] in {"DHL US", "Fedex", "UPS", "USPS"}
        assert view["tracking_url"] is not None and view["tracking_numbers"][0] in view["tracking_url"]


# --- the shipped connector against the store ------------------------------------------------------


@pytest.mark.anyio
async def test_the_connector_maps_the_paid_orders_as_shipments(make_sandbox: SandboxFactory) -> None:
    # Given a processing order shipped with a custom carrier, a processing one without tracking, a
    # delivered one and an unpaid one
    sandbox, (shipped, waiting, done, unpaid) = store(
        make_sandbox, ["processing", "processing", "processing", "pending"]
    )
    sandbox.ship(
        shipped, carrier="Example Courier", tracking_number="123", tracking_url="https://e.example/123"
    )
    sandbox.ship(done, carrier="UPS", tracking_number="1Z999")
    sandbox.set_shipment_status(done, "delivered")
    definition = load_shipped("woocommerce")
    listing = definition.resources["shipments"].endpoints.list
    assert listing is not None

    # When the connector lists its shipments resource
    async with sandbox.client() as client:
        body = (await client.get(listing.url, params={**listing.params, "per_page": 100})).json()
    outcome = map_list_response(definition, "shipments", body)
    assert outcome.failures == [], outcome.failures[0].reason
    records = {record["code"]: record for record in outcome.records}

    # Then the paid orders are shipments; the unpaid one is not listed
    assert set(records) == {str(shipped), str(waiting), str(done)}
    assert str(unpaid) not in records
    assert (records[str(shipped)]["status"], records[str(shipped)]["carrier"]) == (
        "pending",
        "Example Courier",
    )
    assert records[str(shipped)]["trackingNumbers"] == ["123"]
    assert records[str(shipped)]["trackingUrl"] == "https://e.example/123"
    assert records[str(waiting)]["status"] == "pending" and records[str(waiting)]["trackingNumbers"] == []
    # And the completed order is delivered; a predefined provider's link is not in the order
    assert (records[str(done)]["status"], records[str(done)]["carrier"]) == ("delivered", "UPS")
    assert records[str(done)].get("trackingUrl") is None
    assert records[str(done)]["shippedAt"] is not None


@pytest.mark.anyio
async def test_the_push_writes_tracking_once_then_a_customer_note_and_delivered_completes(
    make_sandbox: SandboxFactory,
) -> None:
    # Given the connector's push.shipments and a tenant's shipment of a processing order
    sandbox, (order_id,) = store(make_sandbox, ["processing"], webhooks=HOOKS)
    push = load_shipped("woocommerce").push
    assert push is not None and push.shipments is not None
    shipment = {
        "code": "TENANT-1",
        "orderCode": str(order_id),
        "status": "in_transit",
        "carrier": "Aramex",
        "trackingNumbers": ["358"],
        "trackingUrl": "https://www.aramex.com/track/results?ShipmentNumber=358",
        "items": [],
    }
    values = {"order": str(order_id), "key": push.shipments.key_of(shipment)}
    (then,) = push.shipments.then

    async def send(call: Any, record: dict[str, Any], client: httpx.AsyncClient) -> httpx.Response:
        url, params = call.endpoint.filled(values)
        return await client.request(
            call.endpoint.method, url, params=params, json=call.request_body({**record, "store": values})
        )

    async with sandbox.client() as client:
        # When the create is sent twice (its first answer lost), then its note
        first = await send(push.shipments.create, shipment, client)
        again = await send(push.shipments.create, shipment, client)
        note = await send(then, shipment, client)
        # And later the tenant says it was delivered
        delivered = await send(push.shipments.create, {**shipment, "status": "delivered"}, client)

    # Then the order carries the tenant's tracking as the extension keeps it, written once
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    assert tracking_meta(first.json())[0]["value"] == [
        {
            "tracking_provider": "",
            "custom_tracking_provider": "Aramex",
            "custom_tracking_link": "https://www.aramex.com/track/results?ShipmentNumber=358",
            "tracking_number": "358",
            "tracking_id": "358",
        }
    ]
    assert first.json()["status"] == "processing"
    assert push.shipments.ids_in(push.shipments.create.product_in(first.json())) == {"id": str(order_id)}
    # And the customer got a note with carrier, number and link
    assert note.status_code == 201
    assert (note.json()["note"], note.json()["customer_note"]) == (
        "Aramex 358 https://www.aramex.com/track/results?ShipmentNumber=358",
        True,
    )
    # And delivered completed the order, the tracking unchanged
    assert delivered.json()["status"] == "completed"
    assert tracking_meta(delivered.json()) == tracking_meta(first.json())
    # And the store sent order.updated for the tracking and for the completion only
    assert [json.loads(d.body)["status"] for d in queued(sandbox)] == ["processing", "completed"]
    assert sandbox.shipments(order_id)[0]["tracking_numbers"] == ["358"]


@pytest.mark.anyio
async def test_order_updated_with_tracking_verifies_and_maps_with_the_connector(
    make_sandbox: SandboxFactory,
) -> None:
    sandbox, (order_id,) = store(make_sandbox, ["processing"], webhooks=HOOKS)
    sandbox.ship(order_id, carrier="UPS", tracking_number="1Z999")
    definition = load_shipped("woocommerce")
    (delivery,) = queued(sandbox)

    verify_delivery(
        definition.webhook.verification if definition.webhook else None,
        {"webhookSecret": SECRET},
        httpx.Headers(delivery.headers),
        delivery.body,
        now=datetime.now(UTC),
    )
    outcome = map_delivery(definition, "order.updated", json.loads(delivery.body))
    assert outcome.failures == [], outcome.failures[0].reason
    (record,) = outcome.records
    assert (record["code"], record["status"]) == (str(order_id), "processing")

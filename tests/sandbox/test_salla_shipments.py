"""Salla shipments in the sandbox: the store's generated shipments, List Shipments and Shipment Details,
Create / Update / Cancel Shipment with Salla's 422, the shipment webhooks, and the platform-neutral
contract (``shipments()``, ``ship()``, ``set_shipment_status()``) moving orders as Salla does."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import pytest

from mercator.connector import load_shipped
from mercator.connector.mapper import map_delivery
from mercator_sandbox import Sandbox, UnknownRecordError, WebhookConfig
from mercator_sandbox.flavors.salla import ORDER_STATUSES
from tests.sandbox.conftest import FakeClock, Receiver, SandboxFactory

SLUGS = [entry[0] for entry in ORDER_STATUSES]
SECRET = "s"


def hooked(make_sandbox: SandboxFactory, receiver: Receiver, **options: Any) -> Sandbox:
    config = WebhookConfig(url="http://receiver.test/hooks", secret=SECRET)
    return make_sandbox("salla", webhooks=config, webhook_client=receiver.client(), **options)


async def delivered(sandbox: Sandbox, receiver: Receiver) -> list[dict[str, Any]]:
    assert sandbox.emitter is not None
    await sandbox.emitter.flush()
    return [json.loads(body) for _, body in receiver.received]


def order_slug(sandbox: Sandbox, order_id: int) -> str:
    return SLUGS[sandbox.store.get("orders", order_id).status]


def unshipped_order(sandbox: Sandbox) -> int:
    """An order Salla has made no shipment for (under review)."""
    shipped = {view["order_id"] for view in sandbox.shipments()}
    return min(
        i
        for i in sandbox.store.ids("orders")
        if order_slug(sandbox, i) == "under_review" and i not in shipped
    )


def create_body(order_id: int, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "order_id": order_id,
        "courier_id": 1723506348,  # سمسا, the first of List Shipping Companies
        "shipment_type": "shipment",
        "payment_method": "pre_paid",
        "external_id": "AX-77",
        "external_additional_id": "SHIP-1",
        "external_company_name": "Aramex",
        "packages": [{"name": "Anything", "sku": "NOT-IN-ORDER", "quantity": 1}],
    }
    body.update(changes)
    return {key: value for key, value in body.items() if value is not None}


# --- the store's own shipments -------------------------------------------------------------------


def test_every_order_salla_would_have_shipped_has_one_shipment(make_sandbox: SandboxFactory) -> None:
    # Given a generated store
    sandbox = make_sandbox("salla")
    views = sandbox.shipments()
    by_order = {view["order_id"]: view for view in views}
    # Then each completed, shipped, delivering or delivered order has exactly one shipment, the others none
    assert len(by_order) == len(views)
    expected = {
        "completed": "created",
        "shipped": "shipped",
        "delivering": "delivering",
        "delivered": "delivered",
    }
    for order_id in sandbox.store.ids("orders"):
        slug = order_slug(sandbox, order_id)
        if slug in expected:
            assert by_order[order_id]["status"] == expected[slug]
            assert by_order[order_id]["tracking_numbers"] != []
        else:
            assert order_id not in by_order
    # And shipments(order_id) keeps one order's
    some = views[0]
    assert sandbox.shipments(some["order_id"]) == [some]


@pytest.mark.anyio
async def test_list_shipments_pages_in_salla_envelope_newest_first(make_sandbox: SandboxFactory) -> None:
    sandbox = make_sandbox("salla")
    total = sandbox.store.count("shipments")
    seen: list[int] = []
    dates: list[str] = []
    async with sandbox.client() as client:
        url: str | None = "/shipments?per_page=10"
        while url:
            body = (await client.get(url)).json()
            assert (body["status"], body["success"]) == (200, True)
            assert body["pagination"]["total"] == total
            assert body["pagination"]["perPage"] == 10
            seen += [item["id"] for item in body["data"]]
            dates += [item["created_at"]["date"] for item in body["data"]]
            url = body["pagination"]["links"].get("next")
    assert sorted(seen) == sorted(sandbox.store.ids("shipments"))
    assert dates == sorted(dates, reverse=True)
    # Salla's shipments carry a creation time only
    assert all(len(date) == 26 for date in dates)


@pytest.mark.anyio
async def test_a_listed_shipment_is_its_order_s_parcel(make_sandbox: SandboxFactory) -> None:
    # Given a generated shipment and its order
    sandbox = make_sandbox("salla")
    view = sandbox.shipments()[0]
    async with sandbox.client() as client:
        listed = (await client.get("/shipments", params={"order_id": view["order_id"]})).json()["data"]
        details = (await client.get(f"/shipments/{view['id']}")).json()
        order = (await client.get(f"/orders/{view['order_id']}")).json()["data"]
    # Then the list filtered by the order holds it, and Shipment Details answers the same shipment
    assert [item["id"] for item in listed] == [view["id"]]
    assert (details["status"], details["success"]) == (200, True)
    shipment = details["data"]
    same = ("order_id", "status", "created_at", "courier_id", "tracking_number", "tracking_link", "reference")
    assert {key: shipment[key] for key in same} == {key: listed[0][key] for key in same}
    assert (shipment["packages"], shipment["ship_to"]["email"]) == (
        listed[0]["packages"],
        listed[0]["ship_to"]["email"],
    )
    assert shipment["order_id"] == view["order_id"]
    assert shipment["order_reference_id"] == order["reference_id"]
    assert shipment["type"] == "shipment"
    assert shipment["status"] == view["status"]
    assert shipment["tracking_number"] == view["tracking_numbers"][0]
    # The receiver is the order's, and each package one of its lines
    assert (
        shipment["ship_to"]["name"] == f"{order['customer']['first_name']} {order['customer']['last_name']}"
    )
    assert shipment["ship_to"]["email"] == order["customer"]["email"]
    assert shipment["ship_to"]["phone"] == order["receiver"]["phone"]
    lines = {item["id"]: item for item in order["items"]}
    assert [package["item_id"] for package in shipment["packages"]] == list(lines)
    for package in shipment["packages"]:
        assert (package["sku"], package["quantity"]) == (
            lines[package["item_id"]]["sku"],
            lines[package["item_id"]]["quantity"],
        )


@pytest.mark.anyio
async def test_list_filters_by_status_type_courier_and_creation_day(make_sandbox: SandboxFactory) -> None:
    sandbox = make_sandbox("salla")
    views = sandbox.shipments()
    delivered_ids = sorted(view["id"] for view in views if view["status"] == "delivered")
    async with sandbox.client() as client:
        by_status = (await client.get("/shipments", params={"status": "delivered", "per_page": 60})).json()
        returns = (await client.get("/shipments", params={"shipment_type": "return"})).json()
        dhl = (await client.get("/shipments", params={"courier_slug": "dhl-express", "per_page": 60})).json()
        newest = by_status["data"][0]["created_at"]["date"][:10]
        that_day = (
            await client.get("/shipments", params={"from_date": newest, "to_date": newest, "per_page": 60})
        ).json()
    assert sorted(item["id"] for item in by_status["data"]) == delivered_ids
    assert returns["data"] == [] and returns["pagination"]["total"] == 0
    assert dhl["data"] and all(item["courier_id"] == 814202285 for item in dhl["data"])
    assert that_day["data"] and all(item["created_at"]["date"][:10] == newest for item in that_day["data"])


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"status": "teleported"}, "status", "حالة الشحنة المختارة غير صالحة."),
        ({"shipment_type": "gift"}, "shipment_type", "نوع الشحنة المختار غير صالح."),
        # The reference's own example and text
        ({"courier_slug": "pigeon"}, "courier_slug", "حقل ترميز الشركة يحتوي على قيم غير صحيحة"),
    ],
)
async def test_an_unknown_filter_value_is_salla_422(
    make_sandbox: SandboxFactory, params: dict[str, str], field: str, message: str
) -> None:
    sandbox = make_sandbox("salla")
    async with sandbox.client() as client:
        answer = await client.get("/shipments", params=params)
    assert answer.status_code == 422
    assert answer.json() == {
        "status": 422,
        "success": False,
        "error": {"code": "error", "message": "alert.invalid_fields", "fields": {field: [message]}},
    }


@pytest.mark.anyio
async def test_an_unknown_shipment_is_404(make_sandbox: SandboxFactory) -> None:
    sandbox = make_sandbox("salla")
    async with sandbox.client() as client:
        answer = await client.get("/shipments/7")
    assert answer.status_code == 404
    assert answer.json()["error"]["code"] == "NotFound"


@pytest.mark.anyio
async def test_shipping_companies_are_listed(make_sandbox: SandboxFactory) -> None:
    sandbox = make_sandbox("salla")
    async with sandbox.client() as client:
        body = (await client.get("/shipping/companies")).json()
    assert body["data"][0] == {
        "id": 1723506348,
        "name": "سمسا",
        "app_id": "1683195908",
        "activation_type": "manual",
        "slug": None,
    }
    assert {"id": 814202285, "slug": "dhl-express"}.items() <= body["data"][3].items()


# --- Create, Update and Cancel Shipment ----------------------------------------------------------


@pytest.mark.anyio
async def test_create_shipment_makes_a_creating_shipment_of_the_order(
    make_sandbox: SandboxFactory, receiver: Receiver, clock: FakeClock
) -> None:
    # Given an order that has no shipment, and one of its lines
    sandbox = hooked(make_sandbox, receiver)
    order_id = unshipped_order(sandbox)
    clock.advance(60)
    async with sandbox.client() as client:
        line = (await client.get(f"/orders/{order_id}")).json()["data"]["items"][0]
        packages = [{"name": "", "sku": line["sku"], "quantity": line["quantity"]}]
        # When a shipment is created for it through the API
        answer = await client.post("/shipments", json=create_body(order_id, packages=packages))
        listed = (await client.get("/shipments", params={"order_id": order_id})).json()["data"]
    # Then Salla answers 200 with the shipment: creating, no tracking yet, the references kept
    assert answer.status_code == 200
    body = answer.json()
    assert (body["status"], body["success"]) == (200, True)
    shipment = body["data"]
    assert shipment["status"] == "creating"
    assert shipment["order_id"] == order_id
    assert shipment["tracking_number"] is None and shipment["shipping_number"] is None
    assert shipment["reference"] == {"external_id": "AX-77", "external_additional_id": "SHIP-1"}
    assert shipment["courier_id"] == 1723506348 and shipment["courier_name"] == "سمسا"
    assert shipment["external_company_name"] == "Aramex"
    assert shipment["source"] == "api"
    # A package is tied to the order line with its SKU, and named after it
    (package,) = shipment["packages"]
    assert package["item_id"] == line["id"]
    assert package["name"] == line["name"]
    # And the store lists it under the order, and the view names the carrier given
    assert [item["id"] for item in listed] == [shipment["id"]]
    (view,) = sandbox.shipments(order_id)
    assert view["carrier"] == "Aramex" and view["tracking_numbers"] == []
    # And shipment.created went out, signed, with the shipment
    (sent,) = await delivered(sandbox, receiver)
    assert sent["event"] == "shipment.created"
    assert sent["data"]["id"] == shipment["id"]
    headers, raw = receiver.received[0]
    assert headers["x-salla-signature"] == hmac.new(SECRET.encode(), raw, hashlib.sha256).hexdigest()


@pytest.mark.anyio
async def test_create_shipment_refuses_every_missing_field_at_once(make_sandbox: SandboxFactory) -> None:
    sandbox = make_sandbox("salla")
    async with sandbox.client() as client:
        arabic = await client.post("/shipments", json={})
        english = await client.post("/shipments", json={}, headers={"Accept-Language": "en"})
    assert arabic.status_code == 422
    error = arabic.json()["error"]
    assert (error["code"], error["message"]) == ("error", "alert.invalid_fields")
    assert set(error["fields"]) == {"courier_id", "shipment_type", "payment_method", "order_id", "packages"}
    # The reference's own Arabic text for the courier
    assert error["fields"]["courier_id"] == ["حقل رقم الشركة مطلوب."]
    assert english.json()["error"]["fields"]["packages"] == ["The packages field is required."]
    assert sandbox.store.count("shipments") == len(sandbox.shipments())  # nothing was created


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"order_id": 7}, "order_id", "The selected order id is invalid."),
        ({"courier_id": 12}, "courier_id", "The selected courier id is invalid."),
        ({"shipment_type": "gift"}, "shipment_type", "The selected shipment type is invalid."),
        ({"payment_method": "cod"}, "cash_on_delivery.amount", None),
        ({"packages": [{"name": "x", "quantity": 0}]}, "packages.0.quantity", None),
        ({"ship_to": {"phone": "966500000000"}}, "ship_to.name", "The ship to name field is required."),
        ({"shipment_type": "return", "order_id": None}, "shipment_id", None),
    ],
)
async def test_create_shipment_refuses_a_bad_field(
    make_sandbox: SandboxFactory, changes: dict[str, Any], field: str, message: str | None
) -> None:
    sandbox = make_sandbox("salla")
    body = create_body(unshipped_order(sandbox))
    body.update(changes)
    body = {key: value for key, value in body.items() if value is not None}
    async with sandbox.client() as client:
        answer = await client.post("/shipments", json=body, headers={"Accept-Language": "en"})
    assert answer.status_code == 422
    fields = answer.json()["error"]["fields"]
    assert list(fields) == [field]
    if message is not None:
        assert fields[field] == [message]


@pytest.mark.anyio
async def test_overwrite_exists_pending_replaces_the_order_s_pending_shipment(
    make_sandbox: SandboxFactory,
) -> None:
    sandbox = make_sandbox("salla")
    order_id = unshipped_order(sandbox)
    async with sandbox.client() as client:
        first = (await client.post("/shipments", json=create_body(order_id))).json()["data"]
        kept = (await client.post("/shipments", json=create_body(order_id))).json()["data"]
        replacing = await client.post("/shipments", json=create_body(order_id, overwrite_exists_pending=True))
        gone = await client.get(f"/shipments/{first['id']}")
    # Without the flag a second shipment is kept beside the first; with it, both pending ones give way
    assert kept["id"] != first["id"]
    (only,) = sandbox.shipments(order_id)
    assert only["id"] == replacing.json()["data"]["id"]
    assert gone.status_code == 404


@pytest.mark.anyio
async def test_update_sets_tracking_and_moves_the_order(
    make_sandbox: SandboxFactory, receiver: Receiver, clock: FakeClock
) -> None:
    # Given a shipment created through the API for an order under review
    sandbox = hooked(make_sandbox, receiver)
    order_id = unshipped_order(sandbox)
    async with sandbox.client() as client:
        shipment_id = (await client.post("/shipments", json=create_body(order_id))).json()["data"]["id"]
        await delivered(sandbox, receiver)
        receiver.received.clear()
        before = sandbox.store.get("orders", order_id).updated
        clock.advance(120)
        # When the shipping company sends the tracking with status shipped
        tracking = {
            "shipment_number": "SHIP-1",
            "tracking_number": "AX123456",
            "tracking_link": "https://track.test/AX123456",
            "status": "shipped",
        }
        answer = await client.put(f"/shipments/{shipment_id}", json=tracking)
        order = (await client.get(f"/orders/{order_id}")).json()["data"]
    # Then the shipment answers with it, and the order is shipped, updated now
    assert answer.status_code == 200
    shipment = answer.json()["data"]
    assert (shipment["status"], shipment["tracking_number"], shipment["shipping_number"]) == (
        "shipped",
        "AX123456",
        "SHIP-1",
    )
    assert shipment["tracking_link"] == "https://track.test/AX123456"
    assert shipment["trackable"] is True
    assert order["status"]["slug"] == "shipped"
    assert sandbox.store.get("orders", order_id).updated > before
    assert sandbox.shipments(order_id)[0]["tracking_numbers"] == ["AX123456"]
    # And shipment.updated and order.updated went out
    assert [(sent["event"], sent["data"]["id"]) for sent in await delivered(sandbox, receiver)] == [
        ("shipment.updated", shipment_id),
        ("order.updated", order_id),
    ]


@pytest.mark.anyio
async def test_update_refuses_what_salla_refuses(make_sandbox: SandboxFactory) -> None:
    sandbox = make_sandbox("salla")
    order_id = unshipped_order(sandbox)
    en = {"Accept-Language": "en"}
    async with sandbox.client() as client:
        shipment_id = (await client.post("/shipments", json=create_body(order_id))).json()["data"]["id"]
        url = f"/shipments/{shipment_id}"
        empty = await client.put(url, json={}, headers=en)
        unknown = await client.put(url, json={"shipment_number": "N1", "status": "teleported"}, headers=en)
        first = await client.put(url, json={"shipment_number": "N1", "status": "shipped"})
        renumbered = await client.put(url, json={"shipment_number": "N2", "status": "delivering"}, headers=en)
        backwards = await client.put(url, json={"shipment_number": "N1", "status": "in_progress"}, headers=en)
        missing = await client.put("/shipments/7", json={"shipment_number": "N1", "status": "shipped"})
    assert empty.status_code == 422
    assert empty.json()["error"]["fields"] == {
        "shipment_number": ["The shipment number field is required."],
        "status": ["The status field is required."],
    }
    assert unknown.json()["error"]["fields"] == {"status": ["The selected status is invalid."]}
    assert first.status_code == 200
    assert renumbered.json()["error"]["fields"] == {
        "shipment_number": ["The shipment number must match the one first sent for this shipment."]
    }
    assert backwards.json()["error"]["fields"] == {
        "status": ["A shipment that was shipped cannot go back to created or in_progress."]
    }
    assert missing.status_code == 404
    # The refused writes left the shipment shipped
    assert sandbox.shipments(order_id)[0]["status"] == "shipped"


@pytest.mark.anyio
async def test_cancel_sends_shipment_cancelled(make_sandbox: SandboxFactory, receiver: Receiver) -> None:
    sandbox = hooked(make_sandbox, receiver)
    view = next(view for view in sandbox.shipments() if view["status"] == "shipped")
    async with sandbox.client() as client:
        answer = await client.post(f"/shipments/{view['id']}/cancel")
        again = await client.post(f"/shipments/{view['id']}/cancel", headers={"Accept-Language": "en"})
    assert answer.json()["data"]["status"] == "cancelled"
    assert again.status_code == 422
    assert again.json()["error"]["fields"] == {
        "status": ["A cancelled or delivered shipment cannot be cancelled."]
    }
    sent = await delivered(sandbox, receiver)
    assert [entry["event"] for entry in sent] == ["shipment.cancelled", "order.updated"]
    assert sent[0]["data"]["status"] == "cancelled"


@pytest.mark.anyio
async def test_a_lost_create_answer_leaves_one_shipment_findable_by_its_reference(
    make_sandbox: SandboxFactory,
) -> None:
    # Given a store that loses the answer of the next write
    sandbox = make_sandbox("salla")
    order_id = unshipped_order(sandbox)
    sandbox.set_faults(lost_write_answers={"count": 1})
    async with sandbox.client() as client:
        lost = await client.post("/shipments", json=create_body(order_id, overwrite_exists_pending=True))
        # When the writer looks for it the way push.shipments' find does
        found = (await client.get("/shipments", params={"order_id": order_id})).json()["data"]
        # And a retried create with overwrite_exists_pending would still leave one
        retried = await client.post("/shipments", json=create_body(order_id, overwrite_exists_pending=True))
    assert lost.status_code == 502
    assert [item["reference"]["external_additional_id"] for item in found] == ["SHIP-1"]
    assert retried.status_code == 200
    assert len(sandbox.shipments(order_id)) == 1


# --- the merchant and the carrier (the platform-neutral contract) --------------------------------


@pytest.mark.anyio
async def test_ship_makes_a_shipped_shipment_and_ships_the_order(
    make_sandbox: SandboxFactory, receiver: Receiver
) -> None:
    sandbox = hooked(make_sandbox, receiver)
    order_id = unshipped_order(sandbox)
    # When the merchant ships the order with DHL
    view = sandbox.ship(order_id, carrier="DHL", tracking_number="1234567890")
    # Then the view is Salla's shipped shipment with the tracking and DHL's tracking page
    assert view == {
        "id": view["id"],
        "order_id": order_id,
        "status": "shipped",
        "carrier": "DHL",
        "tracking_numbers": ["1234567890"],
        "tracking_url": "https://www.dhl.com/sa-en/home/tracking.html?tracking-id=1234567890",
    }
    assert sandbox.shipments(order_id) == [view]
    assert order_slug(sandbox, order_id) == "shipped"
    sent = await delivered(sandbox, receiver)
    assert [(entry["event"], entry["data"]["id"]) for entry in sent] == [
        ("shipment.created", view["id"]),
        ("order.updated", order_id),
    ]
    # DHL is the store's DHL Express company; the carrier as typed is kept as the external company
    assert (sent[0]["data"]["courier_id"], sent[0]["data"]["external_company_name"]) == (814202285, "DHL")
    assert sent[1]["data"]["status"]["slug"] == "shipped"


def test_ship_needs_a_live_order(make_sandbox: SandboxFactory) -> None:
    sandbox = make_sandbox("salla")
    with pytest.raises(UnknownRecordError):
        sandbox.ship(7, carrier="SMSA", tracking_number="1")


@pytest.mark.anyio
@pytest.mark.parametrize(
    "case",
    [
        ("in_transit", "in_transit", "shipped"),
        ("out_for_delivery", "delivering", "delivering"),
        ("delivered", "delivered", "delivered"),
        ("failed", "unable_to_deliver", "shipped"),
        ("returned", "return_to_origin", "shipped"),
    ],
)
async def test_the_carrier_s_report_sets_salla_s_status_and_moves_the_order(
    make_sandbox: SandboxFactory,
    receiver: Receiver,
    clock: FakeClock,
    case: tuple[Any, str, str],
) -> None:
    reported, salla, order_status = case
    # Given an order the merchant shipped
    sandbox = hooked(make_sandbox, receiver)
    order_id = unshipped_order(sandbox)
    shipped = sandbox.ship(order_id, carrier="SMSA", tracking_number="290000000001")
    await delivered(sandbox, receiver)
    receiver.received.clear()
    before = sandbox.store.get("orders", order_id).updated
    clock.advance(3600)
    # When the carrier reports progress
    view = sandbox.set_shipment_status(shipped["id"], reported)
    # Then the shipment shows Salla's word for it; the order moves only to shipped/delivering/delivered
    assert view["status"] == salla
    assert order_slug(sandbox, order_id) == order_status
    assert sandbox.store.get("orders", order_id).updated > before
    sent = await delivered(sandbox, receiver)
    assert [entry["event"] for entry in sent] == ["shipment.updated", "order.updated"]
    assert sent[0]["data"]["status"] == salla


def test_set_shipment_status_needs_a_shipment(make_sandbox: SandboxFactory) -> None:
    sandbox = make_sandbox("salla")
    with pytest.raises(UnknownRecordError):
        sandbox.set_shipment_status(7, "delivered")


# --- through the shipped connector ---------------------------------------------------------------


@pytest.mark.anyio
async def test_deliveries_map_into_shipments_with_mercator_s_status(
    make_sandbox: SandboxFactory, receiver: Receiver
) -> None:
    # Given a shipment the carrier delivered
    sandbox = hooked(make_sandbox, receiver)
    order_id = unshipped_order(sandbox)
    shipped = sandbox.ship(order_id, carrier="Aramex", tracking_number="4000000001")
    sandbox.set_shipment_status(shipped["id"], "delivered")
    definition = load_shipped("salla")
    records = {
        entry["event"]: map_delivery(definition, entry["event"], entry)
        for entry in await delivered(sandbox, receiver)
        if entry["event"].startswith("shipment.")
    }
    # Then both deliveries map without failure: created in transit, updated delivered
    created, updated = records["shipment.created"], records["shipment.updated"]
    assert created.failures == [] and updated.failures == []
    assert created.records[0]["status"] == "in_transit"
    assert created.records[0]["rawStatus"] == "shipped"
    record = updated.records[0]
    assert (record["code"], record["orderCode"]) == (str(shipped["id"]), str(order_id))
    assert (record["status"], record["rawStatus"]) == ("delivered", "delivered")
    assert record["carrier"] == "Aramex"
    assert record["trackingNumbers"] == ["4000000001"]
    # The customer is the shipment's receiver: the order's buyer
    async with sandbox.client() as client:
        buyer = (await client.get(f"/orders/{order_id}")).json()["data"]["customer"]
    assert record["customer"]["email"] == buyer["email"]
    assert record["customer"]["name"] == f"{buyer['first_name']} {buyer['last_name']}"


@pytest.mark.anyio
async def test_list_order_items_answers_the_order_s_lines(make_sandbox: SandboxFactory) -> None:
    sandbox = make_sandbox("salla")
    order_id = min(sandbox.store.ids("orders"))
    async with sandbox.client() as client:
        items = (await client.get("/orders/items", params={"order_id": order_id})).json()["data"]
        details = (await client.get(f"/orders/{order_id}")).json()["data"]
        missing = await client.get("/orders/items", headers={"Accept-Language": "en"})
        unknown = await client.get("/orders/items", params={"order_id": 7})
    assert items == details["items"]
    assert missing.status_code == 422
    assert missing.json()["error"]["fields"] == {"order_id": ["The order id field is required."]}
    assert unknown.status_code == 404


async def push_calls(
    client: Any, shipment: dict[str, Any], store: dict[str, Any], *, lose_create: Sandbox | None = None
) -> dict[str, Any]:
    """What push.shipments of the shipped connector sends for a new shipment: its lookups, the create,
    then the tracking (the runner's own steps, driven by hand from the definition's calls)."""
    push = load_shipped("salla").push
    assert push is not None and push.shipments is not None
    spec = push.shipments
    for name, lookup in spec.lookup.items():
        url, params = lookup.endpoint.filled(store)
        store[name] = lookup.value_in((await client.get(url, params=params)).json())
    source = {**shipment, "store": store}
    url, _ = spec.create.endpoint.filled(store)
    if lose_create is not None:
        lose_create.set_faults(lost_write_answers={"count": 1})
    created = await client.post(url, json=spec.create.request_body(source))
    if created.status_code == 502:
        assert spec.find is not None
        url, params = spec.find.endpoint.filled(store)
        found = spec.find.found((await client.get(url, params=params)).json(), store["key"])
        assert found is not None, "find did not see the shipment the lost create wrote"
        store.update(spec.ids_in(found))
    else:
        store.update(spec.ids_in(spec.create.product_in(created.json())))
    (then,) = spec.then
    url, _ = then.endpoint.filled(store)
    answer = await client.put(url, json=then.request_body({**shipment, "store": store}))
    assert answer.status_code == 200, answer.text
    return dict(answer.json()["data"])


TENANT_SHIPMENT: dict[str, Any] = {
    "code": "SH-1",
    "status": "in_transit",
    "carrier": "Aramex",
    "trackingNumbers": ["AX123"],
    "trackingUrl": "https://track.test/AX123",
    "items": [],
}


@pytest.mark.anyio
async def test_push_shipments_of_the_connector_writes_one_tracked_shipment(
    make_sandbox: SandboxFactory,
) -> None:
    # Given an order without a shipment
    sandbox = make_sandbox("salla")
    order_id = unshipped_order(sandbox)
    shipment = {**TENANT_SHIPMENT, "orderCode": str(order_id)}
    async with sandbox.client() as client:
        lines = (await client.get("/orders/items", params={"order_id": order_id})).json()["data"]
        # When the connector's calls write the tenant's shipment
        written = await push_calls(client, shipment, {"order": str(order_id), "key": "SH-1"})
    # Then the store has one shipment of the order: shipped, with the tracking, the order's lines
    assert written["status"] == "shipped"
    assert (written["tracking_number"], written["shipping_number"]) == ("AX123", "SH-1")
    assert written["reference"] == {"external_id": "AX123", "external_additional_id": "SH-1"}
    assert [(p["sku"], p["quantity"]) for p in written["packages"]] == [
        (line["sku"], line["quantity"]) for line in lines
    ]
    assert sandbox.shipments(order_id) == [
        {
            "id": written["id"],
            "order_id": order_id,
            "status": "shipped",
            "carrier": "Aramex",
            "tracking_numbers": ["AX123"],
            "tracking_url": "https://track.test/AX123",
        }
    ]
    # And the order moved to shipped
    assert order_slug(sandbox, order_id) == "shipped"


@pytest.mark.anyio
async def test_push_shipments_finds_the_shipment_of_a_lost_create(make_sandbox: SandboxFactory) -> None:
    sandbox = make_sandbox("salla")
    order_id = unshipped_order(sandbox)
    shipment = {**TENANT_SHIPMENT, "orderCode": str(order_id)}
    async with sandbox.client() as client:
        written = await push_calls(
            client, shipment, {"order": str(order_id), "key": "SH-1"}, lose_create=sandbox
        )
    # The lost create's shipment was found by its reference and given its tracking: still one
    assert sandbox.counters.snapshot()["lost_answers"] == 1
    assert [view["id"] for view in sandbox.shipments(order_id)] == [written["id"]]
    assert sandbox.shipments(order_id)[0]["tracking_numbers"] == ["AX123"]

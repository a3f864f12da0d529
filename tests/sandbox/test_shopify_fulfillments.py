"""Shopify fulfillments in the sandbox: the orders' fulfillments and fulfillment orders, the write
endpoints pushTracking uses with Shopify's refusals, the webhooks a change fires, and the shipment
contract (``shipments``, ``ship``, ``set_shipment_status``).

The store is anchored at 2025-01-01T00:00Z, 2024-12-31T19:00 in the shop's New York time; its clock
moves only when the test advances it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

import httpx
import pytest

from mercator.connector import load_shipped
from mercator.connector.mapper import map_delivery, map_list_response
from mercator_sandbox import Sandbox, UnknownRecordError, WebhookConfig
from tests.sandbox.conftest import FakeClock, Receiver, SandboxFactory

MISSING = {"errors": {"fulfillment": "Required parameter missing or invalid"}}
# Indexes of the flavor's ORDER_STATUSES: (state, financial_status, fulfillment_status).
UNFULFILLED_PAID, PENDING, PARTIAL, FULFILLED, CANCELLED = 0, 1, 3, 4, 5


def hooked(make_sandbox: SandboxFactory, receiver: Receiver) -> Sandbox:
    config = WebhookConfig(url="http://receiver.test/hooks", secret="s")
    return make_sandbox("shopify", webhooks=config, webhook_client=receiver.client())


def order_with(sandbox: Sandbox, status: int) -> int:
    """The first generated order whose status has that index."""
    table = sandbox.store.table("orders")
    return min(i for i, state in table.records.items() if state.status == status)


async def fulfillment_order(client: httpx.AsyncClient, order_id: int) -> dict[str, Any]:
    answer = await client.get(f"/orders/{order_id}/fulfillment_orders.json")
    assert answer.status_code == 200, answer.text
    (found,) = answer.json()["fulfillment_orders"]
    assert isinstance(found, dict)
    return found


async def fulfill(client: httpx.AsyncClient, body: dict[str, Any]) -> httpx.Response:
    return await client.post("/fulfillments.json", json={"fulfillment": body})


async def order(client: httpx.AsyncClient, order_id: int) -> dict[str, Any]:
    answer = await client.get(f"/orders/{order_id}.json")
    assert answer.status_code == 200, answer.text
    found: dict[str, Any] = answer.json()["order"]
    return found


def units(record: dict[str, Any]) -> int:
    return sum(line["quantity"] for line in record["line_items"])


# --- orders as generated ----------------------------------------------------------------------


@pytest.mark.anyio
async def test_generated_orders_list_fulfillments_that_match_their_fulfillment_status(
    make_sandbox: SandboxFactory,
) -> None:
    # Given a store of 60 orders
    sandbox = make_sandbox("shopify")
    async with sandbox.client() as client:
        orders = (await client.get("/orders.json?status=any&limit=250")).json()["orders"]
        fulfilled = await order(client, order_with(sandbox, FULFILLED))
        open_order = await fulfillment_order(client, order_with(sandbox, UNFULFILLED_PAID))
        partial = await fulfillment_order(client, order_with(sandbox, PARTIAL))
        cancelled = await fulfillment_order(client, order_with(sandbox, CANCELLED))
    # Then an order lists fulfillments exactly when it is (partly) fulfilled
    for record in orders:
        assert bool(record["fulfillments"]) == (record["fulfillment_status"] is not None), record["id"]
    # A fulfilled order's one fulfillment carries every unit of every line, with tracking
    (shipment,) = fulfilled["fulfillments"]
    assert shipment["order_id"] == fulfilled["id"]
    assert shipment["name"] == f"{fulfilled['name']}.1"
    assert shipment["status"] == "success"
    assert units(shipment) == units(fulfilled)
    assert shipment["tracking_company"] in ("UPS", "USPS")
    assert shipment["tracking_numbers"] == [shipment["tracking_number"]]
    assert shipment["tracking_number"] in shipment["tracking_url"]
    assert all(line["fulfillable_quantity"] == 0 for line in fulfilled["line_items"])
    # and a fulfillment happened while the order lived
    assert (
        fulfilled["created_at"] <= shipment["created_at"] <= shipment["updated_at"] <= fulfilled["updated_at"]
    )
    # The fulfillment order is open while nothing is shipped, in progress when some is, closed when
    # the order is cancelled
    assert (open_order["status"], partial["status"], cancelled["status"]) == ("open", "in_progress", "closed")
    assert open_order["supported_actions"] == ["create_fulfillment", "move", "hold"]
    assert cancelled["supported_actions"] == []


@pytest.mark.anyio
async def test_the_fulfillment_order_names_every_line_to_ship_and_where_it_goes(
    make_sandbox: SandboxFactory,
) -> None:
    sandbox = make_sandbox("shopify")
    order_id = order_with(sandbox, UNFULFILLED_PAID)
    async with sandbox.client() as client:
        record = await order(client, order_id)
        found = await fulfillment_order(client, order_id)
    assert found["order_id"] == order_id
    assert found["request_status"] == "unsubmitted"  # the shop's own location, no fulfillment service
    assert found["assigned_location_id"] == found["assigned_location"]["location_id"]
    assert [
        (line["line_item_id"], line["quantity"], line["fulfillable_quantity"]) for line in found["line_items"]
    ] == [(line["id"], line["quantity"], line["quantity"]) for line in record["line_items"]]
    assert [line["variant_id"] for line in found["line_items"]] == [
        line["variant_id"] for line in record["line_items"]
    ]
    assert found["destination"]["email"] == record["email"]
    assert found["destination"]["address1"] == record["shipping_address"]["address1"]
    assert found["destination"]["zip"] == record["shipping_address"]["zip"]


# --- POST /fulfillments.json ------------------------------------------------------------------


@pytest.mark.anyio
async def test_a_fulfillment_ships_every_unit_left_and_archives_the_paid_order(
    make_sandbox: SandboxFactory, clock: FakeClock
) -> None:
    # Given a paid, unfulfilled order, a minute after the anchor
    sandbox = make_sandbox("shopify")
    order_id = order_with(sandbox, UNFULFILLED_PAID)
    clock.advance(60)
    async with sandbox.client() as client:
        before = await order(client, order_id)
        fulfillment_order_id = (await fulfillment_order(client, order_id))["id"]
        # When it is fulfilled with a UPS number and no URL
        answer = await fulfill(
            client,
            {
                "line_items_by_fulfillment_order": [{"fulfillment_order_id": fulfillment_order_id}],
                "tracking_info": {"number": "1Z001985YW99744790", "company": "UPS"},
                "notify_customer": False,
            },
        )
        after = await order(client, order_id)
        listed = (await client.get(f"/orders/{order_id}/fulfillments.json")).json()["fulfillments"]
        shipment = answer.json()["fulfillment"]
        details = await client.get(f"/orders/{order_id}/fulfillments/{shipment['id']}.json")
        closed = await fulfillment_order(client, order_id)
    # Then it is created, carrying every unit, tracked at UPS's URL
    assert answer.status_code == 201, answer.text
    assert shipment["status"] == "success" and shipment["shipment_status"] is None
    assert shipment["tracking_numbers"] == ["1Z001985YW99744790"]
    assert shipment["tracking_url"] == (
        "https://www.ups.com/WebTracking?loc=en_US&requester=ST&trackNums=1Z001985YW99744790"
    )
    assert shipment["created_at"] == "2024-12-31T19:01:00-05:00"
    assert shipment["name"] == f"{before['name']}.1"
    assert units(shipment) == units(before)
    # the order is fulfilled and, being paid, archived; its fulfillment order is closed
    assert before["fulfillment_status"] is None and after["fulfillment_status"] == "fulfilled"
    assert before["closed_at"] is None and after["closed_at"] is not None
    assert closed["status"] == "closed"
    assert after["updated_at"] > before["updated_at"]
    # and every read shows the same fulfillment
    assert [f["id"] for f in after["fulfillments"]] == [f["id"] for f in listed] == [shipment["id"]]
    assert details.json() == {"fulfillment": listed[0]}
    # the order is now listed as closed
    async with sandbox.client() as client:
        closed_ids = [
            o["id"] for o in (await client.get("/orders.json?status=closed&limit=250")).json()["orders"]
        ]
    assert order_id in closed_ids


@pytest.mark.anyio
async def test_named_units_ship_part_of_the_order_and_a_second_fulfillment_the_rest(
    make_sandbox: SandboxFactory,
) -> None:
    # Given a paid, unfulfilled order with a line of several units
    sandbox = make_sandbox("shopify")
    table = sandbox.store.table("orders")
    order_id = next(
        i
        for i in sorted(table.records)
        if table.records[i].status == UNFULFILLED_PAID
        and sandbox.flavor.render("orders", table.records[i], "details", "http://x")["line_items"][0][
            "quantity"
        ]
        > 1
    )
    async with sandbox.client() as client:
        fo = await fulfillment_order(client, order_id)
        first_line = fo["line_items"][0]
        # When one unit of its first line is fulfilled
        one = await fulfill(
            client,
            {
                "line_items_by_fulfillment_order": [
                    {
                        "fulfillment_order_id": fo["id"],
                        "fulfillment_order_line_items": [{"id": first_line["id"], "quantity": 1}],
                    }
                ]
            },
        )
        partly = await order(client, order_id)
        in_progress = await fulfillment_order(client, order_id)
        # and then the rest
        rest = await fulfill(
            client, {"line_items_by_fulfillment_order": [{"fulfillment_order_id": fo["id"]}]}
        )
        whole = await order(client, order_id)
    # Then the first fulfillment carries one unit, the order is partly fulfilled and stays open
    assert one.status_code == 201, one.text
    assert [(line["id"], line["quantity"]) for line in one.json()["fulfillment"]["line_items"]] == [
        (first_line["line_item_id"], 1)
    ]
    assert partly["fulfillment_status"] == "partial" and partly["closed_at"] is None
    assert partly["line_items"][0]["fulfillment_status"] == "partial"
    assert partly["line_items"][0]["fulfillable_quantity"] == first_line["quantity"] - 1
    assert in_progress["status"] == "in_progress"
    assert in_progress["line_items"][0]["fulfillable_quantity"] == first_line["quantity"] - 1
    # and the second carries everything else: the order is fulfilled
    assert rest.status_code == 201, rest.text
    assert units(rest.json()["fulfillment"]) == units(partly) - 1
    assert rest.json()["fulfillment"]["name"].endswith(".2")
    assert whole["fulfillment_status"] == "fulfilled"
    assert [f["name"][-2:] for f in whole["fulfillments"]] == [".1", ".2"]


@pytest.mark.anyio
async def test_an_unpaid_order_is_fulfilled_but_stays_open(make_sandbox: SandboxFactory) -> None:
    sandbox = make_sandbox("shopify")
    order_id = order_with(sandbox, PENDING)
    async with sandbox.client() as client:
        fo = await fulfillment_order(client, order_id)
        answer = await fulfill(
            client, {"line_items_by_fulfillment_order": [{"fulfillment_order_id": fo["id"]}]}
        )
        after = await order(client, order_id)
    assert answer.status_code == 201, answer.text
    assert (after["fulfillment_status"], after["financial_status"], after["closed_at"]) == (
        "fulfilled",
        "pending",
        None,
    )


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("body", "status", "expected"),
    [
        (None, 400, MISSING),
        ({"fulfillment": "x"}, 400, MISSING),
        ({"fulfillment": {"line_items_by_fulfillment_order": {"fulfillment_order_id": 1}}}, 400, MISSING),
        ({"fulfillment": {"line_items_by_fulfillment_order": []}}, 400, MISSING),
        (
            {"fulfillment": {"line_items_by_fulfillment_order": [{"id": 1, "quantity": 1}]}},
            422,
            {"errors": ["Fulfillment payloads fulfillment order must be greater than 0"]},
        ),
        (
            {"fulfillment": {"line_items_by_fulfillment_order": [{"fulfillment_order_id": 7}]}},
            422,
            {"errors": ["Fulfillment order 7 does not exist."]},
        ),
    ],
)
async def test_a_fulfillment_without_a_fulfillment_order_is_refused(
    make_sandbox: SandboxFactory, body: Any, status: int, expected: Any
) -> None:
    sandbox = make_sandbox("shopify")
    async with sandbox.client() as client:
        answer = await client.post(
            "/fulfillments.json", content=b"" if body is None else json.dumps(body).encode()
        )
    assert (answer.status_code, answer.json()) == (status, expected)


@pytest.mark.anyio
async def test_fulfilling_a_closed_fulfillment_order_is_refused_and_changes_nothing(
    make_sandbox: SandboxFactory, receiver: Receiver
) -> None:
    # Given a fulfilled order and a cancelled one
    sandbox = hooked(make_sandbox, receiver)
    fulfilled_id, cancelled_id = order_with(sandbox, FULFILLED), order_with(sandbox, CANCELLED)
    async with sandbox.client() as client:
        fulfilled_fo = (await fulfillment_order(client, fulfilled_id))["id"]
        cancelled_fo = (await fulfillment_order(client, cancelled_id))["id"]
        before = await order(client, fulfilled_id)
        # When either is fulfilled
        answers = [
            await fulfill(client, {"line_items_by_fulfillment_order": [{"fulfillment_order_id": fo}]})
            for fo in (fulfilled_fo, cancelled_fo)
        ]
        after = await order(client, fulfilled_id)
    # Then Shopify's 422 says the fulfillment order cannot be fulfilled, and nothing happened
    assert [(a.status_code, a.json()) for a in answers] == [
        (422, {"errors": [f"Fulfillment order {fo} has an unfulfillable status= closed."]})
        for fo in (fulfilled_fo, cancelled_fo)
    ]
    assert after == before
    assert sandbox.emitter is not None and sandbox.emitter.pending == []


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("items", "message"),
    [
        ([{"id": 1, "quantity": 1}], "Invalid fulfillment order line item id."),
        ("first", "Invalid fulfillment order line item quantity requested."),
    ],
)
async def test_line_items_the_fulfillment_order_does_not_hold_are_refused(
    make_sandbox: SandboxFactory, items: Any, message: str
) -> None:
    sandbox = make_sandbox("shopify")
    order_id = order_with(sandbox, UNFULFILLED_PAID)
    async with sandbox.client() as client:
        fo = await fulfillment_order(client, order_id)
        if items == "first":  # one unit more than the line has
            first = fo["line_items"][0]
            items = [{"id": first["id"], "quantity": first["quantity"] + 1}]
        answer = await fulfill(
            client,
            {
                "line_items_by_fulfillment_order": [
                    {"fulfillment_order_id": fo["id"], "fulfillment_order_line_items": items}
                ]
            },
        )
        unchanged = await fulfillment_order(client, order_id)
    assert (answer.status_code, answer.json()) == (422, {"errors": [message]})
    assert unchanged["status"] == "open"


@pytest.mark.anyio
async def test_a_fulfillment_whose_answer_was_lost_is_found_by_its_tracking_number(
    make_sandbox: SandboxFactory,
) -> None:
    # Given the next write's answer will be lost
    sandbox = make_sandbox("shopify")
    order_id = order_with(sandbox, UNFULFILLED_PAID)
    async with sandbox.client() as client:
        fo = (await fulfillment_order(client, order_id))["id"]
        sandbox.set_faults(lost_write_answers={"count": 1})
        body = {
            "line_items_by_fulfillment_order": [{"fulfillment_order_id": fo}],
            "tracking_info": {"number": "TRK-1", "company": "Aramex", "url": "https://track.test/TRK-1"},
        }
        # When the fulfillment is created: the client sees a 502
        lost = await fulfill(client, body)
        # and sending it again is refused, the fulfillment order being closed
        again = await fulfill(client, body)
        listed = (await client.get(f"/orders/{order_id}/fulfillments.json")).json()["fulfillments"]
    # Then the write landed once, and the order's fulfillments show it by its tracking number
    assert lost.status_code == 502
    assert again.status_code == 422
    assert [(f["tracking_number"], f["tracking_company"], f["tracking_url"]) for f in listed] == [
        ("TRK-1", "Aramex", "https://track.test/TRK-1")
    ]


@pytest.mark.anyio
async def test_fulfillment_endpoints_need_credentials(make_sandbox: SandboxFactory) -> None:
    sandbox = make_sandbox("shopify")
    order_id = order_with(sandbox, UNFULFILLED_PAID)
    async with sandbox.client(headers={"X-Shopify-Access-Token": ""}) as client:
        read = await client.get(f"/orders/{order_id}/fulfillment_orders.json")
        write = await fulfill(client, {"line_items_by_fulfillment_order": [{"fulfillment_order_id": 1}]})
    assert (read.status_code, write.status_code) == (401, 401)


@pytest.mark.anyio
async def test_reads_of_unknown_orders_and_fulfillments_are_404(make_sandbox: SandboxFactory) -> None:
    sandbox = make_sandbox("shopify")
    order_id = order_with(sandbox, FULFILLED)
    other_id = order_with(sandbox, UNFULFILLED_PAID)
    shipment_id = sandbox.shipments(order_id)[0]["id"]
    async with sandbox.client() as client:
        answers = [
            await client.get("/orders/1/fulfillment_orders.json"),
            await client.get("/orders/1/fulfillments.json"),
            await client.get(f"/orders/{other_id}/fulfillments/{shipment_id}.json"),  # another order's
            await client.post(
                "/fulfillments/12/update_tracking.json", json={"fulfillment": {"tracking_info": {}}}
            ),
        ]
    assert [(a.status_code, a.json()) for a in answers] == [(404, {"errors": "Not Found"})] * 4


# --- tracking and events ----------------------------------------------------------------------


@pytest.mark.anyio
async def test_new_tracking_replaces_the_old(make_sandbox: SandboxFactory, clock: FakeClock) -> None:
    # Given a fulfilled order's fulfillment
    sandbox = make_sandbox("shopify")
    order_id = order_with(sandbox, FULFILLED)
    shipment_id = sandbox.shipments(order_id)[0]["id"]
    clock.advance(120)
    async with sandbox.client() as client:
        # When its tracking is updated with a number and a URL only (the reference's example)
        answer = await client.post(
            f"/fulfillments/{shipment_id}/update_tracking.json",
            json={
                "fulfillment": {
                    "notify_customer": True,
                    "tracking_info": {"number": "1111", "url": "http://www.my-url.com"},
                }
            },
        )
        missing = await client.post(
            f"/fulfillments/{shipment_id}/update_tracking.json", json={"fulfillment": {}}
        )
    # Then the fulfillment has that tracking and no company, changed now
    assert answer.status_code == 200, answer.text
    updated = answer.json()["fulfillment"]
    assert (updated["tracking_company"], updated["tracking_numbers"], updated["tracking_urls"]) == (
        None,
        ["1111"],
        ["http://www.my-url.com"],
    )
    assert updated["updated_at"] == "2024-12-31T19:02:00-05:00"
    assert sandbox.shipments(order_id)[0]["tracking_numbers"] == ["1111"]
    assert (missing.status_code, missing.json()) == (
        400,
        {"errors": {"tracking_info": "Required parameter missing or invalid"}},
    )


@pytest.mark.anyio
async def test_a_carrier_event_sets_the_shipment_status(
    make_sandbox: SandboxFactory, clock: FakeClock
) -> None:
    # Given an order shipped through the API
    sandbox = make_sandbox("shopify")
    order_id = order_with(sandbox, UNFULFILLED_PAID)
    shipped = sandbox.ship(order_id, carrier="USPS", tracking_number="9400100000000000000001")
    clock.advance(3600)
    async with sandbox.client() as client:
        # When the carrier reports it delivered, having happened a minute earlier
        answer = await client.post(
            f"/orders/{order_id}/fulfillments/{shipped['id']}/events.json",
            json={"event": {"status": "delivered", "happened_at": "2024-12-31T19:59:00-05:00"}},
        )
        record = await order(client, order_id)
        wrong = await client.post(
            f"/orders/{order_id}/fulfillments/{shipped['id']}/events.json", json={"event": {"status": "lost"}}
        )
        bare = await client.post(f"/orders/{order_id}/fulfillments/{shipped['id']}/events.json", json={})
    # Then the event is recorded with its times, and the fulfillment's shipment_status is delivered
    assert answer.status_code == 201, answer.text
    event = answer.json()["fulfillment_event"]
    assert (event["fulfillment_id"], event["order_id"], event["status"]) == (
        shipped["id"],
        order_id,
        "delivered",
    )
    assert (event["happened_at"], event["created_at"]) == (
        "2024-12-31T19:59:00-05:00",
        "2024-12-31T20:00:00-05:00",
    )
    assert record["fulfillments"][0]["shipment_status"] == "delivered"
    assert record["fulfillments"][0]["updated_at"] == "2024-12-31T20:00:00-05:00"
    # Shopify's refusals: a status it does not know, a body without an event
    assert (wrong.status_code, wrong.json()) == (422, {"errors": {"status": ["is not included in the list"]}})
    assert (bare.status_code, bare.json()) == (
        400,
        {"errors": {"event": "Required parameter missing or invalid"}},
    )


# --- webhooks ---------------------------------------------------------------------------------


def verified(headers: dict[str, str], body: bytes) -> bool:
    digest = base64.b64encode(hmac.new(b"s", body, hashlib.sha256).digest()).decode()
    return hmac.compare_digest(headers["x-shopify-hmac-sha256"], digest)


@pytest.mark.anyio
async def test_a_fulfillment_through_the_api_fires_fulfillments_create_then_orders_updated(
    make_sandbox: SandboxFactory, receiver: Receiver
) -> None:
    sandbox = hooked(make_sandbox, receiver)
    order_id = order_with(sandbox, UNFULFILLED_PAID)
    async with sandbox.client() as client:
        fo = (await fulfillment_order(client, order_id))["id"]
        answer = await fulfill(
            client,
            {
                "line_items_by_fulfillment_order": [{"fulfillment_order_id": fo}],
                "tracking_info": {"number": "T-9"},
            },
        )
        record = await order(client, order_id)
    assert sandbox.emitter is not None
    await sandbox.emitter.flush()
    topics = [headers["x-shopify-topic"] for headers, _ in receiver.received]
    assert topics == ["fulfillments/create", "orders/updated"]
    assert all(verified(headers, body) for headers, body in receiver.received)
    created = json.loads(receiver.received[0][1])
    # The delivery is the REST fulfillment with the order's email and shipping address
    assert {k: v for k, v in created.items() if k not in ("email", "destination")} == answer.json()[
        "fulfillment"
    ]
    assert created["email"] == record["email"]
    assert created["destination"]["address1"] == record["shipping_address"]["address1"]
    assert set(created["destination"]) == {
        "address1",
        "address2",
        "city",
        "company",
        "country",
        "country_code",
        "first_name",
        "last_name",
        "latitude",
        "longitude",
        "name",
        "phone",
        "province",
        "province_code",
        "zip",
    }
    # and orders/updated carries the order as it is now: fulfilled
    assert json.loads(receiver.received[1][1])["fulfillment_status"] == "fulfilled"


@pytest.mark.anyio
async def test_deliveries_have_the_keys_of_shopifys_samples(
    make_sandbox: SandboxFactory, receiver: Receiver
) -> None:
    sandbox = hooked(make_sandbox, receiver)
    shipped = sandbox.ship(order_with(sandbox, UNFULFILLED_PAID), carrier="UPS", tracking_number="1Z1")
    sandbox.set_shipment_status(shipped["id"], "in_transit")
    assert sandbox.emitter is not None
    bodies = {d.event: json.loads(d.body) for d in sandbox.emitter.pending}
    definition = load_shipped("shopify")
    for event, file in (
        ("fulfillments/create", "samples/shopify/fulfillments_create.json"),
        ("fulfillments/update", "samples/shopify/fulfillments_update.json"),
        ("fulfillment_events/create", "samples/shopify/fulfillment_events_create.json"),
    ):
        published = json.loads(definition.resolve(file).read_text(encoding="utf-8"))
        assert set(bodies[event]) == set(published), event


@pytest.mark.anyio
async def test_a_carrier_event_fires_the_event_the_fulfillment_and_the_order(
    make_sandbox: SandboxFactory, receiver: Receiver, clock: FakeClock
) -> None:
    # Given a shipped order, its deliveries sent
    sandbox = hooked(make_sandbox, receiver)
    order_id = order_with(sandbox, UNFULFILLED_PAID)
    shipped = sandbox.ship(order_id, carrier="UPS", tracking_number="1Z999AA10123456784")
    assert sandbox.emitter is not None
    await sandbox.emitter.flush()
    receiver.received.clear()
    before = sandbox.store.get("orders", order_id).updated
    clock.advance(600)
    # When the carrier reports it delivered
    view = sandbox.set_shipment_status(shipped["id"], "delivered")
    await sandbox.emitter.flush()
    # Then the view says delivered, and three deliveries went out in Shopify's order
    assert view == {**shipped, "status": "delivered"}
    topics = [headers["x-shopify-topic"] for headers, _ in receiver.received]
    assert topics == ["fulfillment_events/create", "fulfillments/update", "orders/updated"]
    event, fulfillment, updated = (json.loads(body) for _, body in receiver.received)
    assert (event["fulfillment_id"], event["status"], event["message"]) == (shipped["id"], "delivered", None)
    assert fulfillment["id"] == shipped["id"] and fulfillment["shipment_status"] == "delivered"
    assert updated["id"] == order_id
    # and the order changed, so an incremental sync sees it
    assert sandbox.store.get("orders", order_id).updated >= before + 600


@pytest.mark.anyio
async def test_fulfillment_topics_are_sent_only_as_a_fulfillment_changes(
    make_sandbox: SandboxFactory,
) -> None:
    sandbox = make_sandbox("shopify", webhooks=WebhookConfig(url="http://receiver.test/hooks", secret="s"))
    assert sandbox.flavor.events("fulfillments") == (
        "fulfillments/create",
        "fulfillments/update",
        "fulfillment_events/create",
    )
    assert sandbox.emitter is not None
    with pytest.raises(ValueError, match="sends no"):
        sandbox.emitter.emit("orders", order_with(sandbox, FULFILLED), "fulfillments/update")


# --- the shipment contract --------------------------------------------------------------------


def test_ship_fulfills_every_unit_left_with_the_carriers_tracking(make_sandbox: SandboxFactory) -> None:
    # Given a partly fulfilled order (its generated fulfillment in the list already)
    sandbox = make_sandbox("shopify")
    order_id = order_with(sandbox, PARTIAL)
    (generated,) = sandbox.shipments(order_id)
    # When the merchant ships the rest with USPS
    view = sandbox.ship(order_id, carrier="USPS", tracking_number="9400111899223100000000")
    # Then a second fulfillment is made, tracked at USPS's URL, and the order is archived
    assert view == {
        "id": generated["id"] + 1,
        "order_id": order_id,
        "status": "success",
        "carrier": "USPS",
        "tracking_numbers": ["9400111899223100000000"],
        "tracking_url": "https://tools.usps.com/go/TrackConfirmAction_input?qtc_tLabels1=9400111899223100000000",
    }
    assert sandbox.shipments(order_id) == [generated, view]
    record = sandbox.flavor.render("orders", sandbox.store.get("orders", order_id), "details", "http://x")
    assert record["fulfillment_status"] == "fulfilled" and record["closed_at"] is not None
    # and a second ship has nothing left to fulfill
    with pytest.raises(ValueError, match="nothing left"):
        sandbox.ship(order_id, carrier="USPS", tracking_number="2")


def test_shipments_are_every_fulfillment_of_the_live_orders(make_sandbox: SandboxFactory) -> None:
    sandbox = make_sandbox("shopify")
    table = sandbox.store.table("orders")
    fulfilled = sorted(i for i, state in table.records.items() if state.status in (PARTIAL, FULFILLED))
    views = sandbox.shipments()
    # one generated fulfillment per partly or wholly fulfilled order, by id
    assert [view["order_id"] for view in views] == fulfilled
    assert [view["id"] for view in views] == sorted(view["id"] for view in views)
    assert {view["status"] for view in views} <= {"success", "in_transit", "out_for_delivery", "delivered"}
    sandbox.store.delete("orders", fulfilled[0])
    assert [view["order_id"] for view in sandbox.shipments()] == fulfilled[1:]


@pytest.mark.parametrize(
    ("status", "shopify", "message"),
    [
        ("in_transit", "in_transit", None),
        ("out_for_delivery", "out_for_delivery", None),
        ("delivered", "delivered", None),
        ("failed", "failure", None),
        ("returned", "failure", "Returned to sender"),
    ],
)
def test_a_carriers_report_becomes_shopifys_event(
    make_sandbox: SandboxFactory, status: Any, shopify: str, message: str | None
) -> None:
    sandbox = make_sandbox("shopify", webhooks=WebhookConfig(url="http://receiver.test/hooks", secret="s"))
    shipped = sandbox.ship(order_with(sandbox, UNFULFILLED_PAID), carrier="UPS", tracking_number="1Z2")
    view = sandbox.set_shipment_status(shipped["id"], status)
    assert view["status"] == shopify
    assert sandbox.emitter is not None
    event = next(
        json.loads(d.body) for d in sandbox.emitter.pending if d.event == "fulfillment_events/create"
    )
    assert (event["status"], event["message"]) == (shopify, message)


def test_an_unknown_shipment_cannot_change(make_sandbox: SandboxFactory) -> None:
    sandbox = make_sandbox("shopify")
    with pytest.raises(UnknownRecordError):
        sandbox.set_shipment_status(4_100_000_000_001, "delivered")
    with pytest.raises(UnknownRecordError):
        sandbox.ship(1, carrier="UPS", tracking_number="1Z3")


# --- the shipped connector over the sandbox ---------------------------------------------------


@pytest.mark.anyio
async def test_the_connectors_shipment_listing_maps_every_fulfillment(make_sandbox: SandboxFactory) -> None:
    # Given a store with one more shipment, delivered
    sandbox = make_sandbox("shopify")
    shipped = sandbox.ship(order_with(sandbox, UNFULFILLED_PAID), carrier="UPS", tracking_number="1Z4")
    sandbox.set_shipment_status(shipped["id"], "delivered")
    definition = load_shipped("shopify")
    resource = definition.resources["shipments"]
    # When the connector's listing is walked, 13 orders a page
    records: list[dict[str, Any]] = []
    async with sandbox.client() as client:
        response = await client.get(
            resource.endpoints.list.url, params={**resource.endpoints.list.params, "limit": 13}
        )
        while True:
            assert response.status_code == 200, response.text
            assert set().union(*(o.keys() for o in response.json()["orders"])) == {
                "id",
                "email",
                "updated_at",
                "shipping_address",
                "fulfillments",
            }
            outcome = map_list_response(definition, "shipments", response.json())
            assert outcome.failures == [], outcome.failures[0].reason
            records += outcome.records
            if "next" not in response.links:
                break
            response = await client.get(response.links["next"]["url"])
    # Then every fulfillment is one record, with its order's code
    assert sorted(r["code"] for r in records) == sorted(str(v["id"]) for v in sandbox.shipments())
    mine = next(r for r in records if r["code"] == str(shipped["id"]))
    assert (mine["orderCode"], mine["status"], mine["carrier"], mine["trackingNumbers"]) == (
        str(shipped["order_id"]),
        "delivered",
        "UPS",
        ["1Z4"],
    )


@pytest.mark.anyio
async def test_an_incremental_listing_finds_a_shipment_whose_carrier_reported(
    make_sandbox: SandboxFactory, clock: FakeClock
) -> None:
    # Given a generated shipment, and a window opened an hour after the anchor
    sandbox = make_sandbox("shopify")
    (view, *_) = sandbox.shipments()
    clock.advance(3600)
    definition = load_shipped("shopify")
    resource = definition.resources["shipments"]
    params = {**resource.endpoints.list.params, "updated_at_min": "2024-12-31T20:00:00-05:00"}
    async with sandbox.client() as client:
        quiet = (await client.get(resource.endpoints.list.url, params=params)).json()
        # When its carrier reports it out for delivery
        sandbox.set_shipment_status(view["id"], "out_for_delivery")
        moved = (await client.get(resource.endpoints.list.url, params=params)).json()
    # Then only then does the window list its order, and the shipment maps out for delivery
    assert quiet == {"orders": []}
    (record,) = map_list_response(definition, "shipments", moved).records
    assert (record["code"], record["status"]) == (str(view["id"]), "out_for_delivery")


@pytest.mark.anyio
async def test_every_fulfillment_delivery_maps_through_its_handler(make_sandbox: SandboxFactory) -> None:
    sandbox = make_sandbox("shopify", webhooks=WebhookConfig(url="http://receiver.test/hooks", secret="s"))
    shipped = sandbox.ship(order_with(sandbox, UNFULFILLED_PAID), carrier="UPS", tracking_number="1Z5")
    sandbox.set_shipment_status(shipped["id"], "delivered")
    definition = load_shipped("shopify")
    assert sandbox.emitter is not None
    mapped = {}
    for delivery in sandbox.emitter.pending:
        if delivery.event.startswith("fulfillment"):
            outcome = map_delivery(definition, delivery.event, json.loads(delivery.body))
            assert outcome.failures == [], outcome.failures[0].reason
            mapped[delivery.event] = outcome.records[0]
    assert {event: record["code"] for event, record in mapped.items()} == dict.fromkeys(
        ("fulfillments/create", "fulfillment_events/create", "fulfillments/update"), str(shipped["id"])
    )
    assert [
        mapped[e]["status"]
        for e in ("fulfillments/create", "fulfillment_events/create", "fulfillments/update")
    ] == [
        "in_transit",
        "delivered",
        "delivered",
    ]

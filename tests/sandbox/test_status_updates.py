"""Order status writes: Salla's Update Order Status and WooCommerce's order update change the store."""

from __future__ import annotations

import pytest

from mercator_sandbox.flavors.salla import ORDER_STATUSES
from mercator_sandbox.flavors.woocommerce import ORDER_STATUSES as WOO_STATUSES
from tests.sandbox.conftest import FakeClock, SandboxFactory


@pytest.mark.anyio
async def test_salla_sets_a_status_by_slug_and_a_later_listing_shows_it(
    make_sandbox: SandboxFactory, clock: FakeClock
) -> None:
    # Given an order that is not yet delivered
    sandbox = make_sandbox("salla")
    order_id = min(sandbox.store.ids("orders"))
    state = sandbox.store.get("orders", order_id)
    state.status = 1  # under_review
    before = state.updated
    clock.advance(3600)

    # When its status is set to delivered
    async with sandbox.client() as client:
        answer = await client.post(f"/orders/{order_id}/status", json={"slug": "delivered"})
        listed = (await client.get("/orders?per_page=60")).json()["data"]

    # Then the answer is the updated order, and the store and its listing show the new status
    assert answer.status_code == 200
    body = answer.json()
    assert body["success"] is True
    assert body["data"]["id"] == order_id
    assert body["data"]["status"]["slug"] == "delivered"
    assert ORDER_STATUSES[sandbox.store.get("orders", order_id).status][0] == "delivered"
    assert sandbox.store.get("orders", order_id).updated > before
    (row,) = [order for order in listed if order["id"] == order_id]
    assert row["status"]["slug"] == "delivered"
    assert sandbox.counters.snapshot()["requests"]["POST /orders/{id}/status"] == 1


@pytest.mark.anyio
async def test_salla_also_takes_a_status_id(make_sandbox: SandboxFactory) -> None:
    sandbox = make_sandbox("salla")
    order_id = min(sandbox.store.ids("orders"))
    canceled_id = next(status_id for slug, _, status_id in ORDER_STATUSES if slug == "canceled")

    async with sandbox.client() as client:
        answer = await client.post(f"/orders/{order_id}/status", json={"status_id": canceled_id})

    assert answer.json()["data"]["status"]["slug"] == "canceled"


@pytest.mark.anyio
async def test_salla_refuses_an_unknown_slug_naming_the_field(make_sandbox: SandboxFactory) -> None:
    sandbox = make_sandbox("salla")
    order_id = min(sandbox.store.ids("orders"))
    status_before = sandbox.store.get("orders", order_id).status

    async with sandbox.client() as client:
        answer = await client.post(f"/orders/{order_id}/status", json={"slug": "teleported"})

    assert answer.status_code == 422
    error = answer.json()["error"]
    assert answer.json()["success"] is False
    assert "slug" in error["fields"]
    assert "delivered" in error["message"]
    assert sandbox.store.get("orders", order_id).status == status_before


@pytest.mark.anyio
async def test_salla_answers_an_unknown_order_with_its_404(make_sandbox: SandboxFactory) -> None:
    sandbox = make_sandbox("salla")

    async with sandbox.client() as client:
        answer = await client.post("/orders/12345/status", json={"slug": "delivered"})

    assert answer.status_code == 404
    assert answer.json() == {
        "status": 404,
        "success": False,
        "error": {
            "code": "NotFound",
            "message": "The content you are trying to access is no longer available",
        },
    }


@pytest.mark.anyio
async def test_woocommerce_updates_the_status_and_a_later_listing_shows_it(
    make_sandbox: SandboxFactory,
) -> None:
    sandbox = make_sandbox("woocommerce")
    order_id = min(sandbox.store.ids("orders"))
    sandbox.store.get("orders", order_id).status = WOO_STATUSES.index("processing")

    async with sandbox.client() as client:
        answer = await client.put(f"/orders/{order_id}", json={"status": "completed"})
        shown = (await client.get(f"/orders/{order_id}")).json()
        completed = (await client.get("/orders?status=completed&per_page=100")).json()

    assert answer.status_code == 200
    assert answer.json()["id"] == order_id
    assert answer.json()["status"] == "completed"
    assert shown["status"] == "completed"
    assert order_id in {order["id"] for order in completed}


@pytest.mark.anyio
async def test_woocommerce_refuses_an_unknown_status(make_sandbox: SandboxFactory) -> None:
    sandbox = make_sandbox("woocommerce")
    order_id = min(sandbox.store.ids("orders"))

    async with sandbox.client() as client:
        answer = await client.put(f"/orders/{order_id}", json={"status": "teleported"})

    assert answer.status_code == 400
    body = answer.json()
    assert body["code"] == "rest_invalid_param"
    assert "status is not one of pending" in body["data"]["params"]["status"]


@pytest.mark.anyio
async def test_woocommerce_answers_an_unknown_order_and_a_bad_body_as_woocommerce_does(
    make_sandbox: SandboxFactory,
) -> None:
    sandbox = make_sandbox("woocommerce")
    order_id = min(sandbox.store.ids("orders"))

    async with sandbox.client() as client:
        missing = await client.put("/orders/3", json={"status": "completed"})
        garbled = await client.put(
            f"/orders/{order_id}", content=b"{not json", headers={"Content-Type": "application/json"}
        )

    assert missing.status_code == 404
    assert missing.json() == {
        "code": "woocommerce_rest_shop_order_invalid_id",
        "message": "Invalid ID.",
        "data": {"status": 404},
    }
    assert garbled.status_code == 400
    assert garbled.json()["code"] == "rest_invalid_json"


@pytest.mark.anyio
async def test_a_status_write_needs_credentials(make_sandbox: SandboxFactory) -> None:
    sandbox = make_sandbox("salla")
    order_id = min(sandbox.store.ids("orders"))

    async with sandbox.client(headers={"Authorization": ""}) as client:
        answer = await client.post(f"/orders/{order_id}/status", json={"slug": "delivered"})

    assert answer.status_code == 401

"""WooCommerce's trash: deleted orders and products leave the listings, stay retrievable, list as trash."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import httpx
import pytest

from mercator_sandbox import AlreadyTrashedError, Sandbox, UnknownRecordError, WebhookConfig, serve
from tests.sandbox.conftest import Receiver, SandboxFactory

ANCHOR = int(datetime(2025, 1, 1, tzinfo=UTC).timestamp())
HALF_HOUR = 1_800


def gmt(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S")


async def listed(client: httpx.AsyncClient, query: str) -> tuple[list[int], int]:
    """The ids on one page of ``/orders?{query}`` (100 a page) and its X-WP-Total."""
    response = await client.get(f"/orders?per_page=100&{query}")
    assert response.status_code == 200, response.text
    return [order["id"] for order in response.json()], int(response.headers["X-WP-Total"])


@pytest.mark.anyio
async def test_a_deleted_order_moves_to_the_trash(make_sandbox: SandboxFactory) -> None:
    # Given a WooCommerce store and one of its orders
    sandbox = make_sandbox("woocommerce")
    order = sorted(sandbox.store.ids("orders"))[5]
    async with sandbox.client() as client:
        _, total_before = await listed(client, "")

        # When the merchant deletes it half an hour later
        sandbox.advance_clock(HALF_HOUR)
        sandbox.store.delete("orders", order)

        default, total = await listed(client, "")
        any_status, _ = await listed(client, "status=any")
        every_live_status, _ = await listed(
            client, "status=pending,processing,on-hold,completed,cancelled,refunded,failed"
        )
        trash, trash_total = await listed(client, "status=trash")
        details = await client.get(f"/orders/{order}")

    # Then it is out of every live listing and the only record of the trash listing
    assert order not in sandbox.store.ids("orders")
    assert sandbox.store.trashed_ids("orders") == {order}
    assert total == total_before - 1
    assert order not in default and order not in any_status and order not in every_live_status
    assert (trash, trash_total) == ([order], 1)
    # And it still answers by id, with status trash and modified at the deletion
    assert details.status_code == 200
    body = details.json()
    assert body["status"] == "trash"
    assert body["date_modified_gmt"] == gmt(ANCHOR + HALF_HOUR)
    assert body["date_modified"] == "2024-12-31T21:30:00"  # America/Sao_Paulo


@pytest.mark.anyio
async def test_the_trash_listing_keeps_the_other_filters(make_sandbox: SandboxFactory) -> None:
    # Given two orders trashed an hour apart
    sandbox = make_sandbox("woocommerce")
    first, second = sorted(sandbox.store.ids("orders"))[:2]
    sandbox.store.delete("orders", first)
    sandbox.advance_clock(3_600)
    sandbox.store.delete("orders", second)
    between = gmt(ANCHOR + 1_800)

    # When the trash is listed with a modification window, and with a live status besides
    async with sandbox.client() as client:
        recent, _ = await listed(client, f"status=trash&modified_after={between}&dates_are_gmt=true")
        older, _ = await listed(client, f"status=trash&modified_before={between}&dates_are_gmt=true")
        by_id, _ = await listed(client, "status=trash&orderby=id&order=desc")
        pending_too, _ = await listed(client, "status=trash,pending&orderby=id&order=asc")

    # Then the window applies to trashed records as to live ones
    assert recent == [second]
    assert older == [first]
    assert by_id == [second, first]
    pending = sorted(i for i, state in sandbox.store.table("orders").records.items() if state.status == 0)
    assert pending and pending_too == sorted([*pending, first, second])


@pytest.mark.anyio
async def test_trashed_products_read_as_trash_too(make_sandbox: SandboxFactory) -> None:
    sandbox = make_sandbox("woocommerce")
    product = min(sandbox.store.ids("products"))
    sandbox.store.delete("products", product)
    async with sandbox.client() as client:
        details = await client.get(f"/products/{product}")
        trash = await client.get("/products?status=trash")
        live = await client.get("/products?per_page=100")
    assert (details.json()["status"], details.json()["purchasable"]) == ("trash", False)
    assert [p["id"] for p in trash.json()] == [product]
    assert product not in [p["id"] for p in live.json()]


@pytest.mark.anyio
async def test_only_a_forced_delete_removes_a_trashed_order(make_sandbox: SandboxFactory) -> None:
    # Given an order in the trash
    sandbox = make_sandbox("woocommerce")
    order = min(sandbox.store.ids("orders"))
    sandbox.store.delete("orders", order)

    # When it is deleted again without force, Then it stays in the trash
    with pytest.raises(AlreadyTrashedError, match="in the trash already"):
        sandbox.store.delete("orders", order)
    assert sandbox.store.trashed_ids("orders") == {order}

    # When it is deleted with force, Then it is gone for good: 404, out of the trash listing
    sandbox.store.delete("orders", order, force=True)
    async with sandbox.client() as client:
        details = await client.get(f"/orders/{order}")
        trash, _ = await listed(client, "status=trash")
    assert details.status_code == 404
    assert details.json() == {
        "code": "woocommerce_rest_shop_order_invalid_id",
        "message": "Invalid ID.",
        "data": {"status": 404},
    }
    assert trash == []
    assert sandbox.store.lookup("orders", order) is not None  # a tombstone, still referred to
    with pytest.raises(UnknownRecordError):
        sandbox.store.delete("orders", order, force=True)


@pytest.mark.anyio
async def test_customers_are_never_trashed(make_sandbox: SandboxFactory) -> None:
    sandbox = make_sandbox("woocommerce")
    customer = min(sandbox.store.ids("customers"))
    sandbox.store.delete("customers", customer)
    async with sandbox.client() as client:
        details = await client.get(f"/customers/{customer}")
    assert sandbox.store.trashed_ids("customers") == frozenset()
    assert (details.status_code, details.json()["code"]) == (404, "woocommerce_rest_invalid_id")


@pytest.mark.anyio
async def test_the_delete_endpoint_trashes_then_purges(make_sandbox: SandboxFactory) -> None:
    # Given a product
    sandbox = make_sandbox("woocommerce")
    product = min(sandbox.store.ids("products"))
    async with sandbox.client() as client:
        before = (await client.get(f"/products/{product}")).json()

        # When it is deleted, deleted again, then deleted with force
        trashed = await client.delete(f"/products/{product}")
        in_trash = await client.get(f"/products/{product}")
        again = await client.delete(f"/products/{product}")
        purged = await client.delete(f"/products/{product}?force=true")
        gone = await client.get(f"/products/{product}")
        unknown = await client.delete("/orders/1")

    # Then the first answers the product as it was, and trashes it
    assert trashed.status_code == 200 and trashed.json() == before
    assert in_trash.json()["status"] == "trash"
    # And the second is refused the way WooCommerce refuses it
    assert again.status_code == 410
    assert again.json() == {
        "code": "woocommerce_rest_already_trashed",
        "message": "The product has already been deleted.",
        "data": {"status": 410},
    }
    # And force removes it for good
    assert purged.status_code == 200 and purged.json()["status"] == "trash"
    assert gone.status_code == 404 and gone.json()["code"] == "woocommerce_rest_product_invalid_id"
    assert unknown.status_code == 404 and unknown.json()["code"] == "woocommerce_rest_shop_order_invalid_id"


@pytest.mark.anyio
async def test_the_delete_endpoint_needs_force_for_customers(make_sandbox: SandboxFactory) -> None:
    sandbox = make_sandbox("woocommerce")
    customer = min(sandbox.store.ids("customers"))
    async with sandbox.client() as client:
        refused = await client.delete(f"/customers/{customer}")
        deleted = await client.delete(f"/customers/{customer}?force=true")
        unknown = await client.delete(f"/customers/{customer}?force=true")
        anonymous = await client.delete(
            f"/orders/{min(sandbox.store.ids('orders'))}", headers={"Authorization": ""}
        )
    assert refused.status_code == 501
    assert refused.json() == {
        "code": "woocommerce_rest_trash_not_supported",
        "message": "Customers do not support trashing.",
        "data": {"status": 501},
    }
    assert deleted.status_code == 200 and deleted.json()["id"] == customer
    assert customer not in sandbox.store.ids("customers")
    assert (unknown.status_code, unknown.json()["code"]) == (400, "woocommerce_rest_invalid_id")
    assert (anonymous.status_code, anonymous.json()["code"]) == (401, "woocommerce_rest_cannot_delete")


@pytest.mark.anyio
async def test_webhooks_follow_woocommerce_topic_hooks(
    make_sandbox: SandboxFactory, receiver: Receiver
) -> None:
    # Given a store that posts webhooks
    hooks = WebhookConfig(url="http://receiver.test/hooks", secret="s")
    sandbox = make_sandbox("woocommerce", webhooks=hooks, webhook_client=receiver.client())
    order, product, customer = (min(sandbox.store.ids(name)) for name in ("orders", "products", "customers"))

    # When an order and a product are trashed, the order purged, and a customer deleted
    sandbox.store.delete("orders", order)
    sandbox.store.delete("products", product)
    sandbox.store.delete("orders", order, force=True)
    sandbox.store.delete("customers", customer)
    assert sandbox.emitter is not None
    await sandbox.emitter.flush()

    # Then trashing sends order.deleted / product.deleted, the purge nothing, the customer customer.deleted
    sent = [(headers["x-wc-webhook-topic"], json.loads(body)) for headers, body in receiver.received]
    assert sent == [
        ("order.deleted", {"id": order}),
        ("product.deleted", {"id": product}),
        ("customer.deleted", {"id": customer}),
    ]


@pytest.mark.anyio
async def test_the_command_line_delete_knobs_trash_orders() -> None:
    # Given the sandbox the CLI builds from --faults with delete mutations
    knobs = json.dumps({"mutations": {"delete_before": {"count": 1}, "delete_after": {"count": 1}}})
    args = serve.parser().parse_args(["--flavor", "woocommerce", "--orders", "40", "--faults", knobs])
    sandbox = Sandbox.from_config(serve.config_from(args))

    # When orders are listed page by page
    async with sandbox.client() as client:
        for page in range(1, 5):
            await client.get(f"/orders?per_page=10&page={page}")
        trash = await client.get("/orders?status=trash&per_page=100")

    # Then every deletion the knobs made went to the trash, where a trash listing finds it
    deleted = sandbox.counters.mutations["delete"]
    assert deleted >= 4
    assert len(sandbox.store.trashed_ids("orders")) == deleted
    assert {order["id"] for order in trash.json()} == sandbox.store.trashed_ids("orders")
    assert len(sandbox.store.ids("orders")) == 40 - deleted

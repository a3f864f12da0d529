"""Signed webhooks per platform, checked by recomputing each signature here, and the delivery knobs."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import uuid
from typing import Any

import pytest

from mercator_sandbox import Faults, MutationKind, Mutations, Sandbox, UnknownRecordError, WebhookConfig
from tests.sandbox.conftest import FakeClock, Receiver, SandboxFactory

SECRET = "shh-its-a-secret"


def hooked(make_sandbox: SandboxFactory, receiver: Receiver, flavor: str, **knobs: Any) -> Sandbox:
    config = WebhookConfig(url="http://receiver.test/hooks", secret=SECRET, **knobs)
    return make_sandbox(flavor, webhooks=config, webhook_client=receiver.client())


def hex_hmac(body: bytes) -> str:
    return hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()


def base64_hmac(body: bytes) -> str:
    return base64.b64encode(hmac.new(SECRET.encode(), body, hashlib.sha256).digest()).decode()


@pytest.mark.anyio
async def test_salla_envelope_and_hex_signature(make_sandbox: SandboxFactory, receiver: Receiver) -> None:
    sandbox = hooked(make_sandbox, receiver, "salla")
    order_id = min(sandbox.store.ids("orders"))
    sandbox.store.touch("orders", order_id)
    results = await sandbox.emitter.flush()  # type: ignore[union-attr]
    assert [r.status for r in results] == [200]
    ((headers, body),) = receiver.received
    assert headers["x-salla-signature"] == hex_hmac(body)
    assert headers["x-salla-security-strategy"] == "Signature"
    delivery = json.loads(body)
    assert delivery["event"] == "order.updated"
    assert delivery["merchant"] == 1_305_146_709
    # The store's present at start is the anchor, 2025-01-01 00:00 UTC: 03:00 in Riyadh, a Wednesday.
    assert delivery["created_at"] == "Wed Jan 01 2025 03:00:00 GMT+0300"
    assert delivery["data"]["id"] == order_id


@pytest.mark.anyio
async def test_shopify_headers_and_base64_signature(
    make_sandbox: SandboxFactory, receiver: Receiver, clock: FakeClock
) -> None:
    sandbox = hooked(make_sandbox, receiver, "shopify")
    order_id = min(sandbox.store.ids("orders"))
    clock.advance(30)
    sandbox.store.touch("orders", order_id)
    sandbox.store.delete("orders", order_id)
    await sandbox.emitter.flush()  # type: ignore[union-attr]
    (updated_headers, updated_body), (deleted_headers, deleted_body) = receiver.received
    assert updated_headers["x-shopify-topic"] == "orders/updated"
    assert updated_headers["x-shopify-hmac-sha256"] == base64_hmac(updated_body)
    assert updated_headers["x-shopify-shop-domain"] == "mercator-sandbox.myshopify.com"
    assert updated_headers["x-shopify-api-version"] == "2025-01"
    assert updated_headers["x-shopify-triggered-at"] == "2025-01-01T00:00:30Z"
    uuid.UUID(updated_headers["x-shopify-event-id"])
    uuid.UUID(updated_headers["x-shopify-webhook-id"])
    assert json.loads(updated_body)["id"] == order_id
    assert json.loads(updated_body)["updated_at"] == "2024-12-31T19:00:30-05:00"
    assert deleted_headers["x-shopify-topic"] == "orders/delete"
    assert json.loads(deleted_body) == {"id": order_id}
    assert deleted_headers["x-shopify-hmac-sha256"] == base64_hmac(deleted_body)
    assert deleted_headers["x-shopify-event-id"] != updated_headers["x-shopify-event-id"]


@pytest.mark.anyio
async def test_woocommerce_headers_and_delivery_ids(
    make_sandbox: SandboxFactory, receiver: Receiver, clock: FakeClock
) -> None:
    sandbox = hooked(make_sandbox, receiver, "woocommerce")
    product = sandbox.store.insert("products")
    sandbox.store.touch("products", product.id)
    clock.advance(1)
    sandbox.store.touch("products", product.id)
    await sandbox.emitter.flush()  # type: ignore[union-attr]
    (created_h, created_b), (same_second_h, _), (next_second_h, _) = receiver.received
    assert created_h["x-wc-webhook-signature"] == base64_hmac(created_b)
    assert created_h["x-wc-webhook-topic"] == "product.created"
    assert (created_h["x-wc-webhook-resource"], created_h["x-wc-webhook-event"]) == ("product", "created")
    assert created_h["x-wc-webhook-source"] == "https://shop.mercator-sandbox.test/"
    assert created_h["x-wc-webhook-id"] == "1"
    assert same_second_h["x-wc-webhook-topic"] == "product.updated"
    assert re.fullmatch(r"[0-9a-f]{32}", created_h["x-wc-webhook-delivery-id"])
    # WooCommerce derives the delivery id from the webhook id and the second: not unique.
    assert same_second_h["x-wc-webhook-delivery-id"] == created_h["x-wc-webhook-delivery-id"]
    assert next_second_h["x-wc-webhook-delivery-id"] != created_h["x-wc-webhook-delivery-id"]
    body = json.loads(created_b)
    assert body["id"] == product.id
    assert (
        body["_links"]["self"][0]["href"]
        == f"https://shop.mercator-sandbox.test/wp-json/wc/v3/products/{product.id}"
    )


@pytest.mark.anyio
async def test_duplicates_repeat_the_same_delivery(make_sandbox: SandboxFactory, receiver: Receiver) -> None:
    sandbox = hooked(make_sandbox, receiver, "shopify", duplicate_rate=1.0)
    sandbox.store.touch("customers", min(sandbox.store.ids("customers")))
    results = await sandbox.emitter.flush()  # type: ignore[union-attr]
    assert [r.duplicate for r in results] == [False, True]
    (first_h, first_b), (second_h, second_b) = receiver.received
    assert first_b == second_b
    assert first_h["x-shopify-event-id"] == second_h["x-shopify-event-id"]
    snapshot = sandbox.counters.snapshot()["webhooks"]
    assert snapshot == {"sent": 2, "duplicated": 1, "dropped": 0, "failed": 0}


@pytest.mark.anyio
async def test_dropped_deliveries_are_never_sent(make_sandbox: SandboxFactory, receiver: Receiver) -> None:
    sandbox = hooked(make_sandbox, receiver, "salla", drop_rate=1.0)
    for record_id in sorted(sandbox.store.ids("products"))[:3]:
        sandbox.store.touch("products", record_id)
    assert await sandbox.emitter.flush() == []  # type: ignore[union-attr]
    assert receiver.received == []
    assert sandbox.counters.webhooks["dropped"] == 3


@pytest.mark.anyio
async def test_reorder_shuffles_a_batch(make_sandbox: SandboxFactory, receiver: Receiver) -> None:
    sandbox = hooked(make_sandbox, receiver, "woocommerce", reorder=True)
    touched = sorted(sandbox.store.ids("orders"))[:8]
    for record_id in touched:
        sandbox.store.touch("orders", record_id)
    await sandbox.emitter.flush()  # type: ignore[union-attr]
    delivered = [json.loads(body)["id"] for _, body in receiver.received]
    assert sorted(delivered) == touched
    assert delivered != touched


@pytest.mark.anyio
async def test_receiver_errors_are_counted(make_sandbox: SandboxFactory) -> None:
    failing = Receiver(status=500)
    sandbox = hooked(make_sandbox, failing, "salla")
    delivery = sandbox.emitter.emit("carts", min(sandbox.store.ids("carts")), "abandoned.cart.purchased")  # type: ignore[union-attr]
    (result,) = await sandbox.emitter.flush()  # type: ignore[union-attr]
    assert result.status == 500 and not result.ok
    assert result.delivery is delivery
    assert json.loads(delivery.body)["event"] == "abandoned.cart.purchased"
    assert sandbox.counters.webhooks["failed"] == 1


@pytest.mark.anyio
async def test_mutation_faults_queue_webhooks(make_sandbox: SandboxFactory, receiver: Receiver) -> None:
    sandbox = hooked(make_sandbox, receiver, "shopify")
    sandbox.set_faults(
        Faults(mutations=Mutations(insert=MutationKind(count=1), delete_after=MutationKind(count=1)))
    )
    async with sandbox.client() as client:
        await client.get("/orders.json?status=any&limit=5")
    await sandbox.emitter.flush()  # type: ignore[union-attr]
    assert [headers["x-shopify-topic"] for headers, _ in receiver.received] == [
        "orders/create",
        "orders/delete",
    ]


def test_events_the_platform_does_not_send(make_sandbox: SandboxFactory, receiver: Receiver) -> None:
    salla = hooked(make_sandbox, receiver, "salla")
    salla.store.delete("customers", min(salla.store.ids("customers")))
    assert salla.emitter.pending == []  # type: ignore[union-attr]  # Salla has no customer.deleted
    with pytest.raises(ValueError, match=r"salla sends no 'orders/create' for orders; valid: order\.created"):
        salla.emitter.emit("orders", min(salla.store.ids("orders")), "orders/create")  # type: ignore[union-attr]
    with pytest.raises(UnknownRecordError):
        salla.emitter.emit("orders", 7, "order.created")  # type: ignore[union-attr]
    woo = hooked(make_sandbox, receiver, "woocommerce")
    with pytest.raises(ValueError, match="woocommerce sends no webhooks for 'carts'"):
        woo.emitter.emit("carts", 1, "cart.updated")  # type: ignore[union-attr]


@pytest.mark.parametrize("url", ["ftp://receiver/hooks", "receiver/hooks"])
def test_webhook_url_must_be_http(url: str) -> None:
    with pytest.raises(ValueError, match="http:// or https:// URL"):
        WebhookConfig(url=url, secret=SECRET)

"""A record deleted for good answers 404 in its platform's error shape; deletions still post webhooks."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest

from mercator_sandbox import WebhookConfig
from mercator_sandbox.app import FlavorName
from tests.sandbox.conftest import Receiver, SandboxFactory

SALLA_GONE = {
    "status": 404,
    "success": False,
    "error": {"code": "NotFound", "message": "The content you are trying to access is no longer available"},
}
SHOPIFY_GONE = {"errors": "Not Found"}


def woo_gone(code: str) -> dict[str, Any]:
    return {"code": code, "message": "Invalid ID.", "data": {"status": 404}}


@dataclass(frozen=True)
class Gone:
    """A record's details route, whether deleting it for good needs force, and the 404 it answers."""

    resource: str
    path: str
    body: dict[str, Any]
    force: bool = False


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("flavor", "gone"),
    [
        ("salla", Gone("orders", "/orders/{id}", SALLA_GONE)),
        ("salla", Gone("products", "/products/{id}", SALLA_GONE)),
        ("salla", Gone("customers", "/customers/{id}", SALLA_GONE)),
        ("salla", Gone("carts", "/carts/abandoned/{id}", SALLA_GONE)),
        ("shopify", Gone("orders", "/orders/{id}.json", SHOPIFY_GONE)),
        ("shopify", Gone("products", "/products/{id}.json", SHOPIFY_GONE)),
        ("shopify", Gone("customers", "/customers/{id}.json", SHOPIFY_GONE)),
        (
            "woocommerce",
            Gone("orders", "/orders/{id}", woo_gone("woocommerce_rest_shop_order_invalid_id"), True),
        ),
        (
            "woocommerce",
            Gone("products", "/products/{id}", woo_gone("woocommerce_rest_product_invalid_id"), True),
        ),
        ("woocommerce", Gone("customers", "/customers/{id}", woo_gone("woocommerce_rest_invalid_id"))),
    ],
)
async def test_a_deleted_record_answers_404_in_the_platform_shape(
    make_sandbox: SandboxFactory, flavor: FlavorName, gone: Gone
) -> None:
    # Given a record that answers by id
    sandbox = make_sandbox(flavor)
    record = min(sandbox.store.ids(gone.resource))
    async with sandbox.client() as client:
        before = await client.get(gone.path.format(id=record))

        # When it is deleted for good
        sandbox.store.delete(gone.resource, record, force=gone.force)
        after = await client.get(gone.path.format(id=record))

    # Then its details answer the platform's 404
    assert before.status_code == 200
    assert (after.status_code, after.json()) == (404, gone.body)


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("flavor", "resource", "topic"),
    [
        ("salla", "orders", "order.deleted"),
        ("salla", "products", "product.deleted"),
        ("shopify", "products", "products/delete"),
        ("shopify", "customers", "customers/delete"),
        ("woocommerce", "orders", "order.deleted"),
    ],
)
async def test_a_delete_between_syncs_posts_the_platform_webhook(
    make_sandbox: SandboxFactory, receiver: Receiver, flavor: FlavorName, resource: str, topic: str
) -> None:
    # Given a store that posts webhooks
    hooks = WebhookConfig(url="http://receiver.test/hooks", secret="s")
    sandbox = make_sandbox(flavor, webhooks=hooks, webhook_client=receiver.client())
    record = min(sandbox.store.ids(resource))

    # When a test deletes a record
    sandbox.store.delete(resource, record)
    assert sandbox.emitter is not None
    results = await sandbox.emitter.flush()

    # Then the platform's delete webhook is posted for it
    assert [result.status for result in results] == [200]
    ((headers, raw),) = receiver.received
    body = json.loads(raw)
    if flavor == "salla":
        assert (body["event"], body["data"]["id"]) == (topic, record)
    else:
        name = "x-shopify-topic" if flavor == "shopify" else "x-wc-webhook-topic"
        assert (headers[name], body) == (topic, {"id": record})

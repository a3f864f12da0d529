"""Webhooks end to end: signed deliveries over HTTP to the API the local stack serves from template.yaml.

Each shipped connector's webhook side is exercised with the real public samples in
../shared/payloads (skipped when that folder is absent) or, for Zid, whose payloads there are REST
responses rather than deliveries, with its own samples; every delivery is signed the platform's way.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from mercator.cli import main as mercator_cli
from mercator.connector import load_shipped
from mercator.services.registration import register_integration
from mercator.state.integrations import DynamoIntegrations
from mercator.state.record_store import DynamoRecords
from mercator.state.secrets import SecretsVault
from mercator_local import LocalStack
from mercator_local.webhook_events import SAMPLE_CREDENTIALS
from mercator_local.webhook_signing import signed_headers

PAYLOADS = Path(__file__).resolve().parents[3] / "shared" / "payloads"
TENANT = "acme"
# What each connector needs besides the webhook credentials, to be registered.
OTHER_CREDENTIALS = {
    "salla": {"accessToken": "salla-e2e-access-token"},
    "shopify": {"accessToken": "shpat_e2e", "shopDomain": "acme-e2e.myshopify.com"},
    "woocommerce": {
        "consumerKey": "ck_e2e",
        "consumerSecret": "cs_e2e",
        "storeUrl": "https://shop.example.com",
    },
    "zid": {"accessToken": "zid-e2e", "authorizationToken": "zid-e2e-auth", "storeId": "2417"},
}
# payload file, connector, event, the record's id in the payload (read off the file), content type
REAL_DELIVERIES = [
    ("salla_order_created.json", "salla", "order.created", ("data", "id"), "ecommerce:orders"),
    ("salla_product_created.json", "salla", "product.created", ("data", "id"), "core:product"),
    ("salla_customer_login.json", "salla", "customer.login", ("data", "id"), "core:customer"),
    ("salla_abandoned_cart.json", "salla", "abandoned.cart", ("data", "id"), "ecommerce:carts"),
    ("shopify_orders_create.json", "shopify", "orders/create", ("id",), "ecommerce:orders"),
    ("shopify_customers_create.json", "shopify", "customers/create", ("id",), "core:customer"),
    ("shopify_products_update.json", "shopify", "products/update", ("id",), "core:product"),
    ("shopify_carts_update.json", "shopify", "carts/update", ("id",), "ecommerce:carts"),
    ("woocommerce_order_retrieve_rest.json", "woocommerce", "order.created", ("id",), "ecommerce:orders"),
    ("woocommerce_customer_retrieve_rest.json", "woocommerce", "customer.created", ("id",), "core:customer"),
]


@pytest.fixture
def api(stack: LocalStack) -> Iterator[str]:
    """The webhook API's base URL, with one integration per shipped connector registered (ids fixed:
    ``<connector>-e2e``)."""
    integrations = DynamoIntegrations(stack.client("dynamodb"), stack.table_name("StateTable"))
    vault = SecretsVault(stack.client("secretsmanager"))
    for connector, credentials in OTHER_CREDENTIALS.items():
        register_integration(
            integrations,
            vault,
            load_shipped(connector),
            tenant_id=TENANT,
            integration_id=f"{connector}-e2e",
            credentials={**credentials, **SAMPLE_CREDENTIALS},
        )
    yield stack.serve_api()


def _post(api: str, connector: str, body: bytes, headers: dict[str, str], query: str = "") -> httpx.Response:
    definition = load_shipped(connector)
    assert definition.webhook is not None
    signed = signed_headers(definition.webhook.verification, SAMPLE_CREDENTIALS, body, now=datetime.now(UTC))
    url = f"{api}/webhooks/{connector}-e2e" + (f"?{query}" if query else "")
    return httpx.post(url, content=body, headers={"Content-Type": "application/json", **headers, **signed})


def _event_headers(connector: str, event: str) -> tuple[dict[str, str], str]:
    """Where each platform names the event: a header (Shopify, WooCommerce), the query (Zid) or the body."""
    if connector == "shopify":
        return {"X-Shopify-Topic": event, "X-Shopify-Event-Id": f"e2e-{event}"}, ""
    if connector == "woocommerce":
        return {"X-WC-Webhook-Topic": event}, ""
    if connector == "zid":
        return {}, f"event={event}"
    return {}, ""


def _records(stack: LocalStack) -> DynamoRecords:
    return DynamoRecords(stack.client("dynamodb"), stack.table_name("RecordsTable"))


@pytest.mark.skipif(not PAYLOADS.is_dir(), reason="../shared/payloads is not beside the project")
@pytest.mark.parametrize("case", REAL_DELIVERIES, ids=[case[0] for case in REAL_DELIVERIES])
def test_real_payloads_signed_the_platforms_way_become_records(
    api: str, stack: LocalStack, case: tuple[str, str, str, tuple[str, ...], str]
) -> None:
    file, connector, event, id_at, content_type = case
    body = (PAYLOADS / file).read_bytes()
    payload: Any = json.loads(body)
    for step in id_at:
        payload = payload[step]
    headers, query = _event_headers(connector, event)

    response = _post(api, connector, body, headers, query)

    assert response.status_code == 200, response.text
    assert response.json()["status"] == "accepted"
    assert _records(stack).get(TENANT, content_type, str(payload)) is not None


@pytest.mark.parametrize(
    ("sample", "event", "code"),
    [("order_create.json", "order.create", "39018491"), ("product_create.json", "product.create", None)],
)
def test_zid_deliveries_with_basic_auth_become_records(
    api: str, stack: LocalStack, sample: str, event: str, code: str | None
) -> None:
    body = load_shipped("zid").resolve(f"samples/zid/{sample}").read_bytes()

    response = _post(api, "zid", body, {}, f"event={event}")

    assert response.status_code == 200, response.text
    if code is not None:
        assert _records(stack).get(TENANT, "ecommerce:orders", code) is not None


def test_unsigned_deliveries_are_refused_over_http(api: str, stack: LocalStack) -> None:
    body = load_shipped("shopify").resolve("samples/shopify/orders_create.json").read_bytes()

    response = httpx.post(
        f"{api}/webhooks/shopify-e2e",
        content=body,
        headers={"Content-Type": "application/json", "X-Shopify-Topic": "orders/create"},
    )

    assert response.status_code == 401
    assert _records(stack).get(TENANT, "ecommerce:orders", "820982911946154500") is None


def test_a_replayed_delivery_reproduces_the_same_record(
    api: str, stack: LocalStack, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    body = load_shipped("shopify").resolve("samples/shopify/orders_create.json").read_bytes()
    headers, _ = _event_headers("shopify", "orders/create")
    assert _post(api, "shopify", body, headers).status_code == 200
    original = _records(stack).get(TENANT, "ecommerce:orders", "820982911946154500")
    assert original is not None
    stack.client("dynamodb").delete_item(
        TableName=stack.table_name("RecordsTable"),
        Key={"pk": {"S": f"TENANT#{TENANT}#TYPE#ecommerce:orders"}, "sk": {"S": "CODE#820982911946154500"}},
    )
    for name, value in stack.environment("WebhookIntakeFunction").items():
        monkeypatch.setenv(name, value)

    status = mercator_cli(["replay", "--integration", "shopify-e2e", "--format", "json"])

    assert status == 0
    printed = capsys.readouterr().out
    # The function's own logs go to stdout too; the command's answer is the JSON list.
    [replayed], _ = json.JSONDecoder().raw_decode(printed[printed.index("[\n") :])
    assert (replayed["outcome"], replayed["code"]) == ("accepted", "820982911946154500")
    again = _records(stack).get(TENANT, "ecommerce:orders", "820982911946154500")
    assert again is not None and (again.record, again.content_hash) == (
        original.record,
        original.content_hash,
    )

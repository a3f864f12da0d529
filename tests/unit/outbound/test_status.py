"""The update_status action against the sandbox store in process: the real session factory, shared
rate bucket on moto, the shipped connectors, and the platform's own answers."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import boto3
import httpx
import pytest

from mercator.domain.entities import Integration
from mercator.domain.workflows import ActionFailedError, UpdateStatusAction
from mercator.outbound.status import StatusUpdater
from mercator.providers.retries import RetryPolicy
from mercator.services.connectors import ConnectorCatalog
from mercator.wiring.sessions import ProviderSessionFactory
from mercator_sandbox import Sandbox
from mercator_sandbox.app import FlavorName
from mercator_sandbox.flavors.salla import ORDER_STATUSES as SALLA_STATUSES
from mercator_sandbox.flavors.woocommerce import ORDER_STATUSES as WOO_STATUSES
from tests.sandbox_egress import SANDBOX_EGRESS
from tests.unit.outbound.conftest import REGION, change_event, make_workflow
from tests.unit.services.fakes import FakeIntegrations, FakeVault

SIZES = {"orders": 12, "products": 3, "customers": 3, "carts": 2}
SALLA_TOKEN = "salla-at-9Xv2mQ7rLk3pZw"
WOO_KEY, WOO_SECRET = "ck_71c0e9a4d2b85f36", "cs_3d8b1f6a0e9c4727"
CREDENTIALS: dict[str, dict[str, str]] = {
    "salla": {"accessToken": SALLA_TOKEN},
    "woocommerce": {
        "consumerKey": WOO_KEY,
        "consumerSecret": WOO_SECRET,
        "storeUrl": "https://woo.sandbox.test",
    },
    "shopify": {"accessToken": "shpat_0a1b2c3d4e5f", "shopDomain": "mercator-sandbox.myshopify.com"},
}
SECRET_VALUES = (SALLA_TOKEN, WOO_KEY, WOO_SECRET)


@dataclass
class Shop:
    sandbox: Sandbox
    updater: StatusUpdater
    integrations: FakeIntegrations

    def order(self) -> int:
        return min(self.sandbox.store.ids("orders"))

    def slug(self, order_id: int) -> str:
        statuses = SALLA_STATUSES if self.sandbox.flavor.name == "salla" else WOO_STATUSES
        status = statuses[self.sandbox.store.get("orders", order_id).status]
        return status[0] if isinstance(status, tuple) else status


def open_shop(flavor: FlavorName, table: str, *, faults: dict[str, Any] | None = None) -> Shop:
    sandbox = Sandbox(flavor, seed=4, sizes=SIZES, rate_limit=None, faults=faults)
    # A high rate: the shared bucket would otherwise pace the retries at the platform's real rate.
    settings: dict[str, Any] = {"rateLimitPerSecond": 100, "pushTracking": True}
    if flavor == "salla":
        settings["baseUrl"] = sandbox.base_url("http://salla.sandbox.test")
    integration = Integration(
        id=f"{flavor}-shop",
        tenant_id="tenant-1",
        connector=flavor,
        settings=settings,
        credentials_arn=f"arn:secret:{flavor}",
        created_at=datetime(2025, 1, 1, tzinfo=UTC),
    )
    integrations = FakeIntegrations(integration)
    sessions = ProviderSessionFactory(
        boto3.client("dynamodb", region_name=REGION),
        table,
        http_factory=lambda: httpx.AsyncClient(transport=httpx.ASGITransport(app=sandbox.app)),
        retry_factory=lambda: RetryPolicy(max_attempts=3, base_delay=0.001, max_delay=0.002),
        egress=SANDBOX_EGRESS,
    )
    updater = StatusUpdater(
        integrations,
        FakeVault({f"arn:secret:{flavor}": CREDENTIALS[flavor]}),
        ConnectorCatalog(),
        sessions,
    )
    return Shop(sandbox, updater, integrations)


def set_status(status: str) -> UpdateStatusAction:
    return UpdateStatusAction(type="update_status", status=status)


def order_event(shop: Shop, code: str, **options: Any) -> Any:
    flavor = shop.sandbox.flavor.name
    return change_event(**{"code": code, "integration_id": f"{flavor}-shop", "connector": flavor, **options})


@pytest.mark.parametrize(("flavor", "status"), [("salla", "delivered"), ("woocommerce", "completed")])
def test_the_order_status_changes_in_the_store(table: str, flavor: FlavorName, status: str) -> None:
    # Given an order of the store that has another status
    shop = open_shop(flavor, table)
    order_id = shop.order()
    assert shop.slug(order_id) != status
    action = set_status(status)

    # When the action runs for a change of that order
    outcome = shop.updater.run(action, order_event(shop, str(order_id)), make_workflow(action))

    # Then the store holds the new status, after one write call
    assert outcome == f"set order {str(order_id)!r} to status {status!r} in {flavor}"
    assert shop.slug(order_id) == status
    writes = {
        route: n
        for route, n in shop.sandbox.counters.snapshot()["requests"].items()
        if not route.startswith("GET")
    }
    assert sum(writes.values()) == 1


def test_a_later_listing_shows_the_new_status(table: str) -> None:
    shop = open_shop("woocommerce", table)
    order_id = shop.order()
    action = set_status("on-hold")

    shop.updater.run(action, order_event(shop, str(order_id)), make_workflow(action))

    async def listed() -> set[int]:
        async with shop.sandbox.client() as client:
            orders = (await client.get("/orders?status=on-hold&per_page=100")).json()
        return {order["id"] for order in orders}

    assert order_id in asyncio.run(listed())


@pytest.mark.parametrize(
    ("flavor", "platform_text"),
    # The platform's own message field, and nothing else of its body (WooCommerce's code is not it).
    [("salla", "no longer available"), ("woocommerce", "the store says: Invalid ID.")],
)
def test_an_unknown_order_fails_for_good_with_the_platforms_answer(
    table: str, flavor: FlavorName, platform_text: str
) -> None:
    shop = open_shop(flavor, table)
    action = set_status("completed")

    with pytest.raises(ActionFailedError) as caught:
        shop.updater.run(action, order_event(shop, "5"), make_workflow(action))

    assert caught.value.retryable is False
    assert "answered 404" in caught.value.reason
    assert platform_text in caught.value.reason
    assert "body:" not in caught.value.reason and '"data"' not in caught.value.reason
    assert sum(shop.sandbox.counters.statuses.values()) == 1  # a 404 is not asked again


def test_a_status_the_store_does_not_know_fails_for_good(table: str) -> None:
    shop = open_shop("salla", table)
    order_id = shop.order()
    before = shop.slug(order_id)
    action = set_status("teleported")

    with pytest.raises(ActionFailedError) as caught:
        shop.updater.run(action, order_event(shop, str(order_id)), make_workflow(action))

    assert caught.value.retryable is False
    assert "answered 422" in caught.value.reason
    assert shop.slug(order_id) == before


def test_server_errors_past_the_retries_fail_retryably(table: str) -> None:
    shop = open_shop("salla", table, faults={"error_rate": 1.0})
    action = set_status("delivered")

    with pytest.raises(ActionFailedError) as caught:
        shop.updater.run(action, order_event(shop, str(shop.order())), make_workflow(action))

    assert caught.value.retryable is True
    assert "after 3 attempts" in caught.value.reason
    assert shop.sandbox.counters.server_errors == 3


@pytest.mark.parametrize("flavor", ["salla", "woocommerce"])
def test_reasons_never_show_the_integrations_credentials(table: str, flavor: FlavorName) -> None:
    shop = open_shop(flavor, table)
    action = set_status("completed")

    with pytest.raises(ActionFailedError) as caught:
        shop.updater.run(action, order_event(shop, "5"), make_workflow(action))

    for secret in SECRET_VALUES:
        assert secret not in caught.value.reason


def test_shopify_cannot_set_statuses(table: str) -> None:
    shop = open_shop("shopify", table)
    action = set_status("fulfilled")

    with pytest.raises(ActionFailedError) as caught:
        shop.updater.run(action, order_event(shop, "1"), make_workflow(action))

    assert caught.value.retryable is False
    assert "connector 'shopify' has no sync.actions.updateStatus" in caught.value.reason
    assert shop.sandbox.counters.total == 0


def test_a_record_type_the_connector_does_not_cover_fails_for_good(table: str) -> None:
    shop = open_shop("salla", table)
    action = set_status("delivered")
    event = order_event(shop, "7", content_type="core:customer", record={"code": "7", "email": "a@b.example"})

    with pytest.raises(ActionFailedError) as caught:
        shop.updater.run(action, event, make_workflow(action))

    assert caught.value.retryable is False
    assert (
        "sets the status of order records (ecommerce:orders) only, not of core:customer"
        in caught.value.reason
    )
    assert shop.sandbox.counters.total == 0


def test_a_deleted_record_has_no_status_to_set(table: str) -> None:
    shop = open_shop("salla", table)
    action = set_status("delivered")

    with pytest.raises(ActionFailedError) as caught:
        shop.updater.run(
            action, order_event(shop, str(shop.order()), change="deleted"), make_workflow(action)
        )

    assert caught.value.retryable is False
    assert "was deleted" in caught.value.reason


def test_an_integration_that_is_gone_or_disabled_or_another_tenants_is_not_used(table: str) -> None:
    shop = open_shop("salla", table)
    action = set_status("delivered")
    order = str(shop.order())

    with pytest.raises(ActionFailedError, match="no longer exists"):
        shop.updater.run(action, order_event(shop, order, integration_id="gone"), make_workflow(action))
    with pytest.raises(ActionFailedError, match="does not belong to tenant 'tenant-2'"):
        shop.updater.run(action, order_event(shop, order), make_workflow(action, tenant_id="tenant-2"))
    disabled = shop.integrations.items["salla-shop"].model_copy(update={"status": "disabled"})
    shop.integrations.put(disabled)
    with pytest.raises(ActionFailedError, match="is disabled"):
        shop.updater.run(action, order_event(shop, order), make_workflow(action))
    assert shop.sandbox.counters.total == 0


@pytest.mark.parametrize("push_tracking", [False, None, "true"])
def test_an_integration_without_push_tracking_never_writes_to_the_store(
    table: str, push_tracking: object
) -> None:
    # Given an integration whose merchant did not turn pushTracking on (off, absent, or not a boolean)
    shop = open_shop("salla", table)
    settings = {
        name: value
        for name, value in shop.integrations.items["salla-shop"].settings.items()
        if name != "pushTracking"
    }
    if push_tracking is not None:
        settings["pushTracking"] = push_tracking
    shop.integrations.put(shop.integrations.items["salla-shop"].model_copy(update={"settings": settings}))
    order_id = shop.order()
    before = shop.slug(order_id)
    action = set_status("delivered")

    # When a workflow asks to set an order's status
    with pytest.raises(ActionFailedError) as caught:
        shop.updater.run(action, order_event(shop, str(order_id)), make_workflow(action))

    # Then it fails for good saying why, and the store was never called
    assert caught.value.retryable is False
    assert "pushTracking is off" in caught.value.reason
    assert shop.slug(order_id) == before
    assert shop.sandbox.counters.total == 0

"""ManagementService on moto with the real adapters; credentials checked against sandbox stores in process."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from mercator.api.schemas import (
    ConfigureIntegrationRequest,
    ConfigureWorkflowRequest,
    SavePushSubscriptionRequest,
)
from mercator.connector import ConnectorDefinition
from mercator.domain.deliveries import DeliveryClaim
from mercator.domain.entities import Integration, RunCheckpoint, RunStats, TrackedId
from mercator.domain.workflows import Workflow, WorkflowExecution, execution_id, trigger_id
from mercator.services.management import ConfigurationError, ConflictError, NotFoundError
from mercator.wiring.adapters import keep_secrets_out_of_aws_logs
from tests.fake_aws import use_fake_aws
from tests.unit.outbound.conftest import change_event
from tests.unit.services.management_world import (
    CREDENTIALS,
    GUARDED_SALLA_BASE_URL,
    NOW,
    REGION,
    SALLA_BASE_URL,
    SALLA_TOKEN,
    SECRET_VALUES,
    ManagementWorld,
    management_world,
)
from tests.unit.services.support import tweaked_connector

A, B = "tenant-a", "tenant-b"
# The RFC 8291 example subscription (Message Encryption for Web Push, section 5).
P256DH = "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4"
AUTH = "BTBZMqHH6r4Tts7J_aSIgg"
PUSH_ENDPOINT = "https://push.example.net/push/JzLQ3raZJfFBR0aqvOMsLrt54w4rJUsV"


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> Iterator[ManagementWorld]:
    use_fake_aws(monkeypatch, REGION)
    with management_world() as built:
        yield built


def request(connector: str = "salla", *, credentials: dict[str, str] | None = None, **settings: Any) -> Any:
    chosen = {"baseUrl": SALLA_BASE_URL} if connector == "salla" else {}
    return ConfigureIntegrationRequest.model_validate(
        {
            "providerId": connector,
            "providerType": "ecommerce",
            "credentials": CREDENTIALS.get(connector, {}) if credentials is None else credentials,
            "settings": {**chosen, **settings},
        }
    )


def workflow_request(**fields: Any) -> ConfigureWorkflowRequest:
    body: dict[str, Any] = {
        "name": "Tell the warehouse",
        "entityType": "Order",
        "triggerId": trigger_id("salla", "order.created"),
        "action": {"type": "send_email", "recipient": "customer", "template": "order_received"},
        "conditions": {"totalAmount": {"gte": 100}},
    }
    return ConfigureWorkflowRequest.model_validate(body | fields)


def stored_secret(world: ManagementWorld, name: str) -> dict[str, str]:
    loaded: dict[str, str] = json.loads(world.secrets.get_secret_value(SecretId=name)["SecretString"])
    return loaded


# Configure


def test_configure_checks_the_credentials_with_one_small_request_then_stores_the_integration(
    world: ManagementWorld,
) -> None:
    # When tenant A configures Salla with every setting on
    integration = world.service.configure(A, request(pushTracking=True))

    # Then one list request reached the store, asking for one record
    assert [(r.method, r.url.path, r.url.params.get("per_page")) for r in world.sent] == [
        ("GET", "/admin/v2/orders", "1")
    ]
    # And the integration is stored active, syncing every Salla resource, its settings as given
    assert world.integrations.get(integration.id) == integration
    assert (integration.tenant_id, integration.connector, integration.status) == (A, "salla", "active")
    assert integration.created_at == NOW
    assert integration.resources == ["orders", "products", "customers", "abandoned_carts", "shipments"]
    assert integration.settings == {
        "autoImportOrders": True,
        "syncProducts": True,
        "pushTracking": True,
        "baseUrl": SALLA_BASE_URL,
    }
    # And the credentials are in Secrets Manager under the tenant's name, and nowhere in DynamoDB
    assert world.secret_names() == [f"mercator/credentials/{A}/{integration.id}"]
    assert stored_secret(world, f"mercator/credentials/{A}/{integration.id}") == CREDENTIALS["salla"]
    assert SALLA_TOKEN not in json.dumps(world.state_items())


@pytest.mark.parametrize(
    ("connector", "path", "size_param"),
    [
        ("woocommerce", "/wp-json/wc/v3/products", "per_page"),
        ("shopify", "/admin/api/2025-01/products.json", "limit"),
    ],
)
def test_each_platform_is_checked_with_its_first_resource_at_page_size_one(
    world: ManagementWorld, connector: str, path: str, size_param: str
) -> None:
    integration = world.service.configure(A, request(connector))

    assert [(r.url.path, r.url.params.get(size_param)) for r in world.sent] == [(path, "1")]
    assert integration.connector == connector


@pytest.mark.parametrize(
    ("orders", "products", "resources"),
    [
        (False, True, ["products", "customers"]),
        (True, False, ["orders", "customers", "abandoned_carts", "shipments"]),
        (False, False, ["customers"]),
    ],
)
def test_the_settings_choose_what_the_integration_syncs(
    world: ManagementWorld, orders: bool, products: bool, resources: list[str]
) -> None:
    integration = world.service.configure(A, request(autoImportOrders=orders, syncProducts=products))

    assert integration.resources == resources
    assert integration.settings["pushTracking"] is False  # off unless asked for


def test_the_rate_limit_and_base_url_settings_pass_through(world: ManagementWorld) -> None:
    integration = world.service.configure(A, request(rateLimitPerSecond=2.5))

    assert integration.rate_limit() == 2.5
    assert integration.settings["baseUrl"] == SALLA_BASE_URL


def test_an_unknown_provider_is_not_found_and_the_message_names_the_shipped_ones(
    world: ManagementWorld,
) -> None:
    with pytest.raises(NotFoundError) as caught:
        world.service.configure(A, request("magento", credentials={"apiKey": "k"}))

    assert (
        str(caught.value)
        == "Provider not found: 'magento'; providers: crystal, pim, salla, shopify, woocommerce, zid"
    )
    assert world.sent == []


def refused_configuration(world: ManagementWorld, configure: ConfigureIntegrationRequest) -> str:
    """Configure, expecting a CONFIGURATION_ERROR that leaves nothing stored; its message."""
    with pytest.raises(ConfigurationError) as caught:
        world.service.configure(A, configure)
    assert world.secret_names() == []
    assert world.state_items() == [] or all(
        not item["pk"]["S"].startswith(("INTEGRATION#", "TENANT#")) or item["sk"]["S"] == "RATE_BUCKET"
        for item in world.state_items()
    )
    assert world.integrations.for_tenant(A) == []
    return str(caught.value)


def test_credentials_the_store_refuses_are_a_configuration_error_with_its_reason(
    world: ManagementWorld,
) -> None:
    # Given a Salla store that accepts only tokens it issued
    message = refused_configuration(world, request(baseUrl=GUARDED_SALLA_BASE_URL))

    assert message == "Invalid credentials: Salla refused them (401): The access token should be a valid one"
    assert len(world.sent) == 1


def test_credentials_lacking_a_name_the_connector_needs_are_refused_before_any_call(
    world: ManagementWorld,
) -> None:
    message = refused_configuration(world, request("woocommerce", credentials={"consumerKey": "ck_1"}))

    assert "the credentials lack consumerSecret, storeUrl, which connector 'woocommerce' needs" in message
    assert world.sent == []


def test_a_store_that_cannot_be_reached_is_a_configuration_error(world: ManagementWorld) -> None:
    message = refused_configuration(world, request(baseUrl="http://nowhere.sandbox.test/admin/v2"))

    assert message.startswith("the Salla store could not be checked with these settings: GET http://nowhere")
    assert len(world.sent) == 2  # the check's two attempts


def woocommerce(*, update_status: bool, push_shipments: bool) -> ConnectorDefinition:
    """WooCommerce with or without its order status action and a push.shipments block."""

    def change(document: dict[str, Any]) -> None:
        if not update_status:
            document["sync"]["actions"].pop("updateStatus", None)
        push = document.setdefault("push", {})
        push.pop("shipments", None)
        if push_shipments:
            # The order is the shipment: completed, with a note of its tracking.
            push["shipments"] = {
                "create": {
                    "endpoint": {"method": "PUT", "url": "/orders/{order}"},
                    "body": {"status": {"value": "completed"}, "customer_note": "store.key"},
                }
            }

    return tweaked_connector("woocommerce", change)


@pytest.mark.parametrize(
    ("update_status", "push_shipments", "accepted"),
    [(True, False, True), (False, True, True), (True, True, True), (False, False, False)],
)
def test_push_tracking_needs_a_connector_that_writes_shipments_or_order_statuses(
    monkeypatch: pytest.MonkeyPatch, update_status: bool, push_shipments: bool, accepted: bool
) -> None:
    # Given WooCommerce with or without each way of writing into the store
    use_fake_aws(monkeypatch, REGION)
    connector = woocommerce(update_status=update_status, push_shipments=push_shipments)
    with management_world(definitions={"woocommerce": connector}) as world:
        configure = request("woocommerce", pushTracking=True)

        # When it is configured with pushTracking on
        if accepted:
            # Then it is accepted with either
            assert world.service.configure(A, configure).settings["pushTracking"] is True
        else:
            # Then, with neither, it is refused, naming both, before any call
            assert refused_configuration(world, configure) == (
                "settings.pushTracking: Mercator can write neither shipments nor order statuses into "
                "WooCommerce (connector 'woocommerce' has no push.shipments and no "
                "sync.actions.updateStatus); set it to false"
            )
            assert world.sent == []


@pytest.mark.parametrize(
    ("configure", "expected"),
    [
        (
            request(baseUrl="ftp://files.example.com"),
            "setting baseUrl 'ftp://files.example.com' is not an http",
        ),
        (
            # A catalog source: Mercator writes neither shipments nor statuses there.
            request("crystal", credentials={"apiKey": "k"}, pushTracking=True),
            "settings.pushTracking: Mercator can write neither shipments nor order statuses into Crystal "
            "ERP (connector 'crystal' has no push.shipments and no sync.actions.updateStatus); set it to "
            "false",
        ),
    ],
)
def test_settings_that_cannot_work_are_refused_before_any_call(
    world: ManagementWorld, configure: ConfigureIntegrationRequest, expected: str
) -> None:
    assert expected in refused_configuration(world, configure)
    assert world.sent == []


def test_configuring_the_same_provider_twice_is_a_conflict_and_stores_nothing_more(
    world: ManagementWorld,
) -> None:
    first = world.service.configure(A, request())

    with pytest.raises(ConflictError) as caught:
        world.service.configure(A, request())

    assert str(caught.value).startswith(
        f"Integration already configured: tenant 'tenant-a' already has integration '{first.id}' (active)"
    )
    assert [found.id for found in world.integrations.for_tenant(A)] == [first.id]
    assert world.secret_names() == [f"mercator/credentials/{A}/{first.id}"]
    assert len(world.sent) == 1  # the second configuration never called the store


def test_a_catalog_source_is_stored_as_such_and_a_second_one_is_a_conflict(world: ManagementWorld) -> None:
    # Given tenant A's Salla store named as its catalog source
    first = world.service.configure(A, request(catalogSource=True))
    assert first.settings["catalogSource"] is True

    # When another of its integrations is named the catalog source too
    with pytest.raises(ConflictError) as caught:
        world.service.configure(A, request("woocommerce", catalogSource=True))

    # Then it is refused before any call, naming the one there is
    assert str(caught.value).startswith(
        f"settings.catalogSource: the tenant's catalog source is already '{first.id}'"
    )
    assert len(world.sent) == 1
    # And an integration that is no catalog source stores no such setting
    other = world.service.configure(A, request("woocommerce"))
    assert "catalogSource" not in other.settings


def test_a_pim_is_configured_as_the_catalog_source_without_a_call_and_with_its_app_secret(
    world: ManagementWorld,
) -> None:
    # Given a PIM's app credentials (a PIM calls Mercator; there is nothing of it to call)
    credentials = {"appSecret": "pim-app-secret-of-thirty-two-bytes!", "installationId": "inst-1"}

    # When it is configured as tenant A's catalog source
    pim = world.service.configure(A, request("pim", credentials=credentials, catalogSource=True))

    # Then it is stored, active, with no resource, its credentials kept, and no request sent anywhere
    assert (pim.connector, pim.status, pim.settings["catalogSource"]) == ("pim", "active", True)
    assert pim.resources is None
    assert stored_secret(world, f"mercator/credentials/{A}/{pim.id}") == credentials
    assert world.sent == []

    # And without its app secret it is refused, naming it
    with pytest.raises(ConfigurationError, match="appSecret"):
        world.service.configure(
            B, request("pim", credentials={"installationId": "inst-2"}, catalogSource=True)
        )


def test_a_disabled_integration_still_holds_its_provider(world: ManagementWorld) -> None:
    first = world.service.configure(A, request())
    world.service.disable(A, first.id)

    with pytest.raises(ConflictError, match=r"\(disabled\)"):
        world.service.configure(A, request())


def test_two_tenants_may_each_configure_the_same_provider(world: ManagementWorld) -> None:
    first = world.service.configure(A, request())
    second = world.service.configure(B, request())

    assert first.id != second.id
    assert [i.id for i in world.integrations.for_tenant(A)] == [first.id]
    assert [i.id for i in world.integrations.for_tenant(B)] == [second.id]


def test_no_log_line_holds_a_credential(world: ManagementWorld, caplog: pytest.LogCaptureFixture) -> None:
    # Every logger at DEBUG, botocore as the function keeps it (its DEBUG lines print whole requests).
    caplog.set_level(logging.DEBUG)
    botocore = logging.getLogger("botocore")
    level = botocore.level
    keep_secrets_out_of_aws_logs()
    try:
        logged = configure_and_refuse(world, caplog)
    finally:
        botocore.setLevel(level)

    assert "configured" in logged
    assert "401" in logged
    for secret in SECRET_VALUES:
        assert secret not in logged


def configure_and_refuse(world: ManagementWorld, caplog: pytest.LogCaptureFixture) -> str:
    world.service.configure(A, request("woocommerce"))
    with pytest.raises(ConfigurationError):
        world.service.configure(B, request(baseUrl=GUARDED_SALLA_BASE_URL))

    return caplog.text + " ".join(repr(record.__dict__) for record in caplog.records)


# List


def test_the_tenants_integrations_are_listed_oldest_first_and_no_one_elses(world: ManagementWorld) -> None:
    salla = world.service.configure(A, request())
    world.clock.advance(seconds=5)
    woo = world.service.configure(A, request("woocommerce"))
    world.service.configure(B, request())
    world.service.disable(A, salla.id)

    listed = world.service.integrations(A)

    assert [(i.id, i.connector, i.status) for i in listed] == [
        (salla.id, "salla", "disabled"),
        (woo.id, "woocommerce", "active"),
    ]
    assert world.service.integrations("tenant-c") == []


# Disable


def test_disable_stops_schedules_and_again_changes_nothing(world: ManagementWorld) -> None:
    integration = world.service.configure(A, request())

    disabled = world.service.disable(A, integration.id)
    again = world.service.disable(A, integration.id)

    assert disabled.status == again.status == "disabled"
    assert world.integrations.active() == []
    assert [i.status for i in world.integrations.for_tenant(A)] == ["disabled"]


def test_another_tenants_integration_cannot_be_disabled_and_is_not_found(world: ManagementWorld) -> None:
    integration = world.service.configure(A, request())

    for tenant, integration_id in ((B, integration.id), (A, "no-such-integration")):
        with pytest.raises(NotFoundError) as caught:
            world.service.disable(tenant, integration_id)
        assert str(caught.value) == f"Integration not found: {integration_id!r}"
    assert [i.id for i in world.integrations.active()] == [integration.id]


# Remove


def fill_footprint(
    world: ManagementWorld, integration: Integration, codes: tuple[str, ...] = ("1", "2")
) -> None:
    """Tracked ids, a cursor, a run log, a delivery claim and records, as syncs and webhooks leave them."""
    for resource, content_type in (("orders", "ecommerce:orders"), ("products", "core:product")):
        for code in codes:
            world.tracking.put(
                TrackedId(
                    integration_id=integration.id,
                    resource=resource,
                    external_id=code,
                    content_hash=f"h{code}",
                    first_seen_via="sync",
                )
            )
            world.records.write(
                tenant_id=integration.tenant_id,
                content_type=content_type,
                code=f"{integration.connector}-{code}",
                record={"code": code},
                content_hash=f"h{code}",
                source_updated_at=NOW,
                integration_id=integration.id,
            )
        world.cursors.save_checkpoint(
            integration.id, resource, RunCheckpoint(run_id="run-1", started_at=NOW), attempt="a1"
        )
        world.run_log.add(integration.id, resource, "run-1", RunStats(records=2))
    world.ledger.claim(
        DeliveryClaim(
            integration_id=integration.id,
            dedupe_key="order.created:1",
            event="order.created",
            received_at=NOW,
            outcome="accepted",
        )
    )


def footprint(world: ManagementWorld, integration: Integration) -> dict[str, Any]:
    return {
        "tracked": len(world.tracking.get_many(integration.id, "orders", ["1", "2"]))
        + len(world.tracking.get_many(integration.id, "products", ["1", "2"])),
        "cursors": [world.cursors.get(integration.id, r) is not None for r in ("orders", "products")],
        "run_log": world.run_log.get(integration.id, "orders", "run-1").records,
        "claim": world.ledger.get(integration.id, "order.created:1") is not None,
        "records": sum(
            1
            for content_type in ("ecommerce:orders", "core:product")
            for record in world.records.scan_type(integration.tenant_id, content_type)
            if record.integration_id == integration.id
        ),
    }


FULL = {"tracked": 4, "cursors": [True, True], "run_log": 2, "claim": True, "records": 4}
GONE_KEPT_RECORDS = {"tracked": 0, "cursors": [False, False], "run_log": 0, "claim": False, "records": 4}
GONE = {"tracked": 0, "cursors": [False, False], "run_log": 0, "claim": False, "records": 0}


def test_remove_deletes_the_integration_its_secret_and_state_and_keeps_its_records(
    world: ManagementWorld,
) -> None:
    # Given two integrations of tenant A and one of tenant B, each with its sync state and records
    salla = world.service.configure(A, request())
    woo = world.service.configure(A, request("woocommerce"))
    other = world.service.configure(B, request())
    for integration in (salla, woo, other):
        fill_footprint(world, integration)

    # When tenant A removes its Salla integration
    removal = world.service.remove(A, salla.id)

    # Then it, its secret and its sync state are gone; its records stay
    assert world.integrations.get(salla.id) is None
    assert footprint(world, salla) == GONE_KEPT_RECORDS
    assert (
        removal.tracked_ids,
        removal.cursors,
        removal.run_logs,
        removal.delivery_claims,
        removal.records,
    ) == (
        4,
        2,
        2,
        1,
        0,
    )
    assert world.secret_names() == sorted(
        [f"mercator/credentials/{A}/{woo.id}", f"mercator/credentials/{B}/{other.id}"]
    )
    # And nothing of the other integrations changed
    assert footprint(world, woo) == FULL
    assert footprint(world, other) == FULL
    assert {i.id for i in world.integrations.active()} == {woo.id, other.id}


def test_remove_with_purge_deletes_the_records_it_wrote_last_only(world: ManagementWorld) -> None:
    salla = world.service.configure(A, request())
    woo = world.service.configure(A, request("woocommerce"))
    fill_footprint(world, salla)
    fill_footprint(world, woo)
    # A record both wrote, the other integration last: it is not the removed integration's any more.
    world.records.write(
        tenant_id=A,
        content_type="core:product",
        code="salla-1",
        record={"code": "1", "from": "woo"},
        content_hash="woo",
        source_updated_at=NOW + timedelta(hours=1),
        integration_id=woo.id,
    )

    removal = world.service.remove(A, salla.id, purge=True)

    assert removal.records == 3
    assert footprint(world, salla) == GONE
    stored = world.records.get(A, "core:product", "salla-1")
    assert stored is not None and stored.integration_id == woo.id
    assert footprint(world, woo)["records"] == 5


def test_another_tenant_cannot_remove_an_integration_and_nothing_is_deleted(world: ManagementWorld) -> None:
    integration = world.service.configure(A, request())
    fill_footprint(world, integration)

    with pytest.raises(NotFoundError, match="Integration not found"):
        world.service.remove(B, integration.id, purge=True)

    assert world.integrations.get(integration.id) == integration
    assert footprint(world, integration) == FULL
    assert world.secret_names() == [f"mercator/credentials/{A}/{integration.id}"]


def test_a_removal_cut_short_is_finished_by_asking_again(world: ManagementWorld) -> None:
    # Given a removal that got as far as disabling and deleting the secret
    integration = world.service.configure(A, request())
    fill_footprint(world, integration)
    world.integrations.set_status(integration.id, "disabled")
    world.secrets.delete_secret(SecretId=integration.credentials_arn, ForceDeleteWithoutRecovery=True)

    world.service.remove(A, integration.id)

    assert world.integrations.get(integration.id) is None
    assert footprint(world, integration) == GONE_KEPT_RECORDS


def test_after_removal_the_provider_can_be_configured_again(world: ManagementWorld) -> None:
    first = world.service.configure(A, request())
    world.service.remove(A, first.id)

    second = world.service.configure(A, request())

    assert second.id != first.id
    assert [i.id for i in world.integrations.for_tenant(A)] == [second.id]


# Push subscriptions


def push(endpoint: str = PUSH_ENDPOINT) -> SavePushSubscriptionRequest:
    return SavePushSubscriptionRequest.model_validate(
        {"endpoint": endpoint, "expirationTime": None, "keys": {"p256dh": P256DH, "auth": AUTH}}
    )


def test_a_push_subscription_is_saved_for_the_tenant_only(world: ManagementWorld) -> None:
    saved = world.service.save_push_subscription(A, push())

    assert (saved.tenant_id, saved.endpoint) == (A, PUSH_ENDPOINT)
    assert [s.endpoint for s in world.subscriptions.list(A)] == [PUSH_ENDPOINT]
    assert world.subscriptions.list(B) == []


def test_a_push_subscription_that_is_not_https_is_a_configuration_error(world: ManagementWorld) -> None:
    with pytest.raises(ConfigurationError, match="must be an https URL"):
        world.service.save_push_subscription(A, push("http://push.example.net/push/1"))
    assert world.subscriptions.list(A) == []


# Triggers


SALLA_ORDER_EVENTS = [
    ("order.created", "Order created"),
    ("order.updated", "Order updated"),
    ("order.status.updated", "Order status changed"),
    ("order.deleted", "Order deleted"),
    ("order_status_changed", "Order status changed"),  # the transition trigger, after the webhook ones
]


def test_triggers_are_the_tenants_connectors_events_of_the_entity_type(world: ManagementWorld) -> None:
    world.service.configure(A, request())
    world.service.configure(B, request("woocommerce"))

    found = world.service.triggers(A, "Order")

    assert [(t.guid, t.event, t.name, t.connector) for t in found] == [
        (trigger_id("salla", event), event, name, "salla") for event, name in SALLA_ORDER_EVENTS
    ]
    # Tenant B's WooCommerce triggers are B's alone.
    assert {t.connector for t in world.service.triggers(B, "Order")} == {"woocommerce"}


def test_two_connectors_give_both_sets_of_triggers_oldest_integration_first(world: ManagementWorld) -> None:
    world.service.configure(A, request("shopify"))
    world.clock.advance(minutes=1)
    world.service.configure(A, request())

    found = world.service.triggers(A, "Customer")

    assert [t.connector for t in found] == ["shopify"] * 3 + ["salla"] * 3
    assert all(t.entity_type == "Customer" for t in found)


def test_a_tenant_without_integrations_has_no_triggers_and_salla_gives_its_shipment_triggers(
    world: ManagementWorld,
) -> None:
    assert world.service.triggers(A, "Order") == []
    assert world.service.triggers(A, "Shipment") == []

    world.service.configure(A, request())

    # Salla's shipment webhooks, then the two transition triggers every connector has.
    assert [(t.event, t.name, t.connector) for t in world.service.triggers(A, "Shipment")] == [
        ("shipment.creating", "Shipment being created", "salla"),
        ("shipment.created", "Shipment created", "salla"),
        ("shipment.updated", "Shipment updated", "salla"),
        ("shipment.cancelled", "Shipment cancelled", "salla"),
        ("shipment_status_changed", "Shipment status changed", "salla"),
        ("shipment_delivered", "Shipment delivered", "salla"),
    ]
    assert world.service.triggers(B, "Shipment") == []


def test_an_unknown_entity_type_is_not_found(world: ManagementWorld) -> None:
    with pytest.raises(NotFoundError) as caught:
        world.service.triggers(A, "Invoice")
    assert str(caught.value) == (
        "Entity type not found: 'Invoice'; entity types: Order, Customer, Product, Cart, Shipment"
    )
    with pytest.raises(NotFoundError):
        world.service.workflows(A, "order")


# Workflows


def test_configuring_a_workflow_stores_it_on_the_triggers_connector_event(world: ManagementWorld) -> None:
    world.service.configure(A, request())

    workflow = world.service.configure_workflow(A, workflow_request())

    stored = world.workflows.get(A, workflow.guid)
    assert stored == workflow
    assert (workflow.connector, workflow.trigger, workflow.is_active, workflow.is_managed) == (
        "salla",
        "order.created",
        True,
        False,
    )
    assert workflow.conditions == {"totalAmount": {"gte": 100}}
    assert world.workflows.get(B, workflow.guid) is None


def test_updating_a_workflow_keeps_its_identity_creation_and_state(world: ManagementWorld) -> None:
    world.service.configure(A, request())
    created = world.service.configure_workflow(A, workflow_request())
    world.service.toggle_workflow(A, created.guid)
    world.clock.advance(hours=2)

    updated = world.service.configure_workflow(
        A, workflow_request(guid=created.guid, name="Renamed", triggerId=trigger_id("salla", "order.deleted"))
    )

    assert (updated.guid, updated.name, updated.trigger) == (created.guid, "Renamed", "order.deleted")
    assert updated.is_active is False
    assert updated.created_at == NOW
    assert updated.updated_at == NOW + timedelta(hours=2)
    assert len(world.workflows.for_tenant(A)) == 1


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        # A trigger of another entity type
        ({"triggerId": trigger_id("salla", "product.created")}, "is not a Order trigger"),
        # A trigger of a connector the tenant has no integration of
        ({"triggerId": trigger_id("woocommerce", "order.created")}, "is not a Order trigger"),
        ({"triggerId": "not-a-trigger"}, "GET /api/workflows/triggers/Order lists them"),
        ({"conditions": {"totalAmount": {"between": [1, 2]}}}, "conditions: "),
        (
            {
                "action": {
                    "type": "webhook",
                    "url": "https://x.example",
                    "secretName": "mercator/tenant-b/webhook-keys/key",
                }
            },
            "action.secretName must name a Secrets Manager secret of this tenant: "
            "mercator/tenant-a/webhook-keys/<name>",
        ),
        (
            # The tenant's own part of the namespace, but not one of its signing keys.
            {
                "action": {
                    "type": "webhook",
                    "url": "https://x.example",
                    "secretName": "mercator/tenant-a/key",
                }
            },
            "mercator/tenant-a/webhook-keys/<name>",
        ),
    ],
)
def test_workflows_that_cannot_run_are_configuration_errors(
    world: ManagementWorld, fields: dict[str, Any], expected: str
) -> None:
    world.service.configure(A, request())

    with pytest.raises(ConfigurationError) as caught:
        world.service.configure_workflow(A, workflow_request(**fields))

    assert expected in str(caught.value)
    assert world.workflows.for_tenant(A) == []


def test_a_webhook_signed_with_the_tenants_own_secret_is_accepted(world: ManagementWorld) -> None:
    world.service.configure(A, request())
    action = {
        "type": "webhook",
        "url": "https://x.example/hook",
        "secretName": "mercator/tenant-a/webhook-keys/signing",
    }

    workflow = world.service.configure_workflow(A, workflow_request(action=action))

    assert workflow.action.type == "webhook"


def test_update_status_needs_a_connector_that_can_set_statuses(world: ManagementWorld) -> None:
    world.service.configure(A, request("shopify"))
    action = {"type": "update_status", "status": "fulfilled"}

    with pytest.raises(ConfigurationError, match="Shopify statuses cannot be set from a workflow"):
        world.service.configure_workflow(
            A, workflow_request(triggerId=trigger_id("shopify", "orders/create"), action=action)
        )


def test_another_tenants_workflow_guid_is_not_found_and_stays_as_it_was(world: ManagementWorld) -> None:
    world.service.configure(A, request())
    world.service.configure(B, request())
    theirs = world.service.configure_workflow(A, workflow_request())

    with pytest.raises(NotFoundError, match="Workflow not found"):
        world.service.configure_workflow(B, workflow_request(guid=theirs.guid, name="Taken over"))
    for operation in (world.service.toggle_workflow, world.service.delete_workflow):
        with pytest.raises(NotFoundError, match="Workflow not found"):
            operation(B, theirs.guid)

    assert world.workflows.get(A, theirs.guid) == theirs
    assert world.service.workflows(B, "Order") == []


def put_workflow(
    world: ManagementWorld, guid: str, *, entity_type: str = "Order", managed: bool = False
) -> Workflow:
    workflow = Workflow.model_validate(
        {
            "guid": guid,
            "tenant_id": A,
            "name": guid,
            "entity_type": entity_type,
            "connector": "salla",
            "trigger": "order.created" if entity_type == "Order" else "customer.created",
            "action": {"type": "send_email", "recipient": "customer", "template": "t"},
            "is_managed": managed,
            "created_at": NOW,
            "updated_at": NOW,
        }
    )
    world.workflows.put(A, workflow)
    return workflow


def test_configured_workflows_of_an_entity_type_leave_managed_ones_out_unless_asked(
    world: ManagementWorld,
) -> None:
    put_workflow(world, "mine")
    put_workflow(world, "managed", managed=True)
    put_workflow(world, "customers", entity_type="Customer")

    assert [w.guid for w in world.service.workflows(A, "Order")] == ["mine"]
    assert sorted(w.guid for w in world.service.workflows(A, "Order", include_managed=True)) == [
        "managed",
        "mine",
    ]
    assert [w.guid for w in world.service.workflows(A, "Customer")] == ["customers"]


def test_toggle_flips_and_delete_removes(world: ManagementWorld) -> None:
    put_workflow(world, "wf")

    assert world.service.toggle_workflow(A, "wf").is_active is False
    assert world.service.toggle_workflow(A, "wf").is_active is True
    world.service.delete_workflow(A, "wf")

    assert world.workflows.get(A, "wf") is None
    with pytest.raises(NotFoundError):
        world.service.delete_workflow(A, "wf")


# Resume


def paused_execution(world: ManagementWorld, workflow: Workflow, tenant: str = A) -> WorkflowExecution:
    event = change_event(tenant_id=tenant, code="981")
    execution = WorkflowExecution(
        id=execution_id(event, workflow.guid),
        tenant_id=tenant,
        workflow_guid=workflow.guid,
        event=event,
        status="paused",
        attempts=3,
        reason="the mail server refused the message",
        started_at=NOW,
        finished_at=NOW,
    )
    world.executions.put(tenant, execution)
    return execution


def test_resume_runs_the_paused_action_again_once(world: ManagementWorld) -> None:
    execution = paused_execution(world, put_workflow(world, "wf"))

    resumed = world.service.resume(A, execution.id)

    assert (resumed.status, resumed.attempts, resumed.reason) == ("succeeded", 4, None)
    assert world.runner.runs == [("wf", "981")]
    assert world.executions.paused(A) == []


def test_a_resume_whose_action_fails_again_pauses_with_the_new_reason(world: ManagementWorld) -> None:
    execution = paused_execution(world, put_workflow(world, "wf"))
    world.runner.fail = "the template order_received does not exist"

    resumed = world.service.resume(A, execution.id)

    assert (resumed.status, resumed.reason) == ("paused", "the template order_received does not exist")


def test_resume_refuses_what_is_not_paused_or_not_the_tenants(world: ManagementWorld) -> None:
    execution = paused_execution(world, put_workflow(world, "wf"))

    with pytest.raises(NotFoundError, match="Workflow execution not found"):
        world.service.resume(B, execution.id)
    with pytest.raises(NotFoundError, match="Workflow execution not found"):
        world.service.resume(A, "no-such-execution")
    world.service.resume(A, execution.id)
    with pytest.raises(ConflictError, match="is succeeded, not paused"):
        world.service.resume(A, execution.id)
    assert world.runner.runs == [("wf", "981")]

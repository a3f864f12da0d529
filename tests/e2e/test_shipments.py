"""The Integrations API's own example workflow end to end, on the local stack, one store flavor at a time.

Seed 004's "Customer Delivery Notification" (entity Shipment, action send_email to the customer with
template delivery_confirmation, conditions {"status": "delivered"}) is configured through the
Integrations API on the connector's ``shipment_delivered`` trigger. The store ships orders and its
carrier reports some delivered; the platform's own signed webhooks reach WebhookIntake over HTTP
(Shopify's fulfillments and fulfillment events, Salla's shipments), or, where the platform has no
shipment webhooks, the shipments schedule lists them. SES (moto) must then hold exactly one templated
email per delivered shipment, to the buyer, and none for the store's history, a copy or a replay of a
delivery, or a sync that finds nothing new.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

from mercator.cli.api_client import IntegrationsApiClient
from mercator.connector import load_shipped
from mercator.services.registration import register_integration
from mercator.state.api_keys import DynamoApiKeys
from mercator.state.integrations import DynamoIntegrations
from mercator.state.record_store import DynamoRecords
from mercator.state.secrets import SecretsVault
from mercator_local import LocalStack
from mercator_sandbox import Delivery, Sandbox, WebhookConfig
from mercator_sandbox.app import FlavorName
from tests.e2e.catalog import STORE_CREDENTIALS
from tests.e2e.support import RATE_LIMIT, TENANT, SteppingClock, still_store_time

# Flavors whose shipments arrive by webhook; the others' by the shipments schedule alone.
WEBHOOK_FLAVORS: tuple[FlavorName, ...] = ("shopify", "salla")
SHIPMENT_FLAVORS: tuple[FlavorName, ...] = (*WEBHOOK_FLAVORS, "zid", "woocommerce")
SIZES = {"orders": 24, "products": 2, "customers": 4, "carts": 0}
WEBHOOK_SECRET = "whsec-e2e-shipments"
TEMPLATE = "delivery_confirmation"


def seed_workflow(trigger_id: str) -> dict[str, Any]:
    """Seed 004's example body, verbatim but for the trigger's id."""
    return {
        "name": "Customer Delivery Notification",
        "entityType": "Shipment",
        "triggerId": trigger_id,
        "action": {"type": "send_email", "recipient": "customer", "template": "delivery_confirmation"},
        "conditions": {"status": "delivered"},
    }


@dataclass
class ShipmentWorld:
    stack: LocalStack
    store: Sandbox
    api: IntegrationsApiClient
    webhook_url: str
    integration_id: str
    sent: list[Delivery] = field(default_factory=list)

    @property
    def flavor(self) -> FlavorName:
        return self.store.config.flavor

    def post_webhooks(self) -> None:
        """Post the store's queued deliveries, in order (kept, to be posted again as copies)."""
        emitter = self.store.emitter
        if emitter is None:
            return
        batch, emitter.pending = emitter.pending, []
        self.sent += batch
        self.repost(batch)

    def repost(self, deliveries: list[Delivery]) -> None:
        """Post deliveries as the platform does; again: its retries, the same bodies and ids."""
        with httpx.Client(timeout=60) as client:
            for delivery in deliveries:
                answer = client.post(self.webhook_url, content=delivery.body, headers=delivery.headers)
                assert answer.status_code < 300, (delivery.event, answer.status_code, answer.text)

    def work(self) -> None:
        """Work every queue until all are empty: intake's change events dispatched, emails sent."""
        report = self.stack.runner.run_until_idle()
        assert report.idle, "the queues did not drain"

    def sync(self, *families: str) -> None:
        for family in families:
            self.stack.runner.invoke_schedule("ScheduledSyncFunction", family)
        self.work()

    def arrive(self) -> None:
        """What the store did reaches Mercator: its webhooks, else the shipments schedule."""
        if self.flavor in WEBHOOK_FLAVORS:
            self.post_webhooks()
            self.work()
        else:
            self.sync("shipments")

    def emails(self) -> list[Any]:
        region = self.stack.client("ses").meta.region_name
        return [
            message
            for message in ses_backends[DEFAULT_ACCOUNT_ID][region].sent_messages
            if getattr(message, "template", None) is not None
        ]

    def buyer(self, order_id: int) -> str:
        """The buyer's email as the order's own record (the orders resource's mapping) has it."""
        records = DynamoRecords(self.stack.client("dynamodb"), self.stack.table_name("RecordsTable"))
        order = records.get(TENANT, "ecommerce:orders", str(order_id))
        assert order is not None, f"order {order_id} was not synced"
        email: str = order.record["customer"]["email"]
        return email

    def unshipped_orders(self) -> list[int]:
        return [order for order in sorted(self.store.store.ids("orders")) if not self.store.shipments(order)]


@contextmanager
def shipment_world(flavor: FlavorName, *, push_tracking: bool = False) -> Iterator[ShipmentWorld]:
    with LocalStack(clock=SteppingClock(), retry_after_seconds=0) as stack:
        api_url = stack.serve_api()
        integration_id = f"{TENANT}-{flavor}"
        webhook_url = f"{api_url}/webhooks/{integration_id}"
        # The test posts the deliveries itself, when it means to, rather than every half second.
        webhooks = (
            WebhookConfig(url=webhook_url, secret=WEBHOOK_SECRET, flush_interval=3_600)
            if flavor in WEBHOOK_FLAVORS
            else None
        )
        store = Sandbox(
            flavor, seed=23, sizes=SIZES, rate_limit=None, clock=still_store_time, webhooks=webhooks
        )
        origin = stack.serve_sandbox(store)
        register_integration(
            DynamoIntegrations(stack.client("dynamodb"), stack.table_name("StateTable")),
            SecretsVault(stack.client("secretsmanager")),
            load_shipped(flavor),
            tenant_id=TENANT,
            integration_id=integration_id,
            credentials={**STORE_CREDENTIALS[flavor], "webhookSecret": WEBHOOK_SECRET},
            settings={
                "baseUrl": store.base_url(origin),
                "rateLimitPerSecond": RATE_LIMIT,
                "pushTracking": push_tracking,
            },
        )
        # The tenant's SES: the sender verified, the template the workflow names created.
        ses = stack.client("ses")
        ses.verify_email_identity(EmailAddress=stack.environment("TriggerDispatchFunction")["SENDER_EMAIL"])
        ses.create_template(
            Template={
                "TemplateName": TEMPLATE,
                "SubjectPart": "Your order {{record.orderCode}} was delivered",
                "TextPart": "Hello {{record.customer.name}}, {{record.carrier}} delivered it.",
                "HtmlPart": "<p>Hello {{record.customer.name}}, {{record.carrier}} delivered it.</p>",
            }
        )
        key = DynamoApiKeys(stack.client("dynamodb"), stack.table_name("StateTable")).create(TENANT).key
        with IntegrationsApiClient(api_url, key) as api:
            yield ShipmentWorld(stack, store, api, webhook_url, integration_id)


@pytest.mark.parametrize("flavor", SHIPMENT_FLAVORS)
def test_the_seed_workflow_emails_each_buyer_once_when_their_shipment_is_delivered(
    flavor: FlavorName,
) -> None:
    with shipment_world(flavor) as world:
        # Given the seed's example workflow, configured through the Integrations API on the trigger
        # the API offers for Shipment deliveries
        offered = {option["code"]: option for option in world.api.triggers("Shipment")}
        assert {"shipment_delivered", "shipment_status_changed"} <= set(offered)
        created = world.api.configure_workflow(seed_workflow(offered["shipment_delivered"]["guid"]))
        assert created["isActive"] is True

        # And the store's history imported: orders and shipments, some of them delivered long ago
        world.sync("customers", "orders", "shipments")
        assert world.emails() == []

        # When the store ships three orders, and its carrier reports two of them delivered
        orders = world.unshipped_orders()[:3]
        assert len(orders) == 3
        shipments = [
            world.store.ship(order, carrier="Aramex", tracking_number=f"TRK{order}") for order in orders
        ]
        world.arrive()
        assert world.emails() == [], "a shipment in transit is not delivered"
        for shipment in shipments[:2]:
            world.store.set_shipment_status(shipment["id"], "delivered")
        world.arrive()

        # Then SES sent exactly two templated emails, one to each buyer whose parcel was delivered
        emails = world.emails()
        assert sorted(message.destinations["ToAddresses"][0] for message in emails) == sorted(
            world.buyer(order) for order in orders[:2]
        )
        assert {message.template for message in emails} == {TEMPLATE}
        for message in emails:
            data = json.loads(message.template_data)
            assert data["record"]["status"] == "delivered"
            assert data["context"]["trigger"] == "shipment_delivered"
            # Where Mercator saw it in transit first, the email knows where it came from; a WooCommerce
            # order is listed as a shipment once processing or completed, and may be first seen delivered.
            if flavor != "woocommerce":
                assert data["changes"]["status"] == {"from": "in_transit", "to": "delivered"}

        # When the platform sends every delivery again, and the schedules list everything again
        world.repost(world.sent)
        world.work()
        world.sync("orders", "shipments")

        # Then no email more
        assert len(world.emails()) == 2

        # When the third is delivered too
        world.store.set_shipment_status(shipments[2]["id"], "delivered")
        world.arrive()

        # Then its buyer gets the third email, and no one a second
        assert sorted(message.destinations["ToAddresses"][0] for message in world.emails()) == sorted(
            world.buyer(order) for order in orders
        )


PUSH_FLAVORS: tuple[FlavorName, ...] = ("shopify", "salla", "zid", "woocommerce")


@pytest.mark.parametrize("flavor", PUSH_FLAVORS)
def test_a_shipment_sent_through_the_api_is_in_the_store_with_its_tracking_and_its_delivery_emails_once(
    flavor: FlavorName,
) -> None:
    with shipment_world(flavor, push_tracking=True) as world:
        offered = {option["code"]: option for option in world.api.triggers("Shipment")}
        world.api.configure_workflow(seed_workflow(offered["shipment_delivered"]["guid"]))
        world.sync("customers", "orders", "shipments")
        [order] = world.unshipped_orders()[:1]

        # When the tenant ships the order through the Integrations API (pushTracking)
        answer = world.api.ship(
            {
                "integrationId": world.integration_id,
                "orderCode": str(order),
                "shipmentId": f"T-{order}",
                "carrier": "DHL",
                "trackingNumber": f"JD{order}",
                "trackingUrl": f"https://www.dhl.com/track?AWB=JD{order}",
            }
        )
        assert answer["status"] == "queued"
        world.stack.runner.drain("PushJobsQueue")

        # Then the store holds the tracking, on one shipment of the order
        [shipment] = world.store.shipments(order)
        assert shipment["tracking_numbers"] == [f"JD{order}"]
        assert world.api.shipment(world.integration_id, f"T-{order}")["status"] == "pushed"
        assert world.stack.receive_all("PushDLQ") == []

        # When what the store did comes back, and its carrier reports the parcel delivered
        world.arrive()
        world.store.set_shipment_status(shipment["id"], "delivered")
        world.arrive()
        world.sync("shipments")

        # Then its buyer got one email
        assert [message.destinations["ToAddresses"][0] for message in world.emails()] == [world.buyer(order)]

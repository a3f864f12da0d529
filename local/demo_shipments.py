"""The demo's shipment phase: the Integrations API's own example workflow, on the demo's Salla store.

1. The tenant's SES holds the sender and the ``delivery_confirmation`` template; seed 004's example
   workflow ("Customer Delivery Notification": entity Shipment, send_email to the customer, conditions
   status delivered) is configured through the Integrations API on Salla's ``shipment_delivered``.
2. The store's shipments so far are listed (the first import: history, which fires nothing).
3. The tenant ships orders through ``POST /api/shipments`` (pushTracking); CatalogPush writes each
   into the store as a Salla shipment with its tracking, and the store's webhooks of those writes come
   back to WebhookIntake.
4. The store's carrier reports some of them delivered; its webhooks reach Mercator (shuffled and some
   sent twice, as the demo's store sends them, but none dropped: Salla's shipments carry no update time,
   so a listing cannot tell a delivered shipment from the in-transit version a webhook brought later,
   and does not replace it), and the shipments schedule lists them too.
5. SES must hold exactly one email per delivered shipment, to its buyer; posting every delivery again
   and listing the shipments again sends none.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends
from rich.console import Console
from rich.table import Table

from mercator.cli.api_client import IntegrationsApiClient
from mercator.state.record_store import DynamoRecords
from mercator_local import LocalStack
from mercator_sandbox import Delivery, Sandbox

SHIPPED = 12  # orders the tenant ships through the API
DELIVERED = 8  # of those, reported delivered by the store's carrier
TEMPLATE = "delivery_confirmation"
CARRIER = "Aramex"


def seed_workflow(trigger_id: str) -> dict[str, object]:
    """Seed 004's example body, verbatim but for the trigger's id."""
    return {
        "name": "Customer Delivery Notification",
        "entityType": "Shipment",
        "triggerId": trigger_id,
        "action": {"type": "send_email", "recipient": "customer", "template": "delivery_confirmation"},
        "conditions": {"status": "delivered"},
    }


@dataclass
class ShipmentCounts:
    shipped: int = 0  # shipments the API accepted
    tracked: int = 0  # of them, in the store with the tenant's tracking number and carrier
    delivered: int = 0  # reported delivered by the store's carrier
    emails: int = 0  # templated emails SES sent after the deliveries
    right_buyers: bool = False  # each to the buyer of a delivered shipment, once
    emails_after_replays: int = 0  # after every delivery posted again and the shipments listed again
    posted: int = 0  # store webhook deliveries posted (copies included)
    problems: list[str] = field(default_factory=list)


class ShipmentDemo:
    """The store, the tenant's API, and the work that moves shipments and their emails."""

    def __init__(
        self,
        stack: LocalStack,
        api: IntegrationsApiClient,
        *,
        store: Sandbox,
        store_integration: str,
        tenant: str,
        work: Callable[[], bool],
        client: Callable[[], httpx.AsyncClient],
    ) -> None:
        self.stack = stack
        self.api = api
        self.store = store
        self.store_integration = store_integration
        self.tenant = tenant
        self.work = work
        self.client = client
        self.sent: list[Delivery] = []
        self.records = DynamoRecords(stack.client("dynamodb"), stack.table_name("RecordsTable"))

    def prepare(self) -> None:
        """The tenant's SES and the seed's workflow, then the store's shipments so far (history)."""
        ses = self.stack.client("ses")
        ses.verify_email_identity(
            EmailAddress=self.stack.environment("TriggerDispatchFunction")["SENDER_EMAIL"]
        )
        ses.create_template(
            Template={
                "TemplateName": TEMPLATE,
                "SubjectPart": "Your order {{record.orderCode}} was delivered",
                "TextPart": "Hello {{record.customer.name}}, {{record.carrier}} delivered your order.",
                "HtmlPart": "<p>Hello {{record.customer.name}}, {{record.carrier}} delivered your order.</p>",
            }
        )
        offered = {option["code"]: option for option in self.api.triggers("Shipment")}
        self.api.configure_workflow(seed_workflow(offered["shipment_delivered"]["guid"]))
        self.sync_shipments()

    def sync_shipments(self) -> bool:
        self.stack.runner.invoke_schedule("ScheduledSyncFunction", "shipments")
        return self.work()

    def unshipped(self) -> list[int]:
        """Orders Mercator synced (with a buyer to email) that the store has not shipped."""
        found = []
        for order in sorted(self.store.store.ids("orders")):
            record = self.records.get(self.tenant, "ecommerce:orders", str(order))
            email = (record.record.get("customer") or {}).get("email") if record is not None else None
            if email and not self.store.shipments(order):
                found.append(order)
        return found

    def ship(self, orders: list[int]) -> int:
        """Ship through the Integrations API; CatalogPush writes each into the store."""
        for order in orders:
            self.api.ship(
                {
                    "integrationId": self.store_integration,
                    "orderCode": str(order),
                    "shipmentId": f"demo-{order}",
                    "carrier": CARRIER,
                    "trackingNumber": f"AWB{order}",
                    "trackingUrl": f"https://www.aramex.com/track/results?ShipmentNumber=AWB{order}",
                }
            )
        self.stack.runner.drain("PushJobsQueue")
        return sum(
            1
            for order in orders
            if any(
                shipment["tracking_numbers"] == [f"AWB{order}"] and shipment["carrier"] == CARRIER
                for shipment in self.store.shipments(order)
            )
        )

    def post_webhooks(self, *, keep: bool = True) -> int:
        """The store's queued deliveries, posted as it sends them (kept, to be sent again later); how
        many posts that made (copies included)."""
        emitter = self.store.emitter
        assert emitter is not None
        if keep:
            self.sent += emitter.pending

        async def post() -> int:
            client = self.client()
            emitter.use_client(client)
            try:
                return len(await emitter.flush())
            finally:
                await client.aclose()

        posted = asyncio.run(post())
        self.work()
        return posted

    def repost_all(self) -> int:
        """Every delivery of the phase again, as the platform's retries: the same bodies and ids."""
        emitter = self.store.emitter
        assert emitter is not None
        emitter.pending = list(self.sent)
        return self.post_webhooks(keep=False)

    def emails(self) -> list[tuple[str, str]]:
        """(recipient, template) of every templated email SES sent."""
        region = self.stack.client("ses").meta.region_name
        return [
            (message.destinations["ToAddresses"][0], message.template)
            for message in ses_backends[DEFAULT_ACCOUNT_ID][region].sent_messages
            if getattr(message, "template", None) is not None
        ]

    def buyer(self, order: int) -> str:
        record = self.records.get(self.tenant, "ecommerce:orders", str(order))
        assert record is not None
        email: str = record.record["customer"]["email"]
        return email

    def run(self) -> ShipmentCounts:
        counts = ShipmentCounts()
        self.prepare()
        if self.emails():
            counts.problems.append(f"the store's history sent {len(self.emails())} email(s)")
        orders = self.unshipped()[:SHIPPED]
        counts.shipped = len(orders)
        counts.tracked = self.ship(orders)
        counts.posted += self.post_webhooks()
        delivered = orders[:DELIVERED]
        for order in delivered:
            for shipment in self.store.shipments(order):
                self.store.set_shipment_status(shipment["id"], "delivered")
        counts.delivered = len(delivered)
        counts.posted += self.post_webhooks()
        self.sync_shipments()
        sent = self.emails()
        counts.emails = len(sent)
        counts.right_buyers = sorted(to for to, _ in sent) == sorted(self.buyer(o) for o in delivered) and {
            template for _, template in sent
        } <= {TEMPLATE}
        counts.posted += self.repost_all()
        self.sync_shipments()
        counts.emails_after_replays = len(self.emails())
        return counts


def report_shipments(console: Console, counts: ShipmentCounts) -> bool:
    table = Table(title="Shipments through the Salla store", title_justify="left")
    for column in (
        "shipped via API",
        "tracking in store",
        "delivered",
        "emails",
        "after replays",
        "webhooks",
    ):
        table.add_column(column, justify="right")
    table.add_row(
        *(
            str(n)
            for n in (
                counts.shipped,
                counts.tracked,
                counts.delivered,
                counts.emails,
                counts.emails_after_replays,
                counts.posted,
            )
        )
    )
    console.print(table)
    ok = not counts.problems
    for problem in counts.problems:
        console.print(f"  [red]{problem}[/]")
    if counts.shipped != SHIPPED or counts.tracked != counts.shipped:
        ok = False
        console.print(
            f"  [red]{counts.tracked} of {counts.shipped} shipments are in the store with their tracking "
            f"({SHIPPED} wanted)[/]"
        )
    if counts.emails != counts.delivered or not counts.right_buyers:
        ok = False
        console.print(
            f"  [red]{counts.emails} delivery emails for {counts.delivered} delivered shipments "
            f"({'each to its buyer' if counts.right_buyers else 'not each to its buyer'})[/]"
        )
    if counts.emails_after_replays != counts.emails:
        ok = False
        more = counts.emails_after_replays - counts.emails
        console.print(f"  [red]replays and a re-sync sent {more} more email(s)[/]")
    if ok:
        console.print(
            f"  {counts.shipped} orders shipped through POST /api/shipments, each in the store with its "
            f"tracking; {counts.delivered} delivered, {counts.emails} emails, one to each buyer; none "
            "more after every delivery was posted again and the shipments listed again"
        )
    return ok

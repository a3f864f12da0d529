"""pushTracking's two sides against fakes: tenant requests kept and queued, jobs written into a
scripted store that answers as Shopify's fulfillment API does (fulfillment orders, fulfillments,
update_tracking), with its faults: answers lost after the write landed, refusals, rate limits."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from mercator.api.schemas import ShipmentRequest
from mercator.connector import ConnectorDefinition
from mercator.domain.entities import Integration, StoredRecord
from mercator.domain.messages import ShipmentPushJob
from mercator.domain.pages import ClientStats
from mercator.domain.provider_errors import ProviderHTTPError, ProviderTimeoutError
from mercator.services.push_ports import PushedShipment
from mercator.services.shipment_requests import Accepted, ShipmentRequests
from mercator.services.tracking_push import ShipmentOutcome, ShipmentPushService
from tests.unit.services.fakes import FakeClock, FakeIntegrations, FakeQueue, FakeVault
from tests.unit.services.support import tweaked_connector
from tests.unit.services.test_catalog_push import Connectors, FakeLocks

TENANT = "acme"
STORE = "acme-shop"
ORDER = "450789469"
FULFILLMENT_ORDER = 1046000778
TRACKING_INFO = {"number": "store.key", "company": "carrier", "url": "trackingUrl"}

SHIPMENTS_BLOCK: dict[str, Any] = {
    "lookup": {
        "fulfillmentOrderId": {
            "endpoint": {"url": "/orders/{order}/fulfillment_orders.json"},
            "path": "fulfillment_orders[0].id",
        }
    },
    "find": {
        "endpoint": {"url": "/orders/{order}/fulfillments.json"},
        "records": "fulfillments",
        "match": "tracking_number",
    },
    "create": {
        "endpoint": {"method": "POST", "url": "/fulfillments.json"},
        "body": {
            "fulfillment": {
                "fulfillment_order_id": {"path": "store.fulfillmentOrderId", "transform": "toNumberOrNull"},
                "tracking_info": TRACKING_INFO,
            }
        },
        "record": "fulfillment",
    },
    "update": {
        "endpoint": {"method": "POST", "url": "/fulfillments/{id}/update_tracking.json"},
        "body": {"fulfillment": {"tracking_info": TRACKING_INFO}},
        "record": "fulfillment",
    },
    "ids": {"id": "id"},
    "refusal": "errors",
}
BUYER = {"code": "207119551", "name": "Bob Norman", "email": "bob.norman@example.com"}


def definition(block: Mapping[str, Any] | None = SHIPMENTS_BLOCK) -> ConnectorDefinition:
    """Shopify with ``block`` as its push.shipments (None: no push block at all)."""

    def set_push(document: dict[str, Any]) -> None:
        if block is None:
            document.pop("push", None)
        else:
            document["push"] = {"shipments": dict(block)}

    return tweaked_connector("shopify", set_push)


class FakeShopifyFulfillments:
    """A store's fulfillment API in memory, as one integration's session calls it."""

    def __init__(self) -> None:
        self.orders: dict[str, list[dict[str, Any]]] = {ORDER: [{"id": FULFILLMENT_ORDER, "order_id": ORDER}]}
        self.fulfillments: dict[int, dict[str, Any]] = {}
        self.next_id = 255858046
        self.stats = ClientStats()
        self.calls: list[tuple[str, str, Any]] = []
        self.lose_create_answers = 0
        self.fail_next: int | None = None  # a status the next call answers (429, 500...)
        self.time_out_finds = 0  # finds that get no answer
        self.closed = 0

    async def call(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any],
        body: Any = None,
        once: bool = False,
        where: str = "push",
    ) -> Any:
        self.stats.requests += 1
        self.calls.append((method, url, body))
        if self.fail_next is not None:
            status, self.fail_next = self.fail_next, None
            if status == 429:
                self.stats.throttled += 1
            raise ProviderHTTPError(status, method, url, "busy", answer={"errors": "busy"})
        parts = url.strip("/").split("/")
        if method == "GET" and parts[0] == "orders":
            order = parts[1]
            if order not in self.orders:
                self._refuse(404, method, url, "Not Found")
            if parts[2] == "fulfillment_orders.json":
                return {"fulfillment_orders": self.orders[order]}
            if self.time_out_finds:
                self.time_out_finds -= 1
                raise ProviderTimeoutError(method, url, 10.0)
            return {"fulfillments": [f for f in self.fulfillments.values() if f["order_id"] == order]}
        if method == "POST" and url == "/fulfillments.json":
            return self._create(body["fulfillment"], method, url)
        if method == "POST" and parts[0] == "fulfillments" and parts[2] == "update_tracking.json":
            fulfillment = self.fulfillments[int(parts[1])]
            fulfillment |= _tracking(body["fulfillment"]["tracking_info"])
            return {"fulfillment": dict(fulfillment)}
        raise AssertionError(f"unexpected call {method} {url}")

    def _create(self, sent: dict[str, Any], method: str, url: str) -> Any:
        owner = next(
            (
                order
                for order, items in self.orders.items()
                if items and items[0]["id"] == sent.get("fulfillment_order_id")
            ),
            None,
        )
        if owner is None:
            self._refuse(422, method, url, {"fulfillment_order_id": ["is invalid"]})
        if not sent["tracking_info"].get("company"):
            self._refuse(422, method, url, {"tracking_company": ["can't be blank"]})
        fulfillment = {"id": self.next_id, "order_id": owner, "status": "success"} | _tracking(
            sent["tracking_info"]
        )
        self.fulfillments[self.next_id] = fulfillment
        self.next_id += 1
        if self.lose_create_answers:
            self.lose_create_answers -= 1
            raise ProviderTimeoutError(method, url, 10.0)
        return {"fulfillment": dict(fulfillment)}

    @staticmethod
    def _refuse(status: int, method: str, url: str, errors: Any) -> None:
        answer = {"errors": errors}
        raise ProviderHTTPError(status, method, url, json.dumps(answer), answer=answer)

    async def aclose(self) -> None:
        self.closed += 1

    def writes(self) -> list[tuple[str, str]]:
        return [(method, url) for method, url, _ in self.calls if method != "GET"]


def _tracking(info: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "tracking_number": info.get("number"),
        "tracking_company": info.get("company"),
        "tracking_url": info.get("url"),
    }


class FakeSessions:
    def __init__(self, session: FakeShopifyFulfillments) -> None:
        self.session = session
        self.opened = 0

    def open(self, definition: ConnectorDefinition, integration: Integration, credentials: Any) -> Any:
        self.opened += 1
        return self.session


class FakeShipmentLedger:
    """The ledger as DynamoPushedShipments keeps it: the tenant's side and the worker's written apart."""

    REQUEST_FIELDS = (
        "tenant_id",
        "order_code",
        "record",
        "request_hash",
        "requested_at",
        "state",
        "settled_hash",
    )

    def __init__(self) -> None:
        self.entries: dict[tuple[str, str], PushedShipment] = {}
        # Fail the save that records a create's answer this many times (the state table unreachable).
        self.fail_answer_saves = 0

    def get(self, integration_id: str, shipment: str) -> PushedShipment | None:
        return self.entries.get((integration_id, shipment))

    def save_request(self, entry: PushedShipment) -> None:
        self._merge(entry, self.REQUEST_FIELDS)

    def save_progress(self, entry: PushedShipment) -> None:
        if entry.state == "creating" and entry.creating_key is None and self.fail_answer_saves:
            self.fail_answer_saves -= 1
            raise RuntimeError("the state table is unreachable")
        worker = [name for name in PushedShipment.model_fields if name not in self.REQUEST_FIELDS]
        self._merge(entry, (*worker, "state", "settled_hash"))

    def _merge(self, entry: PushedShipment, names: tuple[str, ...] | list[str]) -> None:
        key = (entry.integration_id, entry.shipment)
        stored = self.entries.get(key)
        if stored is None:
            self.entries[key] = entry
            return
        self.entries[key] = stored.model_copy(update={name: getattr(entry, name) for name in names})


class FakeOrders:
    def __init__(self) -> None:
        self.records: dict[tuple[str, str], StoredRecord] = {}

    def put(
        self, code: str, *, integration_id: str = STORE, tenant_id: str = TENANT, deleted: bool = False
    ) -> None:
        record = {"code": code, "status": "paid", "totalAmount": 10.0, "currency": "USD", "customer": BUYER}
        self.records[(tenant_id, code)] = StoredRecord(
            tenant_id=tenant_id,
            content_type="ecommerce:orders",
            code=code,
            record=record,
            content_hash="h",
            integration_id=integration_id,
            version=1,
            deleted=deleted,
        )

    def get(self, tenant_id: str, content_type: str, code: str) -> StoredRecord | None:
        assert content_type == "ecommerce:orders"
        return self.records.get((tenant_id, code))


def store_integration(**settings: Any) -> Integration:
    return Integration(
        id=STORE,
        tenant_id=TENANT,
        connector="shopify",
        settings={"pushTracking": True} | settings,
        credentials_arn=f"arn:{STORE}",
        created_at=datetime(2025, 1, 1, tzinfo=UTC),
    )


def request(**fields: Any) -> ShipmentRequest:
    body = {
        "integrationId": STORE,
        "orderCode": ORDER,
        "shipmentId": "SHP-1",
        "carrier": "UPS",
        "trackingNumber": "1Z999AA10123456784",
        "trackingUrl": "https://www.ups.com/track?tracknum=1Z999AA10123456784",
    }
    return ShipmentRequest.model_validate(body | fields)


@dataclass
class ShipmentWorld:
    store: FakeShopifyFulfillments = field(default_factory=FakeShopifyFulfillments)
    ledger: FakeShipmentLedger = field(default_factory=FakeShipmentLedger)
    orders: FakeOrders = field(default_factory=FakeOrders)
    locks: FakeLocks = field(default_factory=FakeLocks)
    push_jobs: FakeQueue = field(default_factory=lambda: FakeQueue("PushJobs"))
    dead_letters: FakeQueue = field(default_factory=lambda: FakeQueue("PushDLQ"))
    integrations: FakeIntegrations = field(default_factory=lambda: FakeIntegrations(store_integration()))
    clock: FakeClock = field(default_factory=FakeClock)
    connector: ConnectorDefinition = field(default_factory=definition)

    def __post_init__(self) -> None:
        self.orders.put(ORDER)
        self.sessions = FakeSessions(self.store)

    def requests(self) -> ShipmentRequests:
        return ShipmentRequests(
            records=self.orders, ledger=self.ledger, push_jobs=self.push_jobs, clock=self.clock
        )

    def service(self) -> ShipmentPushService:
        return ShipmentPushService(
            integrations=self.integrations,
            vault=FakeVault({f"arn:{STORE}": {"accessToken": "shpat_x", "shopDomain": "acme.myshopify.com"}}),
            connectors=Connectors([self.connector]),
            sessions=self.sessions,
            ledger=self.ledger,
            locks=self.locks,
            dead_letters=self.dead_letters,
            clock=self.clock,
        )

    def ask(self, **fields: Any) -> Accepted:
        integration = self.integrations.get(STORE)
        assert integration is not None
        return self.requests().accept(integration, request(**fields))

    async def work(self) -> list[ShipmentOutcome]:
        """Run every job queued so far, in order, as CatalogPush takes them off the queue."""
        outcomes = []
        for body in self.push_jobs.take():
            outcomes.append(await self.service().run_shipment_job(ShipmentPushJob.parse(body), lambda: 300.0))
        return outcomes

    def entry(self, shipment: str = "SHP-1") -> PushedShipment:
        found = self.ledger.get(STORE, shipment)
        assert found is not None
        return found

"""The API's side of pushTracking: a tenant's shipment request kept in the ledger and queued.

``POST /api/shipments`` names a store integration (checked by ManagementService: the tenant's, active,
on a connector with ``push.shipments``, with ``settings.pushTracking`` on) and one of its orders as
Mercator synced it. The request becomes the canonical ``ecommerce:shipments`` record (code: the
tenant's shipment id; the buyer copied from the stored order, so a ``send_email`` to ``customer``
reaches them), validated like any record, kept in the shipment ledger, and a ShipmentPushJob is sent
for CatalogPush to write it (mercator.services.tracking_push).

Idempotent per shipment id: the same request for a shipment the store holds as asked is answered
with its state, and nothing is queued; a changed request (new tracking) for the same id replaces
the one kept and is written over the store's shipment. A shipment id stays with its order.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from mercator.api.schemas import ShipmentRequest
from mercator.domain.clock import utc_now
from mercator.domain.content_types import validate_record
from mercator.domain.entities import Integration
from mercator.domain.hashing import content_hash
from mercator.domain.messages import ShipmentPushJob
from mercator.services.ports import MessageQueue
from mercator.services.push_ports import OrderRecords, PushedShipment, ShipmentLedger

ORDERS = "ecommerce:orders"
SHIPMENTS = "ecommerce:shipments"


class UnknownOrderError(LookupError):
    """The order is not one Mercator synced from this integration."""


class ShipmentOrderError(ValueError):
    """The shipment id is already a shipment of another order."""


@dataclass(frozen=True)
class Accepted:
    """What a shipment request did: ``queued`` False when the store holds it as asked already."""

    entry: PushedShipment
    queued: bool


class ShipmentRequests:
    """Keeps tenant shipments and queues their writes; depends only on the ports."""

    def __init__(
        self,
        *,
        records: OrderRecords,
        ledger: ShipmentLedger,
        push_jobs: MessageQueue,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._records = records
        self._ledger = ledger
        self._push_jobs = push_jobs
        self._clock = clock

    def accept(self, integration: Integration, request: ShipmentRequest) -> Accepted:
        shipment_id = request.shipment_id()
        order = self._records.get(integration.tenant_id, ORDERS, request.orderCode)
        if order is None or order.deleted or order.integration_id != integration.id:
            raise UnknownOrderError(
                f"Order not found: {request.orderCode!r}; only orders Mercator synced from integration "
                f"{integration.id!r} can be shipped"
            )
        entry = self._ledger.get(integration.id, shipment_id)
        if entry is not None and entry.order_code != request.orderCode:
            raise ShipmentOrderError(
                f"shipment {shipment_id!r} is a shipment of order {entry.order_code!r}; give the shipment "
                "of another order its own shipmentId"
            )
        record = shipment_record(shipment_id, request, order.record.get("customer"))
        digest = request_hash(record)
        if entry is not None and entry.request_hash == digest and entry.shown_state() == "pushed":
            return Accepted(entry, queued=False)
        now = self._clock()
        if entry is None:
            entry = PushedShipment(
                integration_id=integration.id,
                shipment=shipment_id,
                tenant_id=integration.tenant_id,
                order_code=request.orderCode,
                record=record,
                request_hash=digest,
                requested_at=now,
            )
        else:
            # A write under way stays under way: its create may have landed, the worker looks first.
            state = "creating" if entry.state == "creating" else "queued"
            entry = entry.model_copy(
                update={
                    "record": record,
                    "request_hash": digest,
                    "requested_at": now,
                    "state": state,
                    # Asked again: a refused request is tried again, as it is now.
                    "settled_hash": None,
                }
            )
        self._ledger.save_request(entry)
        self._push_jobs.send([ShipmentPushJob(integration_id=integration.id, shipment=shipment_id).body()])
        return Accepted(entry, queued=True)

    def get(self, integration: Integration, shipment_id: str) -> PushedShipment | None:
        entry = self._ledger.get(integration.id, shipment_id)
        return entry if entry is not None and entry.tenant_id == integration.tenant_id else None


def shipment_record(shipment_id: str, request: ShipmentRequest, customer: Any) -> dict[str, Any]:
    """The canonical ecommerce:shipments record of ``request``, validated like any record."""
    record: dict[str, Any] = {
        "code": shipment_id,
        "orderCode": request.orderCode,
        "status": request.status,
        "carrier": request.carrier,
        "trackingNumbers": request.tracking_numbers(),
        "trackingUrl": request.trackingUrl,
        "items": [item.model_dump(exclude_none=True) for item in request.items],
        "customer": customer if isinstance(customer, dict) else None,
    }
    return validate_record(SHIPMENTS, record)


def request_hash(record: dict[str, Any]) -> str:
    """The hash of what the tenant asked for: the buyer copied from the order is left out, so the same
    request is the same however the order's buyer changed since."""
    return content_hash({name: value for name, value in record.items() if name != "customer"})

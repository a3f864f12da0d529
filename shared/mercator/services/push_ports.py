"""What catalog push and pushTracking need besides the shared ports (mercator.services.ports)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

from mercator.domain.entities import Integration, PushedProduct, PushRun, StoredRecord
from mercator.services.ports import IntegrationRepository

ShipmentState = Literal["queued", "creating", "pushed", "refused"]


class EchoLedger(Protocol):
    def echo_until(self, integration_id: str, provider_id: str) -> datetime | None:
        """The store's updated-at of Mercator's last write of the product; None when Mercator never
        wrote it (or the store gave no time)."""
        ...


class PushLedger(EchoLedger, Protocol):
    """What was pushed of each canonical product into one store, and the store's push run."""

    def between(self, integration_id: str, first: str, last: str) -> dict[str, PushedProduct]:
        """The entries of source codes from ``first`` to ``last`` (as text, both included)."""
        ...

    def get(self, integration_id: str, source_code: str) -> PushedProduct | None: ...

    def save(self, entry: PushedProduct) -> None: ...

    def save_echo(
        self, integration_id: str, provider_id: str, source_code: str, store_updated_at: datetime | None
    ) -> None:
        """Remember that the store's product ``provider_id`` is Mercator's write, as of its updated-at."""
        ...

    def run(self, integration_id: str) -> PushRun | None: ...

    def new_run(self, run_id: str, started_at: datetime) -> PushRun: ...

    def save_run(self, integration_id: str, run: PushRun) -> None: ...

    def finish_run(self, integration_id: str, run: PushRun) -> None: ...


class CatalogRecords(Protocol):
    """The canonical catalog in the records table."""

    def written_by(
        self, tenant_id: str, content_type: str, integration_id: str, *, after: str | None, limit: int
    ) -> list[StoredRecord]:
        """Up to ``limit`` records the integration wrote last, in code order, after ``after``."""
        ...


class TenantIntegrations(IntegrationRepository, Protocol):
    def for_tenant(self, tenant_id: str) -> list[Integration]:
        """The tenant's integrations of every status."""
        ...


class LeaseLock(Protocol):
    def acquire(self, name: str, owner: str, lease_seconds: float) -> bool: ...

    def release(self, name: str, owner: str) -> bool: ...


class PushedShipment(BaseModel):
    """One tenant shipment (pushTracking) and what Mercator wrote of it into one store.

    The tenant's side (``record``, ``request_hash``) changes with each request; the worker's side says
    what the store holds. ``settled_hash`` is the request the last finished write settled (pushed or
    refused): a job finds nothing to do while it equals ``request_hash``. ``pushed_hash`` is the
    request the store's shipment was written from (None: nothing written yet). ``creating_key`` is
    the key of a create that was sent and whose answer never came: the next write looks the shipment
    up by it before creating, so a lost answer never makes a second shipment.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    integration_id: str = Field(min_length=1, description="the store integration")
    shipment: str = Field(min_length=1, description="the tenant's shipment id (the record's code)")
    tenant_id: str = Field(min_length=1)
    order_code: str = Field(min_length=1)
    record: dict[str, Any] = Field(description="the ecommerce:shipments record as the tenant last asked")
    request_hash: str = Field(min_length=1, description="hash of what the tenant last asked for")
    state: ShipmentState = "queued"
    settled_hash: str | None = None
    pushed_hash: str | None = None
    creating_key: str | None = None
    provider_id: str | None = Field(None, description="the store's id of the shipment, when it gives one")
    ids: dict[str, str] = Field(default_factory=dict, description="other values kept from the store")
    reason: str | None = Field(None, description="why the last write was refused")
    reasons: Any = Field(None, description="the store's own reasons for refusing it")
    requested_at: datetime | None = None
    settled_at: datetime | None = None

    @property
    def written(self) -> bool:
        """Whether the store holds the shipment (as ``pushed_hash`` says), beyond doubt."""
        return self.pushed_hash is not None and self.creating_key is None

    def shown_state(self) -> ShipmentState:
        """The state as the tenant sees it: a request newer than the last settled one is queued."""
        if self.state in ("pushed", "refused") and self.settled_hash != self.request_hash:
            return "queued"
        return self.state


class ShipmentLedger(Protocol):
    """The tenant shipments of each store integration (mercator.state.pushed_shipments)."""

    def get(self, integration_id: str, shipment: str) -> PushedShipment | None: ...

    def save_request(self, entry: PushedShipment) -> None:
        """Keep the tenant's side of ``entry`` (the record, its hash, when) and its state."""
        ...

    def save_progress(self, entry: PushedShipment) -> None:
        """Keep the worker's side of ``entry`` (what the store holds, the refusal) and its state; the
        tenant's side as stored is left alone, so a request made meanwhile is not lost."""
        ...


class OrderRecords(Protocol):
    """The tenant's synced orders in the records table."""

    def get(self, tenant_id: str, content_type: str, code: str) -> StoredRecord | None: ...

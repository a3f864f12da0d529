"""The bodies of Mercator's SQS messages: one pydantic model per queue, JSON on the wire.

SQS refuses bodies over 256 KiB; ``EnrichBatch.split`` keeps every batch under ``MAX_BODY_BYTES``
so a page of large orders never becomes an unsendable message.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from mercator.domain.changes import FieldChange
from mercator.domain.clock import to_iso
from mercator.domain.entities import RunCheckpoint

MAX_BODY_BYTES = 200 * 1024  # below SQS's 256 KiB, leaving room for attributes and envelopes


class _Message(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    def body(self) -> str:
        return self.model_dump_json(exclude_none=True, by_alias=True)

    @classmethod
    def parse(cls, body: str) -> Any:
        return cls.model_validate_json(body)


class SyncJob(_Message):
    """One integration's resource to list: a new run (``run`` None) or the continuation of one."""

    kind: Literal["sync_job"] = "sync_job"
    integration_id: str = Field(min_length=1)
    resource: str = Field(min_length=1)
    run: RunCheckpoint | None = None
    continuation: int = Field(0, ge=0, description="how many invocations this run has used before")


class EnrichBatch(_Message):
    """List records of one page whose details must be fetched, merged, mapped and written."""

    kind: Literal["enrich_batch"] = "enrich_batch"
    integration_id: str = Field(min_length=1)
    resource: str = Field(min_length=1)
    run_id: str = Field(min_length=1)
    seen_via: Literal["sync", "webhook"] = "sync"
    reconcile: bool = Field(
        False, description="listed by a sync that backs up webhooks: count what is written as missed by them"
    )
    first_import: bool = Field(False, description="listed by the integration's first run of the resource")
    records: list[dict[str, Any]] = Field(min_length=1, description="the raw list records, as listed")

    @classmethod
    def split(
        cls,
        *,
        integration_id: str,
        resource: str,
        run_id: str,
        records: Sequence[dict[str, Any]],
        batch_size: int,
        seen_via: Literal["sync", "webhook"] = "sync",
        reconcile: bool = False,
        first_import: bool = False,
    ) -> Iterator[EnrichBatch]:
        """Batches of at most ``batch_size`` records, each body under MAX_BODY_BYTES."""

        def batch_of(batch: list[dict[str, Any]]) -> EnrichBatch:
            return cls(
                integration_id=integration_id,
                resource=resource,
                run_id=run_id,
                seen_via=seen_via,
                reconcile=reconcile,
                first_import=first_import,
                records=batch,
            )

        envelope = len(batch_of([{}]).body())
        batch: list[dict[str, Any]] = []
        size = envelope
        for record in records:
            record_size = len(json.dumps(record, separators=(",", ":"), ensure_ascii=False).encode()) + 1
            if envelope + record_size > MAX_BODY_BYTES:
                raise ValueError(
                    f"one {resource} record of integration {integration_id} is {record_size} bytes, "
                    f"more than an SQS message holds"
                )
            if batch and (len(batch) >= batch_size or size + record_size > MAX_BODY_BYTES):
                yield batch_of(batch)
                batch, size = [], envelope
            batch.append(record)
            size += record_size
        if batch:
            yield batch_of(batch)


class ChangeEvent(_Message):
    """A record that was created, updated or deleted in the records table; the Trigger queue's body.

    The same change may be announced more than once (a retried write, a re-sent delivery); ``id`` is
    the same every time, so TriggerDispatch fires it once.
    """

    kind: Literal["change"] = "change"
    change: Literal["created", "updated", "deleted"]
    integration_id: str
    tenant_id: str
    connector: str
    content_type: str
    code: str
    record: dict[str, Any]
    content_hash: str = Field(min_length=1, description="sha256 of the record's canonical JSON")
    source: Literal["sync", "webhook"]
    event: str | None = Field(
        None, description="the webhook event that delivered the change; None when a sync found it"
    )
    first_import: bool = Field(
        False,
        description="written by the integration's first sync of the resource: the store's history, which "
        "fires no trigger (a new integration would otherwise announce every past order as new)",
    )
    changes: dict[str, FieldChange] | None = Field(
        None,
        description="each plain top-level field that moved from the stored version, with its old and "
        "new value; None when no version was stored before (or the change is a deletion)",
    )
    occurred_at: datetime

    def changes_json(self) -> dict[str, dict[str, Any]]:
        """``changes`` as receivers see them: ``{"status": {"from": "in_transit", "to": "delivered"}}``."""
        return {
            name: moved.model_dump(mode="json", by_alias=True) for name, moved in (self.changes or {}).items()
        }

    def context(self) -> dict[str, Any]:
        """Where the change came from, as trigger and workflow receivers see it (camelCase JSON)."""
        return {
            "integrationId": self.integration_id,
            "tenantId": self.tenant_id,
            "connector": self.connector,
            "contentType": self.content_type,
            "code": self.code,
            "change": self.change,
            "source": self.source,
            "occurredAt": to_iso(self.occurred_at),
            "eventId": self.id,
        }

    @property
    def id(self) -> str:
        """Stable across re-announcements of the same change."""
        parts = (self.integration_id, self.content_type, self.code, self.change, self.content_hash)
        return hashlib.sha256("\x1f".join((*parts, self.event or "")).encode()).hexdigest()


@dataclass(frozen=True)
class BusEvent:
    """One entry of a PutEvents request."""

    source: str
    detail_type: str
    detail: Mapping[str, Any]
    time: datetime | None = None


class PushJob(_Message):
    """Push the tenant's canonical products into one store integration: a new run, or the rest of one
    (``after``: the last source code the run finished)."""

    kind: Literal["push_job"] = "push_job"
    integration_id: str = Field(min_length=1, description="the store integration products are pushed to")
    run_id: str | None = Field(None, description="the run this job continues; None: a new run")
    after: str | None = Field(None, description="the last canonical product code the run finished")
    continuation: int = Field(0, ge=0, description="how many invocations this run has used before")


class ShipmentPushJob(_Message):
    """Write one tenant shipment (pushTracking) into its store integration, as it is now in the ledger."""

    kind: Literal["shipment_push"] = "shipment_push"
    integration_id: str = Field(min_length=1, description="the store integration the shipment is written to")
    shipment: str = Field(min_length=1, description="the tenant's shipment code (its idempotency key)")


@dataclass(frozen=True)
class OrderedMessage:
    """A body for a FIFO queue: its message group (one per entity: applied in order within it) and
    the deduplication id SQS drops a copy by."""

    body: str
    group: str
    dedup_id: str


class CatalogEventsMessage(_Message):
    """One PIM request, verified and validated, to apply to the catalog state in order with the other
    requests of its entity (the CatalogEvents FIFO queue's body)."""

    kind: Literal["catalog_events"] = "catalog_events"
    integration_id: str = Field(min_length=1)
    request_key: str = Field(min_length=1, description="the request's identity: its synchronization and body")
    name: str = Field(min_length=1, description="the coarse event (product_updated)")
    envelope: dict[str, Any] = Field(description="the request's body, as the PIM sent it")
    synchronization_id: str | None = None
    received_at: datetime

"""Webhook deliveries as Mercator keeps them: the request as received, its archive copy, its ledger claim.

Plain models shared by the intake service and the adapters that store them (no AWS here).
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

# Headers that carry credentials (Basic or Bearer tokens): verified on arrival, never kept.
SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie"})


class Headers(Mapping[str, str]):
    """HTTP headers, looked up without regard to case (providers vary the spelling)."""

    def __init__(self, values: Mapping[str, str] | None = None) -> None:
        self._values: dict[str, tuple[str, str]] = {}
        for name, value in (values or {}).items():
            self._values[name.lower()] = (name, value)

    def __getitem__(self, name: str) -> str:
        return self._values[name.lower()][1]

    def __iter__(self) -> Iterator[str]:
        return (name for name, _ in self._values.values())

    def __len__(self) -> int:
        return len(self._values)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._values

    def without_secrets(self) -> dict[str, str]:
        return {name: value for name, value in self.items() if name.lower() not in SECRET_HEADERS}


@dataclass(frozen=True)
class IncomingDelivery:
    """A POST to ``/webhooks/{integrationId}`` as API Gateway handed it over."""

    integration_id: str
    headers: Headers
    body: bytes
    received_at: datetime
    query: Mapping[str, str] = field(default_factory=dict)

    @property
    def body_sha256(self) -> str:
        return hashlib.sha256(self.body).hexdigest()


class ArchivedDelivery(BaseModel):
    """An accepted delivery's raw body and headers, kept so it can be replayed."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    integration_id: str
    dedupe_key: str
    event: str | None = None
    received_at: datetime
    headers: dict[str, str] = Field(description="as received, minus credential headers")
    query: dict[str, str] = Field(default_factory=dict)
    body_base64: str = Field(description="the raw body, byte for byte")

    @classmethod
    def of(cls, delivery: IncomingDelivery, *, dedupe_key: str, event: str | None) -> ArchivedDelivery:
        return cls(
            integration_id=delivery.integration_id,
            dedupe_key=dedupe_key,
            event=event,
            received_at=delivery.received_at,
            headers=delivery.headers.without_secrets(),
            query=dict(delivery.query),
            body_base64=base64.b64encode(delivery.body).decode(),
        )

    def incoming(self) -> IncomingDelivery:
        return IncomingDelivery(
            integration_id=self.integration_id,
            headers=Headers(self.headers),
            body=base64.b64decode(self.body_base64),
            received_at=self.received_at,
            query=self.query,
        )


@dataclass(frozen=True)
class Announcement:
    """A message a delivery sent on: a change event, a request for enrichment or a dead letter."""

    queue: Literal["trigger", "enrich", "dead_letter"]
    body: str


@dataclass(frozen=True)
class DeliveryClaim:
    """The ledger entry that makes a delivery count once, and what it announced."""

    integration_id: str
    dedupe_key: str
    event: str
    received_at: datetime
    outcome: str
    announcements: tuple[Announcement, ...] = ()


@dataclass(frozen=True)
class RecordChange:
    """A conditional write of one record and its tracking entry (an upsert, or a deletion mark)."""

    tenant_id: str
    integration_id: str
    resource: str
    content_type: str
    code: str
    record: dict[str, Any]
    content_hash: str
    source_updated_at: datetime | None
    deleted: bool = False


@dataclass(frozen=True)
class CommitResult:
    """What a ledger commit did.

    ``committed``: the claim and the write landed together. ``duplicate``: the delivery was claimed
    before (``earlier`` is that claim). ``refused``: the record was not written because the stored one
    is newer (``stale``) or the same (``unchanged``); ``same_version``: the stored record is the same
    source version with other content (another path brought it), ``stored`` is its content, for the
    caller to merge. Nothing was claimed.
    """

    status: Literal["committed", "duplicate", "stale", "unchanged", "same_version"]
    earlier: DeliveryClaim | None = None
    stored: dict[str, Any] | None = None


def json_media_type(content_type: str | None) -> bool:
    """``application/json`` and its ``+json`` relatives, with any parameters."""
    if not content_type:
        return False
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))

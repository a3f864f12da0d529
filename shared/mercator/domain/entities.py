"""What Mercator keeps about integrations, synced ids, cursors and records: plain models, no AWS.

The DynamoDB adapters beside this module store and load these; the services work with them through
the ports in ``mercator.services.ports``.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

IntegrationStatus = Literal["active", "disabled"]
MAX_RATE = 1_000.0  # requests per second; the connector definitions' own bound
SeenVia = Literal["webhook", "sync"]


class _StateModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Integration(_StateModel):
    """One tenant's installation of one connector."""

    id: str = Field(min_length=1)
    tenant_id: str = Field(min_length=1)
    connector: str = Field(min_length=1, description="name of a shipped connector definition")
    status: IntegrationStatus = "active"
    settings: dict[str, Any] = Field(default_factory=dict)
    resources: list[str] | None = Field(
        None, description="resource keys this integration syncs; None: every resource the connector enables"
    )
    credentials_arn: str = Field(min_length=1, description="Secrets Manager secret holding the credentials")
    created_at: datetime

    def syncs(self, resource: str) -> bool:
        return self.status == "active" and (self.resources is None or resource in self.resources)

    def rate_limit(self) -> float | None:
        """``settings.rateLimitPerSecond``: the store's budget where the merchant's plan differs from the
        connector's default (Salla's plans differ sixfold); None when not set."""
        value = self.settings.get("rateLimitPerSecond")
        if value is None:
            return None
        rate = parse_rate(value)
        if rate is None:
            raise ValueError(
                f"integration {self.id!r}: settings.rateLimitPerSecond must be a number of requests per "
                f"second above 0 and at most {MAX_RATE:g}, got {value!r}"
            )
        return rate


def parse_rate(value: object) -> float | None:
    """A request rate in (0, MAX_RATE] from a number or its text (command-line settings are text)."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        rate = float(value)
    except ValueError:
        return None
    return rate if 0 < rate <= MAX_RATE else None


class TrackedId(_StateModel):
    """What Mercator last wrote for one external id of one integration's resource."""

    integration_id: str
    resource: str
    external_id: str
    content_hash: str
    source_updated_at: datetime | None = None
    first_seen_via: SeenVia
    last_seen_via: SeenVia | None = Field(
        None, description="how the latest version arrived; None on entries stored before Mercator kept it"
    )
    last_seen_run: str | None = None
    deleted: bool = False
    tracked_at: datetime | None = Field(
        None,
        description="Mercator's clock when this version was tracked; None on entries older than that",
    )


class RunStats(BaseModel):
    """Counts of one sync run; continuations add theirs to the run's."""

    model_config = ConfigDict(extra="forbid")

    pages: int = 0
    records: int = 0
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    errors: int = 0
    throttled: int = 0
    requests: int = 0
    missed_by_webhook: int = 0
    deleted: int = Field(0, description="records marked deleted: absent from a whole listing, or gone (404)")
    deletions_held: int = Field(
        0, description="absent records the mass-delete guard kept live (too many at once to be believed)"
    )
    unsettled: int = Field(
        0, description="1 when the run's last pass still saw the store move: its window is listed again"
    )
    duration_ms: int = 0

    def add(self, other: RunStats) -> RunStats:
        return RunStats(
            **{name: getattr(self, name) + getattr(other, name) for name in RunStats.model_fields}
        )


class ListingPass(_StateModel):
    """The listing pass a run is in, carried across continuations.

    A continuation needs it to stop after the last allowed pass and to tell whether the pass may have
    missed records; the ids a pass saw are not carried (they would not fit in a message).
    """

    number: int = Field(1, ge=1)
    started_at: datetime
    last_total: int | None = Field(None, description="the record total the latest page reported")
    total_changed: bool = False
    listed: int = Field(0, ge=0, description="records listed in this pass so far")
    updated_during_pass: int = Field(0, ge=0, description="records whose updated-at is past started_at")
    spans_invocations: bool = Field(False, description="the pass went on in another invocation")
    first_page: int = Field(0, ge=0, description="the run's number of the pass's first page (from 0)")


class RunCheckpoint(_StateModel):
    """A run in progress: where its listing goes on, and what it has handed off so far."""

    run_id: str
    started_at: datetime
    since: datetime | None = Field(None, description="the incremental window's start; None: initial sync")
    page: str | None = Field(None, description="PageCheckpoint JSON of the next page; None: from the start")
    pages_handed_off: int = 0
    high_water_mark: datetime | None = Field(None, description="newest source updated-at listed so far")
    store_started_at: datetime | None = Field(
        None,
        description="the store's own clock when the run's first page was asked for (its Date header, less "
        "the request's time); None until then, or when the store sends no Date",
    )
    stats: RunStats = Field(default_factory=RunStats)
    listing: ListingPass | None = Field(None, description="the pass in progress; None: the first one")
    first_import: bool = Field(
        False, description="the integration's first run of the resource: what it writes is history, not news"
    )
    deletions_since: datetime | None = Field(
        None, description="where this run reads the resource's deletion feed from; None: it reads none"
    )


class Cursor(_StateModel):
    """The last-sync cursor of one integration's resource."""

    integration_id: str
    resource: str
    high_water_mark: datetime | None = Field(None, description="newest source updated-at fully synced")
    running: RunCheckpoint | None = None
    last_success_at: datetime | None = Field(None, description="when the last settled run finished")
    last_finished_at: datetime | None = Field(None, description="when the last run finished, settled or not")
    last_run_id: str | None = None
    last_run_stats: RunStats | None = None
    deletions_mark: datetime | None = Field(
        None, description="the store's clock up to which the resource's deletion feed has been read"
    )


class StoredRecord(_StateModel):
    """A mapped record in the records table."""

    tenant_id: str
    content_type: str
    code: str
    record: dict[str, Any]
    content_hash: str
    source_updated_at: datetime | None = None
    integration_id: str
    version: int = Field(ge=1)
    deleted: bool = False


class WriteOutcome(StrEnum):
    """What a conditional record write did."""

    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"  # same content hash: nothing written
    STALE = "stale"  # the stored record is newer: nothing written
    # A strict write refused: the stored record is this same source version with other content.
    SAME_VERSION = "same_version"


@dataclass(frozen=True)
class RecordWriteResult:
    """What a conditional record write did, and what the version it made replaced.

    ``replaced``: the plain fields (mercator.domain.changes) of the version before the one now stored:
    the one this write replaced (UPDATED), or, for UNCHANGED, the one the stored version replaced
    when an earlier attempt wrote it (a retry announcing what that attempt did not). None when no
    version was stored before, or it is not known.
    """

    outcome: WriteOutcome
    replaced: dict[str, Any] | None = None


@dataclass(frozen=True)
class PushSubscription:
    """One browser's push subscription: where to POST and the keys to encrypt for it."""

    tenant_id: str
    endpoint: str
    p256dh: str
    auth: str
    created_at: datetime | None = None

    def public_key(self) -> bytes:
        """The subscriber's P-256 public key (uncompressed point)."""
        return decode_key(self.p256dh)

    def auth_secret(self) -> bytes:
        return decode_key(self.auth)


def decode_key(text: str) -> bytes:
    """A base64url value as browsers write them (padding optional)."""
    return base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)


class PushedProduct(_StateModel):
    """What Mercator last pushed of one canonical product into one store.

    ``provider_id`` is None while a create is under way (``creating``): a push that finds the entry
    so looks the product up in the store before creating it again, since the create may have landed
    and only its answer or this entry's update been lost.
    """

    integration_id: str = Field(min_length=1, description="the store integration")
    source_code: str = Field(min_length=1, description="the canonical product's code (its source id)")
    key: str = Field("", description="the key the store knows the product by (SKU, handle); empty: none")
    provider_id: str | None = Field(None, description="the store's id of the product")
    ids: dict[str, str] = Field(default_factory=dict, description="other ids the store answered")
    pushed_hash: str | None = Field(None, description="hash of what was last pushed; None: never pushed")
    # creating: a create under way; refused: the store (or the push block) refused the product as
    # ``pushed_hash`` says it was, so it is not tried again before it changes.
    state: Literal["creating", "pushed", "refused"] = "pushed"
    pushed_at: datetime | None = None


PushAction = Literal["create", "update", "unpublish", "unchanged"]


class PushStats(_StateModel):
    """A push run's counts."""

    created: int = 0
    updated: int = 0
    unpublished: int = 0
    unchanged: int = 0
    refused: int = 0
    requests: int = 0
    throttled: int = 0

    def add(self, other: PushStats) -> PushStats:
        names = PushStats.model_fields
        return PushStats(**{name: getattr(self, name) + getattr(other, name) for name in names})


@dataclass
class PushRun:
    """A push run in progress: the last canonical code it finished (None: none yet) and its counts."""

    run_id: str
    after: str | None
    started_at: datetime
    stats: PushStats = field(default_factory=PushStats)
    continuation: int = 0

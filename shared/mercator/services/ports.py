"""What the services need from the outside world, as protocols: no boto3 or httpx in services.

The DynamoDB, SQS and Secrets Manager adapters in ``mercator.state`` fulfil these; tests may use the
same adapters on moto or small fakes. Every method is synchronous except the provider client's:
boto3 is synchronous, and a Lambda handles one event at a time.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from mercator.connector import ConnectorDefinition
from mercator.connector.endpoints import QueryValue
from mercator.domain.entities import (
    Cursor,
    Integration,
    RecordWriteResult,
    RunCheckpoint,
    RunStats,
    StoredRecord,
    TrackedId,
    WriteOutcome,
)
from mercator.domain.pages import ClientStats, DetailResult, Page, PageCheckpoint


class IntegrationLookup(Protocol):
    def get(self, integration_id: str) -> Integration | None: ...


class IntegrationRepository(Protocol):
    def get(self, integration_id: str) -> Integration | None: ...

    def put(self, integration: Integration) -> None: ...

    def active(self) -> list[Integration]:
        """Every integration whose status is active, across tenants."""
        ...


class CredentialsVault(Protocol):
    def credentials(self, integration: Integration) -> dict[str, str]:
        """The integration's credentials (read from where ``credentials_arn`` points)."""
        ...


class TrackingRepository(Protocol):
    def get_many(
        self, integration_id: str, resource: str, external_ids: Iterable[str]
    ) -> dict[str, TrackedId]:
        """The tracked ids among ``external_ids`` (absent ones are missing from the result)."""
        ...

    def live(self, integration_id: str, resource: str) -> Iterable[TrackedId]:
        """Every tracked id of the resource that is not marked deleted."""
        ...

    def put(self, tracked: TrackedId) -> bool:
        """Store ``tracked`` unless what is stored is newer; True when written.

        Newer means a later ``source_updated_at``, or the same one with the same content hash.
        ``first_seen_via`` of an existing entry is kept.
        """
        ...


class CursorRepository(Protocol):
    def get(self, integration_id: str, resource: str) -> Cursor | None: ...

    def save_checkpoint(
        self, integration_id: str, resource: str, checkpoint: RunCheckpoint, *, attempt: str
    ) -> bool:
        """Record a run's progress by invocation ``attempt``, which then holds the run's lease; False
        when another run owns the cursor or another invocation holds the lease (nothing written)."""
        ...

    def release(self, integration_id: str, resource: str, run_id: str, *, attempt: str) -> bool:
        """Give the run's lease back, for its continuation or a retry; False when not held."""
        ...

    def finish(
        self,
        integration_id: str,
        resource: str,
        run_id: str,
        *,
        high_water_mark: datetime | None,
        stats: RunStats,
        finished_at: datetime,
        attempt: str,
        settled: bool = True,
        deletions_mark: datetime | None = None,
    ) -> bool:
        """End run ``run_id``: clear its checkpoint, move the high-water mark (never backwards),
        record ``last_success_at`` and the stats. An unsettled run moves neither the mark nor
        ``last_success_at``. False when ``run_id`` no longer owns the cursor."""
        ...


class RunLog(Protocol):
    """Counts of one run gathered from every worker that handles its records (sync and enrichment)."""

    def add(self, integration_id: str, resource: str, run_id: str, counts: RunStats) -> None:
        """Add ``counts`` to the run's counters atomically (concurrent workers add at once)."""
        ...

    def get(self, integration_id: str, resource: str, run_id: str) -> RunStats:
        """The run's counters so far (all zero when none were added)."""
        ...

    def add_listed(
        self, integration_id: str, resource: str, run_id: str, page: int, ids: Iterable[str]
    ) -> None:
        """Keep the ids page ``page`` of the run listed (the same page again replaces them)."""
        ...

    def listed(self, integration_id: str, resource: str, run_id: str, *, from_page: int = 0) -> set[str]:
        """Every id the run's pages from ``from_page`` on listed so far."""
        ...


class RecordRepository(Protocol):
    def write(
        self,
        *,
        tenant_id: str,
        content_type: str,
        code: str,
        record: Mapping[str, Any],
        content_hash: str,
        source_updated_at: datetime | None,
        integration_id: str,
        new_version: bool = True,
        strict: bool = False,
    ) -> RecordWriteResult:
        """Write when the source updated-at is newer than the stored one, or equal with another hash;
        ``strict``: only when newer (SAME_VERSION when the stored one is as new, with other content);
        ``new_version`` False: the same source version merged, not counted as a new version."""
        ...

    def get(self, tenant_id: str, content_type: str, code: str) -> StoredRecord | None: ...

    def mark_deleted(
        self,
        *,
        tenant_id: str,
        content_type: str,
        code: str,
        content_hash: str,
        deleted_at: datetime,
        integration_id: str,
    ) -> tuple[WriteOutcome, dict[str, Any]]:
        """Mark a record deleted unless a newer version is stored; the outcome and its last content."""
        ...


class MessageQueue(Protocol):
    def send(self, bodies: Sequence[str]) -> None:
        """Send every body (in batches the queue accepts); raises when any is refused."""
        ...


class ProviderSession(Protocol):
    """What the services use of a ProviderClient (mercator.providers.client)."""

    stats: ClientStats

    def pages(
        self,
        resource_key: str,
        *,
        since: datetime | None = None,
        resume: PageCheckpoint | None = None,
        page_size: int | None = None,
    ) -> AsyncIterator[Page]: ...

    def details_many(
        self, resource_key: str, ids: Iterable[str], *, concurrency: int | None = None
    ) -> AsyncIterator[DetailResult]: ...

    async def details(self, resource_key: str, record_id: str | int) -> dict[str, Any]: ...

    async def call(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, QueryValue],
        body: Any = None,
        once: bool = False,
        where: str = "push",
    ) -> Any:
        """One push call's JSON answer; ProviderHTTPError (with the store's ``answer``) when refused."""
        ...

    async def aclose(self) -> None: ...


class ProviderSessions(Protocol):
    def open(
        self, definition: ConnectorDefinition, integration: Integration, credentials: Mapping[str, str]
    ) -> ProviderSession:
        """A client for one integration, paced by that integration's shared rate limiter."""
        ...


class Connectors(Protocol):
    def get(self, name: str) -> ConnectorDefinition:
        """The connector definition named ``name`` (loaded once per process)."""
        ...

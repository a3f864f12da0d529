"""DetailEnrichment's work: one EnrichBatch of list records becomes written, validated records.

For each record of the batch: its details are fetched under the integration's shared rate limit,
merged over the list entry (details win), mapped with the resource's apiMapping, validated against
its content type and written through the RecordWriter (an unchanged record costs no write and
announces nothing).

What cannot succeed on a retry goes to the Enrich DLQ as a dead letter, and its batch-mates are
written: a record that fails mapping or validation, a record without an id, and a record one of
whose sub-resources (``subResources``) answered what asking again will not change (a 4xx, a body
of the wrong shape): no record is written without its sub-resources. A record the provider no longer
has (its details answer 404/410, or a details endpoint that answers a list lists no item with its
id) was deleted between the listing and now: it is marked deleted, as a deletion webhook would. A
failure that may pass (a provider error after the client's retries, throttling), of the details or of
a sub-resource call, raises DetailsUnavailableError once the rest of the batch is written, so the
SQS message fails alone and is delivered again; on that retry the records already written are
unchanged and cost nothing.

Every record costs ``Resource.requests_per_record`` calls (its details and one per sub-resource),
all under the integration's rate limit and all counted in the run's ``requests``.

A batch a reconciling sync listed (``reconcile``) counts what it writes as missed by webhooks: the
sync already left out the records a webhook had delivered.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from mercator.connector import ConnectorDefinition, Resource
from mercator.connector.integration_settings import rate_of
from mercator.domain.clock import utc_now
from mercator.domain.dead_letters import DeadLetter
from mercator.domain.entities import Integration, RunStats
from mercator.domain.messages import EnrichBatch
from mercator.domain.provider_errors import (
    ProviderError,
    ProviderHTTPError,
    ProviderRecordNotFoundError,
    SubResourceError,
    may_pass,
)
from mercator.services.merge import deep_merge
from mercator.services.ports import (
    Connectors,
    CredentialsVault,
    IntegrationRepository,
    MessageQueue,
    ProviderSessions,
    RunLog,
)
from mercator.services.sync_runs import UnknownResourceError
from mercator.services.writer import Clock, RecordWriter, WriteSummary

logger = logging.getLogger(__name__)

Deadline = Callable[[], float]
GONE_STATUSES = frozenset({404, 410})
# Time kept free after a batch's estimated detail calls, for mapping, writes and the queue sends.
DEFAULT_MARGIN_SECONDS = 10.0


class DetailsUnavailableError(Exception):
    """Details of some records could not be fetched this time; the batch should be retried."""

    def __init__(self, resource: str, failures: dict[str, ProviderError]) -> None:
        self.resource = resource
        self.failures = failures
        first = next(iter(failures.values()))
        super().__init__(
            f"details of {len(failures)} {resource} record(s) could not be fetched "
            f"({', '.join(failures)}); first error: {first}"
        )


class NotEnoughTimeError(Exception):
    """Too little of the invocation is left to fetch a batch's details; it is better retried."""


@dataclass
class _Fetched:
    """What a batch's detail calls brought: records by id, dead letters, failures that may pass."""

    details: dict[str, dict[str, Any]] = field(default_factory=dict)
    letters: list[DeadLetter] = field(default_factory=list)
    gone: list[str] = field(default_factory=list)
    unavailable: dict[str, ProviderError] = field(default_factory=dict)
    traffic: RunStats = field(default_factory=RunStats)


@dataclass(frozen=True)
class EnrichOutcome:
    """What one batch came to: written counts, the run counters it added, and dead letters; or why it
    was skipped."""

    status: Literal["enriched", "skipped"]
    written: WriteSummary = field(default_factory=WriteSummary)
    stats: RunStats = field(default_factory=RunStats)
    dead_letters: int = 0
    reason: str = ""


class EnrichmentService:
    """Fetches, merges, maps, validates and writes the records of EnrichBatch messages."""

    def __init__(
        self,
        *,
        integrations: IntegrationRepository,
        vault: CredentialsVault,
        connectors: Connectors,
        sessions: ProviderSessions,
        writer: RecordWriter,
        run_log: RunLog,
        dead_letters: MessageQueue,
        margin_seconds: float = DEFAULT_MARGIN_SECONDS,
        clock: Clock = utc_now,
    ) -> None:
        self.integrations = integrations
        self.vault = vault
        self.connectors = connectors
        self.sessions = sessions
        self.writer = writer
        self.run_log = run_log
        self.dead_letters = dead_letters
        self.margin = margin_seconds
        # A details 404 tells no deletion time: the deletion is dated when Mercator learned of it.
        self.clock = clock

    async def enrich(self, batch: EnrichBatch, deadline: Deadline | None = None) -> EnrichOutcome:
        """Enrich and write one batch; ``deadline()`` gives the seconds left to this invocation."""
        integration = self.integrations.get(batch.integration_id)
        if integration is None or integration.status != "active":
            reason = (
                "the integration no longer exists" if integration is None else "the integration is disabled"
            )
            logger.info(
                "enrich batch of %s for integration %s skipped: %s",
                batch.resource,
                batch.integration_id,
                reason,
                extra={"integration_id": batch.integration_id, "resource": batch.resource},
            )
            return EnrichOutcome("skipped", reason=reason)
        definition = self.connectors.get(integration.connector)
        resource = definition.resources.get(batch.resource)
        if resource is None:
            raise UnknownResourceError(
                f"connector {definition.name!r} of integration {integration.id!r} has no resource "
                f"{batch.resource!r}; resources: {', '.join(definition.resources) or 'none'}"
            )
        letters: list[DeadLetter] = []
        by_id = self._by_id(integration, resource, batch, letters)
        fetched = _Fetched()
        if resource.endpoints.details is not None and by_id:
            fetched = await self._fetch(definition, integration, batch, by_id, deadline)
            letters += fetched.letters
            # Batch order, so the writes and events come in the order the store listed them.
            merged = [
                deep_merge(listed, fetched.details[key])
                for key, listed in by_id.items()
                if key in fetched.details
            ]
        else:
            merged = list(by_id.values())
        written, failures = self.writer.map_and_write(
            integration,
            resource,
            merged,
            run_id=batch.run_id,
            seen_via=batch.seen_via,
            first_import=batch.first_import,
        )
        letters += [
            self._letter(integration, batch, failure.reason, failure.detail, failure.raw)
            for failure in failures
        ]
        deleted = 0
        if fetched.gone:
            deleted = self.writer.delete(
                integration,
                resource=resource.name,
                content_type=resource.contentType,
                codes=[_code(resource, fetched_id, by_id[fetched_id]) for fetched_id in fetched.gone],
                deleted_at=self.clock(),
                run_id=batch.run_id,
                seen_via=batch.seen_via,
                first_import=batch.first_import,
            )
            logger.info(
                "%d %s record(s) are gone from the store (details 404/410): marked deleted",
                len(fetched.gone),
                resource.name,
                extra={"integration_id": integration.id, "resource": resource.name, "run_id": batch.run_id},
            )
        if letters:
            self.dead_letters.send([letter.body() for letter in letters])
            for letter in letters:
                logger.warning(
                    "%s record sent to the dead-letter queue: %s",
                    resource.name,
                    letter.reason,
                    extra={
                        "integration_id": integration.id,
                        "resource": resource.name,
                        "run_id": batch.run_id,
                    },
                )
        counts = (
            written.stats(reconciling=batch.reconcile)
            .add(fetched.traffic)
            .add(RunStats(errors=len(letters), deleted=deleted))
        )
        self.run_log.add(integration.id, resource.name, batch.run_id, counts)
        if fetched.unavailable:
            raise DetailsUnavailableError(resource.name, fetched.unavailable)
        return EnrichOutcome("enriched", written=written, stats=counts, dead_letters=len(letters))

    async def _fetch(
        self,
        definition: ConnectorDefinition,
        integration: Integration,
        batch: EnrichBatch,
        by_id: dict[str, dict[str, Any]],
        deadline: Deadline | None,
    ) -> _Fetched:
        """The details of every id under the integration's rate limit; gone ones become dead letters."""
        resource = definition.resources[batch.resource]
        # The pace the session will keep: the store's own plan where the integration sets one.
        rate = rate_of(integration, definition)
        self._check_time(resource, len(by_id), rate, deadline)
        fetched = _Fetched()
        session = self.sessions.open(definition, integration, self.vault.credentials(integration))
        try:
            async for result in session.details_many(resource.name, list(by_id)):
                if result.record is not None:
                    fetched.details[result.id] = result.record
                elif _gone(result.error):
                    fetched.gone.append(result.id)
                elif isinstance(result.error, SubResourceError) and not may_pass(result.error.cause):
                    fetched.letters.append(self._sub_resource_letter(integration, batch, result.error, by_id))
                elif result.error is not None:
                    fetched.unavailable[result.id] = result.error
        finally:
            await session.aclose()
        fetched.traffic = RunStats(requests=session.stats.requests, throttled=session.stats.throttled)
        return fetched

    def _by_id(
        self, integration: Integration, resource: Resource, batch: EnrichBatch, letters: list[DeadLetter]
    ) -> dict[str, dict[str, Any]]:
        """The batch's records by id (of a repeated id, the later entry); no id: a dead letter."""
        by_id: dict[str, dict[str, Any]] = {}
        for record in batch.records:
            found = resource.record_id(record)
            if found is None or found == "" or isinstance(found, dict | list):
                letters.append(
                    self._letter(
                        integration,
                        batch,
                        f"the {resource.name} record has no id at {resource.idPath!r}",
                        {"idPath": resource.idPath},
                        record,
                    )
                )
                continue
            by_id[str(found)] = record
        return by_id

    def _check_time(self, resource: Resource, count: int, rate: float, deadline: Deadline | None) -> None:
        if deadline is None:
            return
        each = resource.requests_per_record
        needed = count * each / rate + self.margin
        left = deadline()
        if left < needed:
            cost = f" ({each} requests each)" if each > 1 else ""
            raise NotEnoughTimeError(
                f"{left:.0f} s left of this invocation, and the details of {count} {resource.name} "
                f"record(s){cost} at {rate:g} requests/s need about {needed:.0f} s; the batch will be retried"
            )

    def _sub_resource_letter(
        self,
        integration: Integration,
        batch: EnrichBatch,
        error: SubResourceError,
        by_id: dict[str, dict[str, Any]],
    ) -> DeadLetter:
        """A record whose sub-resource will not answer: never written without it."""
        cause = error.cause
        detail: dict[str, Any] = {"subResource": error.sub_resource, "id": error.record_id}
        if isinstance(cause, ProviderHTTPError):
            detail["status"] = cause.status
        reason = (
            f"the {batch.resource} record {error.record_id!r} is not written without its sub-resource "
            f"{error.sub_resource!r}: {cause}"
        )
        return self._letter(integration, batch, reason, detail, by_id[error.record_id])

    @staticmethod
    def _letter(
        integration: Integration, batch: EnrichBatch, reason: str, detail: dict[str, Any], raw: Any
    ) -> DeadLetter:
        return DeadLetter(
            reason, detail, raw, integration.id, batch.resource, batch.run_id, connector=integration.connector
        )


def _gone(error: ProviderError | None) -> bool:
    if isinstance(error, ProviderRecordNotFoundError):
        return True  # a details endpoint that answers a list listed no item with the id
    return isinstance(error, ProviderHTTPError) and error.status in GONE_STATUSES


def _code(resource: Resource, record_id: str, listed: dict[str, Any]) -> str:
    """The code a gone record was written under: its list entry's mapped code, else its id."""
    return resource.code_of(listed) or record_id

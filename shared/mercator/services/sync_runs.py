"""ScheduledSync's work: fan a schedule out into SyncJobs, and run one SyncJob.

A run lists one integration's resource from its last-sync cursor (``incremental``: the records
updated since the high-water mark, less the connector's overlap) or from the start (initial sync).
Each page is handed off as it arrives: to the Enrich queue in EnrichBatch messages when the resource
expands details, otherwise mapped and written here through the RecordWriter. After every page the
run's checkpoint (next page, pages handed off, high-water mark so far, counts) is saved on the
cursor, so a run that nears the Lambda deadline sends itself to the SyncJobs queue as a continuation
and goes on from that page in another invocation.

Webhooks are the first channel of a content type the connector has webhook handlers for; an
incremental run of such a resource backs them up (reconciles). A listed record whose tracked entry
came by webhook at or after the listed updated-at is skipped before any details call, mapping or
write; every other record is handled as usual, and each one written counts as missed by webhooks
(for enriched resources, DetailEnrichment counts it, told so by the EnrichBatch). Initial runs
neither skip nor count: what a store held before the integration existed never had a webhook.

When a pass ends, PassWatch says whether the store changed under it in a way that can hide records;
the run then lists the same window again (up to ``max_passes``), and the writer's content-hash
check turns what the first pass already wrote into no-ops. Only then does the run finish, and only
finishing moves the cursor's high-water mark: a run that stops half-way never advances it.

The window never skips. The mark a run stores is the newest updated-at it listed, but never later
than the store's own clock when the run asked for its first page (read from the store's ``Date``
header, less the request's time; Mercator's clock where the store sends none): an edit made while
the listing ran, to a record on a page already listed, is newer than that, so the next window (the
mark less the overlap) still holds it, however long the run took. A run whose last pass still saw
the store move finishes ``unsettled``: it moves neither the mark nor the last success, so the next
run lists the same window again.

A run that lists a whole resource (an initial sync, or a resource without an incremental filter)
keeps the ids of every page in the run log; when it finishes settled, the deletion sweep
(``mercator.services.deletions``) marks deleted what tracking holds and the listing did not show,
behind the mass-delete guard.

A listed record that cannot be mapped or validated goes to the Enrich DLQ with its reason and raw
payload; its page-mates are written.

An invocation that fails (the provider stays down after the client's retries) fails its SQS
message. When SQS delivers it again, the run goes on from the checkpoint saved on the cursor: a
new-run job's run is named after its message, and a continuation looks its run up on the cursor.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal
from uuid import uuid4

from mercator.connector import ConnectorDefinition, DefinitionError, Resource
from mercator.connector.mapper import map_records
from mercator.connector.sync import DELETIONS, SWEEP
from mercator.domain.clock import utc_now
from mercator.domain.dead_letters import DeadLetter
from mercator.domain.entities import Integration, ListingPass, RunCheckpoint, RunStats, TrackedId
from mercator.domain.messages import EnrichBatch, SyncJob
from mercator.domain.pages import Page, PageCheckpoint
from mercator.domain.provider_errors import ProviderError
from mercator.services.deletions import DeletionGuard, absent_records
from mercator.services.families import content_type_of, family_resources
from mercator.services.passes import PassWatch
from mercator.services.ports import (
    Connectors,
    CredentialsVault,
    CursorRepository,
    IntegrationRepository,
    MessageQueue,
    ProviderSession,
    ProviderSessions,
    RunLog,
)
from mercator.services.writer import Clock, MappedRecord, RecordWriter

logger = logging.getLogger(__name__)

MAX_PASSES = 3

Deadline = Callable[[], float]
SyncStatus = Literal["finished", "continued", "busy", "skipped", "superseded"]


class UnknownResourceError(ValueError):
    """A SyncJob named a resource its integration's connector does not have."""


@dataclass(frozen=True)
class SyncOutcome:
    """What one SyncJob invocation did.

    ``finished``: the run ended and moved the cursor; ``continued``: it sent its continuation;
    ``busy``: another run owns the cursor; ``skipped``: nothing to sync (``reason`` says why);
    ``superseded``: the run lost the cursor to another one (its checkpoint went stale).
    """

    status: SyncStatus
    integration_id: str
    resource: str
    run_id: str | None = None
    stats: RunStats = field(default_factory=RunStats)
    passes: int = 0
    reason: str = ""
    gap_reasons: tuple[str, ...] = ()


class SyncService:
    """Fans schedules out and runs SyncJobs; depends only on the ports."""

    def __init__(
        self,
        *,
        integrations: IntegrationRepository,
        vault: CredentialsVault,
        connectors: Connectors,
        sessions: ProviderSessions,
        cursors: CursorRepository,
        run_log: RunLog,
        writer: RecordWriter,
        sync_jobs: MessageQueue,
        enrich: MessageQueue,
        dead_letters: MessageQueue,
        deletion_guard: DeletionGuard | None = None,
        deadline_margin_seconds: float = 30.0,
        max_passes: int = MAX_PASSES,
        clock: Clock = utc_now,
        new_run_id: Callable[[], str] = lambda: uuid4().hex,
    ) -> None:
        if deadline_margin_seconds <= 0:
            raise ValueError(f"deadline_margin_seconds must be positive, not {deadline_margin_seconds!r}")
        if max_passes < 1:
            raise ValueError(f"max_passes must be at least 1, not {max_passes}")
        self.integrations = integrations
        self.vault = vault
        self.connectors = connectors
        self.sessions = sessions
        self.cursors = cursors
        self.run_log = run_log
        self.writer = writer
        self.sync_jobs = sync_jobs
        self.enrich = enrich
        self.dead_letters = dead_letters
        self.deletion_guard = deletion_guard or DeletionGuard()
        self.margin = deadline_margin_seconds
        self.max_passes = max_passes
        self.clock = clock
        self.new_run_id = new_run_id

    def fan_out(self, family: str) -> int:
        """One SyncJob per active integration and enabled resource of ``family``; returns how many.

        A resource without endpoints.list is never scheduled: there is nothing to list, and its
        records come from the webhooks that enrich from its details."""
        content_type_of(family)
        bodies: list[str] = []
        for integration in self.integrations.active():
            try:
                definition = self.connectors.get(integration.connector)
            except DefinitionError as exc:
                # One integration's broken connector must not hold back every other tenant's sync.
                logger.error(
                    "integration %s names a connector Mercator cannot load: %s",
                    integration.id,
                    exc,
                    extra={"integration_id": integration.id, "connector": integration.connector},
                )
                continue
            for resource in family_resources(definition, family):
                if resource.listed and integration.syncs(resource.name):
                    bodies.append(SyncJob(integration_id=integration.id, resource=resource.name).body())
                    if self._sweep_due(integration, resource):
                        sweep = f"{resource.name}{SWEEP}"
                        bodies.append(SyncJob(integration_id=integration.id, resource=sweep).body())
        if bodies:
            self.sync_jobs.send(bodies)
        logger.info("scheduled %d sync job(s) for %s", len(bodies), family, extra={"family": family})
        return len(bodies)

    def _sweep_due(self, integration: Integration, resource: Resource) -> bool:
        """Whether the resource's deletion sweep should run now: declared, the resource imported once,
        and the last sweep (a minute of schedule jitter aside) ``everySeconds`` ago or never."""
        sweep = resource.deletions.sweep if resource.deletions else None
        if sweep is None:
            return False
        imported = self.cursors.get(integration.id, resource.name)
        if imported is None or imported.last_success_at is None:
            return False
        last = self.cursors.get(integration.id, f"{resource.name}{SWEEP}")
        if last is None or last.last_success_at is None:
            return True
        return (self.clock() - last.last_success_at).total_seconds() >= sweep.everySeconds - 60

    async def run_sync_job(
        self, job: SyncJob, deadline: Deadline, *, delivery_id: str | None = None
    ) -> SyncOutcome:
        """List ``job``'s resource until done or until ``deadline()`` (seconds left) nears the margin.

        ``delivery_id`` names the message that brought a new-run job, the same on every delivery of
        it (the SQS message id); it becomes the run's id, so a job delivered again after a failed
        attempt resumes its own run from the last checkpoint instead of finding the cursor taken.
        """
        integration = self.integrations.get(job.integration_id)
        if integration is None:
            return _skip(job, "the integration no longer exists")
        if not integration.syncs(job.resource.split(":", 1)[0]):
            return _skip(job, f"the integration is {integration.status} or does not sync {job.resource}")
        definition = self.connectors.get(integration.connector)
        resource = _listing(definition, job.resource)
        if resource is None:
            raise UnknownResourceError(
                f"connector {definition.name!r} of integration {integration.id!r} has no resource "
                f"{job.resource!r}; resources: {', '.join(definition.resources) or 'none'}"
            )
        target = definition.resources[resource.base_name]
        if not (target.enabled and definition.sync.syncConfiguration.enabled):
            return _skip(job, f"connector {definition.name} has the sync of {job.resource} disabled")
        if not resource.listed:
            return _skip(
                job,
                f"resource {job.resource} of connector {definition.name} has no endpoints.list: its "
                "records come only from webhooks",
            )
        # This invocation's lease on the run: a copy of the job delivered at the same moment is
        # turned away instead of working the same pages beside it.
        attempt = self.new_run_id()
        if job.run is None:
            started = self._start(integration, resource, delivery_id, attempt)
        else:
            started = self._resume(integration, resource, job.run, attempt)
        if isinstance(started, SyncOutcome):
            return started
        run = started
        session = self.sessions.open(definition, integration, self.vault.credentials(integration))
        try:
            walk = _RunWalk(
                self,
                integration=integration,
                definition=definition,
                resource=resource,
                session=session,
                job=job,
                run=run,
                deadline=deadline,
                attempt=attempt,
            )
            return await walk.walk()
        except BaseException:
            # SQS delivers the job again; its retry takes the run over from the last checkpoint. A
            # lease that cannot be given back now runs out on its own, so the first error is the one
            # that matters.
            with suppress(Exception):
                self.cursors.release(integration.id, resource.name, run.run_id, attempt=attempt)
            raise
        finally:
            await session.aclose()

    def _lease(
        self, integration: Integration, resource: Resource, running: RunCheckpoint, attempt: str
    ) -> RunCheckpoint | SyncOutcome:
        """Take the lease on a run in progress, or ``busy`` when another invocation works it now."""
        if self.cursors.save_checkpoint(integration.id, resource.name, running, attempt=attempt):
            return running
        logger.info(
            "run %s of %s is being worked by another invocation; this copy stops",
            running.run_id,
            resource.name,
            extra=_context(integration, resource, running.run_id),
        )
        return SyncOutcome(
            "busy",
            integration.id,
            resource.name,
            run_id=running.run_id,
            reason="another invocation works this run",
        )

    def _resume(
        self, integration: Integration, resource: Resource, run: RunCheckpoint, attempt: str
    ) -> RunCheckpoint | SyncOutcome:
        """Where a continuation goes on: the cursor's checkpoint of its run, the latest one saved.

        The cursor is read first because one freed by a run that took over (and finished) would
        accept this run's checkpoints again; and because a continuation delivered again after a
        failed attempt must not replay the pages that attempt already handed off.
        """
        cursor = self.cursors.get(integration.id, resource.name)
        running = cursor.running if cursor is not None else None
        if running is not None and running.run_id == run.run_id:
            return self._lease(integration, resource, running, attempt)
        logger.warning(
            "run %s no longer owns the %s cursor of integration %s (now %s); its continuation stops",
            run.run_id,
            resource.name,
            integration.id,
            f"run {running.run_id}" if running is not None else "idle",
            extra=_context(integration, resource, run.run_id),
        )
        return SyncOutcome(
            "superseded",
            integration.id,
            resource.name,
            run_id=run.run_id,
            stats=run.stats,
            reason="another run took the cursor over",
        )

    def _start(
        self, integration: Integration, resource: Resource, delivery_id: str | None, attempt: str
    ) -> RunCheckpoint | SyncOutcome:
        """A new run that owns the cursor, or ``busy`` when another run does.

        Whether a run in progress went stale (crashed, or lost its continuation) is the cursor
        repository's call, made in the same conditional write that hands the cursor over.
        """
        cursor = self.cursors.get(integration.id, resource.name)
        now = self.clock()
        running = cursor.running if cursor is not None else None
        if delivery_id is not None and cursor is not None:
            if running is not None and running.run_id == delivery_id:
                logger.info(
                    "run %s resumes after a failed attempt, %d page(s) in",
                    delivery_id,
                    running.pages_handed_off,
                    extra=_context(integration, resource, delivery_id),
                )
                return self._lease(integration, resource, running, attempt)
            if cursor.last_run_id == delivery_id:
                return SyncOutcome(
                    "skipped",
                    integration.id,
                    resource.name,
                    run_id=delivery_id,
                    reason="this job's run has finished already",
                )
        since = cursor.high_water_mark if cursor is not None and resource.incremental is not None else None
        feed = resource.deletions.feed if resource.deletions else None
        deletions_since = None
        if feed is not None and cursor is not None and since is not None:
            deletions_since = cursor.deletions_mark or since
        imported = cursor is not None and cursor.last_success_at is not None
        run = RunCheckpoint(
            run_id=delivery_id or self.new_run_id(),
            started_at=now,
            since=since,
            listing=ListingPass(number=1, started_at=now),
            # A sweep's deletions are news: fan_out runs it only once the resource was imported.
            first_import=resource.name == resource.base_name and not imported,
            deletions_since=deletions_since,
        )
        if not self.cursors.save_checkpoint(integration.id, resource.name, run, attempt=attempt):
            owner = running.run_id if running is not None else None
            logger.info(
                "run %s owns the %s cursor of integration %s; not starting another",
                owner or "(another)",
                resource.name,
                integration.id,
                extra=_context(integration, resource, owner),
            )
            return SyncOutcome(
                "busy", integration.id, resource.name, run_id=owner, reason="another run owns it"
            )
        if running is not None:
            logger.warning(
                "run %s took over the %s cursor of integration %s from run %s (started %s), gone stale",
                run.run_id,
                resource.name,
                integration.id,
                running.run_id,
                running.started_at.isoformat(),
                extra=_context(integration, resource, run.run_id),
            )
        logger.info(
            "run %s of %s starts %s",
            run.run_id,
            resource.name,
            f"since {since.isoformat()}" if since else "from the start (initial sync)",
            extra=_context(integration, resource, run.run_id),
        )
        return run


class _RunWalk:
    """One invocation's share of a run: pages, passes, checkpoints, then continuation or finish."""

    def __init__(
        self,
        service: SyncService,
        *,
        integration: Integration,
        definition: ConnectorDefinition,
        resource: Resource,
        session: ProviderSession,
        job: SyncJob,
        run: RunCheckpoint,
        deadline: Deadline,
        attempt: str,
    ) -> None:
        self.service = service
        self.attempt = attempt
        self.integration = integration
        self.definition = definition
        self.resource = resource
        self.session = session
        self.job = job
        self.run_state = run
        self.deadline = deadline
        self.counted_requests = 0
        self.counted_throttled = 0
        self.log_context = _context(integration, resource, run.run_id)
        # The resource records are written to: the listed one, or the one a deletion sweep lists.
        self.target = definition.resources[resource.base_name]
        self.sweeping = resource.name != self.target.name
        self.reconciling = run.since is not None and webhooks_deliver(definition, resource)
        # Only a listing of the whole resource can prove a record absent.
        self.whole = run.since is None

    async def walk(self) -> SyncOutcome:
        run = self.run_state
        listing = run.listing or ListingPass(number=1, started_at=run.started_at)
        if run.page is not None and not listing.spans_invocations:
            listing = listing.model_copy(update={"spans_invocations": True})
        run = run.model_copy(update={"listing": listing})
        while True:
            watch = PassWatch(self.resource, listing, since=run.since)
            resume = PageCheckpoint.from_json(run.page) if run.page is not None else None
            pages = self.session.pages(self.resource.name, since=None if resume else run.since, resume=resume)
            async with _closing(pages):
                async for page in pages:
                    counts = await asyncio.to_thread(self._hand_off, run, page.records)
                    watch.observe(page)
                    run = self._advance(run, page, counts, watch.progress)
                    if not await asyncio.to_thread(self._save, run):
                        return self._superseded(run)
                    if page.next is None:
                        break
                    if self.deadline() < self.service.margin:
                        return await asyncio.to_thread(self._continue, run)
            listing = watch.progress
            reasons = watch.gap_reasons()
            if not reasons or listing.number >= self.service.max_passes:
                deletions_mark, deleted = await self._follow_deletions(run)
                run = run.model_copy(update={"stats": run.stats.add(RunStats(deleted=deleted))})
                return await asyncio.to_thread(self._finish, run, reasons, deletions_mark)
            logger.info(
                "listing %s again: pass %d may have missed records (%s)",
                self.resource.name,
                listing.number,
                "; ".join(reasons),
                extra=self.log_context,
            )
            listing = ListingPass(number=listing.number + 1, started_at=self.service.clock())
            run = run.model_copy(update={"page": None, "listing": listing})
            if not await asyncio.to_thread(self._save, run):
                return self._superseded(run)
            if self.deadline() < self.service.margin:
                return await asyncio.to_thread(self._continue, run)

    def _hand_off(self, run: RunCheckpoint, records: list[Any]) -> RunStats:
        """Give one page's records to enrichment, or map and write them; the page's counts."""
        if self.whole:
            self._keep_listed(run, records)
        counts = RunStats(pages=1, records=len(records))
        if self.sweeping:
            # A sweep lists ids only: what it lists is kept for the sweep, never written.
            return counts
        if self.reconciling:
            records, delivered = self._without_webhook_deliveries(records)
            counts = counts.add(RunStats(unchanged=delivered))
        if self.resource.expandDetails:
            return counts.add(self._to_enrichment(run, records))
        return counts.add(self._write(run, records))

    def _without_webhook_deliveries(self, records: list[Any]) -> tuple[list[Any], int]:
        """The page's records less those a webhook delivered at their listed version; how many those were.

        The page's tracked entries are read at once, by the id that details calls use.
        """
        ids = [found for found in map(self._key, records) if found is not None]
        if not ids:
            return records, 0
        tracked = self.service.writer.tracked(self.integration.id, self.resource.name, ids)
        kept: list[Any] = []
        for record in records:
            found = self._key(record)
            entry = tracked.get(found) if found is not None else None
            if not delivered_by_webhook(entry, self.resource.updated_at(record)):
                kept.append(record)
        return kept, len(records) - len(kept)

    def _key(self, record: Any) -> str | None:
        found = self.resource.record_id(record)
        if found is None or found == "" or isinstance(found, dict | list):
            return None
        return str(found)

    def _write(self, run: RunCheckpoint, records: list[Any]) -> RunStats:
        outcome = map_records(self.resource.mapping, self.resource.contentType, records)
        for failure in outcome.failures:
            # The reason, not the payload: list records carry buyers' names and addresses.
            logger.warning(
                "%s record %s was sent to the dead-letter queue: %s",
                self.resource.name,
                self._id_of(failure.raw),
                failure.reason,
                extra={**self.log_context, "detail": failure.detail},
            )
        self._dead_letter(
            run, [(failure.reason, failure.detail, failure.raw) for failure in outcome.failures]
        )
        failed = {failure.index for failure in outcome.failures}
        raws = [record for index, record in enumerate(records) if index not in failed]
        mapped = [MappedRecord(raw, record) for raw, record in zip(raws, outcome.records, strict=True)]
        summary = self.service.writer.write(
            self.integration,
            self.resource,
            mapped,
            run_id=run.run_id,
            seen_via="sync",
            first_import=run.first_import,
        )
        return summary.stats(reconciling=self.reconciling).add(RunStats(errors=len(outcome.failures)))

    def _dead_letter(self, run: RunCheckpoint, failures: list[tuple[str, dict[str, Any], Any]]) -> None:
        """Send what this page could not write to the Enrich DLQ: (reason, detail, raw record) each."""
        if not failures:
            return
        letters = [
            DeadLetter(
                reason=reason,
                detail=detail,
                raw=raw,
                integration_id=self.integration.id,
                resource=self.resource.name,
                run_id=run.run_id,
                connector=self.definition.name,
            ).body()
            for reason, detail, raw in failures
        ]
        self.service.dead_letters.send(letters)

    def _to_enrichment(self, run: RunCheckpoint, records: list[Any]) -> RunStats:
        objects = [record for record in records if isinstance(record, dict)]
        if len(objects) < len(records):
            logger.warning(
                "%d %s list item(s) are not objects and cannot be enriched: sent to the dead-letter queue",
                len(records) - len(objects),
                self.resource.name,
                extra=self.log_context,
            )
            self._dead_letter(
                run,
                [
                    (
                        f"the {self.resource.name} list item is not an object",
                        {"type": type(item).__name__},
                        item,
                    )
                    for item in records
                    if not isinstance(item, dict)
                ],
            )
        batches = EnrichBatch.split(
            integration_id=self.integration.id,
            resource=self.resource.name,
            run_id=run.run_id,
            records=objects,
            batch_size=self.definition.sync.syncConfiguration.batchSize,
            reconcile=self.reconciling,
            first_import=run.first_import,
        )
        bodies = [batch.body() for batch in batches]
        if bodies:
            self.service.enrich.send(bodies)
        return RunStats(errors=len(records) - len(objects))

    def _keep_listed(self, run: RunCheckpoint, records: list[Any]) -> None:
        """Keep what this page shows, by id and by code (tracking's key), for the deletion sweep."""
        shown: set[str] = set()
        for record in records:
            found = self._key(record)
            if found is not None:
                shown.add(found)
            code = self.resource.code_of(record)
            if code is not None:
                shown.add(code)
        self.service.run_log.add_listed(
            self.integration.id, self.resource.name, run.run_id, run.pages_handed_off, shown
        )

    def _advance(
        self, run: RunCheckpoint, page: Page, counts: RunStats, listing: ListingPass
    ) -> RunCheckpoint:
        mark = run.high_water_mark
        for record in page.records:
            updated = self.resource.updated_at(record)
            if updated is not None and (mark is None or updated > mark):
                mark = updated
        store_started_at = run.store_started_at
        if store_started_at is None:
            store_started_at = page.served_at or run.started_at
        return run.model_copy(
            update={
                "page": page.next.to_json() if page.next is not None else None,
                "pages_handed_off": run.pages_handed_off + 1,
                "high_water_mark": mark,
                "store_started_at": store_started_at,
                "stats": run.stats.add(counts).add(self._traffic()),
                "listing": listing,
            }
        )

    def _traffic(self) -> RunStats:
        """Requests and 429s the session made since they were last counted."""
        stats = self.session.stats
        counted = RunStats(
            requests=stats.requests - self.counted_requests,
            throttled=stats.throttled - self.counted_throttled,
        )
        self.counted_requests, self.counted_throttled = stats.requests, stats.throttled
        return counted

    def _save(self, run: RunCheckpoint) -> bool:
        return self.service.cursors.save_checkpoint(
            self.integration.id, self.resource.name, run, attempt=self.attempt
        )

    def _continue(self, run: RunCheckpoint) -> SyncOutcome:
        # The lease goes back first, so the continuation can take it however soon it runs.
        if not self.service.cursors.release(
            self.integration.id, self.resource.name, run.run_id, attempt=self.attempt
        ):
            return self._superseded(run)
        continuation = SyncJob(
            integration_id=self.integration.id,
            resource=self.resource.name,
            run=run,
            continuation=self.job.continuation + 1,
        )
        self.service.sync_jobs.send([continuation.body()])
        logger.info(
            "run %s continues in invocation %d after %d page(s)",
            run.run_id,
            continuation.continuation + 1,
            run.pages_handed_off,
            extra=self.log_context,
        )
        listing = run.listing
        return SyncOutcome(
            "continued",
            self.integration.id,
            self.resource.name,
            run_id=run.run_id,
            stats=run.stats,
            passes=listing.number if listing else 1,
        )

    async def _follow_deletions(self, run: RunCheckpoint) -> tuple[datetime | None, int]:
        """Read the resource's deletion feed from ``run.deletions_since`` and mark what it lists deleted.

        Returns where the feed was read up to (on the store's clock, for the cursor) and how many
        records were deleted. A feed the store fails to answer, or one the deadline cuts short,
        moves no mark: the next run reads the same stretch again, and deleting twice changes nothing.
        """
        if run.deletions_since is None:
            return None, 0
        key = f"{self.resource.name}{DELETIONS}"
        feed = self.target.derived(DELETIONS)
        assert feed is not None
        started: datetime | None = None
        deleted = 0
        pages = self.session.pages(key, since=run.deletions_since)
        try:
            async with _closing(pages):
                async for page in pages:
                    started = started or page.served_at
                    deleted += await asyncio.to_thread(self._delete_listed, run, feed, page)
                    if page.next is not None and self.deadline() < self.service.margin:
                        logger.info("deletion feed of %s cut short by the deadline", self.resource.name)
                        return None, deleted
        except ProviderError as exc:
            logger.warning(
                "deletion feed of %s not read this run (%s); the next run reads it again",
                self.resource.name,
                exc,
                extra=self.log_context,
            )
            return None, deleted
        return started or self.service.clock(), deleted

    def _delete_listed(self, run: RunCheckpoint, feed: Resource, page: Page) -> int:
        by_time: dict[datetime, list[str]] = {}
        fallback = page.served_at or self.service.clock()
        for item in page.records:
            code = feed.code_of(item)
            if code is not None:
                by_time.setdefault(feed.updated_at(item) or fallback, []).append(code)
        return sum(
            self.service.writer.delete(
                self.integration,
                resource=self.target.name,
                content_type=self.target.contentType,
                codes=codes,
                deleted_at=deleted_at,
                run_id=run.run_id,
                first_import=run.first_import,
            )
            for deleted_at, codes in by_time.items()
        )

    def _finish(
        self, run: RunCheckpoint, reasons: list[str], deletions_mark: datetime | None = None
    ) -> SyncOutcome:
        service = self.service
        settled = not reasons
        swept = self._sweep(run) if settled and self.whole else RunStats()
        now = service.clock()
        enriched = service.run_log.get(self.integration.id, self.resource.name, run.run_id)
        stats = run.stats.add(self._traffic()).add(enriched).add(swept)
        stats = stats.model_copy(
            update={
                "duration_ms": max(0, int((now - run.started_at).total_seconds() * 1000)),
                "unsettled": 0 if settled else 1,
            }
        )
        if not service.cursors.finish(
            self.integration.id,
            self.resource.name,
            run.run_id,
            high_water_mark=_window_mark(run),
            stats=stats,
            finished_at=now,
            attempt=self.attempt,
            settled=settled,
            deletions_mark=deletions_mark if deletions_mark is not None else self._feed_start(run, settled),
        ):
            return self._superseded(run)
        passes = run.listing.number if run.listing else 1
        if stats.missed_by_webhook:
            logger.warning(
                "run %s wrote %d %s change(s) that no webhook delivered",
                run.run_id,
                stats.missed_by_webhook,
                self.resource.name,
                extra=self.log_context,
            )
        if reasons:
            logger.warning(
                "run %s finished unsettled, its window kept for the next run: its last pass (%d) "
                "still may have missed records: %s",
                run.run_id,
                passes,
                "; ".join(reasons),
                extra=self.log_context,
            )
        logger.info(
            "run %s of %s finished: %s",
            run.run_id,
            self.resource.name,
            stats.model_dump(),
            extra=self.log_context,
        )
        return SyncOutcome(
            "finished",
            self.integration.id,
            self.resource.name,
            run_id=run.run_id,
            stats=stats,
            passes=passes,
            gap_reasons=tuple(reasons),
        )

    def _feed_start(self, run: RunCheckpoint, settled: bool) -> datetime | None:
        """After a settled whole listing, the deletion feed need only be read from where it began."""
        feed = self.target.deletions.feed if self.target.deletions else None
        if feed is None or not (self.whole and settled) or self.sweeping:
            return None
        return _listing_start(run)

    def _sweep(self, run: RunCheckpoint) -> RunStats:
        """Mark deleted what the settled whole listing did not show, unless too much is absent at once."""
        service = self.service
        writer = service.writer
        absence = absent_records(
            writer.live(self.integration.id, self.target.name),
            service.run_log.listed(self.integration.id, self.resource.name, run.run_id),
            run_started_at=run.started_at,
            listing_started_at=_listing_start(run),
        )
        if not absence.codes:
            return RunStats()
        if not service.deletion_guard.allows(len(absence.codes), absence.live):
            logger.error(
                "run %s: %d of %d tracked %s record(s) are absent from the listing, more than the "
                "mass-delete guard believes at once; none is deleted",
                run.run_id,
                len(absence.codes),
                absence.live,
                self.resource.name,
                extra={**self.log_context, "held": len(absence.codes)},
            )
            return RunStats(deletions_held=len(absence.codes))
        deleted = writer.delete(
            self.integration,
            resource=self.target.name,
            content_type=self.target.contentType,
            codes=absence.codes,
            deleted_at=_listing_start(run),
            run_id=run.run_id,
            first_import=run.first_import,
        )
        logger.info(
            "run %s: %d %s record(s) absent from the whole listing marked deleted",
            run.run_id,
            deleted,
            self.resource.name,
            extra=self.log_context,
        )
        return RunStats(deleted=deleted)

    def _superseded(self, run: RunCheckpoint) -> SyncOutcome:
        logger.warning(
            "run %s no longer owns the %s cursor of integration %s; stopping",
            run.run_id,
            self.resource.name,
            self.integration.id,
            extra=self.log_context,
        )
        return SyncOutcome(
            "superseded", self.integration.id, self.resource.name, run_id=run.run_id, stats=run.stats
        )

    def _id_of(self, record: Any) -> str:
        found = self.resource.record_id(record)
        return "(without an id)" if found is None or found == "" else str(found)


def _listing(definition: ConnectorDefinition, key: str) -> Resource | None:
    """The resource a SyncJob names, or the deletion sweep one derives (``orders:sweep``)."""
    name, colon, part = key.partition(":")
    resource = definition.resources.get(name)
    if resource is None or not colon:
        return resource
    return resource.derived(colon + part)


def _listing_start(run: RunCheckpoint) -> datetime:
    """The store's clock when the run's listing began (Mercator's when the store never said)."""
    return run.store_started_at or run.started_at


def _window_mark(run: RunCheckpoint) -> datetime | None:
    """The high-water mark a finished run stores: what it listed, but never past its own start."""
    if run.high_water_mark is None:
        return None
    return min(run.high_water_mark, _listing_start(run))


def webhooks_deliver(definition: ConnectorDefinition, resource: Resource) -> bool:
    """Whether the connector has a webhook handler for the resource's content type."""
    handlers = definition.sync.webhooks.handlers.values()
    return any(handler.contentType == resource.contentType for handler in handlers)


def delivered_by_webhook(tracked: TrackedId | None, listed_at: datetime | None) -> bool:
    """Whether a webhook brought the listed version of a record, or a later one.

    Tracking keeps milliseconds, so the listed updated-at is compared at that precision too; without
    either updated-at nothing can be told, and the record is handled as usual.
    """
    if tracked is None or tracked.last_seen_via != "webhook":
        return False
    if tracked.source_updated_at is None or listed_at is None:
        return False
    return _to_millisecond(tracked.source_updated_at) >= _to_millisecond(listed_at)


def _to_millisecond(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def _skip(job: SyncJob, reason: str) -> SyncOutcome:
    logger.info(
        "sync job of %s for integration %s skipped: %s",
        job.resource,
        job.integration_id,
        reason,
        extra={"integration_id": job.integration_id, "resource": job.resource},
    )
    return SyncOutcome("skipped", job.integration_id, job.resource, reason=reason)


def _context(integration: Integration, resource: Resource, run_id: str | None) -> dict[str, Any]:
    return {
        "integration_id": integration.id,
        "tenant_id": integration.tenant_id,
        "connector": integration.connector,
        "resource": resource.name,
        "run_id": run_id,
    }


@asynccontextmanager
async def _closing(pages: AsyncIterator[Page]) -> AsyncIterator[AsyncIterator[Page]]:
    """Close a page iterator however the walk leaves it, so prefetched requests end."""
    try:
        yield pages
    finally:
        aclose = getattr(pages, "aclose", None)
        if aclose is not None:
            await aclose()

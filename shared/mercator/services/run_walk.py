"""One SyncJob's walk through a resource's listing: pages written or handed to enrichment, passes
repeated until the store holds still, the deletion feed followed, the run finished or continued.

SyncService (mercator.services.sync_runs) starts or resumes a run and hands it to a RunWalk, which
owns it until it finishes, is superseded, or nears the invocation's deadline and continues in a new
SyncJob. Every rule of the window, the passes and the sweeps is told in sync_runs' docstring.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from mercator.connector import ConnectorDefinition, Resource
from mercator.connector.sync import DELETIONS
from mercator.domain.dead_letters import DeadLetter
from mercator.domain.entities import Integration, ListingPass, RunCheckpoint, RunStats, TrackedId
from mercator.domain.messages import EnrichBatch, SyncJob
from mercator.domain.pages import Page, PageCheckpoint
from mercator.domain.provider_errors import ProviderError
from mercator.services.deletions import absent_records
from mercator.services.passes import PassWatch
from mercator.services.ports import (
    ProviderSession,
)

if TYPE_CHECKING:
    from mercator.services.sync_runs import SyncService

logger = logging.getLogger(__name__)

Deadline = Callable[[], float]
SyncStatus = Literal["finished", "continued", "busy", "skipped", "superseded"]


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


class RunWalk:
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
        self.log_context = log_context(integration, resource, run.run_id)
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
            listing = ListingPass(
                number=listing.number + 1, started_at=self.service.clock(), first_page=run.pages_handed_off
            )
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
        summary, failures = self.service.writer.map_and_write(
            self.integration,
            self.resource,
            records,
            run_id=run.run_id,
            seen_via="sync",
            first_import=run.first_import,
        )
        for failure in failures:
            # The reason, not the payload: list records carry buyers' names and addresses.
            logger.warning(
                "%s record %s was sent to the dead-letter queue: %s",
                self.resource.name,
                self._id_of(failure.raw),
                failure.reason,
                extra={**self.log_context, "detail": failure.detail},
            )
        self._dead_letter(run, [(failure.reason, failure.detail, failure.raw) for failure in failures])
        return summary.stats(reconciling=self.reconciling).add(RunStats(errors=len(failures)))

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
            # Only the settled last pass proves absence: an id an earlier pass showed may be gone since.
            service.run_log.listed(
                self.integration.id, self.resource.name, run.run_id, from_page=_last_pass_start(run)
            ),
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


def _listing_start(run: RunCheckpoint) -> datetime:
    """The store's clock when the run's listing began (Mercator's when the store never said)."""
    return run.store_started_at or run.started_at


def _last_pass_start(run: RunCheckpoint) -> int:
    return run.listing.first_page if run.listing else 0


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


def log_context(integration: Integration, resource: Resource, run_id: str | None) -> dict[str, Any]:
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

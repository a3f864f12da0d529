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

import logging
from collections.abc import Callable
from contextlib import suppress
from uuid import uuid4

from mercator.connector import ConnectorDefinition, DefinitionError, Resource
from mercator.connector.sync import SWEEP
from mercator.domain.clock import utc_now
from mercator.domain.entities import Integration, ListingPass, RunCheckpoint
from mercator.domain.messages import SyncJob
from mercator.services.deletions import DeletionGuard
from mercator.services.families import content_type_of, family_resources
from mercator.services.ports import (
    Connectors,
    CredentialsVault,
    CursorRepository,
    IntegrationRepository,
    MessageQueue,
    ProviderSessions,
    RunLog,
)
from mercator.services.run_walk import Deadline, RunWalk, SyncOutcome, log_context
from mercator.services.writer import Clock, RecordWriter

logger = logging.getLogger(__name__)

MAX_PASSES = 3


class UnknownResourceError(ValueError):
    """A SyncJob named a resource its integration's connector does not have."""


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
            walk = RunWalk(
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
            extra=log_context(integration, resource, running.run_id),
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
            extra=log_context(integration, resource, run.run_id),
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
                    extra=log_context(integration, resource, delivery_id),
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
                extra=log_context(integration, resource, owner),
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
                extra=log_context(integration, resource, run.run_id),
            )
        logger.info(
            "run %s of %s starts %s",
            run.run_id,
            resource.name,
            f"since {since.isoformat()}" if since else "from the start (initial sync)",
            extra=log_context(integration, resource, run.run_id),
        )
        return run


def _listing(definition: ConnectorDefinition, key: str) -> Resource | None:
    """The resource a SyncJob names, or the deletion sweep one derives (``orders:sweep``)."""
    name, colon, part = key.partition(":")
    resource = definition.resources.get(name)
    if resource is None or not colon:
        return resource
    return resource.derived(colon + part)


def _skip(job: SyncJob, reason: str) -> SyncOutcome:
    logger.info(
        "sync job of %s for integration %s skipped: %s",
        job.resource,
        job.integration_id,
        reason,
        extra={"integration_id": job.integration_id, "resource": job.resource},
    )
    return SyncOutcome("skipped", job.integration_id, job.resource, reason=reason)

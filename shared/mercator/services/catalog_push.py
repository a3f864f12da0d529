"""CatalogPush's work: the tenant's canonical products written into each store that asks for them.

The canonical catalog is what the tenant's catalog source (an integration whose ``settings`` say
``catalogSource: true``, such as the Crystal ERP) wrote to the records table: one ``core:product``
per source id. A store integration whose ``settings.syncProducts`` is on (the default), on a connector with a
``push.products`` block, receives every canonical product, in code order, page by page:

- a product whose pushed content (the request bodies its ``push`` block makes of it) hashes as what
  was last pushed costs no request at all;
- one never pushed is looked up in the store by its key first (a create whose answer was lost must
  not become a second product), then created, or updated when found;
- one pushed before is updated by the store's id;
- one the source no longer offers (a tombstone: unmarked for e-commerce, gone from the source) is
  pushed once more as not visible: unpublished, never deleted, so its orders and links stay.

Exactly one product per source product: the entry in the push ledger is written as ``creating``
before a create, and a create is sent once (never retried by the client: the store may have taken
it); a push that finds a ``creating`` entry, or whose create failed without an answer, looks the
product up by its key before creating. Pushes of one store are serialised by a lease lock, so two
runs never push the same product at once.

A run checkpoints after every page (the last source code done) and, when the invocation nears its
end, sends itself to the push queue as a continuation. Store calls go through the integration's
session, paced by the rate budget it shares with inbound sync. A product the store refuses (a 4xx
with field errors) goes to the push DLQ with the store's reasons, and its page-mates go on.

What Mercator writes comes back: the store's product webhook, or its next listing. The store's
updated-at of each write is kept (``save_echo``); TriggerDispatch drops a store change event no newer
than that (``mercator.services.push_echoes``), so Mercator's own write never fires ``product.updated``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal
from uuid import uuid4

from mercator.connector import ConnectorDefinition, DefinitionError, Resource
from mercator.connector.mapper import map_records
from mercator.connector.product_push import (
    MissingStoreValueError,
    ProductPush,
    PushEndpoint,
    WriteCall,
    with_store,
)
from mercator.domain.clock import utc_now
from mercator.domain.dead_letters import DeadLetter
from mercator.domain.entities import Integration, PushAction, PushedProduct, PushRun, PushStats, StoredRecord
from mercator.domain.hashing import content_hash
from mercator.domain.messages import PushJob
from mercator.domain.provider_errors import ProviderError, ProviderHTTPError
from mercator.mapping import MappingError
from mercator.mapping.dates import parse_datetime
from mercator.services.families import family_resources
from mercator.services.ports import (
    Connectors,
    CredentialsVault,
    MessageQueue,
    ProviderSession,
    ProviderSessions,
)
from mercator.services.push_ports import CatalogRecords, LeaseLock, PushLedger, TenantIntegrations

logger = logging.getLogger(__name__)

PRODUCT = "core:product"
PAGE = 50
RESOURCE = "products:push"
# Statuses that say the store will never take this write as it is (its field errors), as opposed to
# credentials, a missing route or a rate limit, which concern every product alike.
_NEVER_AUTHORISED = frozenset({401, 403})
_CREATE_ATTEMPTS = 3

Deadline = Callable[[], float]
Progress = Callable[["PlannedPush"], None]


class PushConfigurationError(ValueError):
    """The job names an integration that cannot receive products (unknown, off, no push block, no
    catalog source): retrying will not help."""


class PushContextError(RuntimeError):
    """A value every product's push needs (the store's location) could not be read: the job fails
    and is tried again, no product is blamed."""


class PushBusyError(RuntimeError):
    """Another invocation holds the store's push lease: the job is retried once it is free."""


@dataclass
class PushOutcome:
    status: Literal["finished", "continued"]
    integration_id: str
    run_id: str
    stats: PushStats


@dataclass(frozen=True)
class PlannedPush:
    """One canonical product's action in a push plan."""

    source_code: str
    key: str | None
    action: PushAction | Literal["refuse"]
    reason: str = ""
    digest: str | None = None  # the hash of what the push sends of the product


@dataclass
class _Target:
    """One store integration receiving products, with what a push of it needs."""

    integration: Integration
    definition: ConnectorDefinition
    push: ProductPush
    source: Integration


@dataclass
class _Pushing:
    """One invocation's share of a run."""

    target: _Target
    session: ProviderSession
    run: PushRun
    context: dict[str, str] | None = None
    stats: PushStats = field(default_factory=PushStats)
    progress: Progress | None = None
    lock: tuple[str, str] = ("", "")  # the lease's name and owner


class CatalogPushService:
    """Fans push jobs out and runs them; depends only on the ports."""

    def __init__(
        self,
        *,
        integrations: TenantIntegrations,
        vault: CredentialsVault,
        connectors: Connectors,
        sessions: ProviderSessions,
        records: CatalogRecords,
        ledger: PushLedger,
        locks: LeaseLock,
        push_jobs: MessageQueue,
        dead_letters: MessageQueue,
        clock: Callable[[], datetime] = utc_now,
        deadline_margin_seconds: float = 30.0,
        lease_seconds: float = 900.0,
    ) -> None:
        self.integrations = integrations
        self.vault = vault
        self.connectors = connectors
        self.sessions = sessions
        self.records = records
        self.ledger = ledger
        self.locks = locks
        self.push_jobs = push_jobs
        self.dead_letters = dead_letters
        self.clock = clock
        self.margin = deadline_margin_seconds
        self.lease_seconds = lease_seconds

    # --- which stores -------------------------------------------------------------------------

    def fan_out(self) -> int:
        """A push job for every active store integration that receives products; how many were sent."""
        active = self.integrations.active()
        sources = catalog_sources(active)
        bodies = []
        for integration in active:
            if not receives_products(integration) or integration.tenant_id not in sources:
                continue
            try:
                definition = self.connectors.get(integration.connector)
            except DefinitionError as exc:
                logger.error("integration %s names a connector Mercator cannot load: %s", integration.id, exc)
                continue
            if definition.push is not None and definition.push.products is not None:
                bodies.append(PushJob(integration_id=integration.id).body())
        if bodies:
            self.push_jobs.send(bodies)
        logger.info("scheduled %d push job(s)", len(bodies))
        return len(bodies)

    def _target(self, integration_id: str) -> _Target:
        integration = self.integrations.get(integration_id)
        if integration is None:
            raise PushConfigurationError(f"no integration {integration_id!r}")
        if integration.status != "active" or not receives_products(integration):
            raise PushConfigurationError(
                f"integration {integration_id!r} does not receive products (it must be active, with "
                "settings.syncProducts true)"
            )
        definition = self.connectors.get(integration.connector)
        products = definition.push.products if definition.push is not None else None
        if products is None:
            raise PushConfigurationError(
                f"connector {definition.name!r} has no push.products block: Mercator cannot write "
                "products to it"
            )
        source = catalog_sources(self.integrations.for_tenant(integration.tenant_id)).get(
            integration.tenant_id
        )
        if source is None:
            raise PushConfigurationError(
                f"tenant {integration.tenant_id!r} names no catalog source (an active integration with "
                "settings.catalogSource true)"
            )
        return _Target(integration, definition, products, source)

    # --- planning -----------------------------------------------------------------------------

    def plan(self, integration_id: str) -> list[PlannedPush]:
        """What a push would do for each canonical product, without a request to the store."""
        target = self._target(integration_id)
        planned: list[PlannedPush] = []
        after: str | None = None
        while page := self._page(target, after):
            entries = self.ledger.between(target.integration.id, page[0].code, page[-1].code)
            for stored in page:
                planned.append(self._planned(target, stored, entries.get(stored.code)))
            after = page[-1].code
        return planned

    def _planned(self, target: _Target, stored: StoredRecord, entry: PushedProduct | None) -> PlannedPush:
        product = pushed_product(stored)
        try:
            key = target.push.key_of(product)
            digest = pushed_hash(target.push, product, key or "")
        except MappingError as exc:
            reason = f"the connector's push block cannot map the product: {exc}"
            return PlannedPush(stored.code, None, "refuse", reason, f"unmappable:{content_hash(product)}")
        # Pushed as it is now, or refused as it is now (tried again once it changes).
        if entry is not None and entry.state != "creating" and entry.pushed_hash == digest:
            return PlannedPush(stored.code, key, "unchanged", digest=digest)
        if key is None:
            reason = "the product has no key to find it by in the store (push.products.key gave nothing)"
            return PlannedPush(stored.code, None, "refuse", reason, digest)
        if stored.deleted:
            known = entry is not None and entry.provider_id is not None
            return PlannedPush(stored.code, key, "unpublish" if known else "unchanged", digest=digest)
        if entry is None or entry.provider_id is None:
            return PlannedPush(stored.code, key, "create", digest=digest)
        return PlannedPush(stored.code, key, "update", digest=digest)

    def _page(self, target: _Target, after: str | None) -> list[StoredRecord]:
        return self.records.written_by(
            target.source.tenant_id, PRODUCT, target.source.id, after=after, limit=PAGE
        )

    # --- running ------------------------------------------------------------------------------

    async def run_push_job(
        self, job: PushJob, deadline: Deadline, *, progress: Progress | None = None
    ) -> PushOutcome:
        """Push the catalog into the job's store until done or until ``deadline()`` nears the margin;
        ``progress`` is told each product's action once it is done."""
        target = self._target(job.integration_id)
        owner = uuid4().hex
        lock = f"push#{target.integration.id}"
        if not self.locks.acquire(lock, owner, self._lease(deadline)):
            raise PushBusyError(f"a push of integration {target.integration.id!r} is already running")
        try:
            run = self.ledger.run(target.integration.id)
            if run is None or (job.run_id is not None and run.run_id != job.run_id):
                run = self.ledger.new_run(job.run_id or uuid4().hex, self.clock())
            credentials = self.vault.credentials(target.integration)
            session = self.sessions.open(target.definition, target.integration, credentials)
            try:
                pushing = _Pushing(target, session, run, progress=progress, lock=(lock, owner))
                return await self._walk(pushing, deadline)
            finally:
                await session.aclose()
        finally:
            self.locks.release(lock, owner)

    async def _walk(self, pushing: _Pushing, deadline: Deadline) -> PushOutcome:
        target, run = pushing.target, pushing.run
        integration_id = target.integration.id
        while page := self._page(target, run.after):
            entries = self.ledger.between(integration_id, page[0].code, page[-1].code)
            for stored in page:
                await self._push_one(pushing, stored, entries.get(stored.code))
            run.after = page[-1].code
            run.stats = run.stats.add(pushing.stats)
            pushing.stats = PushStats()
            self.ledger.save_run(integration_id, run)
            # A long push (the command line has no deadline) keeps its lease page by page; one that
            # lost it (another push took the store over) stops, its checkpoint saved.
            if not self.locks.acquire(*pushing.lock, self._lease(deadline)):
                raise PushBusyError(f"the push of integration {integration_id!r} lost its lease")
            if deadline() < self.margin:
                run.continuation += 1
                self.ledger.save_run(integration_id, run)
                job = PushJob(
                    integration_id=integration_id,
                    run_id=run.run_id,
                    after=run.after,
                    continuation=run.continuation,
                )
                self.push_jobs.send([job.body()])
                return PushOutcome("continued", integration_id, run.run_id, run.stats)
        self.ledger.finish_run(integration_id, run)
        logger.info("push run %s of %s finished: %s", run.run_id, integration_id, run.stats.model_dump())
        return PushOutcome("finished", integration_id, run.run_id, run.stats)

    def _lease(self, deadline: Deadline) -> float:
        """Long enough for the invocation (a crashed one frees the store a minute after its end)."""
        return min(self.lease_seconds, max(deadline(), 0.0) + 60.0)

    async def _push_one(self, pushing: _Pushing, stored: StoredRecord, entry: PushedProduct | None) -> None:
        planned = self._planned(pushing.target, stored, entry)
        try:
            await self._push_planned(pushing, stored, entry, planned)
        finally:
            if pushing.progress is not None:
                pushing.progress(planned)

    async def _push_planned(
        self, pushing: _Pushing, stored: StoredRecord, entry: PushedProduct | None, planned: PlannedPush
    ) -> None:
        target = pushing.target
        if planned.action == "unchanged":
            pushing.stats = pushing.stats.add(PushStats(unchanged=1))
            return
        if planned.action == "refuse" or planned.key is None:
            self._refused(
                pushing, stored, planned=planned, entry=entry, reason=planned.reason, store_reasons=None
            )
            return
        product = pushed_product(stored)
        before = pushing.session.stats.requests, pushing.session.stats.throttled
        try:
            done = await self._write(pushing, stored.code, product, planned, entry)
        except ProviderHTTPError as exc:
            if exc.status in _NEVER_AUTHORISED or exc.status == 429 or exc.status >= 500:
                raise
            reasons = target.push.refusal_in(exc.answer) if exc.answer is not None else exc.excerpt
            self._refused(
                pushing,
                stored,
                planned=planned,
                entry=entry,
                reason=f"the store refused the product: {exc}",
                store_reasons=reasons,
            )
            done = PushStats()
        except (MissingStoreValueError, MappingError) as exc:
            self._refused(pushing, stored, planned=planned, entry=entry, reason=str(exc), store_reasons=None)
            done = PushStats()
        requests = pushing.session.stats.requests - before[0]
        throttled = pushing.session.stats.throttled - before[1]
        counted = done.add(PushStats(requests=requests, throttled=throttled))
        if planned.action == "unpublish" and counted.updated:
            counted = counted.model_copy(update={"updated": 0, "unpublished": counted.updated})
        pushing.stats = pushing.stats.add(counted)

    async def _write(
        self,
        pushing: _Pushing,
        code: str,
        product: dict[str, Any],
        planned: PlannedPush,
        entry: PushedProduct | None,
    ) -> PushStats:
        target = pushing.target
        push = target.push
        integration_id = target.integration.id
        key = planned.key or ""
        store: dict[str, Any] = {"key": key, **(await self._context(pushing))}
        if entry is not None and entry.provider_id is not None:
            store |= {**entry.ids, "id": entry.provider_id}
            answer = await self._update_or_recreate(pushing, product, store, key)
            created = False
        else:
            self.ledger.save(
                PushedProduct(integration_id=integration_id, source_code=code, key=key, state="creating")
            )
            answer, created = await self._find_or_create(pushing, product, store, key)
        answered = answer if isinstance(answer, dict) else {}
        store |= push.ids_in(answered)
        if "id" not in store:
            raise MissingStoreValueError("id")
        pushed = PushedProduct(
            integration_id=integration_id,
            source_code=code,
            key=key,
            provider_id=str(store["id"]),
            ids={name: str(value) for name, value in store.items() if name in push.ids and name != "id"},
            state="pushed",
            pushed_at=self.clock(),
        )
        if push.then:
            # The store's id is kept before the calls that follow: should one fail, the next push
            # updates this product instead of looking for it (no hash yet, so it is pushed again).
            self.ledger.save(pushed)
        source = with_store(product, store)
        for call in push.then:
            if call.applies(source):
                await self._send(pushing, call.endpoint, call.request_body(source), store)
        updated_at = await self._store_updated_at(pushing, answered, str(store["id"]))
        self.ledger.save(pushed.model_copy(update={"pushed_hash": planned.digest}))
        self.ledger.save_echo(integration_id, str(store["id"]), code, updated_at)
        return PushStats(created=1) if created else PushStats(updated=1)

    async def _find_or_create(
        self, pushing: _Pushing, product: dict[str, Any], store: dict[str, Any], key: str
    ) -> tuple[Any, bool]:
        """The store's product after a create, or after an update of the one found by ``key``."""
        push = pushing.target.push
        for attempt in range(_CREATE_ATTEMPTS):
            found = await self._find(pushing, store, key)
            if found is not None:
                store |= push.ids_in(found)
                return await self._update(pushing, push.update, product, store), False
            try:
                answer = await self._send(
                    pushing,
                    push.create.endpoint,
                    push.create.request_body(with_store(product, store)),
                    store,
                    once=True,
                )
            except ProviderHTTPError as exc:
                if exc.status < 500 or attempt + 1 == _CREATE_ATTEMPTS:
                    raise
            except ProviderError:
                # No answer (a timeout, a lost connection): the store may have taken it; look again.
                if attempt + 1 == _CREATE_ATTEMPTS:
                    raise
            else:
                return push.create.product_in(answer), True
        raise AssertionError("unreachable")  # pragma: no cover

    async def _update_or_recreate(
        self, pushing: _Pushing, product: dict[str, Any], store: dict[str, Any], key: str
    ) -> Any:
        """Update by the store's id; a product the merchant deleted in the store is found or created
        again (the source says it exists)."""
        push = pushing.target.push
        try:
            return await self._update(pushing, push.update, product, store)
        except ProviderHTTPError as exc:
            if exc.status != 404:
                raise
        logger.warning("product %s is gone from the store; finding or creating it again", store["id"])
        for name in ("id", *push.ids):
            store.pop(name, None)
        answer, _ = await self._find_or_create(pushing, product, store, key)
        return answer

    async def _update(
        self, pushing: _Pushing, call: WriteCall, product: dict[str, Any], store: dict[str, Any]
    ) -> Any:
        answer = await self._send(
            pushing, call.endpoint, call.request_body(with_store(product, store)), store
        )
        return call.product_in(answer) if answer is not None else None

    async def _find(self, pushing: _Pushing, store: Mapping[str, Any], key: str) -> Any | None:
        find = pushing.target.push.find
        try:
            answer = await self._send(pushing, find.endpoint, None, store)
        except ProviderHTTPError as exc:
            if exc.status in find.notFound:
                return None
            raise
        return find.found(answer, key)

    async def _context(self, pushing: _Pushing) -> dict[str, str]:
        """The push block's context values, read once per invocation."""
        if pushing.context is None:
            context: dict[str, str] = {}
            for name, value in pushing.target.push.context.items():
                try:
                    found = value.value_in(await self._send(pushing, value.endpoint, None, {}))
                except ProviderHTTPError as exc:
                    raise PushContextError(f"push.products.context.{name} could not be read: {exc}") from exc
                if found is None or isinstance(found, dict | list):
                    raise PushContextError(
                        f"push.products.context.{name}: the store's answer to {value.endpoint.url} has no "
                        f"value at {value.path}"
                    )
                context[name] = str(found)
            pushing.context = context
        return pushing.context

    async def _store_updated_at(
        self, pushing: _Pushing, answered: dict[str, Any], provider_id: str
    ) -> datetime | None:
        """The store's updated-at of the product as Mercator left it: from the write's answer, or, when
        later calls changed it again (stock set through its own endpoint), from a fresh read."""
        target = pushing.target
        resource = _product_resource(target.definition)
        if resource is None:
            return None
        record = answered
        if target.push.then:
            try:
                record = await pushing.session.details(resource.name, provider_id)
            except ProviderHTTPError:
                return None
        mapped = map_records(resource.mapping, resource.contentType, [record]).records
        updated = mapped[0].get("updatedAt") if mapped else None
        try:
            return parse_datetime(updated) if isinstance(updated, str) else None
        except ValueError:
            return None

    async def _send(
        self,
        pushing: _Pushing,
        endpoint: PushEndpoint,
        body: dict[str, Any] | None,
        store: Mapping[str, Any],
        *,
        once: bool = False,
    ) -> Any:
        url, params = endpoint.filled(store)
        return await pushing.session.call(endpoint.method, url, params=params, body=body, once=once)

    def _refused(
        self,
        pushing: _Pushing,
        stored: StoredRecord,
        *,
        planned: PlannedPush,
        entry: PushedProduct | None,
        reason: str,
        store_reasons: Any,
    ) -> None:
        """Dead-letter a product the store will not take as it is; it is tried again once it changes."""
        target = pushing.target
        self.ledger.save(
            PushedProduct(
                integration_id=target.integration.id,
                source_code=stored.code,
                key=planned.key or "",
                provider_id=entry.provider_id if entry else None,
                ids=entry.ids if entry else {},
                pushed_hash=planned.digest,
                state="refused",
                pushed_at=self.clock(),
            )
        )
        detail = {"source_code": stored.code, "key": planned.key}
        if store_reasons is not None:
            detail["store"] = store_reasons
        letter = DeadLetter(
            reason=reason,
            detail=detail,
            raw=stored.record,
            integration_id=target.integration.id,
            resource=RESOURCE,
            run_id=pushing.run.run_id,
            connector=target.definition.name,
        )
        self.dead_letters.send([letter.body()])
        logger.warning("product %s not pushed to %s: %s", stored.code, target.integration.id, reason)
        pushing.stats = pushing.stats.add(PushStats(refused=1))


def catalog_sources(integrations: list[Integration]) -> dict[str, Integration]:
    """Each tenant's catalog source: its active integration with ``settings.catalogSource`` true (the
    first by id, should a tenant name more than one)."""
    sources: dict[str, Integration] = {}
    for integration in sorted(integrations, key=lambda each: each.id):
        if integration.status == "active" and integration.settings.get("catalogSource") is True:
            sources.setdefault(integration.tenant_id, integration)
    return sources


def receives_products(integration: Integration) -> bool:
    """``settings.syncProducts``, on unless set off (the Integrations API's default); never the catalog
    source itself."""
    settings = integration.settings
    return settings.get("syncProducts", True) is True and settings.get("catalogSource") is not True


def pushed_product(stored: StoredRecord) -> dict[str, Any]:
    """The canonical product as pushed: a tombstone (the source no longer offers it) as not visible."""
    product = dict(stored.record)
    if stored.deleted:
        product["visible"] = False
    return product


def pushed_hash(push: ProductPush, product: Mapping[str, Any], key: str) -> str:
    """The hash of what a push sends of ``product``, store ids aside: unchanged, nothing is sent."""
    source = with_store(product, {"key": key})
    sent = {
        "update": push.update.request_body(source),
        "then": [call.request_body(source) for call in push.then if call.applies(source)],
    }
    return content_hash(sent)


def _product_resource(definition: ConnectorDefinition) -> Resource | None:
    """The store's listed product resource, whose mapping reads the store's answers back."""
    return next((resource for resource in family_resources(definition, "products") if resource.listed), None)

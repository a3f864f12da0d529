"""CatalogApply: a PIM request, applied to the catalog state, and the products it changed written to
the canonical catalog.

One request is one entity's detailed events, in order (the CatalogEvents FIFO queue hands the
requests of one entity over one at a time, in the order they were accepted):

1. the entity is read; a request it lists as applied already (a copy) changes nothing;
2. its events are applied (mercator.pim.catalog_model); one that needs an entity the catalog does
   not know yet raises CatalogWaitingError, and SQS hands the request over again later, up to the
   handler's bound, after which it is dead-lettered with its reason (as is a request the catalog
   cannot take at all);
3. the entity is written with the request's key, conditional on the version read (a concurrent
   write makes it read and apply again), then the references of a product (its attributes,
   categories, variants) so a change of one of them finds it;
4. the products whose canonical record may have changed are mapped again: the product itself and
   the variable products it is a variant of, or every product that uses a changed attribute or
   category. Each is rendered (mercator.pim.product_view), mapped with the PIM source definition's
   ``catalogEvents.products.apiMapping`` and written through the RecordWriter, which writes only
   what changed and announces product.created / product.updated. A deleted product, and a variant
   product (unless ``variantsStandalone``), is a deleted record: CatalogPush unpublishes it.

Step 4 runs for copies too, so a request whose invocation stopped after step 3 still reaches the
canonical catalog when SQS hands it over again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Protocol

from mercator.connector.catalog_source import CatalogEvents
from mercator.connector.mapper import map_records
from mercator.domain.clock import utc_now
from mercator.domain.dead_letters import DeadLetter
from mercator.domain.entities import Integration, TrackedId
from mercator.domain.hashing import content_hash
from mercator.domain.messages import CatalogEventsMessage
from mercator.pim.catalog_model import (
    CatalogAttribute,
    CatalogCategory,
    CatalogConflictError,
    CatalogProduct,
    EntityKind,
    Event,
    StoredEntity,
    VersionConflictError,
    Waiting,
    apply_events,
    references,
)
from mercator.pim.event_schemas import CatalogEventRefused, parse_envelope
from mercator.pim.product_view import product_view
from mercator.services.ports import Connectors, IntegrationLookup, MessageQueue
from mercator.services.writer import ReadyRecord, RecordWriter

PRODUCT = "core:product"
logger = logging.getLogger(__name__)
RESOURCE = "products"
_CONFLICT_RETRIES = 5
Clock = Callable[[], datetime]
ApplyOutcome = Literal["applied", "duplicate", "dead_lettered", "skipped"]


class CatalogWaitingError(Exception):
    """The request needs an entity the catalog does not know yet: hand it over again later."""


class CatalogStore(Protocol):
    def get_many(
        self, integration_id: str, wanted: Iterable[tuple[EntityKind, str]]
    ) -> dict[tuple[EntityKind, str], StoredEntity]: ...

    def save(
        self,
        integration_id: str,
        stored: StoredEntity,
        entity: CatalogAttribute | CatalogCategory | CatalogProduct | None,
        *,
        request_key: str,
        at: datetime,
        uses: set[str] | None = None,
    ) -> None: ...

    def link(
        self, integration_id: str, sku: str, *, added: Iterable[str], removed: Iterable[str]
    ) -> None: ...

    def users(self, integration_id: str, ref: str) -> list[str]: ...

    def mark_unmapped(self, integration_id: str, sku: str, reason_hash: str | None) -> None: ...


class HeldQueue(Protocol):
    def hold(self, receipts: Sequence[tuple[str, int]]) -> None: ...


@dataclass
class ApplyResult:
    outcome: ApplyOutcome
    written: int = 0
    reason: str | None = None


class CatalogView:
    """The catalog as events and renders read it (mercator.pim.catalog_model.Known), each entity read
    once per request, in batches where the set is known beforehand."""

    def __init__(self, store: CatalogStore, integration_id: str) -> None:
        self._store = store
        self._integration_id = integration_id
        self._seen: dict[tuple[EntityKind, str], StoredEntity | None] = {}

    def load(self, wanted: Iterable[tuple[EntityKind, str]]) -> None:
        missing = [entry for entry in dict.fromkeys(wanted) if entry not in self._seen]
        if not missing:
            return
        found = self._store.get_many(self._integration_id, missing)
        for entry in missing:
            self._seen[entry] = found.get(entry)

    def stored(self, kind: EntityKind, code: str) -> StoredEntity | None:
        self.load([(kind, code)])
        return self._seen[(kind, code)]

    def forget(self, kind: EntityKind, code: str) -> None:
        self._seen.pop((kind, code), None)

    def attribute(self, code: str) -> CatalogAttribute | None:
        stored = self.stored("attribute", code)
        return stored.entity if stored is not None and isinstance(stored.entity, CatalogAttribute) else None

    def category(self, code: str) -> CatalogCategory | None:
        stored = self.stored("category", code)
        return stored.entity if stored is not None and isinstance(stored.entity, CatalogCategory) else None

    def product(self, sku: str) -> CatalogProduct | None:
        stored = self.stored("product", sku)
        return stored.entity if stored is not None and isinstance(stored.entity, CatalogProduct) else None


class CatalogApply:
    """Applies PIM requests to the catalog state and writes the products they change."""

    def __init__(
        self,
        *,
        integrations: IntegrationLookup,
        connectors: Connectors,
        catalog: CatalogStore,
        writer: RecordWriter,
        dead_letters: MessageQueue,
        requests: HeldQueue,
        clock: Clock = utc_now,
    ) -> None:
        self.integrations = integrations
        self.connectors = connectors
        self.catalog = catalog
        self.writer = writer
        self.dead_letters = dead_letters
        self.requests = requests
        self.clock = clock

    def hold(self, receipts: Sequence[tuple[str, int]]) -> None:
        """Keep requests that failed (by receipt handle) out of sight for their seconds each."""
        self.requests.hold(receipts)

    def apply(self, message: CatalogEventsMessage, *, last_attempt: bool) -> ApplyResult:
        """Apply one request; ``last_attempt``: a request still waiting is dead-lettered, not retried."""
        integration = self.integrations.get(message.integration_id)
        source = None if integration is None else self.connectors.get(integration.connector).catalogEvents
        if integration is None or integration.status != "active" or source is None:
            logger.warning(
                "catalog request for integration %s, no longer a PIM source", message.integration_id
            )
            return ApplyResult(
                "skipped", reason="the integration is no longer an active catalog-events source"
            )
        try:
            envelope = parse_envelope(message.envelope, name=message.name)
        except CatalogEventRefused as refused:
            # Validated when accepted: only a schema changed since refuses it now.
            return self._dead_letter(integration, message, f"the request no longer validates: {refused}")
        events = [Event(event.type, event.payload) for event in envelope.events]
        for _ in range(_CONFLICT_RETRIES):
            view = CatalogView(self.catalog, integration.id)
            stored = view.stored(envelope.kind, envelope.entity) or StoredEntity(
                kind=envelope.kind, code=envelope.entity, entity=None, version=0, updated_at=None
            )
            if message.request_key in stored.applied:
                self._link(integration, stored, stored.entity, repair=True)
                written = self._publish(
                    integration, source, envelope.kind, envelope.entity, view, moved=set()
                )
                return ApplyResult("duplicate", written)
            try:
                applied = apply_events(
                    envelope.kind,
                    envelope.entity,
                    stored.entity,
                    change=envelope.change,
                    events=events,
                    known=view,
                )
            except Waiting as waiting:
                if last_attempt:
                    return self._dead_letter(integration, message, f"still waiting: {waiting}")
                raise CatalogWaitingError(str(waiting)) from None
            except CatalogConflictError as conflict:
                return self._dead_letter(integration, message, str(conflict))
            uses = set(references(applied.entity)) if envelope.kind == "product" else None
            try:
                self.catalog.save(
                    integration.id,
                    stored,
                    applied.entity,
                    request_key=message.request_key,
                    at=self.clock(),
                    uses=uses,
                )
            except VersionConflictError:
                continue
            self._link(integration, stored, applied.entity, repair=False)
            view.forget(envelope.kind, envelope.entity)
            let_go = applied.variants_added | applied.variants_removed
            written = self._publish(integration, source, envelope.kind, envelope.entity, view, moved=let_go)
            return ApplyResult("applied", written)
        raise CatalogWaitingError(
            f"{envelope.kind} {envelope.entity!r} kept being written by other requests; trying again later"
        )

    def _link(
        self,
        integration: Integration,
        stored: StoredEntity,
        entity: CatalogAttribute | CatalogCategory | CatalogProduct | None,
        *,
        repair: bool,
    ) -> None:
        if stored.kind != "product":
            return
        now = references(entity)
        # A copy re-links what the entity refers to now, in case the first stopped before linking.
        added = now if repair else now - stored.uses
        removed = set() if repair else stored.uses - now
        if added or removed:
            self.catalog.link(integration.id, stored.code, added=sorted(added), removed=sorted(removed))

    # --- the canonical catalog ------------------------------------------------------------------

    def _publish(
        self,
        integration: Integration,
        source: CatalogEvents,
        kind: EntityKind,
        code: str,
        view: CatalogView,
        *,
        moved: set[str],
    ) -> int:
        """Write the canonical records the request may have changed; ``moved``: products that became or
        stopped being variants of the request's product (sold on their own, or no longer)."""
        users = self.catalog.users
        skus = {code} if kind == "product" else set(users(integration.id, f"{kind}:{code}"))
        skus |= moved
        product = view.product(code) if kind == "product" else None
        if product is not None:
            skus.update(product.variants)  # a copy of the request does not know what it moved
        # A variable product shows its variants' prices, stock and options: it changes with them. Each
        # product's variable products are asked for once, for that and for whether it is sold alone.
        parents: dict[str, list[str]] = {}
        pending = set(skus)
        while pending:
            sku = pending.pop()
            parents[sku] = users(integration.id, f"variant:{sku}")
            pending.update(parent for parent in parents[sku] if parent not in parents)
        skus = set(parents)
        if not skus:
            return 0
        view.load(("product", sku) for sku in skus)
        tracked = self.writer.tracked(integration.id, RESOURCE, skus)
        ready: list[ReadyRecord] = []
        gone: list[str] = []
        for sku in sorted(skus):
            stored = view.stored("product", sku)
            found = view.product(sku)
            if stored is None or found is None:
                gone.append(sku)
                continue
            if parents.get(sku) and not source.products.variantsStandalone:
                gone.append(sku)  # sold as a variant of its variable product, not on its own
                continue
            record = self._record(integration, source, found, stored, view, last=tracked.get(sku))
            if record is not None:
                ready.append(record)
        summary = self.writer.write_ready(
            integration,
            resource=RESOURCE,
            content_type=PRODUCT,
            records=ready,
            run_id=None,
            seen_via="webhook",
        )
        deleted = 0
        if gone:
            deleted = self.writer.delete(
                integration,
                resource=RESOURCE,
                content_type=PRODUCT,
                codes=gone,
                deleted_at=self.clock(),
                run_id=None,
                seen_via="webhook",
            )
        return summary.new + summary.changed + deleted

    def _record(
        self,
        integration: Integration,
        source: CatalogEvents,
        product: CatalogProduct,
        stored: StoredEntity,
        view: CatalogView,
        *,
        last: TrackedId | None,
    ) -> ReadyRecord | None:
        """The product's canonical record, dated by the newest thing it shows (a renamed category
        re-dates its products); None when it reads as ``last`` did but for that date (a change of an
        option code it does not show), or when it does not map (dead-lettered)."""
        refs: list[tuple[EntityKind, str]] = [
            *(("attribute", code) for code in (*product.values, *product.bindings)),
            *(("category", code) for code in product.categories),
            *(("product", sku) for sku in product.variants),
        ]
        view.load(refs)
        variants = [view.product(sku) for sku in product.variants]
        view.load(
            ("attribute", code) for variant in variants if variant is not None for code in variant.values
        )
        moments = [stored.updated_at, *(found.updated_at for ref in refs if (found := view.stored(*ref)))]
        updated_at = max(moment for moment in moments if moment is not None)
        if last is not None and last.deleted and last.source_updated_at is not None:
            # Sold on its own again (a variant let go): newer than its deletion, whatever it shows.
            updated_at = max(updated_at, self.clock())
        elif last is not None and last.source_updated_at is not None:
            as_before = self._mapped(
                integration, source, product, stored, view, updated_at=last.source_updated_at, report=False
            )
            if as_before is not None and content_hash(as_before) == last.content_hash:
                return None
        record = self._mapped(integration, source, product, stored, view, updated_at=updated_at, report=True)
        return None if record is None else ReadyRecord(product.sku, record, updated_at)

    def _mapped(
        self,
        integration: Integration,
        source: CatalogEvents,
        product: CatalogProduct,
        stored: StoredEntity,
        view: CatalogView,
        *,
        updated_at: datetime,
        report: bool,
    ) -> dict[str, Any] | None:
        """The product mapped into core:product; None when it does not map, then (``report``)
        dead-lettered once per reason (a product filled in step by step in the PIM fails the same way
        at each step)."""
        document = product_view(product, view, languages=source.languages, updated_at=updated_at)
        outcome = map_records(source.products.mapping, PRODUCT, [document])
        if not outcome.failures:
            if report and stored.unmapped is not None:
                self.catalog.mark_unmapped(integration.id, product.sku, None)
            return outcome.records[0]
        if not report:
            return None
        failure = outcome.failures[0]
        reason = f"product {product.sku!r} does not map into {PRODUCT}: {failure.reason}"
        digest = content_hash(reason)
        if stored.unmapped != digest:
            self.dead_letters.send(
                [
                    DeadLetter(
                        reason=reason,
                        detail=failure.detail,
                        raw=document,
                        integration_id=integration.id,
                        resource=RESOURCE,
                        run_id="catalog-events",
                        connector=integration.connector,
                    ).body()
                ]
            )
            self.catalog.mark_unmapped(integration.id, product.sku, digest)
        return None

    def _dead_letter(
        self, integration: Integration, message: CatalogEventsMessage, reason: str
    ) -> ApplyResult:
        logger.warning("catalog request dead-lettered: %s", reason)
        self.dead_letters.send(
            [
                DeadLetter(
                    reason=reason,
                    detail={
                        "request_key": message.request_key,
                        "synchronization_id": message.synchronization_id,
                    },
                    raw=message.envelope,
                    integration_id=integration.id,
                    resource="catalog",
                    run_id="catalog-events",
                    connector=integration.connector,
                    event=message.name,
                ).body()
            ]
        )
        return ApplyResult("dead_lettered", reason=reason)

"""Reconciliation: an incremental sync backs webhooks up and counts the changes they missed.

A listed order that a webhook delivered at (or after) its listed updated-at is skipped: no details
call, no write, counted unchanged. Every other listed order is handled as usual, and each one
written counts as missed by webhooks; initial runs count none.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from mercator.connector import ConnectorDefinition
from mercator.domain.entities import Integration, TrackedId
from mercator.domain.messages import EnrichBatch
from mercator.domain.pages import ClientStats, DetailResult, Page
from mercator.services.connectors import ConnectorCatalog
from mercator.services.ports import ProviderSession, ProviderSessions
from mercator.services.run_walk import delivered_by_webhook, webhooks_deliver
from mercator.services.writer import ReadyRecord
from mercator_sandbox import Sandbox
from tests.integration.providers.support import FrozenClock
from tests.unit.services.fakes import FakeIntegrations
from tests.unit.services.salla_samples import DetailsServer, listed_orders
from tests.unit.services.support import (
    TENANT,
    World,
    epoch_utc,
    make_integration,
    new_job,
    page_size,
    plenty,
    tweaked_connector,
    world,
)

ORDERS = 12
OVERLAP = 300  # the WooCommerce connector's incremental.overlapSeconds
WEBHOOK_RECORD = {"status": "from-webhook"}
T = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)


class DetailsRecorder:
    """Provider sessions that note every id whose details are asked for."""

    def __init__(self, inner: ProviderSessions) -> None:
        self.inner = inner
        self.asked: list[str] = []

    def open(
        self, definition: ConnectorDefinition, integration: Integration, credentials: Mapping[str, str]
    ) -> _RecordingSession:
        return _RecordingSession(self.inner.open(definition, integration, credentials), self.asked)


class _RecordingSession:
    def __init__(self, inner: ProviderSession, asked: list[str]) -> None:
        self.inner = inner
        self.asked = asked

    @property
    def stats(self) -> ClientStats:
        return self.inner.stats

    def pages(self, resource_key: str, **options: Any) -> AsyncIterator[Page]:
        return self.inner.pages(resource_key, **options)

    def details_many(
        self, resource_key: str, ids: Iterable[str], **options: Any
    ) -> AsyncIterator[DetailResult]:
        wanted = list(ids)
        self.asked.extend(wanted)
        return self.inner.details_many(resource_key, wanted, **options)

    async def aclose(self) -> None:
        await self.inner.aclose()


def woo_orders(definition: ConnectorDefinition | None = None) -> tuple[Sandbox, World, Integration]:
    """A WooCommerce store of 12 orders, listed 5 a page, on frozen time."""
    sizes = {"orders": ORDERS, "products": 0, "customers": 0}
    sandbox = Sandbox("woocommerce", seed=31, sizes=sizes, rate_limit=None, clock=FrozenClock())
    integration = make_integration("woocommerce", sandbox)
    chosen = definition or tweaked_connector("woocommerce", page_size(5))
    return sandbox, world(sandbox, integration, definitions=[chosen]), integration


async def synced_woo_orders(
    definition: ConnectorDefinition | None = None,
) -> tuple[Sandbox, World, Integration]:
    """The store after its initial orders run, a quarter of an hour later."""
    sandbox, built, integration = woo_orders(definition)
    initial = await built.sync_service().run_sync_job(new_job(integration, "orders"), plenty)
    assert (initial.status, initial.stats.new) == ("finished", ORDERS)
    built.clock.advance(minutes=15)
    return sandbox, built, integration


def webhook_delivers(built: World, integration: Integration, order_id: int, at: datetime) -> None:
    """What webhook intake does with an order delivery: the webhook's own record, written and tracked
    as seen via webhook at the delivery's updated-at."""
    code = str(order_id)
    built.writer.write_ready(
        integration,
        resource="orders",
        content_type="ecommerce:orders",
        records=[ReadyRecord(code, {"code": code, **WEBHOOK_RECORD}, at)],
        run_id=None,
        seen_via="webhook",
    )


def stored_order(built: World, order_id: int) -> dict[str, Any]:
    return built.records.of_type(TENANT, "ecommerce:orders")[str(order_id)].record


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("webhook_offset", "skipped"),
    [
        (timedelta(0), True),  # the webhook brought the very version listed
        (timedelta(seconds=1), True),  # ...or a later one
        (timedelta(seconds=-1), False),  # an older one: the listing shows a change it missed
    ],
)
async def test_an_order_a_webhook_delivered_is_skipped_unless_the_listing_shows_a_later_version(
    webhook_offset: timedelta, skipped: bool
) -> None:
    # Given a synced store in which one order changes, and a webhook delivers that order
    sandbox, built, integration = await synced_woo_orders()
    order = sorted(sandbox.store.ids("orders"))[3]
    listed_at = epoch_utc(sandbox.store.touch("orders", order).updated)
    webhook_delivers(built, integration, order, listed_at + webhook_offset)
    writes_before = len(built.records.writes)

    # When the next incremental run lists the orders changed since the cursor
    outcome = await built.sync_service().run_sync_job(new_job(integration, "orders"), plenty)

    # Then the run listed the order: the cursor reached its updated-at, less the second the store's
    # Date header rounds to (the store's clock stands still, so the order and the listing share it)
    assert outcome.status == "finished"
    cursor = built.cursors.get(integration.id, "orders")
    assert cursor is not None and cursor.high_water_mark is not None
    assert listed_at - timedelta(seconds=2) < cursor.high_water_mark < listed_at
    entry = built.tracking.entries[(integration.id, "orders", str(order))]
    if skipped:
        # ...and left it as the webhook wrote it: no write, counted unchanged, nothing missed
        assert built.records.writes[writes_before:] == []
        assert stored_order(built, order)["status"] == "from-webhook"
        assert entry.last_seen_via == "webhook"
        assert (outcome.stats.new, outcome.stats.changed, outcome.stats.missed_by_webhook) == (0, 0, 0)
        assert outcome.stats.unchanged == outcome.stats.records
    else:
        # ...and wrote the later version it listed, a change the webhooks missed
        assert [write.code for write in built.records.writes[writes_before:]] == [str(order)]
        assert stored_order(built, order)["status"] != "from-webhook"
        assert (entry.last_seen_via, entry.source_updated_at) == ("sync", listed_at)
        assert (outcome.stats.changed, outcome.stats.missed_by_webhook) == (1, 1)
    assert cursor.last_run_stats == outcome.stats


@pytest.mark.anyio
async def test_orders_no_webhook_delivered_are_counted_missed_and_unchanged_ones_in_the_overlap_are_not() -> (
    None
):
    # Given a synced store; the orders already inside the overlap window before the cursor
    sandbox, built, integration = await synced_woo_orders()
    store = sandbox.store
    mark = max(store.get("orders", i).updated for i in store.ids("orders"))
    oldest = min(store.ids("orders"), key=lambda i: store.get("orders", i).updated)
    in_window = {i for i in store.ids("orders") if store.get("orders", i).updated > mark - OVERLAP}
    assert in_window and oldest not in in_window
    # ...and then, without any webhook, one order is placed and the oldest one changes
    placed = store.insert("orders").id
    store.touch("orders", oldest)

    # When the next incremental run lists the changes
    outcome = await built.sync_service().run_sync_job(new_job(integration, "orders"), plenty)

    # Then both changes are written and counted missed by webhooks; the window's others are not
    stats = outcome.stats
    assert stats.records == len(in_window) + 2
    assert (stats.new, stats.changed, stats.missed_by_webhook) == (1, 1, 2)
    assert stats.unchanged == len(in_window)
    assert sorted(built.records.written()[ORDERS:]) == sorted([str(placed), str(oldest)])
    cursor = built.cursors.get(integration.id, "orders")
    assert cursor is not None and cursor.last_run_stats is not None
    assert cursor.last_run_stats.missed_by_webhook == 2


@pytest.mark.anyio
async def test_an_initial_run_counts_nothing_missed() -> None:
    # Given a store never synced
    _, built, integration = woo_orders()

    # When its first orders run lists it from the start
    outcome = await built.sync_service().run_sync_job(new_job(integration, "orders"), plenty)

    # Then every order is new, and none counts as missed: no webhook could have brought them
    assert (outcome.stats.new, outcome.stats.missed_by_webhook) == (ORDERS, 0)


@pytest.mark.anyio
async def test_a_resource_no_webhook_handler_covers_is_neither_skipped_nor_counted() -> None:
    # Given WooCommerce without its order webhooks, and an order a (foreign) webhook write tracked
    def without_order_webhooks(document: dict[str, Any]) -> None:
        page_size(5)(document)
        handlers = document["sync"]["webhooks"]["handlers"]
        for event in [event for event, handler in handlers.items() if handler["recordType"] == "order"]:
            del handlers[event]
        # Buyers are extracted from order deliveries only, so that goes too.
        del document["webhook"]["customerExtraction"]

    definition = tweaked_connector("woocommerce", without_order_webhooks)
    assert not webhooks_deliver(definition, definition.resources["orders"])
    sandbox, built, integration = await synced_woo_orders(definition)
    order = sorted(sandbox.store.ids("orders"))[0]
    listed_at = epoch_utc(sandbox.store.touch("orders", order).updated)
    webhook_delivers(built, integration, order, listed_at)

    # When the incremental run lists it
    outcome = await built.sync_service().run_sync_job(new_job(integration, "orders"), plenty)

    # Then the sync lays what it knows of that same version over it (no skipping without a webhook
    # handler) and counts nothing missed; the merge moved the status the stored version had, a change
    # the source did not re-date, so it counts as changed (the writer announces it)
    assert stored_order(built, order)["status"] != "from-webhook"
    assert (outcome.stats.changed, outcome.stats.missed_by_webhook) == (1, 0)


@pytest.mark.anyio
async def test_enriched_orders_a_webhook_delivered_are_never_batched_and_enrichment_counts_the_missed() -> (
    None
):
    # Given a Salla store (orders expand details) synced once, its batches enriched
    sizes = {"orders": 8, "products": 0, "customers": 0, "carts": 0}
    sandbox = Sandbox("salla", seed=4, sizes=sizes, rate_limit=None, clock=FrozenClock())
    integration = make_integration("salla", sandbox)
    built = world(sandbox, integration)
    recorder = DetailsRecorder(built.sessions)
    built.sessions = recorder
    sync, enrichment = built.sync_service(), built.enrichment_service()
    await sync.run_sync_job(new_job(integration, "orders"), plenty)
    initial = [EnrichBatch.parse(body) for body in built.enrich.take()]
    assert {batch.reconcile for batch in initial} == {False}
    for batch in initial:
        assert (await enrichment.enrich(batch, plenty)).stats.missed_by_webhook == 0
    # ...then two orders are placed: a webhook delivers one, the other's webhook is lost.
    # Salla lists orders by creation date, so the listed updated-at is the creation time.
    delivered, lost = sandbox.store.insert("orders"), sandbox.store.insert("orders")
    webhook_delivers(built, integration, delivered.id, epoch_utc(delivered.created))
    recorder.asked.clear()
    writes_before = len(built.records.writes)
    built.clock.advance(minutes=15)

    # When the incremental run lists them and enrichment handles its batches
    outcome = await sync.run_sync_job(new_job(integration, "orders"), plenty)
    batches = [EnrichBatch.parse(body) for body in built.enrich.take()]
    enriched = [await enrichment.enrich(batch, plenty) for batch in batches]

    # Then the delivered order was counted unchanged by the sync and never batched or asked for
    batched = [str(record["id"]) for batch in batches for record in batch.records]
    assert str(lost.id) in batched and str(delivered.id) not in batched
    assert {batch.reconcile for batch in batches} == {True}
    assert outcome.stats.records == len(batched) + 1
    assert outcome.stats.unchanged == 1
    assert sorted(recorder.asked) == sorted(batched)
    assert stored_order(built, delivered.id)["status"] == "from-webhook"
    # ...and enrichment wrote the lost one alone and counted it missed, in the run's log too
    assert [write.code for write in built.records.writes[writes_before:]] == [str(lost.id)]
    assert sum(outcome.stats.missed_by_webhook for outcome in enriched) == 1
    run_log = built.run_log.get(integration.id, "orders", outcome.run_id or "")
    assert (run_log.new, run_log.missed_by_webhook) == (1, 1)


@pytest.mark.anyio
@pytest.mark.parametrize(("reconcile", "missed"), [(True, 2), (False, 0)])
async def test_enrichment_counts_what_it_writes_as_missed_only_in_reconciling_batches(
    reconcile: bool, missed: int
) -> None:
    # Given the two orders of the List Orders sample, never written before
    server = DetailsServer()
    integration = make_integration("salla")
    built = World(http=server.http, integrations=FakeIntegrations(integration), connectors=ConnectorCatalog())
    batch = EnrichBatch(
        integration_id=integration.id,
        resource="orders",
        run_id="run-9",
        records=listed_orders(),
        reconcile=reconcile,
    )
    enrichment = built.enrichment_service()

    # When the batch is enriched, and then once more with nothing changed
    first = await enrichment.enrich(batch, plenty)
    again = await enrichment.enrich(batch, plenty)

    # Then both written orders count as missed only when the batch reconciles; unchanged ones never
    assert (first.stats.new, first.stats.missed_by_webhook) == (2, missed)
    assert (again.stats.unchanged, again.stats.missed_by_webhook) == (2, 0)
    assert built.run_log.get(integration.id, "orders", "run-9").missed_by_webhook == missed


def tracked(via: str | None, at: datetime | None) -> TrackedId:
    return TrackedId.model_validate(
        {
            "integration_id": "shop-1",
            "resource": "orders",
            "external_id": "1001",
            "content_hash": "h1",
            "source_updated_at": at,
            "first_seen_via": "webhook",
            "last_seen_via": via,
        }
    )


MS = timedelta(milliseconds=1)
US = timedelta(microseconds=1)


@pytest.mark.parametrize(
    ("entry", "listed_at", "delivered"),
    [
        (None, T, False),  # never tracked
        (tracked("webhook", T), T, True),
        (tracked("webhook", T + MS), T, True),
        (tracked("webhook", T - MS), T, False),
        (tracked("sync", T), T, False),  # the sync wrote the latest version
        (tracked(None, T), T, False),  # stored before the channel was kept
        (tracked("webhook", None), T, False),  # an updated-at missing on either side tells nothing
        (tracked("webhook", T), None, False),
        # Tracking keeps milliseconds: a listed time 999 µs later is the same millisecond
        (tracked("webhook", T), T + 999 * US, True),
        (tracked("webhook", T), T + MS, False),
        # A naive time is UTC, as the state adapters read it
        (tracked("webhook", T.replace(tzinfo=None)), T, True),
    ],
)
def test_whether_a_webhook_delivered_the_listed_version(
    entry: TrackedId | None, listed_at: datetime | None, delivered: bool
) -> None:
    assert delivered_by_webhook(entry, listed_at) is delivered

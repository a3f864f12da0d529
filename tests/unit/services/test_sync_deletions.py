"""Deletions a listing by updated-since cannot show: read from the platform's deletion feed (Shopify's
Events API, WooCommerce's trash) on every incremental run, or proved by a whole, ids-only sweep on a
slower schedule."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from mercator.connector import ConnectorDefinition
from mercator.domain.entities import Integration
from mercator.domain.messages import ChangeEvent, SyncJob
from mercator.domain.pages import Page
from mercator.domain.provider_errors import ProviderHTTPError
from mercator.services.ports import ProviderSessions
from mercator_sandbox import Sandbox
from tests.integration.providers.support import FrozenClock
from tests.unit.services.support import (
    TENANT,
    World,
    both,
    make_integration,
    new_job,
    page_size,
    plenty,
    tweaked_connector,
    world,
)

SHOPIFY_ORDERS_FEED = {
    "feed": {
        "endpoint": {"url": "/events.json", "params": {"filter": "Order", "verb": "destroy"}},
        "pagination": {"type": "link_header", "paramName": "limit", "defaultLimit": 250, "maxLimit": 250},
        "responseMapping": {"dataProperty": "events"},
        "incremental": {"param": "created_at_min", "overlapSeconds": 300, "recordUpdatedAt": "created_at"},
        "idPath": "subject_id",
    }
}
WOO_PRODUCTS_TRASH = {
    "feed": {
        "endpoint": {"url": "/products", "params": {"status": "trash"}},
        "pagination": {
            "type": "page_number",
            "pageParam": "page",
            "paramName": "per_page",
            "defaultLimit": 100,
        },
        "incremental": {
            "param": "modified_after",
            "format": "iso8601_z",
            "overlapSeconds": 300,
            "recordUpdatedAt": "date_modified_gmt",
            "timezone": "UTC",
        },
    }
}
SHOPIFY_CARTS_SWEEP = {"sweep": {"everySeconds": 86_400, "params": {"fields": "id,token,cart_token"}}}
DAILY_SWEEP = {"sweep": {"everySeconds": 86_400}}


def with_deletions(resource: str, block: dict[str, Any]) -> Callable[[dict[str, Any]], None]:
    def change(document: dict[str, Any]) -> None:
        document["sync"]["resources"][resource]["deletions"] = block

    return change


def store(flavor: str, **sizes: int) -> Sandbox:
    counts = {"orders": 0, "products": 0, "customers": 0, "carts": 0, **sizes}
    if flavor == "woocommerce":
        counts.pop("carts")
    return Sandbox(flavor, seed=4, sizes=counts, rate_limit=None, clock=FrozenClock())  # type: ignore[arg-type]


def built_world(sandbox: Sandbox, flavor: str, resource: str, block: dict[str, Any]) -> tuple[World, SyncJob]:
    integration = make_integration(flavor, sandbox)
    definition = tweaked_connector(flavor, both(page_size(3), with_deletions(resource, block)))
    return world(sandbox, integration, definitions=[definition], page_prefetch=1), new_job(
        integration, resource
    )


class FailingFeed:
    """Sessions whose deletion feeds fail as a store answering 5xx after every retry; lists work."""

    def __init__(self, inner: ProviderSessions) -> None:
        self.inner = inner

    def open(self, definition: ConnectorDefinition, integration: Integration, credentials: Any) -> Any:
        session = self.inner.open(definition, integration, credentials)
        listing = session.pages

        def pages(resource_key: str, **options: Any) -> AsyncIterator[Page]:
            if resource_key.endswith(":deletions"):
                return _failing()
            return listing(resource_key, **options)

        session.pages = pages  # type: ignore[method-assign]
        return session


async def _failing() -> AsyncIterator[Page]:
    raise ProviderHTTPError(503, "GET", "/events.json", "Service Unavailable")
    yield  # an async generator that fails when first asked


def deleted_codes(built: World, content_type: str) -> set[str]:
    return {code for code, item in built.records.of_type(TENANT, content_type).items() if item.deleted}


def later(sandbox: Sandbox, built: World, minutes: int = 10) -> None:
    """Both clocks move on, the store's and Mercator's."""
    sandbox.advance_clock(minutes * 60)
    built.clock.advance(minutes=minutes)


@pytest.mark.anyio
async def test_orders_deleted_in_shopify_are_read_from_its_events_and_marked_deleted() -> None:
    # Given a synced Shopify store of 7 orders, two of which the merchant then deletes
    sandbox = store("shopify", orders=7)
    built, job = built_world(sandbox, "shopify", "orders", SHOPIFY_ORDERS_FEED)
    service = built.sync_service()
    await service.run_sync_job(job, plenty)
    before = {code: item.record for code, item in built.records.of_type(TENANT, "ecommerce:orders").items()}
    later(sandbox, built)
    gone = sorted(sandbox.store.ids("orders"))[1:3]
    for order_id in gone:
        sandbox.store.delete("orders", order_id)
    built.triggers.take()
    later(sandbox, built)

    # When the next incremental run comes (its listing shows nothing: nothing was updated)
    outcome = await service.run_sync_job(job, plenty)

    # Then the two orders are marked deleted from their destroy events, keeping their last content
    assert (outcome.stats.new, outcome.stats.changed, outcome.stats.deleted) == (0, 0, 2)
    assert deleted_codes(built, "ecommerce:orders") == {str(order_id) for order_id in gone}
    events = [ChangeEvent.parse(body) for body in built.triggers.take()]
    assert sorted((event.change, event.code) for event in events) == [("deleted", str(i)) for i in gone]
    assert all(event.record == before[event.code] and not event.first_import for event in events)
    # And the feed's mark moved, so the run after reads past them and deletes nothing more
    cursor = built.cursors.get(job.integration_id, "orders")
    assert cursor is not None
    assert cursor.deletions_mark is not None
    later(sandbox, built)
    assert (await service.run_sync_job(job, plenty)).stats.deleted == 0
    assert built.triggers.bodies == []


@pytest.mark.anyio
async def test_a_woocommerce_product_moved_to_the_trash_is_marked_deleted() -> None:
    # Given a synced WooCommerce catalogue of 6 products, one of which the merchant trashes
    sandbox = store("woocommerce", products=6)
    built, job = built_world(sandbox, "woocommerce", "products", WOO_PRODUCTS_TRASH)
    service = built.sync_service()
    await service.run_sync_job(job, plenty)
    later(sandbox, built)
    trashed = min(sandbox.store.ids("products"))
    sandbox.store.delete("products", trashed)
    later(sandbox, built)

    # When the next incremental run comes
    outcome = await service.run_sync_job(job, plenty)

    # Then the trashed product is marked deleted, and only it
    assert outcome.stats.deleted == 1
    assert deleted_codes(built, "core:product") == {str(trashed)}


@pytest.mark.anyio
async def test_a_deletion_feed_that_fails_moves_no_mark_and_the_next_run_catches_up() -> None:
    # Given a synced Shopify store whose merchant deletes an order, and an events endpoint that fails
    sandbox = store("shopify", orders=5)
    built, job = built_world(sandbox, "shopify", "orders", SHOPIFY_ORDERS_FEED)
    await built.sync_service().run_sync_job(job, plenty)
    mark = built.cursors.get(job.integration_id, "orders")
    assert mark is not None
    later(sandbox, built)
    gone = min(sandbox.store.ids("orders"))
    sandbox.store.delete("orders", gone)
    later(sandbox, built)
    built.sessions = FailingFeed(built.sessions)

    # When the incremental run's listing is empty and its feed answers 5xx after every retry
    failed = await built.sync_service().run_sync_job(job, plenty)

    # Then the run finishes, deletes nothing and leaves the feed's mark where it was
    assert failed.status == "finished"
    assert failed.stats.deleted == 0
    cursor = built.cursors.get(job.integration_id, "orders")
    assert cursor is not None
    assert cursor.deletions_mark == mark.deletions_mark

    # When the store answers again and the next run comes
    built.sessions = built.sessions.inner  # type: ignore[attr-defined]
    later(sandbox, built)
    caught_up = await built.sync_service().run_sync_job(job, plenty)

    # Then it reads the same stretch of the feed and marks the order deleted
    assert caught_up.stats.deleted == 1
    assert deleted_codes(built, "ecommerce:orders") == {str(gone)}


@pytest.mark.anyio
async def test_abandoned_checkouts_gone_from_shopify_are_found_by_the_ids_only_sweep_when_due() -> None:
    # Given a synced Shopify store of 7 abandoned checkouts with a daily sweep, one checkout then gone
    sandbox = store("shopify", carts=7)
    built, _ = built_world(sandbox, "shopify", "abandoned_carts", SHOPIFY_CARTS_SWEEP)
    service = built.sync_service()
    assert service.fan_out("carts") == 1  # the first import comes before any sweep
    await service.run_sync_job(SyncJob.parse(built.sync_jobs.take()[0]), plenty)
    later(sandbox, built)
    gone = min(sandbox.store.ids("carts"))
    sandbox.store.delete("carts", gone)
    # A checkout's code is its cart token; its id is kept under attributes.
    carts = built.records.of_type(TENANT, "ecommerce:carts")
    gone_code = next(
        code for code, item in carts.items() if item.record["attributes"]["checkoutId"] == str(gone)
    )
    later(sandbox, built)

    # When the carts schedule fires
    assert service.fan_out("carts") == 2
    jobs = [SyncJob.parse(body) for body in built.sync_jobs.take()]
    assert sorted(job.resource for job in jobs) == ["abandoned_carts", "abandoned_carts:sweep"]
    outcomes = [await service.run_sync_job(job, plenty) for job in jobs]

    # Then the sweep listed every checkout, wrote none, and marked the gone one deleted
    sweep = outcomes[[job.resource for job in jobs].index("abandoned_carts:sweep")]
    assert sweep.status == "finished"
    assert (sweep.stats.records, sweep.stats.new, sweep.stats.changed) == (6, 0, 0)
    assert sweep.stats.deleted == 1
    assert deleted_codes(built, "ecommerce:carts") == {gone_code}
    # And the sweep is not due again before a day has passed
    later(sandbox, built, minutes=60)
    assert service.fan_out("carts") == 1
    built.sync_jobs.take()
    later(sandbox, built, minutes=24 * 60)
    assert service.fan_out("carts") == 2


class DeletingBehindTheSweep:
    """Sessions whose sweeps see the merchant delete the first record of the first page, right after
    that page was listed: the pass that showed it is the one the store moved under."""

    def __init__(self, inner: ProviderSessions, sandbox: Sandbox, resource: str) -> None:
        self.inner, self.sandbox, self.resource = inner, sandbox, resource
        self.deleted: list[int] = []

    def open(self, definition: ConnectorDefinition, integration: Integration, credentials: Any) -> Any:
        session = self.inner.open(definition, integration, credentials)
        listing = session.pages

        async def pages(resource_key: str, **options: Any) -> AsyncIterator[Page]:
            async for page in listing(resource_key, **options):
                yield page
                if resource_key.endswith(":sweep") and not self.deleted:
                    self.deleted.append(int(page.records[0]["id"]))
                    self.sandbox.store.delete(self.resource, self.deleted[0])

        session.pages = pages  # type: ignore[method-assign]
        return session


@pytest.mark.anyio
async def test_a_record_deleted_after_the_sweeps_first_pass_showed_it_is_marked_deleted() -> None:
    # Given a synced Salla store of 7 customers with a daily sweep, listed three to a page
    sandbox = store("salla", customers=7)
    built, _ = built_world(sandbox, "salla", "customers", DAILY_SWEEP)
    service = built.sync_service()
    assert service.fan_out("customers") == 1
    await service.run_sync_job(SyncJob.parse(built.sync_jobs.take()[0]), plenty)
    later(sandbox, built)

    # When the sweep runs and the merchant deletes a customer its first page has just shown
    assert service.fan_out("customers") == 2
    sweep = next(job for job in map(SyncJob.parse, built.sync_jobs.take()) if job.resource.endswith(":sweep"))
    behind = DeletingBehindTheSweep(built.sessions, sandbox, "customers")
    built.sessions = behind
    outcome = await built.sync_service().run_sync_job(sweep, plenty)

    # Then the sweep lists again (the total moved), and its settled second pass, which no longer shows
    # the customer, proves it gone although the first pass showed it
    assert outcome.status == "finished"
    # The first pass: page 1 of 7, then the second page of what is now 6 (one record shifted onto the
    # page already listed); the second pass: all 6
    assert (outcome.passes, outcome.stats.records) == (2, 3 + 3 + 6)
    assert outcome.stats.deleted == 1
    assert deleted_codes(built, "core:customer") == {str(behind.deleted[0])}

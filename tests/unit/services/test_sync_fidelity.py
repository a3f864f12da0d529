"""The records table stays equal to the store: windows that never skip, runs that admit their gaps,
deletions proved by whole listings (and only by them), behind the mass-delete guard."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from mercator.connector.mapper import map_records
from mercator.domain.messages import ChangeEvent, SyncJob
from mercator.domain.provider_errors import ProviderHTTPError
from mercator.services.deletions import DeletionGuard
from mercator.services.writer import ReadyRecord
from mercator_sandbox import Sandbox
from tests.integration.providers.support import FrozenClock
from tests.unit.services.fakes import FakeIntegrations
from tests.unit.services.support import (
    TENANT,
    ChangingSessions,
    World,
    make_integration,
    new_job,
    page_size,
    plenty,
    tweaked_connector,
    woo_products_store,
    woo_products_world,
    world,
)

SHOPIFY_ORIGIN = "https://mercator-sandbox.myshopify.com"


def shopify_orders(count: int) -> tuple[Sandbox, World, SyncJob]:
    """A Shopify store of ``count`` orders listed two a page (a keyset cursor: no second pass)."""
    sizes = {"orders": count, "products": 0, "customers": 0, "carts": 0}
    sandbox = Sandbox("shopify", seed=5, sizes=sizes, rate_limit=None, clock=FrozenClock())
    integration = make_integration("shopify", sandbox)
    definition = tweaked_connector("shopify", page_size(2))
    built = world(sandbox, integration, definitions=[definition], page_prefetch=1)
    return sandbox, built, new_job(integration, "orders")


async def shopify_order(sandbox: Sandbox, order_id: int) -> Any:
    """The order as the store has it now, mapped as the connector maps it."""
    definition = tweaked_connector("shopify", page_size(2))
    async with sandbox.client(SHOPIFY_ORIGIN) as http:
        response = await http.get(f"/orders/{order_id}.json")
        outcome = map_records(
            definition.resources["orders"].mapping, "ecommerce:orders", [response.json()["order"]]
        )
        return outcome.records[0]


def salla_products(count: int) -> tuple[Sandbox, World, SyncJob]:
    """A Salla store of ``count`` products: Salla lists products whole on every run."""
    sizes = {"orders": 0, "products": count, "customers": 0, "carts": 0}
    sandbox = Sandbox("salla", seed=3, sizes=sizes, rate_limit=None, clock=FrozenClock())
    integration = make_integration("salla", sandbox)
    definition = tweaked_connector("salla", page_size(5))
    built = world(sandbox, integration, definitions=[definition], page_prefetch=1)
    return sandbox, built, new_job(integration, "products")


def products_of(built: World) -> dict[str, Any]:
    return built.records.of_type(TENANT, "core:product")


def deleted_codes(built: World, content_type: str = "core:product") -> set[str]:
    return {code for code, item in built.records.of_type(TENANT, content_type).items() if item.deleted}


@pytest.mark.anyio
async def test_an_edit_behind_a_listing_that_outlasts_the_overlap_is_in_the_next_window() -> None:
    # Given a synced Shopify store of 6 orders, all of which then change, so the next run lists 3 pages
    sandbox, built, job = shopify_orders(6)
    service = built.sync_service()
    await service.run_sync_job(job, plenty)
    ids = sorted(sandbox.store.ids("orders"))
    for order_id in ids:
        sandbox.store.touch("orders", order_id)
    sandbox.advance_clock(60)
    built.clock.advance(minutes=1)

    # ...and a run that fails at page 3 (the store answers 503 until the invocation gives up)
    def fail() -> None:
        raise ProviderHTTPError(503, "GET", "/orders.json", "Service Unavailable")

    built.sessions = ChangingSessions(built.sessions, fail, skip=1)
    with pytest.raises(ProviderHTTPError):
        await built.sync_service().run_sync_job(job, plenty, delivery_id="message-1")
    listed = [int(code) for code in built.records.written()[len(ids) :]]
    assert len(listed) == 4
    late = next(order_id for order_id in ids if order_id not in listed)

    # When an order already listed changes, the clock moves on 1,800 s (SQS redelivers after its
    # visibility timeout), an order not yet listed changes, and the run is delivered again
    sandbox.store.touch("orders", listed[0])
    sandbox.advance_clock(1_800)
    built.clock.advance(seconds=1_800)
    sandbox.store.touch("orders", late)
    built.sessions = built.sessions.inner  # type: ignore[attr-defined]
    resumed = await service.run_sync_job(job, plenty, delivery_id="message-1")
    assert resumed.status == "finished"

    # Then the next window starts no later than the failed run's start, so a clean incremental run
    # writes the order edited behind the listing
    built.clock.advance(minutes=5)
    following = await service.run_sync_job(
        new_job(built.integrations.items[job.integration_id], "orders"), plenty
    )
    assert following.status == "finished"
    stored = built.records.of_type(TENANT, "ecommerce:orders")
    assert stored[str(listed[0])].record == await shopify_order(sandbox, listed[0])


@pytest.mark.anyio
async def test_a_run_whose_last_pass_still_moves_keeps_its_window_and_says_so() -> None:
    # Given a store that loses its first product after every page read, for good
    sandbox = woo_products_store(23, seed=9)
    built, integration, job = woo_products_world(sandbox, 5, page_prefetch=1)
    built.sessions = ChangingSessions(
        built.sessions,
        lambda: sandbox.store.delete("products", min(sandbox.store.ids("products"))),
        pages=100,
    )

    # When the initial run gives up after its third pass
    outcome = await built.sync_service().run_sync_job(job, plenty)

    # Then it finished unsettled: the stats say so, and neither the mark nor the last success moved
    assert outcome.status == "finished"
    assert outcome.passes == 3
    assert outcome.stats.unsettled == 1
    cursor = built.cursors.get(integration.id, "products")
    assert cursor is not None
    assert (cursor.high_water_mark, cursor.last_success_at) == (None, None)
    assert cursor.last_finished_at is not None
    assert cursor.last_run_stats is not None
    assert cursor.last_run_stats.unsettled == 1
    # And it deleted nothing, though the store lost products under it
    assert deleted_codes(built) == set()

    # When the store holds still and the next run comes
    built.sessions = built.sessions.inner  # type: ignore[attr-defined]
    built.clock.advance(minutes=5)
    built.triggers.take()
    again = await built.sync_service().run_sync_job(job, plenty)

    # Then it lists the whole store again, still as the first import (nothing it writes is news)
    assert again.stats.unsettled == 0
    assert again.stats.records == len(sandbox.store.ids("products"))
    assert all(ChangeEvent.parse(body).first_import for body in built.triggers.bodies)
    cursor = built.cursors.get(integration.id, "products")
    assert cursor is not None
    assert cursor.high_water_mark is not None
    assert cursor.last_success_at is not None


@pytest.mark.anyio
async def test_records_a_whole_listing_no_longer_shows_are_marked_deleted_and_announced() -> None:
    # Given a synced Salla store of 12 products, two of which the merchant then deletes (no webhook)
    sandbox, built, job = salla_products(12)
    service = built.sync_service()
    await service.run_sync_job(job, plenty)
    before = {code: item.record for code, item in products_of(built).items()}
    gone = sorted(sandbox.store.ids("products"))[3:5]
    for product_id in gone:
        sandbox.store.delete("products", product_id)
    built.triggers.take()
    built.clock.advance(minutes=30)

    # When the next run lists the whole catalogue
    outcome = await service.run_sync_job(job, plenty)

    # Then exactly those two are marked deleted, keeping their last content
    assert outcome.stats.deleted == 2
    assert deleted_codes(built) == {str(product_id) for product_id in gone}
    for product_id in gone:
        assert products_of(built)[str(product_id)].record == before[str(product_id)]
    # And each deletion is announced once, as a deleted change with the record's last content
    events = [ChangeEvent.parse(body) for body in built.triggers.bodies]
    assert sorted((event.change, event.code) for event in events) == [
        ("deleted", str(product_id)) for product_id in gone
    ]
    assert all(event.record == before[event.code] for event in events)
    # And tracking knows them deleted, so the run after deletes (and announces) nothing more
    built.triggers.take()
    built.clock.advance(minutes=30)
    third = await service.run_sync_job(job, plenty)
    assert third.stats.deleted == 0
    assert built.triggers.bodies == []


@pytest.mark.anyio
async def test_a_record_deleted_and_then_changed_in_the_store_comes_back_as_created() -> None:
    # Given a product marked deleted by a whole listing
    sandbox, built, job = salla_products(6)
    service = built.sync_service()
    await service.run_sync_job(job, plenty)
    product_id = sorted(sandbox.store.ids("products"))[2]
    kept = sandbox.store.get("products", product_id)
    sandbox.store.delete("products", product_id)
    built.clock.advance(minutes=10)
    await service.run_sync_job(job, plenty)
    assert deleted_codes(built) == {str(product_id)}
    built.triggers.take()

    # When the store shows it again, changed since (a deletion undone), and the next run lists it
    products = sandbox.store.table("products")
    del products.tombstones[product_id]
    products.add(kept)
    sandbox.advance_clock(60)
    sandbox.store.touch("products", product_id)
    built.clock.advance(minutes=10)
    outcome = await service.run_sync_job(job, plenty)

    # Then it is live again, announced as created
    assert deleted_codes(built) == set()
    assert outcome.stats.new == 1
    [event] = [ChangeEvent.parse(body) for body in built.triggers.bodies]
    assert (event.change, event.code) == ("created", str(product_id))


@pytest.mark.anyio
async def test_the_mass_delete_guard_holds_an_empty_answer_and_counts_it() -> None:
    # Given a synced catalogue of 12 products, and a store that then answers an empty list
    _, built, job = salla_products(12)
    service = built.sync_service()
    await service.run_sync_job(job, plenty)
    built.triggers.take()

    def empty(request: httpx.Request) -> httpx.Response:
        body = {"status": 200, "success": True, "data": [], "pagination": {"count": 0, "total": 0}}
        body["pagination"].update({"perPage": 5, "currentPage": 1, "totalPages": 1, "links": []})
        return httpx.Response(200, json=body)

    built.sessions = World(
        http=lambda: httpx.AsyncClient(transport=httpx.MockTransport(empty)),
        integrations=FakeIntegrations(*built.integrations.items.values()),
        connectors=built.connectors,
    ).sessions
    built.clock.advance(minutes=10)

    # When the next run lists nothing at all
    outcome = await built.sync_service().run_sync_job(job, plenty)

    # Then nothing is deleted or announced; the 12 absent products are held and counted
    assert outcome.stats.deleted == 0
    assert outcome.stats.deletions_held == 12
    assert deleted_codes(built) == set()
    assert built.triggers.bodies == []


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("guard", "absent", "deleted", "held"),
    [
        (DeletionGuard(max_fraction=0.25, min_count=2), 3, 3, 0),  # 3 of 12 is 25 %
        (DeletionGuard(max_fraction=0.25, min_count=2), 4, 0, 4),  # 4 of 12 is more
        (DeletionGuard(max_fraction=0.0, min_count=4), 4, 4, 0),  # a few are always believed
    ],
)
async def test_the_mass_delete_guard_believes_up_to_its_threshold(
    guard: DeletionGuard, absent: int, deleted: int, held: int
) -> None:
    # Given a synced catalogue of 12 products, ``absent`` of which the store then deletes
    sandbox, built, job = salla_products(12)
    service = built.sync_service()
    service.deletion_guard = guard
    await service.run_sync_job(job, plenty)
    for product_id in sorted(sandbox.store.ids("products"))[:absent]:
        sandbox.store.delete("products", product_id)
    built.clock.advance(minutes=10)

    # When the next run lists the catalogue
    outcome = await service.run_sync_job(job, plenty)

    # Then the guard lets them through, or holds them all
    assert (outcome.stats.deleted, outcome.stats.deletions_held) == (deleted, held)
    assert len(deleted_codes(built)) == deleted


@pytest.mark.anyio
async def test_a_record_a_webhook_brought_while_the_listing_ran_is_not_taken_for_deleted() -> None:
    # Given a synced catalogue, and a product a webhook writes while the next listing runs, which
    # the listing (already past its place) does not show
    _, built, job = salla_products(6)
    service = built.sync_service()
    await service.run_sync_job(job, plenty)
    integration = built.integrations.items[job.integration_id]
    built.clock.advance(minutes=10)

    def webhook_brings_one() -> None:
        built.writer.write_ready(
            integration,
            resource="products",
            content_type="core:product",
            records=[ReadyRecord("999999", {"code": "999999", "name": "New", "unitPrice": 5}, None)],
            run_id=None,
            seen_via="webhook",
        )

    built.sessions = ChangingSessions(built.sessions, webhook_brings_one)

    # When the run finishes
    outcome = await built.sync_service().run_sync_job(job, plenty)

    # Then that product stays live: it may have been created behind the listing
    assert outcome.stats.deleted == 0
    assert deleted_codes(built) == set()


@pytest.mark.anyio
async def test_an_incremental_run_never_takes_an_unlisted_record_for_deleted() -> None:
    # Given a synced WooCommerce catalogue (listed by modified_after), one product then deleted for
    # good (past the trash, which the connector's deletion feed reads)
    sandbox = woo_products_store(12, seed=9)
    built, _, job = woo_products_world(sandbox, 5)
    service = built.sync_service()
    await service.run_sync_job(job, plenty)
    sandbox.store.delete("products", min(sandbox.store.ids("products")), force=True)
    built.clock.advance(minutes=10)

    # When the next (incremental) run lists only what changed
    outcome = await service.run_sync_job(job, plenty)

    # Then it deletes nothing: not being in a window proves nothing
    assert outcome.stats.deleted == 0
    assert deleted_codes(built) == set()

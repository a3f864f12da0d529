"""Sync runs that map and write records themselves: initial, incremental, unchanged and changed."""

from __future__ import annotations

import json
import math
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from mercator.connector import load_shipped
from mercator.connector.mapper import map_records
from mercator.domain.messages import ChangeEvent, SyncJob
from mercator.services.connectors import ConnectorCatalog
from mercator.services.sync_runs import UnknownResourceError
from mercator_sandbox import Sandbox
from tests.integration.providers.support import FrozenClock
from tests.unit.services.fakes import FakeIntegrations
from tests.unit.services.support import (
    TENANT,
    World,
    epoch_utc,
    make_integration,
    new_job,
    plenty,
    woo_products_world,
    world,
)

PRODUCTS = 23
PAGE = 5
OVERLAP = 300  # the WooCommerce connector's incremental.overlapSeconds
SAMPLES = Path(__file__).resolve().parents[3] / "shared/mercator/connectors/samples"


def woo_store() -> Sandbox:
    sizes = {"products": PRODUCTS, "orders": 0, "customers": 0}
    return Sandbox("woocommerce", seed=11, sizes=sizes, rate_limit=None, clock=FrozenClock())


def woo_world(sandbox: Sandbox) -> tuple[World, SyncJob]:
    built, _, job = woo_products_world(sandbox, PAGE)
    return built, job


async def store_products(sandbox: Sandbox) -> dict[str, dict[str, Any]]:
    """Each live product as the platform shows it, mapped: what the records table should hold."""
    resource = load_shipped("woocommerce").resources["products"]
    expected: dict[str, dict[str, Any]] = {}
    # Record URLs carry the origin asked, so ask at the store URL the integration uses.
    async with sandbox.client("https://woo-sandbox.test") as http:
        for record_id in sorted(sandbox.store.ids("products")):
            response = await http.get(f"/products/{record_id}")
            outcome = map_records(resource.mapping, "core:product", [response.json()])
            assert not outcome.failures
            expected[str(record_id)] = outcome.records[0]
    return expected


def newest_update(sandbox: Sandbox) -> int:
    store = sandbox.store
    return max(store.get("products", i).updated for i in store.ids("products"))


@pytest.mark.anyio
async def test_an_initial_run_writes_every_record_of_the_store_and_announces_each() -> None:
    # Given a store with 23 products and no cursor yet
    sandbox = woo_store()
    world, job = woo_world(sandbox)

    # When the products job runs with plenty of time
    outcome = await world.sync_service().run_sync_job(job, plenty)

    # Then the records table holds exactly the store's products, as mapped from the platform
    stored = world.records.of_type(TENANT, "core:product")
    assert {code: item.record for code, item in stored.items()} == await store_products(sandbox)
    assert sorted(Counter(world.records.written()).values()) == [1] * PRODUCTS
    # And each was announced once as created, from the sync
    events = [ChangeEvent.parse(body) for body in world.triggers.bodies]
    assert sorted(event.code for event in events) == sorted(stored)
    assert {(event.change, event.source, event.tenant_id, event.connector) for event in events} == {
        ("created", "sync", TENANT, "woocommerce")
    }
    # ...as the store's history, which fires no trigger
    assert {event.first_import for event in events} == {True}
    # And the run counted five pages (23 records, 5 a page) and one request each
    assert outcome.status == "finished"
    assert outcome.stats.pages == math.ceil(PRODUCTS / PAGE) == 5
    assert (outcome.stats.records, outcome.stats.new, outcome.stats.unchanged) == (PRODUCTS, PRODUCTS, 0)
    assert outcome.stats.requests == 5
    # And the cursor moved to the newest product's own update time, with the run's stats
    cursor = world.cursors.get(job.integration_id, "products")
    assert cursor is not None
    assert cursor.high_water_mark == epoch_utc(newest_update(sandbox))
    assert cursor.running is None
    assert cursor.last_run_id == outcome.run_id
    assert cursor.last_run_stats == outcome.stats
    # And every record is tracked as first seen by sync in this run
    assert {entry.first_seen_via for entry in world.tracking.entries.values()} == {"sync"}
    assert {entry.last_seen_run for entry in world.tracking.entries.values()} == {outcome.run_id}


@pytest.mark.anyio
async def test_a_second_run_without_changes_writes_nothing_and_announces_nothing() -> None:
    # Given a first run that synced the store
    sandbox = woo_store()
    world, job = woo_world(sandbox)
    service = world.sync_service()
    first = await service.run_sync_job(job, plenty)
    writes, events = len(world.records.writes), len(world.triggers.bodies)
    world.clock.advance(minutes=15)

    # When the next scheduled run lists what changed since the cursor
    second = await service.run_sync_job(job, plenty)

    # Then it lists only the overlap window before the cursor, finds it unchanged, and writes nothing
    mark = newest_update(sandbox)
    in_window = [
        i for i in sandbox.store.ids("products") if sandbox.store.get("products", i).updated > mark - OVERLAP
    ]
    assert in_window, "the window must hold at least the newest product"
    assert second.status == "finished"
    assert second.run_id != first.run_id
    assert (second.stats.records, second.stats.unchanged) == (len(in_window), len(in_window))
    assert (second.stats.new, second.stats.changed) == (0, 0)
    assert len(world.records.writes) == writes
    assert len(world.triggers.bodies) == events
    # And the cursor stays where it was (it never moves back)
    cursor = world.cursors.get(job.integration_id, "products")
    assert cursor is not None
    assert cursor.high_water_mark == epoch_utc(mark)
    assert cursor.last_run_id == second.run_id


@pytest.mark.anyio
async def test_a_record_changed_in_the_store_is_written_again_and_announced_as_updated() -> None:
    # Given a synced store in which one product then changes
    sandbox = woo_store()
    world, job = woo_world(sandbox)
    service = world.sync_service()
    await service.run_sync_job(job, plenty)
    changed = sorted(sandbox.store.ids("products"))[7]
    sandbox.store.touch("products", changed)
    world.triggers.take()
    world.clock.advance(minutes=15)

    # When the next run lists the changes
    outcome = await service.run_sync_job(job, plenty)

    # Then exactly that product is written again and announced as updated
    assert [write.code for write in world.records.writes[PRODUCTS:]] == [str(changed)]
    assert outcome.stats.changed == 1
    assert outcome.stats.new == 0
    events = [ChangeEvent.parse(body) for body in world.triggers.bodies]
    assert [(event.change, event.code) for event in events] == [("updated", str(changed))]
    # ...as news: the integration's first run of the resource has finished
    assert [event.first_import for event in events] == [False]
    stored = world.records.of_type(TENANT, "core:product")[str(changed)]
    assert stored.version == 2
    assert stored.record == (await store_products(sandbox))[str(changed)]
    # And the cursor moved on, but not past the store's clock when the listing began: the store's
    # clock stands still here, so the change and the listing share a second, and the mark stays a
    # second and the request's time behind it (the Date header's rounding), inside the next window
    cursor = world.cursors.get(job.integration_id, "products")
    assert cursor is not None
    assert cursor.high_water_mark is not None
    edited = epoch_utc(sandbox.store.get("products", changed).updated)
    assert edited - timedelta(seconds=2) < cursor.high_water_mark < edited


def woo_products_answer(request: httpx.Request) -> httpx.Response:
    products = json.loads((SAMPLES / "woocommerce/products_list.json").read_text(encoding="utf-8"))
    products[0]["name"] = ""  # a product without a name is not a valid core:product
    return httpx.Response(200, json=products, headers={"X-WP-Total": "2", "X-WP-TotalPages": "1"})


@pytest.mark.anyio
async def test_a_record_that_fails_validation_counts_as_an_error_and_its_page_mates_are_written(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Given a page of two products, the first one without a name
    integration = make_integration("woocommerce")
    world = World(
        http=lambda: httpx.AsyncClient(transport=httpx.MockTransport(woo_products_answer)),
        integrations=FakeIntegrations(integration),
        connectors=ConnectorCatalog(),
    )

    # When the products job runs
    outcome = await world.sync_service().run_sync_job(new_job(integration, "products"), plenty)

    # Then the other product is written, and the bad one is an error whose reason is logged
    assert world.records.written() == ["794"]
    assert (outcome.stats.records, outcome.stats.new, outcome.stats.errors) == (2, 1, 1)
    assert outcome.status == "finished"
    warnings = [record.getMessage() for record in caplog.records if record.levelname == "WARNING"]
    assert any("products record 799 was sent to the dead-letter queue" in line for line in warnings)
    # And the bad one is in the dead-letter queue with the connector, field, path and raw record
    [letter] = world.dead_letters.documents()
    assert (letter["connector"], letter["resource"], letter["run_id"]) == (
        "woocommerce",
        "products",
        outcome.run_id,
    )
    assert letter["raw"]["id"] == 799
    assert letter["raw"]["name"] == ""
    assert "name" in letter["reason"]
    assert any(field == "name" for field, _ in letter["detail"]["problems"])


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("status", "resources", "reason"),
    [
        ("disabled", None, "the integration is disabled or does not sync products"),
        ("active", ["orders"], "the integration is active or does not sync products"),
    ],
)
async def test_a_job_for_an_integration_that_no_longer_syncs_the_resource_is_skipped(
    status: str, resources: list[str] | None, reason: str
) -> None:
    sandbox = woo_store()
    integration = make_integration("woocommerce", sandbox, status=status, resources=resources)
    built = world(sandbox, integration)

    outcome = await built.sync_service().run_sync_job(new_job(integration, "products"), plenty)

    assert (outcome.status, outcome.reason) == ("skipped", reason)
    assert sandbox.counters.snapshot()["requests"] == {}
    assert built.cursors.checkpoints == []


@pytest.mark.anyio
async def test_a_job_for_a_removed_integration_is_skipped() -> None:
    sandbox = woo_store()
    built = world(sandbox)

    outcome = await built.sync_service().run_sync_job(
        SyncJob(integration_id="gone", resource="products"), plenty
    )

    assert (outcome.status, outcome.reason) == ("skipped", "the integration no longer exists")


@pytest.mark.anyio
async def test_a_job_for_a_resource_the_connector_lacks_is_refused_by_name() -> None:
    sandbox = woo_store()
    integration = make_integration("woocommerce", sandbox)
    built = world(sandbox, integration)

    with pytest.raises(UnknownResourceError) as caught:
        await built.sync_service().run_sync_job(new_job(integration, "abandoned_carts"), plenty)

    assert str(caught.value) == (
        "connector 'woocommerce' of integration 'woocommerce-store' has no resource 'abandoned_carts'; "
        "resources: products, customers, orders, shipments"
    )

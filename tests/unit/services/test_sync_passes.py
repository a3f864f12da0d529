"""A page-number listing that the store shifts under it is listed again; at most three passes."""

from __future__ import annotations

from collections import Counter

import pytest

from mercator.domain.messages import SyncJob
from mercator_sandbox import Sandbox
from tests.unit.services.support import (
    ChangingSessions,
    World,
    deadlines,
    new_job,
    plenty,
    woo_products_store,
    woo_products_world,
)

PRODUCTS = 23
PAGE = 5


def woo_world() -> tuple[Sandbox, World, str]:
    sandbox = woo_products_store(PRODUCTS, seed=9)
    # One page at a time, so a change after a page reaches the very next request.
    built, integration, _ = woo_products_world(sandbox, PAGE, page_prefetch=1)
    return sandbox, built, integration.id


@pytest.mark.anyio
async def test_a_record_shifted_out_of_sight_by_a_deletion_is_found_by_a_second_pass() -> None:
    # Given products listed by id, five a page, and the first one deleted right after page 1 was read
    sandbox, world, integration_id = woo_world()
    ids = sorted(sandbox.store.ids("products"))
    world.sessions = ChangingSessions(world.sessions, lambda: sandbox.store.delete("products", ids[0]))

    # When the products job runs
    outcome = await world.sync_service().run_sync_job(
        new_job(world.integrations.items[integration_id], "products"), plenty
    )

    # Then the deletion moved ids[5] onto page 1 after it was read, so pass 1 listed 22 records and
    # saw the total drop from 23 to 22; pass 2 listed the 22 live ones and wrote the one it missed
    assert outcome.status == "finished"
    assert outcome.passes == 2
    assert outcome.gap_reasons == ()
    assert outcome.stats.records == 22 + 22
    assert outcome.stats.pages == 5 + 5
    assert (outcome.stats.new, outcome.stats.unchanged) == (23, 21)
    # And every product the run ever saw was written exactly once, the missed one last
    written = world.records.written()
    assert sorted(written) == sorted(str(i) for i in ids)
    assert set(Counter(written).values()) == {1}
    assert written[-1] == str(ids[5])


@pytest.mark.anyio
async def test_a_store_that_keeps_shifting_is_listed_three_times_at_most() -> None:
    # Given a store that loses the first live product after every page read
    sandbox, world, integration_id = woo_world()

    def delete_first() -> None:
        sandbox.store.delete("products", min(sandbox.store.ids("products")))

    world.sessions = ChangingSessions(world.sessions, delete_first, pages=100)

    # When the products job runs
    outcome = await world.sync_service().run_sync_job(
        new_job(world.integrations.items[integration_id], "products"), plenty
    )

    # Then it gives up listing again after the third pass, finishes, and says why the last pass may
    # still have a gap
    assert outcome.status == "finished"
    assert outcome.passes == 3
    assert any(reason.startswith("the total changed during the pass") for reason in outcome.gap_reasons)
    cursor = world.cursors.get(integration_id, "products")
    assert cursor is not None
    assert cursor.running is None
    assert cursor.last_run_id == outcome.run_id


@pytest.mark.anyio
async def test_a_pass_that_spans_invocations_still_sees_the_total_move() -> None:
    # Given a run that stopped after two pages (ten products) and continued
    sandbox, world, integration_id = woo_world()
    ids = sorted(sandbox.store.ids("products"))
    service = world.sync_service()
    first = await service.run_sync_job(
        new_job(world.integrations.items[integration_id], "products"), deadlines(100, 10)
    )
    assert first.status == "continued"
    [body] = world.sync_jobs.take()

    # When the first product is deleted before the continuation reads page 3
    sandbox.store.delete("products", ids[0])
    outcome = await service.run_sync_job(SyncJob.parse(body), plenty)

    # Then page 3 starts at ids[11] (ids[10] moved onto page 2), the total it reports (22) differs
    # from the one stored with the checkpoint (23), and a second pass writes ids[10]
    assert outcome.status == "finished"
    assert outcome.passes == 2
    assert outcome.stats.records == (10 + 5 + 5 + 2) + 22
    assert (outcome.stats.new, outcome.stats.unchanged) == (23, 21)
    written = world.records.written()
    assert sorted(written) == sorted(str(i) for i in ids)
    assert set(Counter(written).values()) == {1}
    assert written[-1] == str(ids[10])

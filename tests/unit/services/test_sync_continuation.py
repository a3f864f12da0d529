"""A run that nears the Lambda deadline continues in another invocation: no gap, no duplicate write.

The cursor's high-water mark moves only when the run finishes; while it runs, the cursor belongs to
it, and a run whose checkpoint went stale is taken over by the next scheduled one.
"""

from __future__ import annotations

from collections import Counter

import pytest

from mercator.domain.messages import ChangeEvent, SyncJob
from mercator.domain.pages import PageCheckpoint
from mercator_sandbox import Sandbox
from tests.unit.services.support import (
    World,
    deadlines,
    epoch_utc,
    plenty,
    woo_products_store,
    woo_products_world,
)

PRODUCTS = 23
PAGE = 5


def woo_world() -> tuple[Sandbox, World, SyncJob]:
    sandbox = woo_products_store(PRODUCTS, seed=5)
    built, _, job = woo_products_world(sandbox, PAGE)
    return sandbox, built, job


def updated(sandbox: Sandbox, ids: list[int]) -> int:
    return max(sandbox.store.get("products", i).updated for i in ids)


@pytest.mark.anyio
async def test_a_run_near_the_deadline_sends_its_checkpoint_and_the_continuation_finishes_it() -> None:
    # Given 23 products listed 5 a page, by id (the connector asks for orderby=id&order=asc)
    sandbox, world, job = woo_world()
    ids = sorted(sandbox.store.ids("products"))
    service = world.sync_service(margin=30)

    # When the first invocation has 100 s left after page 1 and only 10 s after page 2
    first = await service.run_sync_job(job, deadlines(100, 10))

    # Then it stops after two pages and sends its continuation with the checkpoint of page 3
    assert first.status == "continued"
    assert (first.stats.pages, first.stats.records, first.stats.new) == (2, 10, 10)
    [body] = world.sync_jobs.take()
    continuation = SyncJob.parse(body)
    assert continuation.continuation == 1
    assert continuation.integration_id == job.integration_id
    run = continuation.run
    assert run is not None
    assert run.run_id == first.run_id
    assert run.pages_handed_off == 2
    assert run.page is not None
    next_page = PageCheckpoint.from_json(run.page)
    assert (next_page.page, next_page.number, next_page.page_size) == (3, 2, PAGE)
    assert run.high_water_mark == epoch_utc(updated(sandbox, ids[:10]))
    # And it wrote the first ten products only
    assert world.records.written() == [str(i) for i in ids[:10]]
    # And the cursor holds the checkpoint but has not moved
    cursor = world.cursors.get(job.integration_id, "products")
    assert cursor is not None
    assert cursor.running == run
    assert cursor.high_water_mark is None
    assert cursor.last_success_at is None

    # When the continuation runs with plenty of time
    world.clock.advance(minutes=1)
    last = await service.run_sync_job(continuation, plenty)

    # Then every product is written exactly once, in listing order, and announced once
    assert last.status == "finished"
    assert last.run_id == first.run_id
    assert world.records.written() == [str(i) for i in ids]
    assert (
        sorted(Counter(ChangeEvent.parse(b).code for b in world.triggers.bodies).values()) == [1] * PRODUCTS
    )
    # And the stats cover both invocations
    assert (last.stats.pages, last.stats.records, last.stats.new) == (5, PRODUCTS, PRODUCTS)
    assert last.stats.requests == 5
    assert last.stats.duration_ms == 60_000
    # And only now does the cursor move, to the newest product of the whole store
    cursor = world.cursors.get(job.integration_id, "products")
    assert cursor is not None
    assert cursor.running is None
    assert cursor.high_water_mark == epoch_utc(updated(sandbox, ids))
    assert cursor.last_success_at == world.clock.now
    assert world.sync_jobs.bodies == []


@pytest.mark.anyio
async def test_a_scheduled_job_leaves_a_running_run_alone() -> None:
    # Given a run that continued and still owns the cursor
    sandbox, world, job = woo_world()
    service = world.sync_service()
    first = await service.run_sync_job(job, deadlines(10))
    requests = sandbox.counters.snapshot()["total"]
    world.sync_jobs.take()
    world.clock.advance(hours=1)

    # When the next schedule's job arrives
    outcome = await service.run_sync_job(job, plenty)

    # Then it does not start: no provider call, nothing written or sent, the cursor untouched
    assert (outcome.status, outcome.run_id) == ("busy", first.run_id)
    assert sandbox.counters.snapshot()["total"] == requests
    assert world.sync_jobs.bodies == []
    assert len(world.cursors.checkpoints) == 2  # the first run's start and its one page


@pytest.mark.anyio
async def test_a_stale_run_is_taken_over_and_its_late_continuation_stops() -> None:
    # Given a run that stopped after one page and whose continuation was held up for seven hours
    sandbox, world, job = woo_world()
    ids = sorted(sandbox.store.ids("products"))
    service = world.sync_service()
    stale = await service.run_sync_job(job, deadlines(10))
    [late] = world.sync_jobs.take()
    world.clock.advance(hours=7)

    # When the next schedule's job arrives
    takeover = await service.run_sync_job(job, plenty)

    # Then a new run takes the cursor over and syncs everything, the first page's records unchanged
    assert takeover.status == "finished"
    assert takeover.run_id != stale.run_id
    assert world.records.written() == [str(i) for i in ids]
    assert (takeover.stats.new, takeover.stats.unchanged) == (PRODUCTS - PAGE, PAGE)

    # When the stale run's continuation finally arrives
    writes = len(world.records.writes)
    requests = sandbox.counters.snapshot()["total"]
    superseded = await service.run_sync_job(SyncJob.parse(late), plenty)

    # Then it finds the cursor no longer its own and stops without a request, a write or a finish
    assert (superseded.status, superseded.run_id) == ("superseded", stale.run_id)
    assert sandbox.counters.snapshot()["total"] == requests
    assert len(world.records.writes) == writes
    cursor = world.cursors.get(job.integration_id, "products")
    assert cursor is not None
    assert cursor.last_run_id == takeover.run_id
    assert cursor.running is None
    assert world.cursors.finished == [takeover.run_id]


@pytest.mark.anyio
async def test_a_long_run_that_keeps_checkpointing_is_not_taken_over() -> None:
    # Given a run that started seven hours ago but saved its last checkpoint two hours ago
    _, world, job = woo_world()
    service = world.sync_service()
    started = await service.run_sync_job(job, deadlines(10))
    world.clock.advance(hours=5)
    await service.run_sync_job(SyncJob.parse(world.sync_jobs.take()[0]), deadlines(10))
    world.clock.advance(hours=2)

    # When the next schedule's job arrives
    outcome = await service.run_sync_job(job, plenty)

    # Then the run in progress keeps the cursor
    assert (outcome.status, outcome.run_id) == ("busy", started.run_id)
    cursor = world.cursors.get(job.integration_id, "products")
    assert cursor is not None
    assert cursor.running is not None
    assert cursor.running.run_id == started.run_id
    assert cursor.running.pages_handed_off == 2

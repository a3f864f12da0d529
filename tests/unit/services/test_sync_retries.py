"""A SyncJob delivered again after a failed attempt resumes its run from the cursor's last checkpoint."""

from __future__ import annotations

from collections import Counter

import pytest

from mercator.domain.messages import SyncJob
from mercator.domain.provider_errors import ProviderHTTPError
from mercator_sandbox import Sandbox
from tests.unit.services.support import (
    ChangingSessions,
    World,
    deadlines,
    plenty,
    woo_products_store,
    woo_products_world,
)

PRODUCTS = 23
PAGE = 5
LIST = "GET /products"


def woo_world() -> tuple[Sandbox, World, SyncJob]:
    sandbox = woo_products_store(PRODUCTS, seed=21)
    # One page at a time, so the store's failure starts exactly at the page after the change.
    built, _, job = woo_products_world(sandbox, PAGE, page_prefetch=1)
    return sandbox, built, job


def list_requests(sandbox: Sandbox) -> int:
    count: int = sandbox.counters.snapshot()["requests"].get(LIST, 0)
    return count


def fail_after(sandbox: Sandbox, world: World, pages: int) -> None:
    """The store answers 5xx to everything once ``pages`` more pages have been read."""
    world.sessions = ChangingSessions(
        world.sessions, lambda: sandbox.set_faults(error_rate=1.0), skip=pages - 1
    )


@pytest.mark.anyio
async def test_a_new_run_that_failed_half_way_is_resumed_by_the_jobs_next_delivery() -> None:
    # Given a store that fails for good after two pages of the first attempt
    sandbox, world, job = woo_world()
    inner = world.sessions
    fail_after(sandbox, world, 2)
    service = world.sync_service()

    # When the job's first delivery runs, it fails once the client's retries are spent
    with pytest.raises(ProviderHTTPError):
        await service.run_sync_job(job, plenty, delivery_id="msg-7c1e")

    # Then the cursor holds the run, named after the delivery, two pages in
    cursor = world.cursors.get(job.integration_id, "products")
    assert cursor is not None
    assert cursor.running is not None
    assert (cursor.running.run_id, cursor.running.pages_handed_off) == ("msg-7c1e", 2)

    # When the store recovers and SQS delivers the same job again
    sandbox.set_faults(error_rate=0.0)
    world.sessions = inner
    service = world.sync_service()
    before = list_requests(sandbox)
    outcome = await service.run_sync_job(job, plenty, delivery_id="msg-7c1e")

    # Then the run goes on from page 3 (pages 3, 4 and 5 listed) and finishes
    assert (outcome.status, outcome.run_id) == ("finished", "msg-7c1e")
    assert list_requests(sandbox) - before == 3
    assert outcome.stats.pages == 5
    assert outcome.stats.records == PRODUCTS
    written = world.records.written()
    assert len(written) == PRODUCTS
    assert set(Counter(written).values()) == {1}


@pytest.mark.anyio
async def test_a_job_delivered_again_after_its_run_finished_is_skipped() -> None:
    sandbox, world, job = woo_world()
    service = world.sync_service()
    await service.run_sync_job(job, plenty, delivery_id="msg-0a9f")
    before = list_requests(sandbox)

    again = await service.run_sync_job(job, plenty, delivery_id="msg-0a9f")

    assert (again.status, again.reason) == ("skipped", "this job's run has finished already")
    assert list_requests(sandbox) == before


@pytest.mark.anyio
async def test_a_continuation_delivered_again_does_not_replay_the_pages_it_handed_off() -> None:
    # Given a run that continued after two pages
    sandbox, world, job = woo_world()
    inner = world.sessions
    service = world.sync_service()
    await service.run_sync_job(job, deadlines(100, 10))
    [body] = world.sync_jobs.take()
    continuation = SyncJob.parse(body)

    # When its continuation reads page 3 and the store then fails for good
    fail_after(sandbox, world, 1)
    with pytest.raises(ProviderHTTPError):
        await world.sync_service().run_sync_job(continuation, plenty)
    cursor = world.cursors.get(job.integration_id, "products")
    assert cursor is not None
    assert cursor.running is not None
    assert cursor.running.pages_handed_off == 3

    # And the continuation is delivered again once the store recovers
    sandbox.set_faults(error_rate=0.0)
    world.sessions = inner
    before = list_requests(sandbox)
    outcome = await world.sync_service().run_sync_job(continuation, plenty)

    # Then it goes on from page 4, where the cursor's checkpoint says, not from page 3
    assert outcome.status == "finished"
    assert list_requests(sandbox) - before == 2
    assert outcome.stats.pages == 5
    assert sorted(Counter(world.records.written()).values()) == [1] * PRODUCTS

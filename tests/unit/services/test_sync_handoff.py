"""Resources that expand details are handed to the Enrich queue in sized batches, not written here."""

from __future__ import annotations

import httpx
import pytest

from mercator.domain.messages import MAX_BODY_BYTES, EnrichBatch, SyncJob
from mercator.services.connectors import ConnectorCatalog
from mercator_sandbox import Sandbox
from tests.integration.providers.support import FrozenClock, listing_order
from tests.unit.services.fakes import FakeIntegrations
from tests.unit.services.support import (
    World,
    batch_size,
    both,
    deadlines,
    make_integration,
    new_job,
    page_size,
    plenty,
    tweaked_connector,
    world,
)

ORDERS = 25


@pytest.mark.anyio
async def test_listed_orders_go_to_enrichment_in_batches_and_the_run_counts_what_enrichment_wrote() -> None:
    # Given a Salla store with 25 orders, listed 10 a page and handed on 4 a batch
    sizes = {"orders": ORDERS, "products": 0, "customers": 0, "carts": 0}
    sandbox = Sandbox("salla", seed=2, sizes=sizes, rate_limit=None, clock=FrozenClock())
    integration = make_integration("salla", sandbox)
    definition = tweaked_connector("salla", both(page_size(10), batch_size(4)))
    built = world(sandbox, integration, definitions=[definition])
    sync = built.sync_service()
    expected = [str(i) for i in listing_order(sandbox, "orders")]  # newest first

    # When the orders job has time for one page only
    first = await sync.run_sync_job(new_job(integration, "orders"), deadlines(10))

    # Then page 1's ten orders left in three batches of at most four, in listing order, unwritten
    bodies = built.enrich.take()
    batches = [EnrichBatch.parse(body) for body in bodies]
    assert [len(batch.records) for batch in batches] == [4, 4, 2]
    assert [str(record["id"]) for batch in batches for record in batch.records] == expected[:10]
    assert {(b.integration_id, b.resource, b.run_id, b.seen_via) for b in batches} == {
        (integration.id, "orders", first.run_id, "sync")
    }
    assert all(len(body.encode()) <= MAX_BODY_BYTES for body in bodies)
    assert built.records.writes == []
    assert (first.stats.pages, first.stats.records, first.stats.new) == (1, 10, 0)

    # When enrichment handles those batches, and then the run's continuation finishes the listing
    enrichment = built.enrichment_service()
    for batch in batches:
        await enrichment.enrich(batch, plenty)
    [continuation] = built.sync_jobs.take()
    last = await sync.run_sync_job(SyncJob.parse(continuation), plenty)

    # Then the other fifteen orders are handed on too
    rest = [EnrichBatch.parse(body) for body in built.enrich.take()]
    assert [str(record["id"]) for batch in rest for record in batch.records] == expected[10:]
    # And the run's stats hold its own listing (3 pages, 25 orders, 3 list requests) plus what
    # enrichment had reported by the end (10 new orders, 10 detail requests)
    assert last.status == "finished"
    assert (last.stats.pages, last.stats.records) == (3, ORDERS)
    assert (last.stats.new, last.stats.requests) == (10, 3 + 10)
    # And the ten enriched orders are in the records table
    assert sorted(built.records.written()) == sorted(expected[:10])


@pytest.mark.anyio
async def test_the_shipped_batch_size_fills_messages_up_to_it() -> None:
    # Given Salla as shipped: 60 orders a page, batches of 60
    sizes = {"orders": 130, "products": 0, "customers": 0, "carts": 0}
    sandbox = Sandbox("salla", seed=2, sizes=sizes, rate_limit=None, clock=FrozenClock())
    integration = make_integration("salla", sandbox)
    built = world(sandbox, integration)

    # When the orders run lists the store
    outcome = await built.sync_service().run_sync_job(new_job(integration, "orders"), plenty)

    # Then each page of 60 is one message of 60, and the last page's 10 one message of 10
    sizes_sent = [len(EnrichBatch.parse(body).records) for body in built.enrich.bodies]
    assert sizes_sent == [60, 60, 10]
    assert all(len(body.encode()) <= MAX_BODY_BYTES for body in built.enrich.bodies)
    assert (outcome.stats.pages, outcome.stats.records) == (3, 130)


@pytest.mark.anyio
async def test_a_list_item_that_is_not_an_object_is_dead_lettered_and_its_page_mates_go_on() -> None:
    # Given a Salla orders page whose second item is a bare number (a store answering garbage)
    integration = make_integration("salla")

    def page(request: httpx.Request) -> httpx.Response:
        body = {"status": 200, "success": True, "data": [{"id": 11}, 12, {"id": 13}]}
        body["pagination"] = {"count": 3, "total": 3, "perPage": 60, "currentPage": 1, "totalPages": 1}
        return httpx.Response(200, json=body)

    built = World(
        http=lambda: httpx.AsyncClient(transport=httpx.MockTransport(page)),
        integrations=FakeIntegrations(integration),
        connectors=ConnectorCatalog(),
    )

    # When the orders job runs
    outcome = await built.sync_service().run_sync_job(new_job(integration, "orders"), plenty)

    # Then the two orders go to enrichment and the number to the dead-letter queue, with its reason
    # (the page shows fewer ids than its total, so each pass lists it again, and meets it again)
    batches = [EnrichBatch.parse(body) for body in built.enrich.take()]
    assert {record["id"] for batch in batches for record in batch.records} == {11, 13}
    letters = built.dead_letters.documents()
    assert len(letters) == outcome.passes
    assert {(letter["raw"], letter["connector"], letter["resource"]) for letter in letters} == {
        (12, "salla", "orders")
    }
    assert all("not an object" in letter["reason"] for letter in letters)

"""DetailEnrichment: details merged over list records, mapped, validated and written when changed.

A record that cannot succeed on a retry (it fails mapping or validation, has no id, or the provider
no longer has it) is a dead letter with its reason and raw payload, and its batch-mates are written;
a provider failure that may pass fails the batch once the rest is written.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from mercator.connector import load_shipped
from mercator.connector.mapper import map_records
from mercator.domain.dead_letters import DeadLetter
from mercator.domain.entities import Integration
from mercator.domain.messages import MAX_BODY_BYTES, ChangeEvent, EnrichBatch
from mercator.services.connectors import ConnectorCatalog
from mercator.services.enrich import DetailsUnavailableError, NotEnoughTimeError
from mercator.services.merge import deep_merge
from mercator_sandbox import Sandbox
from tests.integration.providers.support import FrozenClock, listing_order
from tests.unit.services.fakes import FakeIntegrations
from tests.unit.services.salla_samples import DetailsServer, listed_orders, status
from tests.unit.services.support import TENANT, World, make_integration, plenty, world

RUN = "run-4f1c"
FIRST, SECOND = "1017120475", "1013578136"  # the two orders of the List Orders sample


def sample_world(server: DetailsServer, integration: Integration | None = None) -> tuple[World, Integration]:
    integration = integration or make_integration("salla")
    built = World(http=server.http, integrations=FakeIntegrations(integration), connectors=ConnectorCatalog())
    return built, integration


def batch_of(integration: Integration, records: list[dict[str, Any]], **fields: Any) -> EnrichBatch:
    return EnrichBatch(
        integration_id=integration.id, resource="orders", run_id=RUN, records=records, **fields
    )


@pytest.mark.anyio
async def test_details_win_over_the_list_entry_and_what_only_the_list_has_is_kept() -> None:
    # Given the listed sample order, whose details (the Order Details sample) carry no items
    server = DetailsServer()
    world, integration = sample_world(server)
    listed = listed_orders()[0]

    # When its batch is enriched
    outcome = await world.enrichment_service().enrich(batch_of(integration, [listed]), plenty)

    # Then the record has the details' status, amounts, date and buyer, and the list's items
    stored = world.records.of_type(TENANT, "ecommerce:orders")[FIRST]
    record = stored.record
    assert record["status"] == "completed"  # listed: under_review
    assert record["totalAmount"] == 302.5  # listed total: 55
    assert record["subtotalAmount"] == 250
    assert record["createdAt"] == "2024-02-15T05:23:05Z"  # 08:23:05 in Riyadh
    assert record["customer"]["email"] == "demo@demo.com"
    assert record["items"] == [
        {"name": "تي شيرت بلاك", "quantity": 1, "imageUrl": listed["items"][0]["thumbnail"]}
    ]
    # And its source updated-at is the order's own updated_at (11:23:05 in Riyadh), not the creation
    # date its listing is windowed by
    assert stored.source_updated_at == datetime(2024, 2, 15, 8, 23, 5, tzinfo=UTC)
    # And it was announced as created, and counted in the run's log
    assert [json.loads(body)["change"] for body in world.triggers.bodies] == ["created"]
    assert outcome.written.new == 1
    counts = world.run_log.get(integration.id, "orders", RUN)
    assert (counts.new, counts.requests, counts.errors) == (1, 1, 0)
    assert server.requests == [FIRST]


@pytest.mark.anyio
async def test_enriched_sandbox_orders_equal_their_details_merged_over_the_listing() -> None:
    # Given three orders as a Salla store lists them
    sizes = {"orders": 3, "products": 0, "customers": 0, "carts": 0}
    sandbox = Sandbox("salla", seed=6, sizes=sizes, rate_limit=None, clock=FrozenClock())
    integration = make_integration("salla", sandbox)
    built = world(sandbox, integration)
    resource = load_shipped("salla").resources["orders"]
    async with sandbox.client("http://salla.sandbox.test") as http:
        listed = (await http.get("/orders")).json()["data"]
        details = {
            str(order["id"]): (await http.get(f"/orders/{order['id']}")).json()["data"] for order in listed
        }
    expected = map_records(
        resource.mapping,
        "ecommerce:orders",
        [deep_merge(order, details[str(order["id"])]) for order in listed],
    )
    assert not expected.failures

    # When the batch arrives from a webhook
    await built.enrichment_service().enrich(batch_of(integration, listed, seen_via="webhook"), plenty)

    # Then each order is written as mapped from its merged payload, in listing order
    stored = built.records.of_type(TENANT, "ecommerce:orders")
    assert [stored[code].record for code in built.records.written()] == expected.records
    assert built.records.written() == [str(i) for i in listing_order(sandbox, "orders")]
    assert {entry.first_seen_via for entry in built.tracking.entries.values()} == {"webhook"}
    assert {json.loads(body)["source"] for body in built.triggers.bodies} == {"webhook"}


@pytest.mark.anyio
async def test_an_unchanged_batch_costs_no_write_and_announces_nothing() -> None:
    server = DetailsServer()
    world, integration = sample_world(server)
    service = world.enrichment_service()
    batch = batch_of(integration, listed_orders())
    await service.enrich(batch, plenty)
    writes, events = len(world.records.writes), len(world.triggers.bodies)

    outcome = await service.enrich(batch, plenty)

    assert (outcome.written.new, outcome.written.changed, outcome.written.unchanged) == (0, 0, 2)
    assert len(world.records.writes) == writes
    assert len(world.triggers.bodies) == events
    assert world.run_log.get(integration.id, "orders", RUN).unchanged == 2


@pytest.mark.anyio
async def test_a_record_that_fails_validation_is_a_dead_letter_and_its_batch_mates_are_written() -> None:
    # Given two orders, the first of whose details has lost its status (an order needs one)
    server = DetailsServer(data={FIRST: {"status": None}})
    world, integration = sample_world(server)

    # When the batch is enriched
    outcome = await world.enrichment_service().enrich(batch_of(integration, listed_orders()), plenty)

    # Then the second order is written
    assert world.records.written() == [SECOND]
    # And the first is a dead letter with its reason and the payload that failed
    [letter] = world.dead_letters.documents()
    fields = {"reason", "detail", "raw", "integration_id", "connector", "resource", "event", "run_id"}
    assert set(letter) == fields
    assert (letter["connector"], letter["event"]) == ("salla", None)
    assert "status" in letter["reason"]
    assert "not a valid ecommerce:orders" in letter["reason"]
    assert letter["raw"]["id"] == int(FIRST)
    assert letter["raw"]["status"] is None
    assert letter["raw"]["items"] == listed_orders()[0]["items"]  # the merged payload
    assert (letter["integration_id"], letter["resource"], letter["run_id"]) == (integration.id, "orders", RUN)
    assert any(field == "status" for field, _ in letter["detail"]["problems"])
    # And it counts as an error of the run
    assert outcome.dead_letters == 1
    counts = world.run_log.get(integration.id, "orders", RUN)
    assert (counts.new, counts.errors) == (1, 1)


@pytest.mark.anyio
async def test_a_record_the_provider_no_longer_has_is_marked_deleted_not_dead_lettered() -> None:
    # Given three orders already written, one of which the merchant then deleted
    sizes = {"orders": 3, "products": 0, "customers": 0, "carts": 0}
    sandbox = Sandbox("salla", seed=6, sizes=sizes, rate_limit=None, clock=FrozenClock())
    integration = make_integration("salla", sandbox)
    built = world(sandbox, integration)
    async with sandbox.client("http://salla.sandbox.test") as http:
        listed = (await http.get("/orders")).json()["data"]
    await built.enrichment_service().enrich(batch_of(integration, listed), plenty)
    built.triggers.take()
    gone = str(listed[1]["id"])
    kept = built.records.of_type(TENANT, "ecommerce:orders")[gone].record
    sandbox.store.delete("orders", listed[1]["id"])

    # When the same listing is enriched again (its details now answer 404 for that order)
    outcome = await built.enrichment_service().enrich(batch_of(integration, listed), plenty)

    # Then the order is marked deleted, keeping its last content, and nothing is dead-lettered
    stored = built.records.of_type(TENANT, "ecommerce:orders")
    assert [code for code, item in stored.items() if item.deleted] == [gone]
    assert stored[gone].record == kept
    assert built.dead_letters.documents() == []
    assert outcome.dead_letters == 0
    # And its deletion is announced once, with its last content, and tracked
    [change] = [ChangeEvent.parse(body) for body in built.triggers.take()]
    assert (change.change, change.code, change.record, change.source) == ("deleted", gone, kept, "sync")
    assert built.tracking.entries[(integration.id, "orders", gone)].deleted
    assert built.run_log.get(integration.id, "orders", RUN).deleted == 1


@pytest.mark.anyio
async def test_a_record_gone_before_mercator_ever_wrote_it_changes_nothing() -> None:
    # Given three listed orders, one of which the merchant deleted before the first enrichment
    sizes = {"orders": 3, "products": 0, "customers": 0, "carts": 0}
    sandbox = Sandbox("salla", seed=6, sizes=sizes, rate_limit=None, clock=FrozenClock())
    integration = make_integration("salla", sandbox)
    built = world(sandbox, integration)
    async with sandbox.client("http://salla.sandbox.test") as http:
        listed = (await http.get("/orders")).json()["data"]
    sandbox.store.delete("orders", listed[1]["id"])

    # When the batch is enriched
    outcome = await built.enrichment_service().enrich(batch_of(integration, listed), plenty)

    # Then the other two are written; the gone one is neither a record, a tombstone nor a dead letter
    assert built.records.written() == [str(listed[0]["id"]), str(listed[2]["id"])]
    assert str(listed[1]["id"]) not in built.records.of_type(TENANT, "ecommerce:orders")
    assert built.dead_letters.documents() == []
    assert outcome.dead_letters == 0


@pytest.mark.anyio
async def test_a_provider_failure_fails_the_batch_after_the_rest_is_written_and_a_retry_completes_it() -> (
    None
):
    # Given two orders, the second of whose details keep failing with a 503
    server = DetailsServer({SECOND: status(503)})
    world, integration = sample_world(server)
    service = world.enrichment_service()
    batch = batch_of(integration, listed_orders())

    # When the batch is enriched
    with pytest.raises(DetailsUnavailableError) as caught:
        await service.enrich(batch, plenty)

    # Then it fails naming the order, after the first order was written; nothing is dead-lettered
    assert caught.value.failures.keys() == {SECOND}
    assert "503" in str(caught.value)
    assert world.records.written() == [FIRST]
    assert world.dead_letters.bodies == []
    assert server.requests.count(SECOND) == 5  # the client's five attempts

    # When the store recovers and SQS delivers the batch again
    del server.answers[SECOND]
    outcome = await service.enrich(batch, plenty)

    # Then only the missing order is written; the first is unchanged and not announced again
    assert world.records.written() == [FIRST, SECOND]
    assert (outcome.written.new, outcome.written.unchanged) == (1, 1)
    assert sorted(json.loads(body)["code"] for body in world.triggers.bodies) == sorted([FIRST, SECOND])


@pytest.mark.anyio
async def test_a_record_without_an_id_is_a_dead_letter_and_costs_no_request() -> None:
    server = DetailsServer()
    world, integration = sample_world(server)
    anonymous = {key: value for key, value in listed_orders()[1].items() if key != "id"}

    await world.enrichment_service().enrich(batch_of(integration, [listed_orders()[0], anonymous]), plenty)

    assert server.requests == [FIRST]
    assert world.records.written() == [FIRST]
    [letter] = world.dead_letters.documents()
    assert letter["reason"] == "the orders record has no id at 'id'"
    assert letter["raw"] == anonymous


@pytest.mark.anyio
async def test_too_little_time_left_for_the_batch_fails_it_before_any_request() -> None:
    # Given Salla's 2 requests/s: two orders need about 1 s of calls plus the 10 s margin
    server = DetailsServer()
    world, integration = sample_world(server)

    with pytest.raises(NotEnoughTimeError) as caught:
        await world.enrichment_service().enrich(batch_of(integration, listed_orders()), lambda: 10.5)

    assert str(caught.value) == (
        "10 s left of this invocation, and the details of 2 orders record(s) at 2 requests/s need "
        "about 11 s; the batch will be retried"
    )
    assert server.requests == []
    assert world.records.writes == []


@pytest.mark.anyio
@pytest.mark.parametrize(("status_", "reason"), [("disabled", "the integration is disabled")])
async def test_a_batch_of_a_disabled_integration_is_skipped(status_: str, reason: str) -> None:
    server = DetailsServer()
    integration = make_integration("salla", status=status_)
    world, _ = sample_world(server, integration)

    outcome = await world.enrichment_service().enrich(batch_of(integration, listed_orders()), plenty)

    assert (outcome.status, outcome.reason) == ("skipped", reason)
    assert server.requests == []


@pytest.mark.anyio
async def test_a_resource_without_a_details_endpoint_is_mapped_as_listed() -> None:
    # Given Shopify's abandoned checkouts, which have no details endpoint
    def refuse(request: httpx.Request) -> httpx.Response:
        raise AssertionError(f"no request expected, got {request.url}")

    integration = make_integration("shopify")
    world = World(
        http=lambda: httpx.AsyncClient(transport=httpx.MockTransport(refuse)),
        integrations=FakeIntegrations(integration),
        connectors=ConnectorCatalog(),
    )
    sample = load_shipped("shopify").resolve("samples/shopify/abandoned_checkouts_list.json")
    checkouts = json.loads(sample.read_text(encoding="utf-8"))["checkouts"]
    batch = EnrichBatch(
        integration_id=integration.id, resource="abandoned_carts", run_id=RUN, records=checkouts
    )

    # When the batch is enriched
    await world.enrichment_service().enrich(batch, plenty)

    # Then the checkout is written as listed (its code is the cart token), with no provider call
    assert world.records.written() == ["68778783ad298f1c80c3bafcddeea02f"]


def test_a_deep_merge_lets_details_win_and_keeps_what_only_the_list_has() -> None:
    listed = {"id": 1, "total": 55, "status": {"slug": "under_review", "id": 9}, "items": [{"name": "a"}]}
    details = {
        "id": 1,
        "status": {"slug": "completed"},
        "amounts": {"total": 302.5},
        "items": [],
        "note": None,
    }

    merged = deep_merge(listed, details)

    assert merged == {
        "id": 1,
        "total": 55,
        "status": {"slug": "completed", "id": 9},
        "amounts": {"total": 302.5},
        "items": [],
        "note": None,
    }
    assert listed["status"] == {"slug": "under_review", "id": 9}, "the inputs are left as they were"


def test_a_dead_letter_too_large_for_a_message_keeps_its_reason_and_drops_the_payload() -> None:
    raw = {"id": 7, "note": "x" * (MAX_BODY_BYTES + 10)}
    letter = DeadLetter(
        "not a valid ecommerce:orders: status: Field required", {"k": "v"}, raw, "i-1", "orders", RUN
    )

    body = letter.body()

    assert len(body.encode()) <= MAX_BODY_BYTES
    document = json.loads(body)
    assert document["reason"] == "not a valid ecommerce:orders: status: Field required"
    assert document["raw"] == {
        "omitted": f"the raw record is {len(json.dumps(raw, separators=(',', ':')))} bytes"
    }
    assert (document["integration_id"], document["resource"], document["run_id"]) == ("i-1", "orders", RUN)

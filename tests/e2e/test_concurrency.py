"""Handlers racing for real: copies of one SyncJob, and sync, enrichment and webhook intake on one record.

The runner invokes one handler at a time, so nothing it runs ever overlaps. Here the handlers run in
Lambda containers (``mercator_local.containers``): a process each, warm, with boto3 clients and
module state of their own, invoked at the same moment by threads released together from a barrier,
against the local stack's moto server and a Salla sandbox store. moto's DynamoDB is made as atomic
as DynamoDB (``mercator_local.moto_atomic``), so what these tests find are Mercator's races, not moto's.
Each race is repeated in a loop inside its test, to make more interleavings happen.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from mercator.domain.messages import EnrichBatch, SyncJob
from mercator_local import LocalStack
from mercator_local.containers import Container, Invocation, containers, invoke_together
from mercator_local.moto_atomic import atomic_dynamodb
from mercator_local.webhook_events import delivery_event
from tests.e2e.concurrency import (
    DEAD_LETTER_QUEUES,
    ENRICH,
    INTAKE,
    SYNC,
    Shop,
    change_id,
    deep_subset,
    epoch_ms,
    received,
)

CONTENT_TYPES = {"products": "core:product", "orders": "ecommerce:orders"}
# The SyncJob races: a few records on pages of two, so a run hands several pages off.
JOB_SIZES = {"orders": 6, "products": 6, "customers": 1, "carts": 1}
JOB_PAGE_CAP = 2
JOB_RACES = 3
SAME_MESSAGE = "one message delivered twice"
FAN_OUT = "two messages of one job"
CONTINUATION = "one continuation delivered twice"
# A ScheduledSync whose every invocation stops after one page and continues (the deadline margin is
# the function's whole Timeout): what a run that nears its deadline does.
HASTY = {"SYNC_DEADLINE_MARGIN_SECONDS": "300"}
# The one-order races: orders placed just now, each raced twice (first when only the sync has
# brought it, then when its webhooks have too), a minute of store time apart.
ORDER_RACES = 12
RACED_ORDERS = 6  # one pattern of DELAYS each
EDIT_SECONDS = 60
# How long the sync, the enrichment and the delivery are each held back after the barrier, order by
# order (each order meets its own in both its races): all at once; the delivery a little, then well,
# then far behind the enrichment (whose details call makes it the slowest to write, though it ends
# well before the sync); the enrichment behind the others; the sync behind the others.
DELAYS = (
    (0.0, 0.0, 0.0),
    (0.0, 0.0, 0.1),
    (0.0, 0.0, 0.25),
    (0.0, 0.0, 0.5),
    (0.0, 0.1, 0.0),
    (0.1, 0.0, 0.0),
)
NO_FAILURES: dict[str, list[Any]] = {"batchItemFailures": []}


@dataclass(frozen=True)
class Lambdas:
    """Warm containers: two of ScheduledSync, a hasty one, one of DetailEnrichment, one of WebhookIntake."""

    sync: Container
    other_sync: Container
    hasty_sync: Container
    enrich: Container
    intake: Container


@pytest.fixture(scope="module")
def racing_stack() -> Iterator[LocalStack]:
    with LocalStack(retry_after_seconds=0) as stack, atomic_dynamodb():
        yield stack


@pytest.fixture(scope="module")
def lambdas(racing_stack: LocalStack) -> Iterator[Lambdas]:
    with (
        containers(racing_stack, SYNC, SYNC, ENRICH, INTAKE) as (sync, other_sync, enrich, intake),
        Container.of(racing_stack, SYNC, HASTY) as hasty_sync,
    ):
        # Cold starts first, side by side: jobs, a batch and a delivery for no integration at all.
        job = SyncJob(integration_id="nobody", resource="products").body()
        batch = EnrichBatch(integration_id="nobody", resource="orders", run_id="warm-up", records=[{"id": 1}])
        with (
            received(racing_stack, "SyncJobsQueue", [job, job, job]) as (first, second, third),
            received(racing_stack, "EnrichQueue", [batch.body()]) as (enrich_event,),
        ):
            warm = invoke_together(
                [
                    (sync, first),
                    (other_sync, second),
                    (hasty_sync, third),
                    (enrich, enrich_event),
                    (intake, delivery_event("nobody", b"{}", {})),
                ]
            )
        assert [invocation.error for invocation in warm] == [None] * len(warm)
        assert warm[-1].result["statusCode"] == 404
        yield Lambdas(sync, other_sync, hasty_sync, enrich, intake)


@pytest.fixture
def quiet_queues(racing_stack: LocalStack) -> None:
    """Every queue empty when a test starts, whatever an earlier test of the module left in them."""
    for queue in ("SyncJobsQueue", "EnrichQueue", "TriggerQueue", *DEAD_LETTER_QUEUES):
        racing_stack.receive_all(queue)


def _succeeded(invocation: Invocation) -> None:
    assert invocation.error is None, invocation.error
    assert invocation.result == NO_FAILURES, f"{invocation.function} failed its message: {invocation.result}"


@pytest.mark.usefixtures("quiet_queues")
@pytest.mark.parametrize(
    ("copies", "resource"),
    [
        (SAME_MESSAGE, "products"),
        (SAME_MESSAGE, "orders"),
        (FAN_OUT, "products"),
        (FAN_OUT, "orders"),
        (CONTINUATION, "products"),
    ],
)
def test_two_copies_of_one_sync_job_at_once_leave_one_runs_work(
    racing_stack: LocalStack, lambdas: Lambdas, copies: str, resource: str
) -> None:
    # Given a Salla store listed on pages of two (products are written by the sync itself, orders
    # expanded through DetailEnrichment), and what it holds, read and mapped on its own
    shop = Shop.open(racing_stack, JOB_SIZES, page_cap=JOB_PAGE_CAP)
    content_type = CONTENT_TYPES[resource]
    expected = shop.expected(resource)
    store_ids = sorted(shop.sandbox.store.ids(resource))
    pages = math.ceil(len(store_ids) / JOB_PAGE_CAP)
    assert len(expected) == len(store_ids) == JOB_SIZES[resource]
    assert pages >= 3

    for race in range(JOB_RACES):
        # Given a new integration of a tenant of its own, never synced
        tenant = f"{resource}-{copies.replace(' ', '-')}-{race}"
        integration = shop.register(tenant)
        job = SyncJob(integration_id=integration, resource=resource).body()
        first_page = 1
        bodies = [job, job] if copies == FAN_OUT else [job]
        if copies == CONTINUATION:
            # ... whose run began in an invocation that handed page 1 off and then continued
            with received(racing_stack, "SyncJobsQueue", [job]) as (started,):
                _succeeded(lambdas.hasty_sync.invoke(started))
            message_ids = {started["Records"][0]["messageId"]}
            bodies = [message["Body"] for message in racing_stack.receive_all("SyncJobsQueue")]
            assert [json.loads(body)["run"]["pages_handed_off"] for body in bodies] == [1]
            first_page = 2
        seen = len(shop.tap.seen)

        # When two copies of the job run at the same moment, each in a container of its own: the same
        # SQS message handed over twice (one delivery id), two messages of one job (a schedule's
        # fan-out run twice), or the same continuation message handed over twice
        with received(racing_stack, "SyncJobsQueue", bodies) as events:
            jobs = events if copies == FAN_OUT else [events[0], events[0]]
            if copies != CONTINUATION:
                message_ids = {event["Records"][0]["messageId"] for event in jobs}
            first, second = invoke_together([(lambdas.sync, jobs[0]), (lambdas.other_sync, jobs[1])])
        listed_pages = sorted(int(query["page"]) for query in shop.list_requests(resource, seen))
        handed: list[int] = []
        if resource == "orders":
            # ... and DetailEnrichment works off what the run queued (its batches read on the way)
            batches = shop.take("EnrichQueue")
            assert {batch["integration_id"] for batch in batches} == {integration}
            handed = sorted(record["id"] for batch in batches for record in batch["records"])
            shop.put_back("EnrichQueue", batches)
            drained = racing_stack.runner.run_until_idle(skip=["TriggerQueue"])
            assert drained.idle
            assert sum(drained.failed.values()) == 0

        # Then both invocations succeeded, and they did run at the same time
        _succeeded(first)
        _succeeded(second)
        assert first.overlaps(second), "the two copies did not overlap: this race raced nothing"

        # Then every record was written once, as the store has it
        rows = shop.rows(tenant, content_type)
        assert {code: row.record for code, row in rows.items()} == expected
        assert {code: row.version for code, row in rows.items()} == dict.fromkeys(expected, 1)

        # Then each record was announced once, as created
        changes = [
            change
            for change in shop.take("TriggerQueue")
            if (change["integration_id"], change["content_type"]) == (integration, content_type)
        ]
        assert sorted(change["code"] for change in changes) == sorted(expected), (
            f"race {race}: {len(changes)} announcements of {len(expected)} records, "
            f"{len({change_id(change) for change in changes})} distinct change ids among them"
        )
        assert {change["change"] for change in changes} == {"created"}

        # Then the cursor is idle again, with one finished run, named after the job's message
        cursor = shop.cursor(integration, resource)
        assert cursor.running is None
        assert cursor.last_run_id in message_ids
        assert cursor.last_success_at is not None
        stats = cursor.last_run_stats
        assert stats is not None
        assert (stats.pages, stats.records) == (pages, len(store_ids))
        if resource == "products":
            # The finished run wrote every product itself: no other run wrote any before it.
            assert (stats.new, stats.unchanged) == (len(store_ids), 0)

        # Then nothing was dead-lettered
        assert shop.dead_letters() == dict.fromkeys(DEAD_LETTER_QUEUES, 0)

        # Then the work was one run's: each page left to list was listed once, and each order was
        # handed to enrichment once
        assert listed_pages == list(range(first_page, pages + 1)), (
            f"race {race}: the two copies listed pages {listed_pages} of a {pages}-page listing"
        )
        if resource == "orders":
            assert handed == store_ids, f"race {race}: orders handed to enrichment: {handed}"


@pytest.mark.usefixtures("quiet_queues")
def test_sync_enrichment_and_webhook_racing_on_one_order_leave_its_latest_version(
    racing_stack: LocalStack, lambdas: Lambdas
) -> None:
    # Given a Salla store with six orders placed just now, all imported by a first sync
    shop = Shop.open(racing_stack, {"orders": 2, "products": 1, "customers": 1, "carts": 1}, page_cap=4)
    store = shop.sandbox.store
    emitter = shop.sandbox.emitter
    assert emitter is not None
    raced = [store.insert("orders").id for _ in range(RACED_ORDERS)]
    emitter.pending.clear()
    tenant = integration = shop.register("one-order")
    racing_stack.client("sqs").send_message(
        QueueUrl=racing_stack.queue_url("SyncJobsQueue"),
        MessageBody=SyncJob(integration_id=integration, resource="orders").body(),
    )
    assert racing_stack.runner.run_until_idle(skip=["TriggerQueue"]).idle
    rows = shop.rows(tenant, "ecommerce:orders")
    assert {str(order_id) for order_id in raced} <= set(rows)
    versions = {code: row.version for code, row in rows.items()}
    assert set(versions.values()) == {1}
    shop.take("TriggerQueue")
    announced: dict[str, list[dict[str, Any]]] = {}
    overlapping = 0

    for race in range(ORDER_RACES):
        # Given the merchant moves one of them to its next status, a minute after the last change,
        # and a batch an earlier listing queued for it (its list entry from before the edit)
        order_id = raced[race % RACED_ORDERS]
        code = str(order_id)
        before = shop.listed("orders", order_id)
        shop.sandbox.advance_clock(EDIT_SECONDS)
        state = store.get("orders", order_id)
        state.status = (state.status + 1) % 8
        store.touch("orders", order_id)
        # ... and the order.updated delivery the store signed for that edit
        (delivery,) = emitter.pending
        emitter.pending.clear()
        assert (delivery.record_id, delivery.event) == (order_id, "order.updated")
        job = SyncJob(integration_id=integration, resource="orders").body()
        batch = EnrichBatch(
            integration_id=integration, resource="orders", run_id=f"earlier-{race}", records=[before]
        )

        # When at the same moment a sync job lists the orders, that batch is enriched, and the delivery
        # reaches WebhookIntake, each in a container of its own
        with (
            received(racing_stack, "SyncJobsQueue", [job]) as (job_event,),
            received(racing_stack, "EnrichQueue", [batch.body()]) as (batch_event,),
        ):
            sync, enrich, intake = invoke_together(
                [
                    (lambdas.sync, job_event),
                    (lambdas.enrich, batch_event),
                    (lambdas.intake, shop.delivery_event(integration, delivery)),
                ],
                delays=DELAYS[race % RACED_ORDERS],
            )
        # ... and then what the sync queued for enrichment is worked off
        drained = racing_stack.runner.run_until_idle(skip=["TriggerQueue"])

        # Then every invocation succeeded, and the delivery was taken: as the new version, or, where
        # the details of that same version were written first, merged into it (what it adds stored)
        _succeeded(sync)
        _succeeded(enrich)
        assert intake.error is None, intake.error
        assert intake.result["statusCode"] == 200, intake.result
        assert json.loads(intake.result["body"])["status"] in ("accepted", "merged"), intake.result["body"]
        assert drained.idle
        assert sum(drained.failed.values()) == 0
        invocations = (sync, enrich, intake)
        if max(i.started for i in invocations) < min(i.ended for i in invocations):
            overlapping += 1

        # Then the records table holds the order's latest version: as its delivery carries it, and
        # with everything the store's listing and details say of it now
        latest = shop.webhook_view(delivery)
        details = shop.details_view("orders", shop.listed("orders", order_id))
        assert (latest["status"], latest["updatedAt"]) == (details["status"], details["updatedAt"])
        row = shop.rows(tenant, "ecommerce:orders")[code]
        assert row.record == latest, f"race {race}: order {code} is not its latest version"
        assert deep_subset(details, row.record)

        # Then tracking agrees with the record
        tracked = shop.tracked(integration, "orders", [code])[code]
        assert tracked.content_hash == row.content_hash
        assert tracked.source_updated_at is not None
        assert int(tracked.source_updated_at.timestamp() * 1000) == row.source_updated_at
        assert not tracked.deleted

        # Then the change was announced, at least once, with the edit's version: what was stored of it
        # (a later path of the same version fills in what it knows without announcing again, so the
        # stored record holds everything an announcement carried), and never with an older version
        # after a newer one
        changes = [
            change
            for change in shop.take("TriggerQueue")
            if change["content_type"] == "ecommerce:orders" and change["code"] == code
        ]
        assert any(deep_subset(change["record"], row.record) for change in changes), (
            f"race {race}: no announcement of order {code} carries what was stored of it"
        )
        assert {change["record"]["updatedAt"] for change in changes} == {latest["updatedAt"]}
        history = announced.setdefault(code, [])
        history.extend(changes)
        moments = [epoch_ms(change["record"]["updatedAt"]) for change in history]
        assert moments == sorted(moments), f"race {race}: order {code} announced out of order: {moments}"

        # Then its version counts the one change the store made, no more
        assert row.version == versions[code] + 1, (
            f"race {race}: one edit of order {code} took it from version {versions[code]} to "
            f"{row.version}, announced as {[(change['source'], change['change']) for change in changes]}"
        )
        versions[code] = row.version

    # Then the three did run at the same time (at least in the races that hold none of them back far),
    # and nothing was dead-lettered
    # (how many overlap depends on the machine's load; one proves the checks above met a real race)
    assert overlapping >= 1, f"none of {ORDER_RACES} races overlapped"
    assert shop.dead_letters() == dict.fromkeys(DEAD_LETTER_QUEUES, 0)

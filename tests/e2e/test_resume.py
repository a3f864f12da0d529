"""A run stopped after k pages goes on from its checkpoint: no record missed, none written twice.

Two ways a run stops part-way: the invocation nears its deadline (ScheduledSync sends itself a
continuation) or the provider fails hard (the SyncJob's message fails and SQS delivers it again).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import pytest

from mercator_local import LocalStack
from mercator_sandbox.app import FlavorName
from tests.e2e.conftest import SIZES, OpenStore
from tests.e2e.support import CONTENT_TYPES, SYNC_FUNCTION, SteppingClock, Storefront


@dataclass(frozen=True)
class Case:
    flavor: FlavorName
    family: str
    size: int  # records of the family in the store
    pages: int  # pages its listing takes
    stop_after: int  # pages the first invocation hands off


CASES = [
    # Salla's orders go through enrichment, with prefetched page-number pages (4 a page here).
    Case("salla", "orders", 14, 4, 2),
    # Shopify's orders are written by the sync itself, page after page of a keyset cursor.
    Case("shopify", "orders", 14, 4, 2),
    # WooCommerce pages hold 100 records; 101 products take two pages.
    Case("woocommerce", "products", 101, 2, 1),
]


def _step_for(stack: LocalStack, pages: int) -> float:
    """A clock step that leaves a ScheduledSync invocation less than its margin after ``pages`` pages.

    The invocation reads the clock when it starts (deadline = start + Timeout) and once after each
    page; after page i it has Timeout - i * step seconds left and stops when that is under the margin.
    """
    timeout = stack.functions[SYNC_FUNCTION].timeout_seconds
    margin = float(stack.environment(SYNC_FUNCTION)["SYNC_DEADLINE_MARGIN_SECONDS"])
    return (timeout - margin) / pages + 1


def _assert_no_page_listed_again(store: Storefront, family: str, case: Case, refused: int = 0) -> None:
    """The continuation or retry started where the checkpoint said, not at an earlier page."""
    requested = store.page_requests(store.resource(family))
    if store.flavor == "shopify":
        # A keyset cursor is followed page after page: each page once, the refused one twice.
        assert len(requested) == case.pages + refused
        assert len(set(requested)) == case.pages
    else:
        # Numbered pages are prefetched, so one past the stop may have been asked for twice; the
        # pages handed off before the stop never.
        assert [requested.count(str(page)) for page in range(1, case.stop_after + 1)] == [1] * case.stop_after
        assert {str(page) for page in range(1, case.pages + 1)} == set(requested)


def _assert_whole_and_written_once(store: Storefront, family: str, size: int) -> None:
    expected = store.expected(family)
    rows = store.rows(family)
    # No gap: every record of the store is there, as the store has it...
    assert len(expected.records) == size
    assert {code: row.record for code, row in rows.items()} == expected.records
    # ...and no duplicate write: each was written once and announced once.
    assert {row.version for row in rows.values()} == {1}
    created = Counter(
        change["code"]
        for change in store.changes()
        if change["change"] == "created" and change["content_type"] == CONTENT_TYPES[family]
    )
    assert created == dict.fromkeys(expected.records, 1)


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.flavor)
def test_a_run_that_nears_its_deadline_continues_from_its_checkpoint(
    open_store: OpenStore, stack: LocalStack, clock: SteppingClock, case: Case
) -> None:
    # Given a store whose listing takes several pages, and the schedule's SyncJob waiting
    store = open_store(case.flavor, sizes={**SIZES, case.family: case.size})
    resource = store.resource(case.family)
    assert stack.runner.invoke_schedule(SYNC_FUNCTION, case.family)["jobs"] == 1

    # When the SyncJob's invocation runs out of time after k pages
    clock.step = _step_for(stack, case.stop_after)
    first = stack.runner.poll_once("SyncJobsQueue")
    clock.step = 0.0

    # Then it handed off exactly k pages, checkpointed them and queued its continuation
    assert first is not None
    assert first.failed == 0
    running = store.cursor(resource).running
    assert running is not None
    assert running.pages_handed_off == case.stop_after
    assert stack.runner.depth("SyncJobsQueue") == 1

    # When the queues drain
    report = store.sync()

    # Then one more invocation finished the run from the checkpoint
    assert report.invocations[SYNC_FUNCTION] == 1
    cursor = store.cursor(resource)
    assert cursor.running is None
    assert cursor.last_run_stats is not None
    assert (cursor.last_run_stats.pages, cursor.last_run_stats.records) == (case.pages, case.size)
    _assert_no_page_listed_again(store, case.family, case)
    if resource.expandDetails:
        # Every order's details were asked for once: no page was handed to enrichment twice.
        assert store.sandbox.counters.requests[("GET", "/orders/{id}")] == case.size
    _assert_whole_and_written_once(store, case.family, case.size)


@pytest.mark.parametrize(
    "case",
    [Case("salla", "orders", 14, 4, 2), Case("shopify", "customers", 13, 4, 3)],
    ids=lambda c: c.flavor,
)
def test_a_run_whose_provider_fails_after_k_pages_resumes_when_sqs_delivers_it_again(
    open_store: OpenStore, stack: LocalStack, case: Case
) -> None:
    # Given a store whose listing takes several pages, and which refuses the request of page k + 1 once
    store = open_store(case.flavor, sizes={**SIZES, case.family: case.size})
    resource = store.resource(case.family)
    list_path = store.list_path(resource)
    requests: list[dict[str, str]] = []
    refused: list[dict[str, str]] = []

    def refuse_page_after_k(path: str, query: dict[str, str]) -> int | None:
        if path != list_path:
            return None
        requests.append(query)
        # Salla's pages are numbered; Shopify's are cursors, so count the requests of the listing.
        position = int(query["page"]) if "page" in query else len(requests)
        if position == case.stop_after + 1 and not refused:
            refused.append(query)
            return 403
        return None

    store.tap.refusals.append(refuse_page_after_k)
    stack.runner.invoke_schedule(SYNC_FUNCTION, case.family)

    # When the SyncJob's first delivery meets the refusal
    first = stack.runner.poll_once("SyncJobsQueue")

    # Then its message failed, after k pages were handed off and checkpointed
    assert first is not None
    assert first.failed == 1
    running = store.cursor(resource).running
    assert running is not None
    assert (running.run_id, running.pages_handed_off) == (first.message_ids[0], case.stop_after)

    # When SQS delivers it again and the queues drain
    report = store.sync()

    # Then the same run went on from page k + 1 and finished
    assert report.invocations[SYNC_FUNCTION] == 1
    assert report.dead_letters["SyncJobsDLQ"] == 0
    cursor = store.cursor(resource)
    assert (cursor.running, cursor.last_run_id) == (None, first.message_ids[0])
    assert cursor.last_run_stats is not None
    assert cursor.last_run_stats.pages == case.pages
    _assert_no_page_listed_again(store, case.family, case, refused=1)
    _assert_whole_and_written_once(store, case.family, case.size)

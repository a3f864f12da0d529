"""Cursors: ownership by one run, stale takeover, a mark that never moves back; the run log's counters."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from mercator.domain.entities import Cursor, RunCheckpoint, RunStats
from mercator.domain.errors import MalformedItemError, MissingResourceError
from mercator.state.cursors import DynamoCursors, DynamoRunLog

START = datetime(2025, 6, 1, 8, 0, 0, tzinfo=UTC)
MARK = datetime(2025, 6, 1, 7, 0, 0, tzinfo=UTC)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock(START)


@pytest.fixture
def cursors(dynamodb: Any, state_table: str, clock: Clock) -> DynamoCursors:
    return DynamoCursors(dynamodb, state_table, clock=clock)


def checkpoint(run_id: str, **fields: Any) -> RunCheckpoint:
    values: dict[str, Any] = {"run_id": run_id, "started_at": START}
    return RunCheckpoint.model_validate(values | fields)


def finish(cursors: DynamoCursors, run_id: str, mark: datetime | None, **stats: int) -> bool:
    return cursors.finish(
        "shop-1",
        "orders",
        run_id,
        high_water_mark=mark,
        stats=RunStats(**stats),
        finished_at=START + timedelta(minutes=5),
        attempt="a1",
    )


def test_no_cursor_before_the_first_run(cursors: DynamoCursors) -> None:
    assert cursors.get("shop-1", "orders") is None


def test_a_run_saves_its_progress_and_finishes(cursors: DynamoCursors) -> None:
    progress = checkpoint(
        "run-1",
        since=MARK - timedelta(days=1),
        page='{"kind":"page_number","page":3}',
        pages_handed_off=2,
        high_water_mark=MARK,
        stats=RunStats(pages=2, records=100, new=7),
    )
    assert cursors.save_checkpoint("shop-1", "orders", checkpoint("run-1"), attempt="a1")
    assert cursors.save_checkpoint("shop-1", "orders", progress, attempt="a1")

    assert cursors.get("shop-1", "orders") == Cursor(
        integration_id="shop-1", resource="orders", running=progress
    )

    assert finish(cursors, "run-1", MARK, pages=2, records=100, new=7) is True

    assert cursors.get("shop-1", "orders") == Cursor(
        integration_id="shop-1",
        resource="orders",
        high_water_mark=MARK,
        running=None,
        last_success_at=START + timedelta(minutes=5),
        last_finished_at=START + timedelta(minutes=5),
        last_run_id="run-1",
        last_run_stats=RunStats(pages=2, records=100, new=7),
    )


def test_another_run_is_refused_while_the_owner_is_alive(cursors: DynamoCursors, clock: Clock) -> None:
    cursors.save_checkpoint("shop-1", "orders", checkpoint("run-1"), attempt="a1")
    clock.now = START + timedelta(hours=5, minutes=59)

    assert (
        cursors.save_checkpoint("shop-1", "orders", checkpoint("run-2", started_at=clock.now), attempt="a1")
        is False
    )

    cursor = cursors.get("shop-1", "orders")
    assert cursor is not None and cursor.running is not None
    assert cursor.running.run_id == "run-1"


def test_a_run_silent_for_six_hours_is_taken_over(cursors: DynamoCursors, clock: Clock) -> None:
    cursors.save_checkpoint("shop-1", "orders", checkpoint("run-1"), attempt="a1")
    clock.now = START + timedelta(hours=6, milliseconds=1)
    takeover = checkpoint("run-2", started_at=clock.now)

    assert cursors.save_checkpoint("shop-1", "orders", takeover, attempt="a1") is True

    cursor = cursors.get("shop-1", "orders")
    assert cursor is not None and cursor.running == takeover
    # The crashed run, if it ever wakes up, no longer owns the cursor.
    assert (
        cursors.save_checkpoint("shop-1", "orders", checkpoint("run-1", pages_handed_off=9), attempt="a1")
        is False
    )
    assert finish(cursors, "run-1", MARK + timedelta(days=1)) is False


def test_a_long_run_that_keeps_checkpointing_is_not_taken_over(cursors: DynamoCursors, clock: Clock) -> None:
    cursors.save_checkpoint("shop-1", "orders", checkpoint("run-1"), attempt="a1")
    clock.now = START + timedelta(hours=5)
    cursors.save_checkpoint("shop-1", "orders", checkpoint("run-1", pages_handed_off=500), attempt="a1")
    clock.now = START + timedelta(hours=7)  # started 7 hours ago, but saved 2 hours ago

    assert (
        cursors.save_checkpoint("shop-1", "orders", checkpoint("run-2", started_at=clock.now), attempt="a1")
        is False
    )


def test_a_foreign_run_cannot_finish(cursors: DynamoCursors) -> None:
    cursors.save_checkpoint("shop-1", "orders", checkpoint("run-1"), attempt="a1")

    assert finish(cursors, "run-2", MARK) is False

    cursor = cursors.get("shop-1", "orders")
    assert cursor is not None
    assert cursor.high_water_mark is None
    assert cursor.running is not None and cursor.running.run_id == "run-1"
    assert cursor.last_run_id is None


def test_a_run_that_never_claimed_the_cursor_cannot_finish(cursors: DynamoCursors) -> None:
    assert finish(cursors, "run-1", MARK) is False
    assert cursors.get("shop-1", "orders") is None


def test_the_mark_never_moves_backwards(cursors: DynamoCursors) -> None:
    cursors.save_checkpoint("shop-1", "orders", checkpoint("run-1"), attempt="a1")
    finish(cursors, "run-1", MARK)
    cursors.save_checkpoint("shop-1", "orders", checkpoint("run-2"), attempt="a1")

    # A run whose newest record is older than the mark (records it listed were edited back in time,
    # or it overlapped a shorter window) still finishes; the stored mark stays.
    assert finish(cursors, "run-2", MARK - timedelta(hours=1), pages=1) is True

    cursor = cursors.get("shop-1", "orders")
    assert cursor is not None
    assert cursor.high_water_mark == MARK
    assert cursor.running is None
    assert cursor.last_run_id == "run-2"
    assert cursor.last_run_stats == RunStats(pages=1)


@pytest.mark.parametrize(
    ("second", "expected"),
    [
        (MARK + timedelta(milliseconds=1), MARK + timedelta(milliseconds=1)),
        (MARK, MARK),
        (None, MARK),  # a run that listed nothing keeps the mark
    ],
)
def test_the_mark_moves_forward_or_stays(
    cursors: DynamoCursors, second: datetime | None, expected: datetime
) -> None:
    cursors.save_checkpoint("shop-1", "orders", checkpoint("run-1"), attempt="a1")
    finish(cursors, "run-1", MARK)
    cursors.save_checkpoint("shop-1", "orders", checkpoint("run-2"), attempt="a1")

    assert finish(cursors, "run-2", second) is True

    cursor = cursors.get("shop-1", "orders")
    assert cursor is not None and cursor.high_water_mark == expected
    assert cursor.last_run_id == "run-2"


def test_a_finished_run_cannot_reopen_the_cursor(cursors: DynamoCursors) -> None:
    cursors.save_checkpoint("shop-1", "orders", checkpoint("run-1"), attempt="a1")
    finish(cursors, "run-1", MARK)

    # A duplicate delivery of the run's last continuation.
    assert (
        cursors.save_checkpoint("shop-1", "orders", checkpoint("run-1", pages_handed_off=3), attempt="a1")
        is False
    )
    assert finish(cursors, "run-1", MARK + timedelta(days=1)) is False

    cursor = cursors.get("shop-1", "orders")
    assert cursor is not None and cursor.running is None and cursor.high_water_mark == MARK
    assert cursors.save_checkpoint("shop-1", "orders", checkpoint("run-2"), attempt="a1") is True


def test_cursors_of_resources_and_integrations_are_apart(cursors: DynamoCursors) -> None:
    cursors.save_checkpoint("shop-1", "orders", checkpoint("run-1"), attempt="a1")

    assert cursors.save_checkpoint("shop-1", "products", checkpoint("run-2"), attempt="a1") is True
    assert cursors.save_checkpoint("shop-2", "orders", checkpoint("run-3"), attempt="a1") is True


def test_a_malformed_checkpoint_is_reported(dynamodb: Any, state_table: str, cursors: DynamoCursors) -> None:
    dynamodb.put_item(
        TableName=state_table,
        Item={
            "pk": {"S": "INTEGRATION#shop-1"},
            "sk": {"S": "CURSOR#orders"},
            "integration_id": {"S": "shop-1"},
            "resource": {"S": "orders"},
            "running": {"S": "{not json"},
        },
    )

    with pytest.raises(MalformedItemError, match="CURSOR#orders"):
        cursors.get("shop-1", "orders")


def test_a_missing_table_is_named(dynamodb: Any) -> None:
    with pytest.raises(MissingResourceError, match="'gone'"):
        DynamoCursors(dynamodb, "gone").save_checkpoint("shop-1", "orders", checkpoint("run-1"), attempt="a1")


def test_the_run_log_adds_counts_from_every_worker(dynamodb: Any, state_table: str, clock: Clock) -> None:
    log = DynamoRunLog(dynamodb, state_table, clock=clock)

    assert log.get("shop-1", "orders", "run-1") == RunStats()

    log.add("shop-1", "orders", "run-1", RunStats(records=10, new=4, changed=1, unchanged=5))
    log.add("shop-1", "orders", "run-1", RunStats(records=3, new=1, errors=2, throttled=1))
    log.add("shop-1", "orders", "run-2", RunStats(records=99))

    assert log.get("shop-1", "orders", "run-1") == RunStats(
        records=13, new=5, changed=1, unchanged=5, errors=2, throttled=1
    )
    item = dynamodb.get_item(
        TableName=state_table,
        Key={"pk": {"S": "INTEGRATION#shop-1"}, "sk": {"S": "RUN#orders#run-1"}},
    )["Item"]
    # 30 days after 2025-06-01T08:00:00Z, in epoch seconds.
    assert item["ttl"] == {"N": str(1748764800 + 30 * 86400)}


def test_an_unsettled_run_keeps_the_mark_and_the_last_success(dynamodb: Any, state_table: str) -> None:
    # Given a cursor whose last settled run left a mark
    cursors = DynamoCursors(dynamodb, state_table, clock=lambda: START)
    assert cursors.save_checkpoint("shop-1", "orders", checkpoint("run-1"), attempt="a1")
    assert finish(cursors, "run-1", MARK, pages=1)
    assert cursors.save_checkpoint("shop-1", "orders", checkpoint("run-2"), attempt="a1")

    # When the next run finishes unsettled, with a later mark
    later = MARK + timedelta(hours=1)
    assert cursors.finish(
        "shop-1",
        "orders",
        "run-2",
        high_water_mark=later,
        stats=RunStats(unsettled=1),
        finished_at=START + timedelta(hours=2),
        attempt="a1",
        settled=False,
    )

    # Then the mark and the last success stay; the run is recorded as finished
    cursor = cursors.get("shop-1", "orders")
    assert cursor is not None
    assert cursor.high_water_mark == MARK
    assert cursor.last_success_at == START + timedelta(minutes=5)
    assert cursor.last_finished_at == START + timedelta(hours=2)
    assert (cursor.last_run_id, cursor.running) == ("run-2", None)
    assert cursor.last_run_stats == RunStats(unsettled=1)


def test_the_ids_a_run_listed_are_kept_page_by_page(dynamodb: Any, state_table: str) -> None:
    # Given a run log
    log = DynamoRunLog(dynamodb, state_table, clock=lambda: START)

    # When three pages are kept, the second one twice (an invocation that failed and ran again), one
    # page empty, and another run's page beside them
    log.add_listed("shop-1", "orders", "run-1", 0, ["1", "2"])
    log.add_listed("shop-1", "orders", "run-1", 1, ["3", "4"])
    log.add_listed("shop-1", "orders", "run-1", 1, ["3", "5"])
    log.add_listed("shop-1", "orders", "run-1", 2, [])
    log.add_listed("shop-1", "orders", "run-10", 0, ["99"])

    # Then the run's ids are the union of its pages, the page listed again counted as last listed
    assert log.listed("shop-1", "orders", "run-1") == {"1", "2", "3", "5"}
    assert log.listed("shop-1", "orders", "run-10") == {"99"}
    assert log.listed("shop-1", "orders", "run-2") == set()
    # And a run's ids from a page on (a later listing pass) leave out the pages before it
    assert log.listed("shop-1", "orders", "run-1", from_page=1) == {"3", "5"}
    assert log.listed("shop-1", "orders", "run-1", from_page=2) == set()
    assert log.listed("shop-1", "orders", "run-10", from_page=0) == {"99"}
    # And they go when the integration's run logs are deleted
    assert log.delete_for_integration("shop-1") == 4
    assert log.listed("shop-1", "orders", "run-1") == set()


def test_the_deletion_feed_mark_only_moves_forward(dynamodb: Any, state_table: str) -> None:
    # Given a run that read the deletion feed up to MARK
    cursors = DynamoCursors(dynamodb, state_table, clock=lambda: START)
    for run_id, mark in (("run-1", MARK), ("run-2", MARK - timedelta(hours=1)), ("run-3", None)):
        assert cursors.save_checkpoint("shop-1", "orders", checkpoint(run_id), attempt="a1")
        # When later runs read less far (an older mark) or not at all (None)
        assert cursors.finish(
            "shop-1",
            "orders",
            run_id,
            high_water_mark=None,
            stats=RunStats(),
            finished_at=START,
            attempt="a1",
            deletions_mark=mark,
        )

    # Then the mark stays where the furthest read left it
    cursor = cursors.get("shop-1", "orders")
    assert cursor is not None
    assert cursor.deletions_mark == MARK


def test_one_invocation_at_a_time_works_a_run(cursors: DynamoCursors, clock: Clock) -> None:
    # Given invocation a1 working run-1 (it saved a checkpoint)
    assert cursors.save_checkpoint("shop-1", "orders", checkpoint("run-1"), attempt="a1")

    # When a copy of the same job (same run) saves at the same time, it is turned away
    assert cursors.save_checkpoint("shop-1", "orders", checkpoint("run-1"), attempt="a2") is False
    # ...and cannot finish the run either
    assert (
        cursors.finish(
            "shop-1",
            "orders",
            "run-1",
            high_water_mark=MARK,
            stats=RunStats(),
            finished_at=START,
            attempt="a2",
        )
        is False
    )
    # while a1 goes on saving
    assert cursors.save_checkpoint("shop-1", "orders", checkpoint("run-1", pages_handed_off=2), attempt="a1")

    # When a1 gives the lease back (its continuation, or a failure), the next invocation takes it
    assert cursors.release("shop-1", "orders", "run-1", attempt="a1")
    assert cursors.release("shop-1", "orders", "run-1", attempt="a1") is False
    assert cursors.save_checkpoint("shop-1", "orders", checkpoint("run-1", pages_handed_off=2), attempt="a3")
    assert cursors.save_checkpoint("shop-1", "orders", checkpoint("run-1"), attempt="a1") is False


def test_the_lease_of_an_invocation_that_crashed_runs_out(cursors: DynamoCursors, clock: Clock) -> None:
    # Given invocation a1 that saved and then crashed without giving its lease back
    assert cursors.save_checkpoint("shop-1", "orders", checkpoint("run-1"), attempt="a1")

    # When the job's retry comes 14 minutes later, then after 15
    clock.now = START + timedelta(minutes=14)
    early = cursors.save_checkpoint("shop-1", "orders", checkpoint("run-1"), attempt="a2")
    clock.now = START + timedelta(minutes=15, seconds=1)
    late = cursors.save_checkpoint("shop-1", "orders", checkpoint("run-1"), attempt="a2")

    # Then the lease held while the crashed invocation might still have been alive, not after
    assert (early, late) == (False, True)

"""Tracked ids: the newer-wins condition, first-seen kept, BatchGetItem chunks and unprocessed keys."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from mercator.state.errors import MissingResourceError, StateAccessError
from mercator.state.models import TrackedId
from mercator.state.tracking import DynamoTracking
from tests.unit.state.wrappers import Recording, UnprocessedKeys

T = datetime(2025, 5, 1, 12, 0, 0, tzinfo=UTC)
SECOND = timedelta(seconds=1)


def tracked(external_id: str = "1001", **fields: Any) -> TrackedId:
    values: dict[str, Any] = {
        "integration_id": "shop-1",
        "resource": "orders",
        "external_id": external_id,
        "content_hash": "h1",
        "source_updated_at": T,
        "first_seen_via": "sync",
        "last_seen_run": "run-1",
    }
    return TrackedId.model_validate(values | fields)


def stored(repository: DynamoTracking, external_id: str = "1001") -> TrackedId:
    return repository.get_many("shop-1", "orders", [external_id])[external_id]


def test_a_new_id_is_written_and_read_back(dynamodb: Any, state_table: str) -> None:
    repository = DynamoTracking(dynamodb, state_table)
    entry = tracked(deleted=True, first_seen_via="webhook", last_seen_run=None)

    assert repository.put(entry) is True

    assert repository.get_many("shop-1", "orders", ["1001", "1002"]) == {"1001": entry}
    item = dynamodb.get_item(
        TableName=state_table, Key={"pk": {"S": "TRACK#shop-1#orders"}, "sk": {"S": "ID#1001"}}
    )["Item"]
    # 2025-05-01T12:00:00Z in epoch milliseconds, a number so that conditions compare numerically.
    assert item["source_updated_at"] == {"N": "1746100800000"}


@pytest.mark.parametrize(
    ("updated_at", "content_hash", "written"),
    [
        (T + SECOND, "h1", True),  # newer wins, even with the same content
        (T + SECOND, "h2", True),
        (T, "h2", True),  # as new, with another hash
        (T, "h1", False),  # as new, same hash: nothing to write
        (T - SECOND, "h2", False),  # older loses
        (T + timedelta(milliseconds=1), "h1", True),  # a millisecond is enough
        (None, "h2", True),  # no updated-at: hashes decide
        (None, "h1", False),
    ],
)
def test_the_write_condition(
    dynamodb: Any, state_table: str, updated_at: datetime | None, content_hash: str, written: bool
) -> None:
    repository = DynamoTracking(dynamodb, state_table)
    repository.put(tracked())
    candidate = tracked(source_updated_at=updated_at, content_hash=content_hash, last_seen_run="run-2")

    assert repository.put(candidate) is written

    assert stored(repository) == (candidate if written else tracked())


def test_an_entry_stored_without_updated_at_gives_way_to_one_with_it(dynamodb: Any, state_table: str) -> None:
    repository = DynamoTracking(dynamodb, state_table)
    repository.put(tracked(source_updated_at=None))

    assert repository.put(tracked(source_updated_at=T - SECOND)) is True

    assert stored(repository).source_updated_at == T - SECOND


def test_first_seen_via_of_an_existing_entry_is_kept(dynamodb: Any, state_table: str) -> None:
    repository = DynamoTracking(dynamodb, state_table)
    repository.put(tracked(first_seen_via="webhook", last_seen_run=None))

    assert repository.put(tracked(source_updated_at=T + SECOND, first_seen_via="sync", last_seen_run="run-7"))

    entry = stored(repository)
    assert entry.first_seen_via == "webhook"
    assert entry.last_seen_run == "run-7"
    assert entry.source_updated_at == T + SECOND


def test_get_many_reads_in_chunks_of_100_and_once_per_id(dynamodb: Any, state_table: str) -> None:
    writer = DynamoTracking(dynamodb, state_table)
    for number in range(0, 230, 2):  # every even id of 0..228 is tracked
        writer.put(tracked(str(number), content_hash=f"h{number}"))
    recording = Recording(dynamodb)
    ids = [str(number) for number in range(230)] + ["4", "6"]

    found = DynamoTracking(recording, state_table).get_many("shop-1", "orders", ids)

    assert sorted(found, key=int) == [str(number) for number in range(0, 230, 2)]
    assert found["228"].content_hash == "h228"
    sizes = [len(call["RequestItems"][state_table]["Keys"]) for call in recording.calls("batch_get_item")]
    assert sizes == [100, 100, 30]
    assert all(
        call["RequestItems"][state_table]["ConsistentRead"] for call in recording.calls("batch_get_item")
    )


def test_get_many_of_nothing_asks_nothing(dynamodb: Any, state_table: str) -> None:
    recording = Recording(dynamodb)

    assert DynamoTracking(recording, state_table).get_many("shop-1", "orders", []) == {}
    assert recording.requests == []


def test_unprocessed_keys_are_asked_again_after_a_growing_pause(dynamodb: Any, state_table: str) -> None:
    writer = DynamoTracking(dynamodb, state_table)
    for number in range(100):
        writer.put(tracked(str(number)))
    client = UnprocessedKeys(dynamodb, serve=30, rounds=2)
    pauses: list[float] = []
    repository = DynamoTracking(client, state_table, sleep=pauses.append, jitter=random.Random(7))

    found = repository.get_many("shop-1", "orders", [str(number) for number in range(100)])

    assert len(found) == 100
    sizes = [len(call["RequestItems"][state_table]["Keys"]) for call in client.calls("batch_get_item")]
    assert sizes == [100, 70, 40]
    assert len(pauses) == 2
    # Exponential backoff with jitter: 25..50 ms, then 50..100 ms.
    assert 0.025 <= pauses[0] <= 0.05
    assert 0.05 <= pauses[1] <= 0.1


def test_keys_still_unprocessed_after_the_last_attempt_fail_the_call(dynamodb: Any, state_table: str) -> None:
    writer = DynamoTracking(dynamodb, state_table)
    for number in range(100):
        writer.put(tracked(str(number)))
    client = UnprocessedKeys(dynamodb, serve=30, rounds=100)
    pauses: list[float] = []
    repository = DynamoTracking(client, state_table, max_attempts=3, sleep=pauses.append)

    with pytest.raises(StateAccessError, match="left 10 tracked ids unprocessed after 3 attempts"):
        repository.get_many("shop-1", "orders", [str(number) for number in range(100)])

    assert len(client.calls("batch_get_item")) == 3
    assert len(pauses) == 2


def test_a_missing_table_is_named(dynamodb: Any) -> None:
    repository = DynamoTracking(dynamodb, "no-such-table")

    with pytest.raises(MissingResourceError, match="BatchGetItem: DynamoDB table 'no-such-table'"):
        repository.get_many("shop-1", "orders", ["1"])
    with pytest.raises(MissingResourceError, match="UpdateItem: DynamoDB table 'no-such-table'"):
        repository.put(tracked())

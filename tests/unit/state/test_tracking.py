"""Tracked ids: the newer-wins condition, first-seen kept, the channel of the latest version, the
update on its own in a transaction, BatchGetItem chunks and unprocessed keys."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from mercator.domain.entities import TrackedId
from mercator.domain.errors import MissingResourceError, StateAccessError
from mercator.state.tracking import DynamoTracking, tracking_update
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


def raw_item(dynamodb: Any, table: str, external_id: str = "1001") -> dict[str, Any]:
    key = {"pk": {"S": "TRACK#shop-1#orders"}, "sk": {"S": f"ID#{external_id}"}}
    item: dict[str, Any] = dynamodb.get_item(TableName=table, Key=key, ConsistentRead=True)["Item"]
    return item


def test_the_channel_of_the_latest_version_is_kept_and_replaced_by_each_write(
    dynamodb: Any, state_table: str
) -> None:
    # Given an order a webhook delivered
    repository = DynamoTracking(dynamodb, state_table)
    repository.put(tracked(first_seen_via="webhook", last_seen_via="webhook", last_seen_run=None))
    assert raw_item(dynamodb, state_table)["last_seen_via"] == {"S": "webhook"}
    assert stored(repository).last_seen_via == "webhook"

    # When a sync writes a later version
    repository.put(tracked(source_updated_at=T + SECOND, content_hash="h2", last_seen_via="sync"))

    # Then the entry says the sync brought the latest version; the first channel stays the webhook
    entry = stored(repository)
    assert (entry.first_seen_via, entry.last_seen_via) == ("webhook", "sync")

    # And a write that does not say how it came leaves no channel behind
    repository.put(tracked(source_updated_at=T + 2 * SECOND, content_hash="h3"))
    assert "last_seen_via" not in raw_item(dynamodb, state_table)
    assert stored(repository).last_seen_via is None


def test_an_entry_stored_without_a_channel_reads_as_none(dynamodb: Any, state_table: str) -> None:
    # Given an entry as Mercator stored them before it kept the channel
    dynamodb.put_item(
        TableName=state_table,
        Item={
            "pk": {"S": "TRACK#shop-1#orders"},
            "sk": {"S": "ID#1001"},
            "integration_id": {"S": "shop-1"},
            "resource": {"S": "orders"},
            "external_id": {"S": "1001"},
            "content_hash": {"S": "h1"},
            "first_seen_via": {"S": "sync"},
            "deleted": {"BOOL": False},
        },
    )

    entry = stored(DynamoTracking(dynamodb, state_table))

    assert (entry.last_seen_via, entry.source_updated_at, entry.last_seen_run) == (None, None, None)


def transact(dynamodb: Any, table: str, entry: TrackedId) -> None:
    key, update, condition = tracking_update(entry)
    dynamodb.transact_write_items(
        TransactItems=[{"Update": {"TableName": table, "Key": key, **update.request(condition)}}]
    )


def test_the_tracking_update_in_a_transaction_stores_the_same_item_as_put(
    dynamodb: Any, state_table: str
) -> None:
    # Given the item put() stores for a webhook-delivered order, then removed again
    entry = tracked(first_seen_via="webhook", last_seen_via="webhook", last_seen_run=None)
    DynamoTracking(dynamodb, state_table).put(entry)
    by_put = raw_item(dynamodb, state_table)
    dynamodb.delete_item(TableName=state_table, Key={"pk": by_put["pk"], "sk": by_put["sk"]})

    # When the same entry is written through TransactWriteItems
    transact(dynamodb, state_table, entry)

    # Then the table holds the very same item
    assert raw_item(dynamodb, state_table) == by_put
    assert by_put["last_seen_via"] == {"S": "webhook"}


def test_the_tracking_update_in_a_transaction_keeps_the_newer_wins_condition(
    dynamodb: Any, state_table: str
) -> None:
    # Given an entry a sync stored, at T
    repository = DynamoTracking(dynamodb, state_table)
    repository.put(tracked(last_seen_via="sync"))

    # When a transaction brings an older version, and then a newer one
    older = tracked(source_updated_at=T - SECOND, content_hash="h0", first_seen_via="webhook")
    with pytest.raises(ClientError) as refused:
        transact(dynamodb, state_table, older.model_copy(update={"last_seen_via": "webhook"}))
    newer = tracked(source_updated_at=T + SECOND, content_hash="h2", first_seen_via="webhook")
    transact(dynamodb, state_table, newer.model_copy(update={"last_seen_via": "webhook"}))

    # Then the older one was cancelled by its condition, the newer one written (first seen: still sync)
    assert refused.value.response["Error"]["Code"] == "TransactionCanceledException"
    entry = stored(repository)
    assert (entry.content_hash, entry.source_updated_at) == ("h2", T + SECOND)
    assert (entry.first_seen_via, entry.last_seen_via) == ("sync", "webhook")


def test_live_lists_every_entry_of_the_resource_not_marked_deleted(dynamodb: Any, state_table: str) -> None:
    # Given three orders tracked, one deleted, and a product of the same integration
    repository = DynamoTracking(dynamodb, state_table)
    repository.put(tracked("1"))
    repository.put(tracked("2", deleted=True))
    repository.put(tracked("3", tracked_at=T))
    repository.put(tracked("9", resource="products"))

    # When the live orders are read
    live = {entry.external_id: entry for entry in repository.live("shop-1", "orders")}

    # Then only the live orders come back, with when they were tracked
    assert set(live) == {"1", "3"}
    assert live["3"].tracked_at == T
    assert live["1"].tracked_at is None

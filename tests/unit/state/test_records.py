"""Records: the outcome of every conditional write, versions, exact round trip, reading a type by pages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from mercator.domain.entities import RecordWriteResult, StoredRecord, WriteOutcome
from mercator.domain.errors import MalformedItemError, MissingResourceError
from mercator.state.record_store import DynamoRecords
from tests.unit.state.wrappers import Recording

T = datetime(2025, 4, 2, 10, 15, 0, tzinfo=UTC)
SECOND = timedelta(seconds=1)
ORDER = {
    "code": "1001",
    "status": "paid",
    "totalAmount": 100.0,
    "lines": [{"name": "Qahwa", "quantity": 2, "unitPrice": 49.5, "attributes": {"roast": None}}],
    "notes": "شكرا",
}


@pytest.fixture
def records(dynamodb: Any, records_table: str) -> DynamoRecords:
    return DynamoRecords(dynamodb, records_table)


def write(records: DynamoRecords, **fields: Any) -> WriteOutcome:
    return written(records, **fields).outcome


def written(records: DynamoRecords, **fields: Any) -> RecordWriteResult:
    values: dict[str, Any] = {
        "tenant_id": "tenant-1",
        "content_type": "ecommerce:orders",
        "code": "1001",
        "record": ORDER,
        "content_hash": "h1",
        "source_updated_at": T,
        "integration_id": "shop-1",
    }
    return records.write(**(values | fields))


def test_a_new_record_is_created_and_comes_back_exactly(dynamodb: Any, records_table: str) -> None:
    records = DynamoRecords(dynamodb, records_table)

    assert write(records) is WriteOutcome.CREATED

    stored = records.get("tenant-1", "ecommerce:orders", "1001")
    assert stored == StoredRecord(
        tenant_id="tenant-1",
        content_type="ecommerce:orders",
        code="1001",
        record=ORDER,
        content_hash="h1",
        source_updated_at=T,
        integration_id="shop-1",
        version=1,
    )
    # A float stays a float and an int an int.
    assert isinstance(stored.record["totalAmount"], float)
    assert isinstance(stored.record["lines"][0]["quantity"], int)
    assert records.get("tenant-1", "ecommerce:orders", "1002") is None


@pytest.mark.parametrize(
    ("updated_at", "content_hash", "expected"),
    [
        # (outcome, then the stored version and hash)
        (T + SECOND, "h2", (WriteOutcome.UPDATED, 2, "h2")),  # newer wins
        (T, "h2", (WriteOutcome.UPDATED, 2, "h2")),  # as new with another hash wins
        (T, "h1", (WriteOutcome.UNCHANGED, 1, "h1")),  # as new with the same hash: nothing written
        (T - SECOND, "h2", (WriteOutcome.STALE, 1, "h1")),  # the stored record is newer
        (T - SECOND, "h1", (WriteOutcome.UNCHANGED, 1, "h1")),  # older, but the same content
        (None, "h2", (WriteOutcome.UPDATED, 2, "h2")),  # no updated-at: hashes decide
        (None, "h1", (WriteOutcome.UNCHANGED, 1, "h1")),
    ],
)
def test_the_outcome_of_a_second_write(
    records: DynamoRecords,
    updated_at: datetime | None,
    content_hash: str,
    expected: tuple[WriteOutcome, int, str],
) -> None:
    write(records)

    outcome = write(records, source_updated_at=updated_at, content_hash=content_hash)

    stored = records.get("tenant-1", "ecommerce:orders", "1001")
    assert stored is not None
    assert (outcome, stored.version, stored.content_hash) == expected


def test_every_write_bumps_the_version(dynamodb: Any, records_table: str) -> None:
    records = DynamoRecords(dynamodb, records_table)
    for step in range(4):
        write(records, source_updated_at=T + step * SECOND, record={**ORDER, "status": f"s{step}"})

    stored = records.get("tenant-1", "ecommerce:orders", "1001")
    assert stored is not None
    assert stored.version == 4
    assert stored.record["status"] == "s3"


def test_the_item_follows_the_contract(dynamodb: Any, records_table: str) -> None:
    clock = lambda: datetime(2025, 4, 2, 10, 16, 0, tzinfo=UTC)  # noqa: E731
    write(DynamoRecords(dynamodb, records_table, clock=clock))

    item = dynamodb.get_item(
        TableName=records_table,
        Key={"pk": {"S": "TENANT#tenant-1#TYPE#ecommerce:orders"}, "sk": {"S": "CODE#1001"}},
    )["Item"]
    # 2025-04-02T10:15:00Z and 10:16:00Z in epoch milliseconds.
    assert item["source_updated_at"] == {"N": "1743588900000"}
    assert item["written_at"] == {"N": "1743588960000"}
    assert item["version"] == {"N": "1"}


def test_scan_type_pages_through_one_tenants_content_type(dynamodb: Any, records_table: str) -> None:
    recording = Recording(dynamodb)
    records = DynamoRecords(recording, records_table)
    for code in ("5", "1", "3", "2", "4"):
        write(records, code=code, record={**ORDER, "code": code})
    write(records, tenant_id="tenant-2", code="9")
    write(records, content_type="core:product", code="8", record={"code": "8", "name": "Qahwa"})

    found = list(records.scan_type("tenant-1", "ecommerce:orders", page_size=2))

    assert [record.code for record in found] == ["1", "2", "3", "4", "5"]
    assert [record.record["code"] for record in found] == ["1", "2", "3", "4", "5"]
    assert len(recording.calls("query")) == 3
    assert [record.code for record in records.scan_type("tenant-1", "core:product")] == ["8"]
    assert list(records.scan_type("tenant-3", "ecommerce:orders")) == []


def test_a_record_that_is_not_json_is_refused_before_any_write(dynamodb: Any, records_table: str) -> None:
    records = DynamoRecords(dynamodb, records_table)

    with pytest.raises(ValueError, match="ecommerce:orders record '1001' is not plain JSON"):
        write(records, record={"total": float("nan")})
    with pytest.raises(ValueError, match="is not plain JSON"):
        write(records, record={"when": T})

    assert records.get("tenant-1", "ecommerce:orders", "1001") is None


def test_a_malformed_item_is_reported(dynamodb: Any, records_table: str) -> None:
    write(DynamoRecords(dynamodb, records_table))
    dynamodb.update_item(
        TableName=records_table,
        Key={"pk": {"S": "TENANT#tenant-1#TYPE#ecommerce:orders"}, "sk": {"S": "CODE#1001"}},
        UpdateExpression="SET #r = :r",
        ExpressionAttributeNames={"#r": "record"},
        ExpressionAttributeValues={":r": {"S": "[1, 2"}},
    )

    with pytest.raises(MalformedItemError, match="CODE#1001"):
        DynamoRecords(dynamodb, records_table).get("tenant-1", "ecommerce:orders", "1001")


def test_a_missing_table_is_named(dynamodb: Any) -> None:
    with pytest.raises(MissingResourceError, match="UpdateItem: DynamoDB table 'mercator-records-dev'"):
        write(DynamoRecords(dynamodb, "mercator-records-dev"))


def mark_deleted(records: DynamoRecords, deleted_at: datetime) -> tuple[WriteOutcome, dict[str, Any]]:
    return records.mark_deleted(
        tenant_id="tenant-1",
        content_type="ecommerce:orders",
        code="1001",
        content_hash="deleted-1001",
        deleted_at=deleted_at,
        integration_id="shop-1",
    )


def test_a_deletion_keeps_the_last_content_and_counts_once(records: DynamoRecords) -> None:
    # Given a stored order
    write(records)

    # When it is marked deleted, twice
    first = mark_deleted(records, T + SECOND)
    second = mark_deleted(records, T + 2 * SECOND)

    # Then the first marks it and gives its last content; the second finds it deleted already
    assert first == (WriteOutcome.UPDATED, ORDER)
    assert second == (WriteOutcome.UNCHANGED, ORDER)
    stored = records.get("tenant-1", "ecommerce:orders", "1001")
    assert stored is not None
    assert (stored.deleted, stored.record, stored.content_hash, stored.version) == (True, ORDER, "h1", 2)
    assert stored.source_updated_at == T + SECOND


def test_a_deletion_older_than_the_stored_version_is_refused(records: DynamoRecords) -> None:
    # Given a stored order at T
    write(records)

    # When a deletion dated before T arrives
    outcome = mark_deleted(records, T - SECOND)

    # Then the newer version stays live
    assert outcome == (WriteOutcome.STALE, ORDER)
    stored = records.get("tenant-1", "ecommerce:orders", "1001")
    assert stored is not None
    assert not stored.deleted


def test_a_record_without_a_source_time_comes_back_after_a_deletion(records: DynamoRecords) -> None:
    # Given an order stored without an updated-at, then marked deleted
    write(records, source_updated_at=None)
    mark_deleted(records, T)

    # When a listing shows it again, the same content, still without an updated-at
    outcome = write(records, source_updated_at=None)

    # Then it is live again: with no time to compare, a listing that shows it proves it lives
    assert outcome is WriteOutcome.UPDATED
    stored = records.get("tenant-1", "ecommerce:orders", "1001")
    assert stored is not None
    assert not stored.deleted


def test_an_older_version_does_not_bring_a_timed_deletion_back(records: DynamoRecords) -> None:
    # Given an order marked deleted at T + 1 s
    write(records)
    mark_deleted(records, T + SECOND)

    # When its version of T arrives again (a late delivery)
    outcome = write(records, content_hash="h2")

    # Then it stays deleted
    assert outcome is WriteOutcome.STALE
    stored = records.get("tenant-1", "ecommerce:orders", "1001")
    assert stored is not None
    assert stored.deleted


def test_a_strict_write_of_the_same_version_with_other_content_is_refused_as_the_same_version(
    records: DynamoRecords,
) -> None:
    # Given an order stored at T
    write(records)

    # When a strict write brings T again with other content, then T + 1 s
    same = write(records, content_hash="h2", strict=True)
    newer = write(records, content_hash="h2", source_updated_at=T + SECOND, strict=True)

    # Then the first is refused for the caller to merge, the second is a new version
    assert (same, newer) == (WriteOutcome.SAME_VERSION, WriteOutcome.UPDATED)


def test_a_merge_of_the_same_version_is_stored_without_a_new_version(records: DynamoRecords) -> None:
    # Given an order stored at T (version 1)
    write(records)

    # When the same version is stored again merged with what another path knows
    outcome = write(records, content_hash="h2", record={**ORDER, "notes": "merged"}, new_version=False)

    # Then it is stored, still version 1
    assert outcome is WriteOutcome.UPDATED
    stored = records.get("tenant-1", "ecommerce:orders", "1001")
    assert stored is not None
    assert (stored.record["notes"], stored.version) == ("merged", 1)


def test_a_write_tells_the_plain_fields_of_the_version_it_replaced(records: DynamoRecords) -> None:
    first = written(records)
    assert first == RecordWriteResult(WriteOutcome.CREATED, None)

    shipped = {**ORDER, "status": "shipped"}
    second = written(records, record=shipped, content_hash="h2", source_updated_at=T + SECOND)

    # The lines are not a plain field; code, status, total and notes are, as the first version had them.
    assert second == RecordWriteResult(
        WriteOutcome.UPDATED, {"code": "1001", "status": "paid", "totalAmount": 100.0, "notes": "شكرا"}
    )


def test_a_retried_write_still_finds_what_its_first_attempt_replaced(records: DynamoRecords) -> None:
    written(records)
    shipped = {**ORDER, "status": "shipped"}
    written(records, record=shipped, content_hash="h2", source_updated_at=T + SECOND)

    # The same version again (an invocation that stopped before announcing it, retried).
    again = written(records, record=shipped, content_hash="h2", source_updated_at=T + SECOND)

    assert again.outcome is WriteOutcome.UNCHANGED
    assert again.replaced is not None and again.replaced["status"] == "paid"


def test_a_stale_write_tells_nothing_replaced(records: DynamoRecords) -> None:
    written(records, source_updated_at=T + SECOND)

    older = written(records, record={**ORDER, "status": "new"}, content_hash="h0", source_updated_at=T)

    assert older == RecordWriteResult(WriteOutcome.STALE, None)

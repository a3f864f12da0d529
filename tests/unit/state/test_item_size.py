"""Items over DynamoDB's 400 KB limit: refused as ItemTooLargeError, never as a retryable failure."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError

from mercator.domain.deliveries import Announcement, DeliveryClaim, RecordChange
from mercator.domain.errors import ItemTooLargeError, StateAccessError
from mercator.state.delivery_claims import DynamoDeliveryLedger
from mercator.state.dynamo import Table
from mercator.state.record_store import DynamoRecords

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
HUGE = {"code": "1", "name": "x" * 450_000, "updatedAt": "2025-03-01T12:00:00Z"}


def _claim(record: dict[str, Any]) -> DeliveryClaim:
    return DeliveryClaim(
        integration_id="shop-1",
        dedupe_key="id-1",
        event="orders/create",
        received_at=NOW,
        outcome="accepted",
        announcements=(Announcement("trigger", json.dumps(record)),),
    )


def _change(record: dict[str, Any]) -> RecordChange:
    return RecordChange(
        tenant_id="tenant-1",
        integration_id="shop-1",
        resource="orders",
        content_type="ecommerce:orders",
        code="1",
        record=record,
        content_hash="h1",
        source_updated_at=NOW,
    )


def test_a_record_write_over_the_limit_is_item_too_large(dynamodb: Any, records_table: str) -> None:
    records = DynamoRecords(dynamodb, records_table)

    with pytest.raises(ItemTooLargeError) as refused:
        records.write(
            tenant_id="tenant-1",
            content_type="ecommerce:orders",
            code="1",
            record=HUGE,
            content_hash="h1",
            source_updated_at=NOW,
            integration_id="shop-1",
        )

    assert isinstance(refused.value, StateAccessError) and refused.value.operation == "UpdateItem"


def test_a_delivery_commit_over_the_limit_is_item_too_large_and_writes_nothing(
    dynamodb: Any, state_table: str, records_table: str
) -> None:
    ledger = DynamoDeliveryLedger(dynamodb, state_table, records_table, sleep=lambda _: None)

    with pytest.raises(ItemTooLargeError):
        ledger.commit(_claim(HUGE), _change(HUGE))

    assert ledger.get("shop-1", "id-1") is None
    assert dynamodb.scan(TableName=records_table)["Items"] == []


class _CancelsForSize:
    """DynamoDB's other answer to an oversize item in a transaction: cancelled, with a ValidationError
    reason for the item at fault."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.exceptions = client.exceptions
        self.attempts = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def transact_write_items(self, **request: Any) -> dict[str, Any]:
        self.attempts += 1
        reasons = [
            {"Code": "None"},
            {
                "Code": "ValidationError",
                "Message": "Item size to update has exceeded the maximum allowed size",
            },
            {"Code": "None"},
        ]
        raise ClientError(
            {
                "Error": {
                    "Code": "TransactionCanceledException",
                    "Message": "Transaction cancelled, please refer cancellation reasons for specific "
                    "reasons [None, ValidationError, None]",
                },
                "CancellationReasons": reasons,
            },
            "TransactWriteItems",
        )


def test_a_transaction_cancelled_for_item_size_is_item_too_large_at_once(
    dynamodb: Any, state_table: str, records_table: str
) -> None:
    client = _CancelsForSize(dynamodb)
    ledger = DynamoDeliveryLedger(client, state_table, records_table, sleep=lambda _: None)
    small = {"code": "1"}

    with pytest.raises(ItemTooLargeError):
        ledger.commit(_claim(small), _change(small))

    assert client.attempts == 1  # not retried as a conflict would be


@pytest.mark.parametrize(
    ("code", "message", "expected"),
    [
        ("ValidationException", "Item size has exceeded the maximum allowed size", ItemTooLargeError),
        (
            "ValidationException",
            "Item size to update has exceeded the maximum allowed size",
            ItemTooLargeError,
        ),
        ("ValidationException", "One or more parameter values were invalid", StateAccessError),
        ("ProvisionedThroughputExceededException", "Item size has exceeded", StateAccessError),
    ],
    ids=["put", "update", "other-validation", "other-code"],
)
def test_only_dynamodbs_item_size_refusal_is_item_too_large(
    dynamodb: Any, code: str, message: str, expected: type[Exception]
) -> None:
    error = Table(dynamodb, "t").error(
        "PutItem", ClientError({"Error": {"Code": code, "Message": message}}, "PutItem")
    )

    assert type(error) is expected

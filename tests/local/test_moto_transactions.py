"""The local stack's TransactWriteItems: DynamoDB's all-or-nothing semantics at the cost of its items."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from mercator_local import moto_transactions
from tests.fake_aws import use_fake_aws


@pytest.fixture
def dynamodb(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    use_fake_aws(monkeypatch, "eu-central-1")
    moto_transactions.install()
    with mock_aws():
        client = boto3.client("dynamodb", region_name="eu-central-1")
        for name in ("a", "b"):
            client.create_table(
                TableName=name,
                KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                BillingMode="PAY_PER_REQUEST",
            )
        yield client


def _put(table: str, pk: str, value: str, condition: str | None = None) -> dict[str, Any]:
    put: dict[str, Any] = {"TableName": table, "Item": {"pk": {"S": pk}, "v": {"S": value}}}
    if condition:
        put |= {"ConditionExpression": condition, "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}
    return {"Put": put}


def _value(client: Any, table: str, pk: str) -> str | None:
    item = client.get_item(TableName=table, Key={"pk": {"S": pk}}).get("Item")
    return None if item is None else str(item["v"]["S"])


def test_all_writes_land_when_every_condition_holds(dynamodb: Any) -> None:
    dynamodb.transact_write_items(
        TransactItems=[
            _put("a", "x", "1", "attribute_not_exists(pk)"),
            {
                "Update": {
                    "TableName": "b",
                    "Key": {"pk": {"S": "y"}},
                    "UpdateExpression": "SET v = :v",
                    "ExpressionAttributeValues": {":v": {"S": "2"}},
                }
            },
        ]
    )

    assert (_value(dynamodb, "a", "x"), _value(dynamodb, "b", "y")) == ("1", "2")


def test_one_failed_condition_writes_nothing_and_returns_the_stored_item(dynamodb: Any) -> None:
    dynamodb.put_item(TableName="a", Item={"pk": {"S": "x"}, "v": {"S": "old"}})

    with pytest.raises(dynamodb.exceptions.TransactionCanceledException) as refused:
        dynamodb.transact_write_items(
            TransactItems=[_put("b", "y", "new"), _put("a", "x", "new", "attribute_not_exists(pk)")]
        )

    reasons = refused.value.response["CancellationReasons"]
    assert [reason["Code"] for reason in reasons] == ["None", "ConditionalCheckFailed"]
    assert reasons[1]["Item"] == {"pk": {"S": "x"}, "v": {"S": "old"}}
    assert (_value(dynamodb, "a", "x"), _value(dynamodb, "b", "y")) == ("old", None)


def test_two_operations_on_one_item_are_refused(dynamodb: Any) -> None:
    with pytest.raises(dynamodb.exceptions.ClientError, match=r"multiple operations|one item"):
        dynamodb.transact_write_items(TransactItems=[_put("a", "x", "1"), _put("a", "x", "2")])

    assert _value(dynamodb, "a", "x") is None

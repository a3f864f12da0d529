"""A moto state table and DynamoDB clients for the state adapter tests."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from tests.unit.state.clients import SerializedClient

REGION = "eu-west-1"
TABLE = "mercator-state"
RECORDS_TABLE = "mercator-records"

ClientFactory = Callable[[], SerializedClient]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
    }.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        yield


@pytest.fixture
def table(aws: None) -> str:
    boto3.client("dynamodb", region_name=REGION).create_table(
        TableName=TABLE,
        KeySchema=[
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    return TABLE


@pytest.fixture
def dynamodb(aws: None) -> Any:
    """A DynamoDB client on moto."""
    return boto3.client("dynamodb", region_name=REGION)


@pytest.fixture
def state_table(dynamodb: Any) -> str:
    """The state table with the contract's keys, gsi1 index and TTL attribute."""
    dynamodb.create_table(
        TableName=TABLE,
        KeySchema=[
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": name, "AttributeType": "S"} for name in ("pk", "sk", "gsi1pk", "gsi1sk")
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "gsi1",
                "KeySchema": [
                    {"AttributeName": "gsi1pk", "KeyType": "HASH"},
                    {"AttributeName": "gsi1sk", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    dynamodb.update_time_to_live(
        TableName=TABLE, TimeToLiveSpecification={"Enabled": True, "AttributeName": "ttl"}
    )
    return TABLE


@pytest.fixture
def records_table(dynamodb: Any) -> str:
    """The records table with the contract's keys."""
    dynamodb.create_table(
        TableName=RECORDS_TABLE,
        KeySchema=[
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[{"AttributeName": name, "AttributeType": "S"} for name in ("pk", "sk")],
        BillingMode="PAY_PER_REQUEST",
    )
    return RECORDS_TABLE


@pytest.fixture
def new_client(aws: None) -> ClientFactory:
    """Each call: a new boto3 client (one per simulated Lambda), all against the same moto table."""
    lock = threading.Lock()
    return lambda: SerializedClient(boto3.client("dynamodb", region_name=REGION), lock)


@pytest.fixture
def stored_item(aws: None) -> Callable[[str], dict[str, Any] | None]:
    """The rate bucket item of an integration, as DynamoDB holds it."""
    client = boto3.client("dynamodb", region_name=REGION)

    def read(integration_id: str) -> dict[str, Any] | None:
        key = {"pk": {"S": f"INTEGRATION#{integration_id}"}, "sk": {"S": "RATE_BUCKET"}}
        item: dict[str, Any] | None = client.get_item(TableName=TABLE, Key=key, ConsistentRead=True).get(
            "Item"
        )
        return item

    return read

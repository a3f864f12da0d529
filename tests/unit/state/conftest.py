"""A moto state table and DynamoDB clients for the state adapter tests."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from mercator_local.resources import create_template_table
from tests.fake_aws import use_fake_aws
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
    use_fake_aws(monkeypatch, REGION)
    with mock_aws():
        yield


@pytest.fixture
def table(aws: None) -> str:
    """The state table, as template.yaml defines it."""
    return create_template_table(boto3.client("dynamodb", region_name=REGION), "StateTable", table_name=TABLE)


@pytest.fixture
def dynamodb(aws: None) -> Any:
    """A DynamoDB client on moto."""
    return boto3.client("dynamodb", region_name=REGION)


@pytest.fixture
def state_table(dynamodb: Any) -> str:
    """The state table (keys, gsi1, TTL) as template.yaml defines it."""
    return create_template_table(dynamodb, "StateTable", table_name=TABLE)


@pytest.fixture
def records_table(dynamodb: Any) -> str:
    """The records table as template.yaml defines it."""
    return create_template_table(dynamodb, "RecordsTable", table_name=RECORDS_TABLE)


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

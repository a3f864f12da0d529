"""Tests on in-process moto build their tables from template.yaml, never from a second copy."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from mercator_local import TemplateError
from mercator_local.resources import create_template_table


@pytest.fixture
def dynamodb(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        yield boto3.client("dynamodb", region_name="eu-central-1")


def test_the_state_table_gets_the_templates_keys_index_and_ttl(dynamodb: Any) -> None:
    name = create_template_table(dynamodb, "StateTable", table_name="state-under-test")

    table = dynamodb.describe_table(TableName=name)["Table"]
    assert name == "state-under-test"
    assert [(k["AttributeName"], k["KeyType"]) for k in table["KeySchema"]] == [
        ("pk", "HASH"),
        ("sk", "RANGE"),
    ]
    [index] = table["GlobalSecondaryIndexes"]
    assert index["IndexName"] == "gsi1"
    assert [k["AttributeName"] for k in index["KeySchema"]] == ["gsi1pk", "gsi1sk"]
    ttl = dynamodb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
    assert (ttl["AttributeName"], ttl["TimeToLiveStatus"]) == ("ttl", "ENABLED")


def test_an_unknown_table_names_the_templates_tables(dynamodb: Any) -> None:
    with pytest.raises(TemplateError, match="no table 'Orders'; tables: StateTable, RecordsTable"):
        create_template_table(dynamodb, "Orders", table_name="x")

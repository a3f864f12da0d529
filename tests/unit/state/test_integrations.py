"""Integrations in the state table: round trip, the active index with pagination, status moves, errors."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from mercator.domain.entities import Integration
from mercator.domain.errors import IntegrationNotFoundError, MalformedItemError, MissingResourceError
from mercator.state.integrations import DynamoIntegrations
from tests.unit.state.wrappers import Recording

SECRETS = "arn:aws:secretsmanager:eu-west-1:123456789012:secret"
CREATED = datetime(2025, 3, 1, 9, 30, 15, 123000, tzinfo=UTC)


def integration(id_: str, *, status: str = "active", **fields: Any) -> Integration:
    values: dict[str, Any] = {
        "id": id_,
        "tenant_id": "tenant-1",
        "connector": "salla",
        "status": status,
        "credentials_arn": f"{SECRETS}:mercator/tenant-1/{id_}-AbCdEf",
        "created_at": CREATED,
    }
    return Integration.model_validate(values | fields)


def test_put_then_get_gives_back_the_same_integration(dynamodb: Any, state_table: str) -> None:
    repository = DynamoIntegrations(dynamodb, state_table)
    stored = integration(
        "shop-1",
        settings={"baseUrl": "http://127.0.0.1:8000", "page": {"size": 50, "ratio": 0.5}, "tags": ["a"]},
        resources=["orders", "products"],
    )

    repository.put(stored)

    assert repository.get("shop-1") == stored
    assert repository.get("shop-2") is None


def test_resources_none_stays_none_and_an_empty_list_stays_empty(dynamodb: Any, state_table: str) -> None:
    repository = DynamoIntegrations(dynamodb, state_table)
    repository.put(integration("every", resources=None))
    repository.put(integration("none", resources=[]))

    every, none = repository.get("every"), repository.get("none")

    assert every is not None and every.resources is None
    assert none is not None and none.resources == []


def test_the_item_follows_the_contract(dynamodb: Any, state_table: str) -> None:
    DynamoIntegrations(dynamodb, state_table).put(integration("shop-1", status="disabled"))

    item = dynamodb.get_item(
        TableName=state_table, Key={"pk": {"S": "INTEGRATION#shop-1"}, "sk": {"S": "META"}}
    )["Item"]

    assert item["gsi1pk"] == {"S": "INTEGRATIONS#disabled"}
    assert item["gsi1sk"] == {"S": "tenant-1#shop-1"}
    # 2025-03-01T09:30:15.123Z in epoch milliseconds.
    assert item["created_at"] == {"N": "1740821415123"}


def test_active_pages_through_the_index_and_skips_disabled(dynamodb: Any, state_table: str) -> None:
    recording = Recording(dynamodb)
    repository = DynamoIntegrations(recording, state_table)
    for id_ in ("e", "a", "d", "b", "c"):
        repository.put(integration(id_))
    for id_ in ("x", "y"):
        repository.put(integration(id_, status="disabled"))

    active = repository.active(page_size=2)

    assert [found.id for found in active] == ["a", "b", "c", "d", "e"]
    queries = recording.calls("query")
    # Five items two at a time: three pages, and the last page has no LastEvaluatedKey.
    assert len(queries) == 3
    assert all(query["IndexName"] == "gsi1" for query in queries)
    assert [found.id for found in repository.with_status("disabled")] == ["x", "y"]


def test_set_status_moves_the_integration_between_indexes(dynamodb: Any, state_table: str) -> None:
    repository = DynamoIntegrations(dynamodb, state_table)
    repository.put(integration("shop-1"))
    repository.put(integration("shop-2"))

    disabled = repository.set_status("shop-1", "disabled")

    assert disabled.status == "disabled"
    assert disabled.syncs("orders") is False
    assert [found.id for found in repository.active()] == ["shop-2"]
    assert [found.id for found in repository.with_status("disabled")] == ["shop-1"]

    repository.set_status("shop-1", "active")
    assert [found.id for found in repository.active()] == ["shop-1", "shop-2"]


def test_set_status_of_an_unknown_integration_creates_nothing(dynamodb: Any, state_table: str) -> None:
    repository = DynamoIntegrations(dynamodb, state_table)

    with pytest.raises(IntegrationNotFoundError, match="no integration 'ghost'"):
        repository.set_status("ghost", "disabled")

    assert repository.get("ghost") is None
    assert repository.with_status("disabled") == []


def test_an_unknown_status_is_refused(dynamodb: Any, state_table: str) -> None:
    with pytest.raises(ValueError, match="statuses: active, disabled"):
        DynamoIntegrations(dynamodb, state_table).with_status("paused")  # type: ignore[arg-type]


def test_a_missing_table_is_named(dynamodb: Any) -> None:
    repository = DynamoIntegrations(dynamodb, "no-such-table")

    with pytest.raises(MissingResourceError, match="'no-such-table' does not exist") as raised:
        repository.get("shop-1")

    assert raised.value.resource == "no-such-table"
    assert raised.value.operation == "GetItem"
    assert raised.value.code == "ResourceNotFoundException"


def test_a_malformed_item_is_reported_with_its_key(dynamodb: Any, state_table: str) -> None:
    dynamodb.put_item(
        TableName=state_table,
        Item={"pk": {"S": "INTEGRATION#broken"}, "sk": {"S": "META"}, "id": {"S": "broken"}},
    )

    with pytest.raises(MalformedItemError, match="INTEGRATION#broken"):
        DynamoIntegrations(dynamodb, state_table).get("broken")

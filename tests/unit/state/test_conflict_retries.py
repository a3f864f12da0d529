"""Transactions DynamoDB cancels for a conflict are tried again, apart, a bounded number of times."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError

from mercator.domain.deliveries import Announcement, DeliveryClaim, RecordChange
from mercator.domain.entities import Integration
from mercator.domain.errors import StateAccessError
from mercator.state.delivery_claims import DynamoDeliveryLedger
from mercator.state.integrations import DynamoIntegrations
from tests.unit.state.wrappers import Recording

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
SECRET = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:mercator/tenant-1/shop-1-AbCdEf"


class Conflicting(Recording):
    """TransactWriteItems is cancelled for a TransactionConflict ``conflicts`` times, then goes through."""

    def __init__(self, client: Any, *, conflicts: int) -> None:
        super().__init__(client)
        self.conflicts = conflicts

    def transact_write_items(self, **request: Any) -> dict[str, Any]:
        self.requests.append(("transact_write_items", request))
        if self.conflicts > 0:
            self.conflicts -= 1
            reasons = [{"Code": "TransactionConflict"} for _ in request["TransactItems"]]
            raise ClientError(
                {
                    "Error": {"Code": "TransactionCanceledException", "Message": "conflict"},
                    "CancellationReasons": reasons,
                },
                "TransactWriteItems",
            )
        response: dict[str, Any] = self._client.transact_write_items(**request)
        return response


def integration() -> Integration:
    return Integration.model_validate(
        {
            "id": "shop-1",
            "tenant_id": "tenant-1",
            "connector": "salla",
            "status": "active",
            "credentials_arn": SECRET,
            "created_at": NOW,
        }
    )


def claim() -> DeliveryClaim:
    return DeliveryClaim(
        integration_id="shop-1",
        dedupe_key="id-1",
        event="orders/create",
        received_at=NOW,
        outcome="accepted",
        announcements=(Announcement("trigger", json.dumps({"code": "1"})),),
    )


def change() -> RecordChange:
    return RecordChange(
        tenant_id="tenant-1",
        integration_id="shop-1",
        resource="orders",
        content_type="ecommerce:orders",
        code="1",
        record={"code": "1"},
        content_hash="h1",
        source_updated_at=NOW,
    )


def test_a_conflicting_registration_is_retried_after_jittered_growing_pauses(
    dynamodb: Any, state_table: str
) -> None:
    client = Conflicting(dynamodb, conflicts=3)
    pauses: list[float] = []
    repository = DynamoIntegrations(client, state_table, sleep=pauses.append, jitter=random.Random(5))

    repository.register(integration())

    assert repository.get("shop-1") == integration()
    assert len(client.calls("transact_write_items")) == 4
    assert len(pauses) == 3
    for pause, ceiling in zip(pauses, [0.05, 0.1, 0.2], strict=True):
        assert 0 <= pause <= ceiling


def test_a_registration_that_keeps_conflicting_gives_up(dynamodb: Any, state_table: str) -> None:
    client = Conflicting(dynamodb, conflicts=100)
    pauses: list[float] = []

    with pytest.raises(StateAccessError, match="kept conflicting with concurrent writes after 4 attempts"):
        DynamoIntegrations(client, state_table, sleep=pauses.append).register(integration())

    assert len(client.calls("transact_write_items")) == 4
    assert len(pauses) == 3


def test_a_conflicting_delivery_commit_is_retried_after_jittered_growing_pauses(
    dynamodb: Any, state_table: str, records_table: str
) -> None:
    client = Conflicting(dynamodb, conflicts=4)
    pauses: list[float] = []
    ledger = DynamoDeliveryLedger(
        client, state_table, records_table, sleep=pauses.append, jitter=random.Random(6)
    )

    assert ledger.commit(claim(), change()).status == "committed"

    assert len(pauses) == 4
    for pause, ceiling in zip(pauses, [0.02, 0.04, 0.08, 0.16], strict=True):
        assert 0 <= pause <= ceiling


def test_a_delivery_commit_that_keeps_conflicting_gives_up_after_max_attempts(
    dynamodb: Any, state_table: str, records_table: str
) -> None:
    client = Conflicting(dynamodb, conflicts=100)
    ledger = DynamoDeliveryLedger(client, state_table, records_table, max_attempts=3, sleep=lambda _: None)

    with pytest.raises(StateAccessError, match="after 3 attempts"):
        ledger.commit(claim(), change())

    assert len(client.calls("transact_write_items")) == 3

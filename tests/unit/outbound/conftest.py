"""Action runner fixtures: moto (state table, Secrets Manager, SES), a change event and workflows."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import boto3
import pytest

from mercator.domain.messages import ChangeEvent
from mercator.domain.workflows import Action, Workflow
from tests.unit.state.conftest import REGION, TABLE, anyio_backend, aws, table

__all__ = ["REGION", "TABLE", "anyio_backend", "aws", "table"]

OCCURRED = datetime(2024, 5, 1, 10, 0, tzinfo=UTC)
ORDER = {
    "code": "981",
    "status": "under_review",
    "total": 120.5,
    "currency": "SAR",
    "customer": {"code": "7", "name": "Sara Al-Harbi", "email": "sara@example.com"},
    "items": [{"sku": "MUG-1", "name": "Mug", "quantity": 2}],
}


class FakeClock:
    """Epoch seconds that move only when the test (or a fake sleep) moves them."""

    def __init__(self, start: float = 1_714_557_600.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


class FakeSleep:
    """Records every wait and moves the clock by it instead of waiting."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)
        self.clock.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def sleep(clock: FakeClock) -> FakeSleep:
    return FakeSleep(clock)


@pytest.fixture
def secretsmanager(aws: None) -> Any:
    return boto3.client("secretsmanager", region_name=REGION)


def change_event(
    record: dict[str, Any] | None = None,
    *,
    content_type: str = "ecommerce:orders",
    code: str = "981",
    tenant_id: str = "tenant-1",
    integration_id: str = "shop-1",
    connector: str = "salla",
    change: str = "created",
) -> ChangeEvent:
    return ChangeEvent.model_validate(
        {
            "change": change,
            "integration_id": integration_id,
            "tenant_id": tenant_id,
            "connector": connector,
            "content_type": content_type,
            "code": code,
            "record": ORDER if record is None else record,
            "content_hash": "9f2c",
            "source": "webhook",
            "event": "order.created",
            "occurred_at": OCCURRED,
        }
    )


def make_workflow(
    action: Action | dict[str, Any], *, guid: str = "wf-1", tenant_id: str = "tenant-1"
) -> Workflow:
    return Workflow.model_validate(
        {
            "guid": guid,
            "tenant_id": tenant_id,
            "name": "Tell the warehouse",
            "entity_type": "Order",
            "connector": "salla",
            "trigger": "order.created",
            "action": action,
            "created_at": OCCURRED,
            "updated_at": OCCURRED,
        }
    )

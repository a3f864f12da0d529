"""Change events, workflows and in-memory fakes of the dispatch ports, for the dispatch tests."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from mercator.domain.hashing import content_hash
from mercator.domain.messages import BusEvent, ChangeEvent
from mercator.domain.workflows import ActionRunner, Workflow, WorkflowExecution
from mercator.services.connectors import ConnectorCatalog
from mercator.services.dispatch import DispatchService
from tests.unit.services.fakes import FakeClock

TENANT = "tenant-7"
OTHER_TENANT = "tenant-9"
CREATED_AT = datetime(2024, 12, 1, 9, 0, tzinfo=UTC)

ORDER: dict[str, Any] = {
    "code": "2116149737",
    "orderNumber": "41027662",
    "status": "under_review",
    "totalAmount": 196.0,
    "currency": "SAR",
    "paymentMethod": "bank",
    "customer": {"code": "225167971", "email": "usertest@gmail.com", "name": "Mohammed Ali"},
    "items": [
        {"code": "70815337", "sku": "54534534", "name": "بيتزا", "quantity": 1.0, "unitPrice": 186.0},
        {"code": "70815338", "sku": "SHIRT-BLK-M", "name": "Shirt", "quantity": 2, "unitPrice": 5},
    ],
    "tags": ["vip", "first-order"],
    "isGift": False,
}


def change(
    *,
    record: dict[str, Any] | None = None,
    change_kind: str = "created",
    content_type: str = "ecommerce:orders",
    source: str = "webhook",
    event: str | None = "order.created",
    tenant_id: str = TENANT,
    connector: str = "salla",
    first_import: bool = False,
) -> ChangeEvent:
    body = ORDER if record is None else record
    return ChangeEvent.model_validate(
        {
            "change": change_kind,
            "integration_id": "salla-demo",
            "tenant_id": tenant_id,
            "connector": connector,
            "content_type": content_type,
            "code": str(body.get("code", "1")),
            "record": body,
            "content_hash": content_hash(body),
            "source": source,
            "event": event,
            "first_import": first_import,
            "occurred_at": datetime(2025, 1, 1, 6, 0, 3, tzinfo=UTC),
        }
    )


def workflow(
    guid: str,
    *,
    trigger: str = "order.created",
    conditions: dict[str, Any] | None = None,
    action: dict[str, Any] | None = None,
    connector: str = "salla",
    tenant_id: str = TENANT,
    is_active: bool = True,
    entity_type: str = "Order",
    is_managed: bool = False,
    created_at: datetime = CREATED_AT,
) -> Workflow:
    return Workflow.model_validate(
        {
            "guid": guid,
            "tenant_id": tenant_id,
            "name": f"workflow {guid}",
            "entity_type": entity_type,
            "connector": connector,
            "trigger": trigger,
            "conditions": conditions or {},
            "action": action or {"type": "send_email", "recipient": "customer", "template": "order_received"},
            "is_active": is_active,
            "is_managed": is_managed,
            "created_at": created_at,
            "updated_at": created_at,
        }
    )


WEBHOOK_ACTION = {"type": "webhook", "url": "https://hooks.example.com/orders", "secretName": "tenant-7/hook"}


class FakeWorkflows:
    def __init__(self, *workflows: Workflow) -> None:
        self.items = {(item.tenant_id, item.guid): item for item in workflows}
        self.loads = 0

    def get(self, tenant_id: str, guid: str) -> Workflow | None:
        return self.items.get((tenant_id, guid))

    def for_tenant(self, tenant_id: str) -> list[Workflow]:
        self.loads += 1
        return [item for (tenant, _), item in self.items.items() if tenant == tenant_id]

    def replace(self, item: Workflow) -> None:
        self.items[(item.tenant_id, item.guid)] = item


class FakeExecutions:
    def __init__(self) -> None:
        self.items: dict[tuple[str, str], WorkflowExecution] = {}
        self.puts: list[WorkflowExecution] = []

    def get(self, tenant_id: str, execution_id: str) -> WorkflowExecution | None:
        return self.items.get((tenant_id, execution_id))

    def put(self, tenant_id: str, execution: WorkflowExecution) -> None:
        assert execution.tenant_id == tenant_id
        self.items[(tenant_id, execution.id)] = execution
        self.puts.append(execution)

    def of(self, guid: str) -> list[WorkflowExecution]:
        return [execution for execution in self.items.values() if execution.workflow_guid == guid]


class FakePublisher:
    def __init__(self, failures: Sequence[Exception] = ()) -> None:
        self.published: list[BusEvent] = []
        self.calls = 0
        self._failures = list(failures)

    def publish(self, events: Sequence[BusEvent]) -> None:
        self.calls += 1
        if self._failures:
            raise self._failures.pop(0)
        self.published.extend(events)


@dataclass
class RecordingRunner:
    """An action runner that records each run and answers as ``answer`` says for the workflow."""

    answer: Callable[[Workflow], str] = lambda item: f"done for {item.guid}"
    runs: list[tuple[str, str]] = field(default_factory=list)  # (workflow guid, change event id)

    def run(self, action: Any, event: ChangeEvent, workflow: Workflow) -> str:
        assert action == workflow.action
        self.runs.append((workflow.guid, event.id))
        return self.answer(workflow)


@dataclass
class DispatchWorld:
    workflows: FakeWorkflows
    executions: FakeExecutions = field(default_factory=FakeExecutions)
    publisher: FakePublisher = field(default_factory=FakePublisher)
    email: RecordingRunner = field(default_factory=RecordingRunner)
    hooks: RecordingRunner = field(default_factory=RecordingRunner)
    clock: FakeClock = field(default_factory=FakeClock)
    connectors: ConnectorCatalog = field(default_factory=ConnectorCatalog)

    def service(self, runners: dict[str, ActionRunner] | None = None) -> DispatchService:
        return DispatchService(
            connectors=self.connectors,
            workflows=self.workflows,
            executions=self.executions,
            publisher=self.publisher,
            runners={"send_email": self.email, "webhook": self.hooks} if runners is None else runners,
            clock=self.clock,
        )

"""Workflows and executions in the state table on moto: round trips, toggles, the paused list, and one
tenant never reaching another's items."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from mercator.domain.errors import MalformedItemError, WorkflowNotFoundError
from mercator.domain.workflows import WorkflowExecution, execution_id
from mercator.mapping.conditions import ConditionError
from mercator.state.workflow_store import DynamoExecutions, DynamoWorkflows, workflow_key
from tests.unit.services.dispatch_support import OTHER_TENANT, TENANT, change, workflow
from tests.unit.services.fakes import FakeClock
from tests.unit.state.conftest import TABLE

TOGGLED_AT = datetime(2025, 2, 1, 8, 30, tzinfo=UTC)


@pytest.fixture
def workflows(dynamodb: Any, state_table: str) -> DynamoWorkflows:
    return DynamoWorkflows(dynamodb, state_table, clock=FakeClock(TOGGLED_AT))


@pytest.fixture
def executions(dynamodb: Any, state_table: str) -> DynamoExecutions:
    return DynamoExecutions(dynamodb, state_table)


def test_a_workflow_comes_back_as_it_was_stored(workflows: DynamoWorkflows) -> None:
    stored = workflow(
        "wf-1",
        conditions={"status": "delivered", "totalAmount": {"gte": 99.5}},
        action={
            "type": "webhook",
            "url": "https://hooks.example.com/x",
            "secretName": "s",
            "headers": {"X": "1"},
        },
    )

    workflows.put(TENANT, stored)

    assert workflows.get(TENANT, "wf-1") == stored
    assert workflows.get(TENANT, "wf-2") is None


def test_storing_a_workflow_with_conditions_that_cannot_be_evaluated_is_refused(
    workflows: DynamoWorkflows,
) -> None:
    with pytest.raises(ConditionError, match="condition on 'status': unknown operator 'equals'"):
        workflows.put(TENANT, workflow("wf-1", conditions={"status": {"equals": "delivered"}}))

    assert workflows.get(TENANT, "wf-1") is None


def test_a_workflow_is_stored_under_its_own_tenant_only(workflows: DynamoWorkflows) -> None:
    with pytest.raises(ValueError, match="belongs to tenant 'tenant-9', not to tenant 'tenant-7'"):
        workflows.put(TENANT, workflow("wf-1", tenant_id=OTHER_TENANT))


def test_put_replaces_a_stored_workflow(workflows: DynamoWorkflows) -> None:
    workflows.put(TENANT, workflow("wf-1", conditions={"status": "delivered"}))
    updated = workflow("wf-1", conditions={"status": "shipped"})

    workflows.put(TENANT, updated)

    assert workflows.get(TENANT, "wf-1") == updated
    assert workflows.for_tenant(TENANT) == [updated]


def test_for_tenant_filters_by_entity_type_and_managed_oldest_first(workflows: DynamoWorkflows) -> None:
    start = datetime(2025, 1, 1, tzinfo=UTC)
    shipment = workflow("wf-a", entity_type="Shipment", trigger="shipment.delivered", created_at=start)
    managed = workflow("wf-b", is_managed=True, created_at=start + timedelta(days=2))
    order = workflow("wf-c", created_at=start + timedelta(days=1))
    for item in (shipment, managed, order):
        workflows.put(TENANT, item)
    workflows.put(OTHER_TENANT, workflow("wf-d", tenant_id=OTHER_TENANT))

    assert workflows.for_tenant(TENANT) == [shipment, order, managed]
    assert workflows.for_tenant(TENANT, entity_type="Order") == [order, managed]
    assert workflows.for_tenant(TENANT, entity_type="Order", managed=False) == [order]
    assert workflows.for_tenant(TENANT, managed=True) == [managed]
    assert workflows.for_tenant(TENANT, entity_type="Customer") == []


def test_toggle_flips_and_keeps_the_workflow_active_state(workflows: DynamoWorkflows) -> None:
    workflows.put(TENANT, workflow("wf-1"))

    disabled = workflows.toggle(TENANT, "wf-1")

    assert (disabled.is_active, disabled.updated_at) == (False, TOGGLED_AT)
    assert workflows.get(TENANT, "wf-1") == disabled
    enabled = workflows.toggle(TENANT, "wf-1")
    assert enabled.is_active is True
    assert workflows.get(TENANT, "wf-1") == enabled


def test_delete_removes_the_workflow(workflows: DynamoWorkflows) -> None:
    workflows.put(TENANT, workflow("wf-1"))

    workflows.delete(TENANT, "wf-1")

    assert workflows.get(TENANT, "wf-1") is None
    with pytest.raises(WorkflowNotFoundError, match="tenant 'tenant-7' has no workflow 'wf-1'"):
        workflows.delete(TENANT, "wf-1")
    with pytest.raises(WorkflowNotFoundError):
        workflows.toggle(TENANT, "wf-1")


def test_another_tenant_cannot_get_toggle_or_delete_a_workflow(workflows: DynamoWorkflows) -> None:
    # Given tenant A's workflow
    stored = workflow("wf-1")
    workflows.put(TENANT, stored)

    # When tenant B uses its guid, then B finds nothing and changes nothing
    assert workflows.get(OTHER_TENANT, "wf-1") is None
    assert workflows.for_tenant(OTHER_TENANT) == []
    with pytest.raises(WorkflowNotFoundError):
        workflows.toggle(OTHER_TENANT, "wf-1")
    with pytest.raises(WorkflowNotFoundError):
        workflows.delete(OTHER_TENANT, "wf-1")
    assert workflows.get(TENANT, "wf-1") == stored


def test_an_item_whose_body_names_another_tenant_is_malformed(
    dynamodb: Any, workflows: DynamoWorkflows
) -> None:
    # Given an item under tenant B's partition holding tenant A's workflow (written by hand)
    body = workflow("wf-1").model_dump_json()
    dynamodb.put_item(TableName=TABLE, Item={**workflow_key(OTHER_TENANT, "wf-1"), "workflow": {"S": body}})

    with pytest.raises(MalformedItemError, match="belongs to tenant 'tenant-7'"):
        workflows.get(OTHER_TENANT, "wf-1")


class RenameBeforeWrite:
    """A client through which another writer renames the workflow between the toggle's read and write."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.exceptions = client.exceptions
        self.renamed = False

    def get_item(self, **request: Any) -> Any:
        response = self._client.get_item(**request)
        if not self.renamed:
            self.renamed = True
            current = workflow("wf-1").model_copy(update={"name": "renamed meanwhile"})
            DynamoWorkflows(self._client, TABLE).put(TENANT, current)
        return response

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


def test_a_toggle_never_loses_a_concurrent_edit(dynamodb: Any, state_table: str) -> None:
    DynamoWorkflows(dynamodb, state_table).put(TENANT, workflow("wf-1"))
    racing = DynamoWorkflows(RenameBeforeWrite(dynamodb), state_table)

    toggled = racing.toggle(TENANT, "wf-1")

    assert (toggled.name, toggled.is_active) == ("renamed meanwhile", False)
    stored = DynamoWorkflows(dynamodb, state_table).get(TENANT, "wf-1")
    assert stored is not None
    assert (stored.name, stored.is_active) == ("renamed meanwhile", False)


# --- executions ----------------------------------------------------------------------------------


def execution(
    guid: str, status: str, *, tenant_id: str = TENANT, started: datetime = TOGGLED_AT, **fields: Any
) -> WorkflowExecution:
    event = change(tenant_id=tenant_id)
    return WorkflowExecution.model_validate(
        {
            "id": execution_id(event, guid),
            "tenant_id": tenant_id,
            "workflow_guid": guid,
            "event": event,
            "status": status,
            "attempts": 1,
            "started_at": started,
            "finished_at": started + timedelta(seconds=2),
            **fields,
        }
    )


def test_executions_round_trip_and_the_paused_ones_are_listed(executions: DynamoExecutions) -> None:
    later = execution("wf-b", "paused", reason="SES refused", started=TOGGLED_AT + timedelta(minutes=1))
    earlier = execution("wf-a", "paused", reason="410 Gone")
    done = execution("wf-c", "succeeded", outcome="sent")
    for item in (later, earlier, done):
        executions.put(TENANT, item)

    assert executions.get(TENANT, done.id) == done
    assert executions.paused(TENANT) == [earlier, later]


def test_a_resumed_execution_leaves_the_paused_list_and_expires_after_the_retention(
    dynamodb: Any, executions: DynamoExecutions
) -> None:
    paused = execution("wf-a", "paused", reason="410 Gone")
    executions.put(TENANT, paused)
    succeeded = paused.model_copy(update={"status": "succeeded", "reason": None, "attempts": 2})

    executions.put(TENANT, succeeded)

    assert executions.paused(TENANT) == []
    assert executions.get(TENANT, paused.id) == succeeded
    item = dynamodb.get_item(
        TableName=TABLE, Key={"pk": {"S": "TENANT#tenant-7"}, "sk": {"S": f"EXECUTION#{paused.id}"}}
    )
    finished = TOGGLED_AT + timedelta(seconds=2)
    assert int(item["Item"]["ttl"]["N"]) == int((finished + timedelta(days=30)).timestamp())
    assert "gsi1pk" not in item["Item"]


def test_a_paused_execution_does_not_expire(dynamodb: Any, executions: DynamoExecutions) -> None:
    paused = execution("wf-a", "paused", reason="410 Gone")

    executions.put(TENANT, paused)

    item = dynamodb.get_item(
        TableName=TABLE, Key={"pk": {"S": "TENANT#tenant-7"}, "sk": {"S": f"EXECUTION#{paused.id}"}}
    )
    assert "ttl" not in item["Item"]


def test_another_tenant_cannot_see_an_execution(executions: DynamoExecutions) -> None:
    paused = execution("wf-a", "paused", reason="410 Gone")
    executions.put(TENANT, paused)

    assert executions.get(OTHER_TENANT, paused.id) is None
    assert executions.paused(OTHER_TENANT) == []
    with pytest.raises(ValueError, match="belongs to tenant 'tenant-7'"):
        executions.put(OTHER_TENANT, paused)

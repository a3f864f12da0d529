"""A tenant's workflows and their executions in the state table, under the tenant's own partition.

::

    pk  TENANT#<tenant_id>   sk  WORKFLOW#<guid>
    tenant_id, guid, entity_type, connector, trigger   S
    is_active   BOOL
    workflow    S   the Workflow as JSON

    pk  TENANT#<tenant_id>   sk  EXECUTION#<id>
    tenant_id, id, workflow_guid, status   S
    execution   S   the WorkflowExecution as JSON, its change event included
    gsi1pk  PAUSED#<tenant_id>   gsi1sk  <started_at ms>#<id>   only while the execution is paused
    ttl         N   epoch seconds; a finished execution expires ``retention`` after it finished

Every method takes the tenant id and builds the key from it, so a tenant never reaches another's
items: tenant B asking for tenant A's workflow guid finds nothing. Models are kept as JSON strings,
as records are (``state/record_store.py``): they come back exactly as written. A paused execution never
expires: it waits for a resume.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, Protocol

from pydantic import ValidationError

from mercator.domain.clock import utc_now
from mercator.domain.errors import StateAccessError, WorkflowNotFoundError
from mercator.domain.workflows import EntityType, Workflow, WorkflowExecution
from mercator.mapping.conditions import validate_conditions
from mercator.state.dynamo import (
    GSI1,
    GSI1_PARTITION_KEY,
    GSI1_SORT_KEY,
    PARTITION_KEY,
    SORT_KEY,
    TTL,
    ConditionFailedError,
    DynamoDBClient,
    Expression,
    Item,
    Table,
    boolean,
    epoch_ms,
    key,
    n,
    read_s,
    s,
)

WORKFLOW_PREFIX = "WORKFLOW#"
EXECUTION_PREFIX = "EXECUTION#"
DEFAULT_RETENTION = timedelta(days=30)
_TOGGLE_ATTEMPTS = 5


class WorkflowsClient(DynamoDBClient, Protocol):
    def delete_item(self, **request: Any) -> dict[str, Any]: ...


def tenant_partition(tenant_id: str) -> str:
    if not tenant_id:
        raise ValueError("a tenant id must not be empty")
    return f"TENANT#{tenant_id}"


def workflow_key(tenant_id: str, guid: str) -> Item:
    return key(tenant_partition(tenant_id), f"{WORKFLOW_PREFIX}{guid}")


def execution_key(tenant_id: str, execution_id: str) -> Item:
    return key(tenant_partition(tenant_id), f"{EXECUTION_PREFIX}{execution_id}")


def paused_partition(tenant_id: str) -> str:
    return f"PAUSED#{tenant_id}"


class DynamoWorkflows:
    """A tenant's configured workflows (mercator.services.dispatch.WorkflowRepository and more)."""

    def __init__(
        self, client: WorkflowsClient, table_name: str, *, clock: Callable[[], datetime] = utc_now
    ) -> None:
        self._client = client
        self._table = Table(client, table_name)
        self._clock = clock

    def get(self, tenant_id: str, guid: str) -> Workflow | None:
        item = self._table.get(workflow_key(tenant_id, guid))
        return None if item is None else self._decode(tenant_id, item)

    def put(self, tenant_id: str, workflow: Workflow) -> None:
        """Create or replace the workflow; ConditionError when its conditions cannot be evaluated."""
        _own(tenant_id, workflow.tenant_id, "workflow", workflow.guid)
        validate_conditions(workflow.conditions)
        self._table.put(_encode_workflow(workflow))

    def delete(self, tenant_id: str, guid: str) -> None:
        """Delete the workflow; WorkflowNotFoundError when the tenant has none with this guid."""
        expression = Expression()
        exists = f"attribute_exists({expression.name(PARTITION_KEY)})"
        try:
            self._table.call(
                "DeleteItem",
                self._client.delete_item,
                TableName=self._table.name,
                Key=workflow_key(tenant_id, guid),
                ConditionExpression=exists,
                ExpressionAttributeNames=expression.names,
            )
        except ConditionFailedError:
            raise WorkflowNotFoundError(tenant_id, guid) from None

    def toggle(self, tenant_id: str, guid: str) -> Workflow:
        """Enable a disabled workflow or disable an enabled one; returns it as stored."""
        for _ in range(_TOGGLE_ATTEMPTS):
            item = self._table.get(workflow_key(tenant_id, guid))
            if item is None:
                raise WorkflowNotFoundError(tenant_id, guid)
            current = self._decode(tenant_id, item)
            toggled = current.model_copy(
                update={"is_active": not current.is_active, "updated_at": self._clock()}
            )
            update = Expression().set("workflow", s(toggled.model_dump_json()))
            update.set("is_active", boolean(toggled.is_active))
            # Written only over what was read, so a concurrent edit is never lost.
            unchanged = f"{update.name('workflow')} = {update.value(item['workflow'])}"
            try:
                self._table.update(workflow_key(tenant_id, guid), update, unchanged)
            except ConditionFailedError:
                continue
            return toggled
        raise StateAccessError(
            f"workflow {guid!r} of tenant {tenant_id!r} changed {_TOGGLE_ATTEMPTS} times while being "
            "toggled; try again",
            resource=self._table.name,
            operation="UpdateItem",
            code="ConditionalCheckFailedException",
        )

    def for_tenant(
        self, tenant_id: str, entity_type: EntityType | None = None, managed: bool | None = None
    ) -> list[Workflow]:
        """The tenant's workflows, oldest first; ``entity_type``/``managed`` None: any."""
        expression = Expression()
        condition = (
            f"{expression.name(PARTITION_KEY)} = {expression.value(s(tenant_partition(tenant_id)))} "
            f"AND begins_with({expression.name(SORT_KEY)}, {expression.value(s(WORKFLOW_PREFIX))})"
        )
        workflows = [
            self._decode(tenant_id, item)
            for item in self._table.query(expression, condition, ConsistentRead=True)
        ]
        return sorted(
            (
                workflow
                for workflow in workflows
                if (entity_type is None or workflow.entity_type == entity_type)
                and (managed is None or workflow.is_managed == managed)
            ),
            key=lambda workflow: (workflow.created_at, workflow.guid),
        )

    def _decode(self, tenant_id: str, item: Item) -> Workflow:
        try:
            workflow = Workflow.model_validate_json(read_s(item, "workflow"))
            _own(tenant_id, workflow.tenant_id, "workflow", workflow.guid)
        except (KeyError, TypeError, ValueError, ValidationError) as e:
            raise self._table.malformed(item, e) from e
        return workflow


class DynamoExecutions:
    """Workflow executions (mercator.services.dispatch.ExecutionRepository) and the paused list."""

    def __init__(
        self, client: DynamoDBClient, table_name: str, *, retention: timedelta = DEFAULT_RETENTION
    ) -> None:
        self._table = Table(client, table_name)
        self._retention = retention

    def get(self, tenant_id: str, execution_id: str) -> WorkflowExecution | None:
        item = self._table.get(execution_key(tenant_id, execution_id))
        return None if item is None else self._decode(tenant_id, item)

    def put(self, tenant_id: str, execution: WorkflowExecution) -> None:
        """Store the execution, replacing an earlier attempt; only a paused one is listed as paused."""
        _own(tenant_id, execution.tenant_id, "execution", execution.id)
        item: Item = {
            **execution_key(tenant_id, execution.id),
            "tenant_id": s(tenant_id),
            "id": s(execution.id),
            "workflow_guid": s(execution.workflow_guid),
            "status": s(execution.status),
            "execution": s(execution.model_dump_json()),
        }
        if execution.status == "paused":
            item[GSI1_PARTITION_KEY] = s(paused_partition(tenant_id))
            item[GSI1_SORT_KEY] = s(f"{epoch_ms(execution.started_at):015d}#{execution.id}")
        else:
            # DynamoDB's TTL reads epoch seconds.
            item[TTL] = n(epoch_ms(execution.finished_at + self._retention) // 1000)
        self._table.put(item)

    def paused(self, tenant_id: str) -> list[WorkflowExecution]:
        """The tenant's paused executions, oldest first (the index is eventually consistent)."""
        expression = Expression()
        condition = (
            f"{expression.name(GSI1_PARTITION_KEY)} = {expression.value(s(paused_partition(tenant_id)))}"
        )
        items = self._table.query(expression, condition, IndexName=GSI1)
        return [self._decode(tenant_id, item) for item in items]

    def _decode(self, tenant_id: str, item: Item) -> WorkflowExecution:
        try:
            execution = WorkflowExecution.model_validate_json(read_s(item, "execution"))
            _own(tenant_id, execution.tenant_id, "execution", execution.id)
        except (KeyError, TypeError, ValueError, ValidationError) as e:
            raise self._table.malformed(item, e) from e
        return execution


def _own(tenant_id: str, owner: str, kind: str, identifier: str) -> None:
    if owner != tenant_id:
        raise ValueError(f"{kind} {identifier!r} belongs to tenant {owner!r}, not to tenant {tenant_id!r}")


def _encode_workflow(workflow: Workflow) -> Item:
    return {
        **workflow_key(workflow.tenant_id, workflow.guid),
        "tenant_id": s(workflow.tenant_id),
        "guid": s(workflow.guid),
        "entity_type": s(workflow.entity_type),
        "connector": s(workflow.connector),
        "trigger": s(workflow.trigger),
        "is_active": boolean(workflow.is_active),
        "workflow": s(workflow.model_dump_json()),
    }

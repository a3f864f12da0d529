"""TriggerDispatch's work: a change event fires its connector's triggers and the tenant's workflows.

A webhook-delivered change fires the trigger of its webhook event; a change found without one (a
sync) fires the triggers that list the change in ``syncChanges`` and whose handler makes records of
the change's content type. Each fired trigger is published to the EventBridge bus; each active
workflow of the tenant listening to a fired trigger, whose conditions hold on the record, runs its
action once.

An execution's id comes from the change event and the workflow, so a change announced again finds
the execution that already succeeded and does not run the action twice. An action that fails for
good, or a workflow whose conditions cannot be evaluated, pauses its execution with the reason; the
other workflows of the same change still run and the message succeeds. ``resume`` runs a paused
execution again with the workflow as it is now.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from mercator.connector import ConnectorDefinition, Trigger
from mercator.domain.clock import utc_now
from mercator.domain.errors import ExecutionNotFoundError
from mercator.domain.messages import BusEvent, ChangeEvent
from mercator.domain.workflows import (
    ActionFailedError,
    ActionRunner,
    ExecutionStatus,
    Workflow,
    WorkflowExecution,
)
from mercator.domain.workflows import (
    execution_id as execution_id_of,
)
from mercator.mapping.conditions import ConditionError, compile_conditions
from mercator.services.ports import Connectors

logger = logging.getLogger(__name__)

Clock = Callable[[], datetime]


class WorkflowRepository(Protocol):
    def get(self, tenant_id: str, guid: str) -> Workflow | None: ...

    def for_tenant(self, tenant_id: str) -> list[Workflow]:
        """Every workflow of the tenant, active or not."""
        ...


class ExecutionRepository(Protocol):
    def get(self, tenant_id: str, execution_id: str) -> WorkflowExecution | None: ...

    def put(self, tenant_id: str, execution: WorkflowExecution) -> None:
        """Store the execution, replacing an earlier attempt with the same id."""
        ...


class EventPublisher(Protocol):
    def publish(self, events: Sequence[BusEvent]) -> None:
        """Publish every event; raises when any was refused."""
        ...


class ResumeRefusedError(Exception):
    """The execution cannot be resumed: it did not pause, or its workflow is gone or disabled."""


@dataclass(frozen=True)
class DispatchOutcome:
    """What one change event came to."""

    triggers_fired: int = 0
    # Active workflows of a fired trigger whose conditions hold (or cannot be evaluated, and pause).
    workflows_matched: int = 0
    actions_succeeded: int = 0
    executions_paused: int = 0
    # Workflows that had already run for this change (it was announced before).
    already_done: int = 0
    # The change was Mercator's own write coming back from the store (catalog push): nothing fired.
    echo: bool = False


class EchoFilter(Protocol):
    def is_echo(self, event: ChangeEvent) -> bool: ...


class DispatchService:
    """Fires triggers on the bus and runs the tenant's workflows for change events."""

    def __init__(
        self,
        *,
        connectors: Connectors,
        workflows: WorkflowRepository,
        executions: ExecutionRepository,
        publisher: EventPublisher,
        runners: Mapping[str, ActionRunner],
        clock: Clock = utc_now,
        echoes: EchoFilter | None = None,
    ) -> None:
        self.connectors = connectors
        self.workflows = workflows
        self.executions = executions
        self.publisher = publisher
        self.runners = dict(runners)
        self.clock = clock
        self.echoes = echoes

    def dispatch(self, event: ChangeEvent) -> DispatchOutcome:
        """Fire the event's triggers and run the workflows they select; nothing for an echo of
        Mercator's own write (see mercator.services.push_echoes)."""
        fired = fired_triggers(self.connectors.get(event.connector), event)
        if not fired:
            return DispatchOutcome()
        # Looked up only for a change that would fire something: most change events fire nothing.
        if self.echoes is not None and self.echoes.is_echo(event):
            return DispatchOutcome(echo=True)
        self.publisher.publish([bus_event(event, trigger) for trigger in fired])
        events = {trigger.event for trigger in fired}
        listening = [
            workflow
            for workflow in self.workflows.for_tenant(event.tenant_id)
            if workflow.is_active and workflow.connector == event.connector and workflow.trigger in events
        ]
        matched = succeeded = paused = done = 0
        for workflow in listening:
            holds, problem = _conditions_hold(workflow, condition_view(event))
            if not holds:
                continue
            matched += 1
            previous = self.executions.get(event.tenant_id, execution_id_of(event, workflow.guid))
            if previous is not None and previous.status != "paused":
                done += 1
                continue
            attempts = 1 if previous is None else previous.attempts + 1
            if problem is None:
                execution = self._run(workflow, event, attempts)
            else:
                execution = self._finish(workflow, event, attempts, self.clock(), "paused", reason=problem)
            if execution.status == "succeeded":
                succeeded += 1
            else:
                paused += 1
        return DispatchOutcome(len(fired), matched, succeeded, paused, done)

    def resume(self, tenant_id: str, execution_id: str) -> WorkflowExecution:
        """Run a paused execution again with its workflow as it is now; returns what was stored."""
        execution = self.executions.get(tenant_id, execution_id)
        if execution is None:
            raise ExecutionNotFoundError(tenant_id, execution_id)
        if execution.status != "paused":
            raise ResumeRefusedError(f"execution {execution_id!r} is {execution.status}, not paused")
        workflow = self.workflows.get(tenant_id, execution.workflow_guid)
        if workflow is None:
            raise ResumeRefusedError(
                f"the workflow {execution.workflow_guid!r} of execution {execution_id!r} no longer exists"
            )
        if not workflow.is_active:
            raise ResumeRefusedError(f"workflow {workflow.name!r} is disabled; enable it to resume")
        attempts = execution.attempts + 1
        started = self.clock()
        holds, problem = _conditions_hold(workflow, condition_view(execution.event))
        if problem is not None:
            return self._finish(workflow, execution.event, attempts, started, "paused", reason=problem)
        if not holds:
            reason = f"the conditions of workflow {workflow.name!r} no longer hold on the record"
            return self._finish(workflow, execution.event, attempts, started, "skipped", reason=reason)
        return self._run(workflow, execution.event, attempts)

    def _run(self, workflow: Workflow, event: ChangeEvent, attempts: int) -> WorkflowExecution:
        started = self.clock()
        action_type = workflow.action.type
        runner = self.runners.get(action_type)
        if runner is None:
            reason = f"Mercator has no runner for {action_type!r} actions here"
            return self._finish(workflow, event, attempts, started, "paused", reason=reason)
        try:
            outcome = runner.run(workflow.action, event, workflow)
        except ActionFailedError as e:
            return self._finish(workflow, event, attempts, started, "paused", reason=e.reason)
        except Exception as e:
            # Whatever one action raises pauses that action alone; its trace goes to the log.
            reason = f"{type(e).__name__}: {e}"
            return self._finish(workflow, event, attempts, started, "paused", reason=reason, error=e)
        return self._finish(workflow, event, attempts, started, "succeeded", outcome=outcome)

    def _finish(
        self,
        workflow: Workflow,
        event: ChangeEvent,
        attempts: int,
        started: datetime,
        status: ExecutionStatus,
        *,
        reason: str | None = None,
        outcome: str | None = None,
        error: Exception | None = None,
    ) -> WorkflowExecution:
        execution = WorkflowExecution(
            id=execution_id_of(event, workflow.guid),
            tenant_id=event.tenant_id,
            workflow_guid=workflow.guid,
            event=event,
            status=status,
            attempts=attempts,
            reason=reason,
            outcome=outcome,
            started_at=started,
            finished_at=self.clock(),
        )
        self.executions.put(event.tenant_id, execution)
        if status == "paused":
            logger.warning(
                "workflow %r paused on %s %s: %s",
                workflow.name,
                event.content_type,
                event.code,
                reason,
                extra={"tenant_id": event.tenant_id, "workflow": workflow.guid, "execution": execution.id},
                exc_info=error,
            )
        return execution


def _conditions_hold(workflow: Workflow, record: Mapping[str, Any]) -> tuple[bool, str | None]:
    """Whether the workflow's conditions hold; conditions that cannot be evaluated: (True, why)."""
    try:
        return compile_conditions(workflow.conditions).hold(record), None
    except ConditionError as e:
        # It pauses rather than being skipped: the tenant sees the reason and can fix and resume.
        return True, f"the conditions of workflow {workflow.name!r} are invalid: {e}"


def fired_triggers(definition: ConnectorDefinition, event: ChangeEvent) -> list[Trigger]:
    """The connector's triggers this change fires, in the definition's order.

    A webhook's change fires the trigger of its event, a sync's those listing the change in
    ``syncChanges``; either fires the transition triggers of its content type whose field moved.
    """
    if event.first_import:
        return []
    return [trigger for trigger in definition.triggers if _fires(definition, trigger, event)]


def _fires(definition: ConnectorDefinition, trigger: Trigger, event: ChangeEvent) -> bool:
    if trigger.transition is not None:
        return (
            event.change != "deleted"
            and trigger.contentType == event.content_type
            and trigger.transition.holds(event.changes, event.record)
        )
    if event.event is not None:
        return trigger.event == event.event
    return event.change in trigger.syncChanges and definition.changes_of(trigger) == event.content_type


def condition_view(event: ChangeEvent) -> dict[str, Any]:
    """What a workflow's conditions read: the record, and under ``changes`` the fields that moved
    (``changes.status.from``); no content type has a field of that name."""
    return {**event.record, "changes": event.changes_json()}


def bus_event(event: ChangeEvent, trigger: Trigger) -> BusEvent:
    """The EventBridge entry of one fired trigger: the record, what moved, and where it came from."""
    detail: dict[str, Any] = {"record": event.record, "context": event.context()}
    if event.changes is not None:
        detail["changes"] = event.changes_json()
    return BusEvent(
        source=f"mercator.{event.connector}",
        detail_type=trigger.event,
        detail=detail,
        time=event.occurred_at,
    )

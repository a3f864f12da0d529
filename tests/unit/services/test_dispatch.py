"""DispatchService: which triggers a change fires, what reaches the bus, which workflows run and how
executions pause, are skipped when done, and resume."""

from __future__ import annotations

from typing import Any

import pytest

from mercator.domain.errors import ExecutionNotFoundError, StateAccessError
from mercator.domain.workflows import ActionFailedError, Workflow, execution_id
from mercator.mapping.conditions import OPERATORS, ConditionError, compile_conditions
from mercator.services.dispatch import DispatchOutcome, ResumeRefusedError, fired_triggers
from tests.unit.services.dispatch_support import (
    ORDER,
    OTHER_TENANT,
    WEBHOOK_ACTION,
    DispatchWorld,
    FakePublisher,
    FakeWorkflows,
    RecordingRunner,
    change,
    workflow,
)


def fired(world: DispatchWorld, **event: Any) -> list[str]:
    definition = world.connectors.get(event.pop("connector", "salla"))
    return [trigger.event for trigger in fired_triggers(definition, change(**event))]


# --- which triggers fire -------------------------------------------------------------------------


def test_a_webhook_change_fires_the_trigger_of_its_event_only() -> None:
    world = DispatchWorld(FakeWorkflows())

    # order.status.updated has no syncChanges: a webhook still fires it, whatever the change was
    assert fired(world, event="order.status.updated", change_kind="updated") == ["order.status.updated"]
    assert fired(world, event="order.created") == ["order.created"]
    assert fired(world, event="customer.login", content_type="core:customer") == ["customer.login"]


def test_a_sync_change_fires_the_triggers_listing_it_for_its_content_type() -> None:
    world = DispatchWorld(FakeWorkflows())

    # customer.created and product.created list "created" too, but make other content types
    assert fired(world, source="sync", event=None, change_kind="created") == ["order.created"]
    assert fired(world, source="sync", event=None, change_kind="updated") == ["order.updated"]
    assert fired(world, source="sync", event=None, change_kind="updated", content_type="ecommerce:carts") == [
        "abandoned.cart"
    ]
    assert fired(world, source="sync", event=None, change_kind="created", content_type="core:customer") == [
        "customer.created"
    ]


def test_a_change_no_trigger_listens_to_publishes_nothing_and_loads_no_workflow() -> None:
    world = DispatchWorld(FakeWorkflows(workflow("wf-1")))

    # Salla has no trigger for a deleted abandoned cart (a cart leaves the list when bought)
    deleted_cart = change(source="sync", event=None, change_kind="deleted", content_type="ecommerce:carts")

    outcome = world.service().dispatch(deleted_cart)

    assert outcome == DispatchOutcome()
    assert world.publisher.calls == 0
    assert world.workflows.loads == 0


def test_a_deletion_a_sync_found_fires_the_connectors_deletion_trigger() -> None:
    world = DispatchWorld(FakeWorkflows())

    outcome = world.service().dispatch(change(source="sync", event=None, change_kind="deleted"))

    assert outcome.triggers_fired == 1
    assert [event.detail_type for event in world.publisher.published] == ["order.deleted"]


def test_a_first_import_fires_nothing_and_loads_no_workflow() -> None:
    """A new integration's first sync writes the store's history: past orders are not new orders."""
    world = DispatchWorld(FakeWorkflows(workflow("wf-1")))

    outcome = world.service().dispatch(change(source="sync", event=None, first_import=True))

    assert outcome == DispatchOutcome()
    assert (world.publisher.published, world.workflows.loads, world.email.runs) == ([], 0, [])


def test_each_fired_trigger_reaches_the_bus_with_the_record_and_its_context() -> None:
    world = DispatchWorld(FakeWorkflows())
    event = change(event="order.created")

    world.service().dispatch(event)

    [published] = world.publisher.published
    assert published.source == "mercator.salla"
    assert published.detail_type == "order.created"
    assert published.time == event.occurred_at
    assert published.detail == {
        "record": ORDER,
        "context": {
            "integrationId": "salla-demo",
            "tenantId": "tenant-7",
            "connector": "salla",
            "contentType": "ecommerce:orders",
            "code": "2116149737",
            "change": "created",
            "source": "webhook",
            "occurredAt": "2025-01-01T06:00:03Z",
            "eventId": event.id,
        },
    }


def test_two_fired_triggers_share_one_publish_and_one_load_of_the_workflows() -> None:
    # Given a connector whose order.updated trigger also fires on created orders found by a sync
    world = DispatchWorld(
        FakeWorkflows(workflow("wf-created"), workflow("wf-updated", trigger="order.updated"))
    )
    salla = world.connectors.get("salla")
    triggers = [
        trigger.model_copy(update={"syncChanges": ["created", "updated"]})
        if trigger.event == "order.updated"
        else trigger
        for trigger in salla.triggers
    ]
    world.connectors = type(world.connectors)({"salla": salla.model_copy(update={"triggers": triggers})})

    outcome = world.service().dispatch(change(source="sync", event=None))

    assert [event.detail_type for event in world.publisher.published] == ["order.created", "order.updated"]
    assert world.publisher.calls == 1
    assert world.workflows.loads == 1
    assert sorted(guid for guid, _ in world.email.runs) == ["wf-created", "wf-updated"]
    assert outcome == DispatchOutcome(triggers_fired=2, workflows_matched=2, actions_succeeded=2)


def test_a_bus_failure_fails_the_dispatch_before_any_action_runs() -> None:
    world = DispatchWorld(FakeWorkflows(workflow("wf-1")))
    refused = StateAccessError("PutEvents failed", resource="bus", operation="PutEvents")
    world.publisher = FakePublisher([refused])

    with pytest.raises(StateAccessError):
        world.service().dispatch(change())

    assert world.email.runs == []
    assert world.executions.puts == []


# --- which workflows run -------------------------------------------------------------------------


def test_only_active_workflows_of_the_fired_trigger_and_connector_run() -> None:
    world = DispatchWorld(
        FakeWorkflows(
            workflow("wf-match"),
            workflow("wf-disabled", is_active=False),
            workflow("wf-other-trigger", trigger="order.updated"),
            workflow("wf-other-connector", connector="zid"),
            workflow("wf-other-tenant", tenant_id=OTHER_TENANT),
        )
    )
    event = change()

    outcome = world.service().dispatch(event)

    assert world.email.runs == [("wf-match", event.id)]
    assert outcome == DispatchOutcome(triggers_fired=1, workflows_matched=1, actions_succeeded=1)
    [execution] = world.executions.items.values()
    assert execution.id == execution_id(event, "wf-match")
    assert execution.status == "succeeded"
    assert execution.outcome == "done for wf-match"
    assert execution.attempts == 1
    assert execution.started_at == execution.finished_at == world.clock.now


def test_workflows_whose_conditions_do_not_hold_do_not_run() -> None:
    world = DispatchWorld(
        FakeWorkflows(
            workflow("wf-review", conditions={"status": "under_review", "totalAmount": {"gte": 100}}),
            workflow("wf-completed", conditions={"status": "completed"}),
            workflow("wf-big", conditions={"totalAmount": {"gt": 500}}),
        )
    )

    outcome = world.service().dispatch(change())

    assert [guid for guid, _ in world.email.runs] == ["wf-review"]
    assert outcome.workflows_matched == 1
    assert world.executions.of("wf-completed") == []


# --- conditions ------------------------------------------------------------------------------------

HOLDS: list[tuple[dict[str, Any], bool]] = [
    ({}, True),
    ({"status": "under_review"}, True),
    ({"status": "Under_Review"}, False),  # strings compare exactly
    ({"totalAmount": 196}, True),  # 196 and 196.0 are the same number
    ({"totalAmount": "196"}, False),  # a number never equals its text
    ({"isGift": False}, True),
    ({"isGift": 0}, False),  # booleans equal booleans only
    ({"customer.email": "usertest@gmail.com"}, True),
    ({"items[1].sku": "SHIRT-BLK-M"}, True),
    ({"items[5].sku": "SHIRT-BLK-M"}, False),  # no sixth item
    ({"items[5].sku": None}, True),  # an absent field reads as null
    ({"status": "under_review", "currency": "USD"}, False),  # every condition must hold
    ({"status": {"eq": "under_review"}, "items[0].sku": "54534534"}, True),
    ({"status": {"ne": "completed"}}, True),
    ({"status": {"ne": "under_review"}}, False),
    ({"status": {"in": ["pending", "under_review"]}}, True),
    ({"status": {"in": ["completed"]}}, False),
    ({"totalAmount": {"in": [100, 196]}}, True),
    ({"status": {"nin": ["completed", "canceled"]}}, True),
    ({"status": {"nin": ["under_review"]}}, False),
    ({"totalAmount": {"gt": 195.5}}, True),
    ({"totalAmount": {"gt": 196}}, False),
    ({"totalAmount": {"gte": 196}}, True),
    ({"totalAmount": {"lt": 196}}, False),
    ({"totalAmount": {"lte": 196}}, True),
    ({"items[1].quantity": {"gte": 2}}, True),
    ({"totalAmount": {"gt": "100"}}, False),  # a number and a string do not order
    ({"orderNumber": {"gt": "41027661"}}, True),  # strings order as text
    ({"customer.phone": {"lt": 5}}, False),  # an absent field orders with nothing
    ({"customer.email": {"exists": True}}, True),
    ({"customer.phone": {"exists": True}}, False),
    ({"customer.phone": {"exists": False}}, True),
    ({"customer.email": {"contains": "@gmail."}}, True),
    ({"customer.email": {"contains": "@yahoo."}}, False),
    ({"tags": {"contains": "vip"}}, True),
    ({"tags": {"contains": "vi"}}, False),  # a list contains whole members
    ({"totalAmount": {"contains": "19"}}, False),
    ({"missing.path": {"contains": "x"}}, False),
]


@pytest.mark.parametrize(("conditions", "expected"), HOLDS)
def test_conditions_on_the_order(conditions: dict[str, Any], expected: bool) -> None:
    assert compile_conditions(conditions).hold(ORDER) is expected


def test_every_operator_is_exercised() -> None:
    used = {
        operator
        for conditions, _ in HOLDS
        for value in conditions.values()
        if isinstance(value, dict)
        for operator in value
    }

    assert used == set(OPERATORS)


INVALID: list[tuple[dict[str, Any], str]] = [
    (
        {"status": {"equals": "x"}},
        "condition on 'status': unknown operator 'equals'; valid operators: eq, ne,",
    ),
    ({"status": {}}, "condition on 'status' needs exactly one operator, got none"),
    ({"status": {"eq": 1, "ne": 2}}, "needs exactly one operator, got 'eq', 'ne'"),
    ({"status": {"in": "under_review"}}, "condition on 'status': in needs a list of values"),
    ({"totalAmount": {"gt": True}}, "condition on 'totalAmount': gt needs a number or a string"),
    ({"customer.email": {"exists": "yes"}}, "exists needs true or false"),
    ({"items[": "x"}, "condition on 'items['"),
]


@pytest.mark.parametrize(("conditions", "message"), INVALID)
def test_conditions_that_cannot_be_evaluated_are_named(conditions: dict[str, Any], message: str) -> None:
    with pytest.raises(ConditionError) as caught:
        compile_conditions(conditions)

    assert message in str(caught.value)


# --- pauses -------------------------------------------------------------------------------------


def test_an_unknown_operator_pauses_its_workflow_and_the_others_still_run() -> None:
    world = DispatchWorld(
        FakeWorkflows(
            workflow("wf-typo", conditions={"status": {"equal": "under_review"}}), workflow("wf-ok")
        )
    )
    event = change()

    outcome = world.service().dispatch(event)

    assert world.email.runs == [("wf-ok", event.id)]
    [paused] = world.executions.of("wf-typo")
    assert paused.status == "paused"
    assert paused.reason is not None
    assert "'status'" in paused.reason
    assert "unknown operator 'equal'" in paused.reason
    assert "eq, ne, in, nin, gt, gte, lt, lte, exists, contains" in paused.reason
    assert outcome == DispatchOutcome(
        triggers_fired=1, workflows_matched=2, actions_succeeded=1, executions_paused=1
    )


def test_a_failed_action_pauses_with_its_reason_and_batch_mates_proceed() -> None:
    def answer(item: Workflow) -> str:
        raise ActionFailedError("https://hooks.example.com/orders answered 410 Gone", retryable=False)

    world = DispatchWorld(
        FakeWorkflows(workflow("wf-hook", action=WEBHOOK_ACTION), workflow("wf-mail")),
        hooks=RecordingRunner(answer),
    )
    event = change()

    outcome = world.service().dispatch(event)

    [paused] = world.executions.of("wf-hook")
    assert (paused.status, paused.reason) == ("paused", "https://hooks.example.com/orders answered 410 Gone")
    assert paused.outcome is None
    [mailed] = world.executions.of("wf-mail")
    assert mailed.status == "succeeded"
    assert outcome == DispatchOutcome(
        triggers_fired=1, workflows_matched=2, actions_succeeded=1, executions_paused=1
    )


def test_any_other_runner_error_pauses_with_its_type_and_message() -> None:
    def answer(item: Workflow) -> str:
        raise KeyError("customer")

    world = DispatchWorld(FakeWorkflows(workflow("wf-mail")), email=RecordingRunner(answer))

    world.service().dispatch(change())

    [paused] = world.executions.of("wf-mail")
    assert (paused.status, paused.reason) == ("paused", "KeyError: 'customer'")


def test_an_action_type_without_a_runner_pauses() -> None:
    push = {"type": "send_push", "title": "New order {orderNumber}"}
    world = DispatchWorld(FakeWorkflows(workflow("wf-push", action=push)))

    outcome = world.service().dispatch(change())

    [paused] = world.executions.of("wf-push")
    assert paused.reason == "Mercator has no runner for 'send_push' actions here"
    assert outcome.executions_paused == 1


# --- repeated changes ----------------------------------------------------------------------------


def test_a_change_announced_again_does_not_run_an_action_twice() -> None:
    world = DispatchWorld(FakeWorkflows(workflow("wf-mail")))
    service = world.service()
    service.dispatch(change())

    outcome = service.dispatch(change())

    assert len(world.email.runs) == 1
    assert outcome == DispatchOutcome(triggers_fired=1, workflows_matched=1, already_done=1)
    assert len(world.executions.puts) == 1


def test_a_paused_execution_is_tried_again_when_its_change_comes_again() -> None:
    answers = iter([ActionFailedError("SES throttled the send", retryable=True), None])

    def answer(item: Workflow) -> str:
        failure = next(answers)
        if failure:
            raise failure
        return "sent"

    world = DispatchWorld(FakeWorkflows(workflow("wf-mail")), email=RecordingRunner(answer))
    service = world.service()
    service.dispatch(change())
    world.clock.advance(minutes=5)

    outcome = service.dispatch(change())

    [execution] = world.executions.of("wf-mail")
    assert (execution.status, execution.attempts, execution.outcome) == ("succeeded", 2, "sent")
    assert execution.reason is None
    assert outcome.actions_succeeded == 1


# --- resume -------------------------------------------------------------------------------------


def paused_world(answer: Any) -> tuple[DispatchWorld, str]:
    world = DispatchWorld(
        FakeWorkflows(workflow("wf-hook", action=WEBHOOK_ACTION)), hooks=RecordingRunner(answer)
    )
    event = change()
    world.service().dispatch(event)
    return world, execution_id(event, "wf-hook")


def test_resume_runs_a_paused_execution_again_and_stores_its_new_status() -> None:
    calls: list[int] = []

    def answer(item: Workflow) -> str:
        calls.append(1)
        if len(calls) == 1:
            raise ActionFailedError("hooks.example.com timed out 4 times", retryable=True)
        return "POST https://hooks.example.com/orders → 200"

    world, execution = paused_world(answer)
    world.clock.advance(hours=2)

    resumed = world.service().resume("tenant-7", execution)

    assert (resumed.status, resumed.attempts) == ("succeeded", 2)
    assert resumed.outcome == "POST https://hooks.example.com/orders → 200"
    assert resumed.started_at == world.clock.now
    assert world.executions.get("tenant-7", execution) == resumed
    assert [event_id for _, event_id in world.hooks.runs] == [resumed.event.id] * 2


def test_resume_that_fails_again_stays_paused_with_the_new_reason() -> None:
    reasons = iter(["first failure", "second failure"])

    def answer(item: Workflow) -> str:
        raise ActionFailedError(next(reasons), retryable=True)

    world, execution = paused_world(answer)

    resumed = world.service().resume("tenant-7", execution)

    assert (resumed.status, resumed.attempts, resumed.reason) == ("paused", 2, "second failure")


def test_resume_uses_the_workflow_as_it_is_now() -> None:
    # Given an execution paused by a typo in its conditions, then the workflow fixed
    world = DispatchWorld(FakeWorkflows(workflow("wf-mail", conditions={"status": {"is": "under_review"}})))
    event = change()
    world.service().dispatch(event)
    world.workflows.replace(workflow("wf-mail", conditions={"status": {"eq": "under_review"}}))

    resumed = world.service().resume("tenant-7", execution_id(event, "wf-mail"))

    assert resumed.status == "succeeded"
    assert world.email.runs == [("wf-mail", event.id)]


def test_resume_skips_when_the_fixed_conditions_do_not_hold() -> None:
    world = DispatchWorld(FakeWorkflows(workflow("wf-mail", conditions={"status": {"is": "under_review"}})))
    event = change()
    world.service().dispatch(event)
    world.workflows.replace(workflow("wf-mail", conditions={"status": "completed"}))

    resumed = world.service().resume("tenant-7", execution_id(event, "wf-mail"))

    assert resumed.status == "skipped"
    assert resumed.reason == "the conditions of workflow 'workflow wf-mail' no longer hold on the record"
    assert world.email.runs == []


def test_resume_is_refused_for_what_cannot_be_resumed() -> None:
    world = DispatchWorld(FakeWorkflows(workflow("wf-mail")))
    event = change()
    service = world.service()
    service.dispatch(event)
    done = execution_id(event, "wf-mail")

    with pytest.raises(ResumeRefusedError, match="is succeeded, not paused"):
        service.resume("tenant-7", done)
    with pytest.raises(ExecutionNotFoundError):
        service.resume("tenant-7", "no-such-execution")
    # Another tenant does not find it at all
    with pytest.raises(ExecutionNotFoundError):
        service.resume(OTHER_TENANT, done)
    assert len(world.email.runs) == 1


def test_resume_is_refused_when_the_workflow_is_disabled_or_gone() -> None:
    def answer(item: Workflow) -> str:
        raise ActionFailedError("410 Gone", retryable=False)

    world, execution = paused_world(answer)
    service = world.service()
    world.workflows.replace(workflow("wf-hook", action=WEBHOOK_ACTION, is_active=False))

    with pytest.raises(ResumeRefusedError, match="is disabled"):
        service.resume("tenant-7", execution)

    world.workflows.items.clear()
    with pytest.raises(ResumeRefusedError, match="no longer exists"):
        service.resume("tenant-7", execution)
    assert len(world.hooks.runs) == 1

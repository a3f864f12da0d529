"""The TriggerDispatch handler with events/trigger_dispatch/change_event.json: partial batch failures and
Powertools idempotency on a moto state table (a change announced twice is dispatched once)."""

from __future__ import annotations

import copy
import importlib.util
import json
import time
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import boto3
import pytest
from moto import mock_aws

from mercator.domain.errors import StateAccessError
from mercator.domain.messages import ChangeEvent
from mercator.services.dispatch import DispatchService
from mercator.settings import DispatchSettings, SettingsError
from mercator_local.resources import create_template_table
from tests.fake_aws import use_fake_aws
from tests.unit.functions.conftest import LambdaContext, Loader, load_event
from tests.unit.services.dispatch_support import DispatchWorld, FakePublisher, FakeWorkflows, workflow

REGION = "eu-central-1"
STATE, RECORDS = "mercator-test-StateTable", "mercator-test-RecordsTable"
TTL_SECONDS = 600
DISPATCH_ENV = {
    "STATE_TABLE": STATE,
    "RECORDS_TABLE": RECORDS,
    "EVENT_BUS_NAME": "mercator-test-events",
    "SENDER_EMAIL": "orders@shop.example.com",
    "IDEMPOTENCY_TTL_SECONDS": str(TTL_SECONDS),
}
EVENT_FILE = "trigger_dispatch/change_event.json"


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The state table as template.yaml defines it; yields a DynamoDB client."""
    use_fake_aws(monkeypatch, REGION)
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name=REGION)
        create_template_table(dynamodb, "StateTable", table_name=STATE)
        yield dynamodb


def dispatch_app(load_app: Loader, world: DispatchWorld) -> ModuleType:
    app = load_app("trigger_dispatch", DISPATCH_ENV)
    app.build_services = lambda settings: world.service()
    return app


def context() -> LambdaContext:
    return LambdaContext(
        function_name="mercator-dev-TriggerDispatch",
        invoked_function_arn="arn:aws:lambda:eu-central-1:123456789012:function:mercator-dev-TriggerDispatch",
        remaining_ms=60_000,
    )


def review_workflow() -> DispatchWorld:
    return DispatchWorld(FakeWorkflows(workflow("wf-review", conditions={"status": "under_review"})))


def test_the_change_of_the_event_fires_its_trigger_and_runs_the_workflow(load_app: Loader, aws: Any) -> None:
    world = review_workflow()
    app = dispatch_app(load_app, world)
    event = load_event(EVENT_FILE)
    change = ChangeEvent.parse(event["Records"][0]["body"])

    response = app.lambda_handler(event, context())

    assert response == {"batchItemFailures": []}
    [published] = world.publisher.published
    assert (published.source, published.detail_type) == ("mercator.salla", "order.created")
    assert published.detail["context"]["eventId"] == change.id
    assert world.email.runs == [("wf-review", change.id)]


def test_the_event_file_holds_a_salla_order_created_change() -> None:
    [record] = load_event(EVENT_FILE)["Records"]
    change = ChangeEvent.parse(record["body"])

    assert (change.connector, change.event, change.change, change.source) == (
        "salla",
        "order.created",
        "created",
        "webhook",
    )
    assert change.content_type == "ecommerce:orders"
    assert change.record["code"] == change.code == "2116149737"
    assert change.record["customer"]["email"] == "usertest@gmail.com"
    assert record["eventSourceARN"].endswith(":mercator-dev-TriggerQueue")


def test_a_malformed_body_fails_only_its_message(load_app: Loader, aws: Any) -> None:
    world = review_workflow()
    app = dispatch_app(load_app, world)
    event = load_event(EVENT_FILE)
    broken = copy.deepcopy(event["Records"][0])
    broken["messageId"] = "9e3a1c57-2b6d-4f80-8c19-5d7e0a4b3f21"
    broken["body"] = json.dumps({"kind": "change", "change": "created", "tenant_id": "tenant-7"})
    event["Records"].insert(0, broken)

    response = app.lambda_handler(event, context())

    assert response == {"batchItemFailures": [{"itemIdentifier": broken["messageId"]}]}
    assert len(world.email.runs) == 1


def test_the_same_change_twice_is_dispatched_once(load_app: Loader, aws: Any) -> None:
    # Given a batch holding the same change twice (two messages, one body), and a later batch with it
    world = review_workflow()
    app = dispatch_app(load_app, world)
    event = load_event(EVENT_FILE)
    again = copy.deepcopy(event["Records"][0])
    again["messageId"] = "0c6d2e8f-7a1b-4c3d-9e5f-1a2b3c4d5e6f"
    event["Records"].append(again)

    first = app.lambda_handler(event, context())
    second = app.lambda_handler(load_event(EVENT_FILE), context())

    # Then the change was published and its workflow run once, and no message failed
    assert first == second == {"batchItemFailures": []}
    assert world.publisher.calls == 1
    assert len(world.email.runs) == 1


def test_the_dispatch_is_remembered_in_the_state_table_until_its_ttl(load_app: Loader, aws: Any) -> None:
    app = dispatch_app(load_app, review_workflow())
    change = ChangeEvent.parse(load_event(EVENT_FILE)["Records"][0]["body"])
    before = int(time.time())

    app.lambda_handler(load_event(EVENT_FILE), context())

    [item] = aws.scan(TableName=STATE)["Items"]
    assert item["pk"]["S"].startswith("idempotency#")
    assert item["sk"]["S"].startswith("change-event#")
    assert item["status"]["S"] == "COMPLETED"
    assert json.loads(item["data"]["S"]) == {
        "triggers_fired": 1,
        "workflows_matched": 1,
        "actions_succeeded": 1,
        "executions_paused": 0,
        "already_done": 0,
        "echo": False,
    }
    expiry = int(item["ttl"]["N"])
    assert before + TTL_SECONDS <= expiry <= int(time.time()) + TTL_SECONDS
    assert change.id not in json.dumps(item)  # the key is a hash of the id


def test_a_failed_dispatch_is_not_remembered_and_its_redelivery_dispatches(
    load_app: Loader, aws: Any
) -> None:
    # Given a bus that refuses the first publish
    world = review_workflow()
    world.publisher = FakePublisher([StateAccessError("throttled", resource="bus", operation="PutEvents")])
    app = dispatch_app(load_app, world)
    event = load_event(EVENT_FILE)

    failed = app.lambda_handler(event, context())
    redelivered = app.lambda_handler(load_event(EVENT_FILE), context())

    assert failed == {"batchItemFailures": [{"itemIdentifier": event["Records"][0]["messageId"]}]}
    assert redelivered == {"batchItemFailures": []}
    assert world.publisher.calls == 2
    assert len(world.email.runs) == 1


def test_a_paused_workflow_does_not_fail_the_message(load_app: Loader, aws: Any) -> None:
    world = DispatchWorld(
        FakeWorkflows(workflow("wf-typo", conditions={"status": {"equal": "under_review"}}))
    )
    app = dispatch_app(load_app, world)

    response = app.lambda_handler(load_event(EVENT_FILE), context())

    assert response == {"batchItemFailures": []}
    [paused] = world.executions.items.values()
    assert paused.status == "paused"


RUNNER_MODULES = (
    "mercator.outbound.email",
    "mercator.outbound.push",
    "mercator.outbound.status",
    "mercator.outbound.webhook_action",
    "mercator.state.subscriptions",
)


@pytest.mark.skipif(
    any(importlib.util.find_spec(name) is None for name in RUNNER_MODULES),
    reason="the action runners are not in this tree",
)
def test_build_services_wires_every_action_type(load_app: Loader, aws: Any) -> None:
    app = load_app("trigger_dispatch", DISPATCH_ENV)

    service = app.build_services(app.settings)

    assert isinstance(service, DispatchService)
    assert sorted(service.runners) == ["send_email", "send_push", "update_status", "webhook"]


def test_dispatch_settings_default_the_ttl_and_take_an_unset_vapid_secret_as_none() -> None:
    env = {name: value for name, value in DISPATCH_ENV.items() if name != "IDEMPOTENCY_TTL_SECONDS"}

    settings = DispatchSettings.from_environ({**env, "VAPID_SECRET_ARN": " "})

    assert settings.idempotency_ttl_seconds == 86400
    assert settings.vapid_secret_arn is None
    assert settings.sender_email == "orders@shop.example.com"


@pytest.mark.parametrize(
    "arn",
    [
        "arn:aws:secretsmanager:eu-central-1:123456789012:secret:mercator/push-Ab12Cd",
        "arn:aws:secretsmanager:eu-central-1:123456789012:secret:mercator/credentials/t/i-Ab12Cd",
        "arn:aws:secretsmanager:eu-central-1:123456789012:secret:vapid/key-Ab12Cd",
    ],
)
def test_the_vapid_secret_must_be_of_its_kind(arn: str) -> None:
    # The functions may read VAPID keys under mercator/vapid/ only; any other would fail at the first push.
    with pytest.raises(SettingsError, match="VAPID_SECRET_ARN: must name a secret under mercator/vapid/"):
        DispatchSettings.from_environ({**DISPATCH_ENV, "VAPID_SECRET_ARN": arn})

    good = "arn:aws:secretsmanager:eu-central-1:123456789012:secret:mercator/vapid/push-Ab12Cd"
    assert DispatchSettings.from_environ({**DISPATCH_ENV, "VAPID_SECRET_ARN": good}).vapid_secret_arn == good


def test_dispatch_settings_name_every_variable_at_fault() -> None:
    env = {"STATE_TABLE": STATE, "SENDER_EMAIL": "orders", "VAPID_SECRET_ARN": "vapid-keys"}

    with pytest.raises(SettingsError) as caught:
        DispatchSettings.from_environ({**env, "IDEMPOTENCY_TTL_SECONDS": "0"})

    message = str(caught.value)
    assert message.startswith("TriggerDispatch cannot start: ")
    for expected in (
        "environment variable RECORDS_TABLE is not set",
        "environment variable EVENT_BUS_NAME is not set",
        "environment variable SENDER_EMAIL: must be an email address",
        "environment variable VAPID_SECRET_ARN: must be a Secrets Manager secret ARN",
        "environment variable IDEMPOTENCY_TTL_SECONDS:",
    ):
        assert expected in message


def test_a_shipment_that_became_delivered_fires_its_transition_and_the_seed_workflow(
    load_app: Loader, aws: Any
) -> None:
    # Given the seed's example workflow (Shipment, send_email, status delivered) on shipment_delivered
    seed = workflow(
        "wf-delivered",
        trigger="shipment_delivered",
        connector="shopify",
        entity_type="Shipment",
        conditions={"status": "delivered"},
        action={"type": "send_email", "recipient": "customer", "template": "delivery_confirmation"},
    )
    world = DispatchWorld(FakeWorkflows(seed))
    app = dispatch_app(load_app, world)
    event = load_event("trigger_dispatch/shipment_delivered.json")
    change = ChangeEvent.parse(event["Records"][0]["body"])

    response = app.lambda_handler(event, context())

    # Then the delivery's own trigger and the transition fire, and the workflow runs once
    assert response == {"batchItemFailures": []}
    fired = [published.detail_type for published in world.publisher.published]
    assert fired == ["fulfillments/update", "shipment_status_changed", "shipment_delivered"]
    assert world.publisher.published[2].detail["changes"] == {
        "status": {"from": "in_transit", "to": "delivered"}
    }
    assert world.email.runs == [("wf-delivered", change.id)]

"""What the concurrency tests share: a Salla store that signs its webhooks, per-tenant integrations on it,
real SQS messages to hand to containers, and readers of the tables by tenant.

Each race gets a tenant and an integration of its own on a sandbox store, so the records table,
tracking and cursors of one race never see another's. Messages are sent to the template's queues
and received from them, so a SyncJob's delivery id is a real SQS message id; they are deleted once
the race is over, as the event source mapping deletes a message its invocation handled.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx

from mercator.connector import ConnectorDefinition, load_shipped
from mercator.connector.mapper import map_delivery, map_records
from mercator.domain.entities import Cursor, TrackedId
from mercator.domain.messages import ChangeEvent
from mercator.services.registration import register_integration
from mercator.state.cursors import DynamoCursors
from mercator.state.integrations import DynamoIntegrations
from mercator.state.secrets import SecretsVault
from mercator.state.tracking import DynamoTracking
from mercator_local import LocalStack
from mercator_local.events import sqs_event
from mercator_local.webhook_events import delivery_event
from mercator_sandbox import Delivery, Sandbox, WebhookConfig
from tests.e2e.oracle import StoreOracle
from tests.e2e.support import AnswerTap, still_store_time

WEBHOOK_SECRET = "race-webhook-secret"
SYNC = "ScheduledSyncFunction"
ENRICH = "DetailEnrichmentFunction"
INTAKE = "WebhookIntakeFunction"
DEAD_LETTER_QUEUES = ("SyncJobsDLQ", "EnrichDLQ", "TriggerDLQ")
# The integration's own budget: the shared rate bucket never holds a race back.
RATE_LIMIT = 1000


@dataclass(frozen=True)
class Row:
    """One item of the records table, as stored."""

    code: str
    record: dict[str, Any]
    version: int
    content_hash: str
    source_updated_at: int | None  # epoch milliseconds


class Shop:
    """A Salla sandbox store served to the stack, signing its webhooks, and the integrations on it."""

    def __init__(self, stack: LocalStack, sandbox: Sandbox) -> None:
        self.stack = stack
        self.sandbox = sandbox
        self.tap = AnswerTap(sandbox.app)
        # uvicorn serves whatever app the sandbox holds when serving starts.
        sandbox.app = self.tap  # type: ignore[assignment]
        self.origin = stack.serve_sandbox(sandbox)
        self.definition: ConnectorDefinition = load_shipped("salla")
        self.dynamodb = stack.client("dynamodb")

    @classmethod
    def open(cls, stack: LocalStack, sizes: Mapping[str, int], *, page_cap: int) -> Shop:
        sandbox = Sandbox(
            "salla",
            seed=23,
            sizes=dict(sizes),
            rate_limit=None,
            max_per_page=page_cap,
            clock=still_store_time,
            # Never flushed: the races hand each delivery to WebhookIntake themselves.
            webhooks=WebhookConfig(url="https://receiver.invalid/webhooks", secret=WEBHOOK_SECRET),
        )
        return cls(stack, sandbox)

    @property
    def base_url(self) -> str:
        return self.sandbox.base_url(self.origin)

    def register(self, tenant: str) -> str:
        """An integration of ``tenant`` on this store (its id is the tenant's name); returns the id."""
        integration = register_integration(
            DynamoIntegrations(self.dynamodb, self.stack.table_name("StateTable")),
            SecretsVault(self.stack.client("secretsmanager")),
            self.definition,
            tenant_id=tenant,
            integration_id=tenant,
            credentials={"accessToken": f"{tenant}-token", "webhookSecret": WEBHOOK_SECRET},
            settings={"baseUrl": self.base_url, "rateLimitPerSecond": RATE_LIMIT},
        )
        return integration.id

    # --- queues -------------------------------------------------------------------------------------

    def take(self, queue: str) -> list[dict[str, Any]]:
        """The bodies of every message in ``queue`` (logical id), taken off it."""
        return [json.loads(message["Body"]) for message in self.stack.receive_all(queue)]

    def put_back(self, queue: str, bodies: Sequence[Mapping[str, Any]]) -> None:
        sqs, url = self.stack.client("sqs"), self.stack.queue_url(queue)
        for body in bodies:
            sqs.send_message(QueueUrl=url, MessageBody=json.dumps(body))

    def dead_letters(self) -> dict[str, int]:
        """Messages in each dead-letter queue."""
        return {queue: self.stack.runner.depth(queue) for queue in DEAD_LETTER_QUEUES}

    # --- the store, read on its own -----------------------------------------------------------------

    def expected(self, resource: str) -> dict[str, dict[str, Any]]:
        """Every record of ``resource`` the store holds, listed, expanded and mapped by the oracle."""
        oracle = StoreOracle("salla", self.definition, self.base_url, self.sandbox.credentials)
        return oracle.expected(self.definition.resources[resource]).records

    def listed(self, resource: str, record_id: int) -> dict[str, Any]:
        """A record's entry in the store's listing, read over HTTP page by page."""
        url = self.base_url + self.definition.resources[resource].endpoints.list.url
        page = 1
        while True:
            response = httpx.get(url, params={"page": page}, headers=self.sandbox.credentials, timeout=10)
            response.raise_for_status()
            body = response.json()
            for entry in body["data"]:
                if entry["id"] == record_id:
                    return dict(entry)
            if page >= body["pagination"]["totalPages"]:
                raise AssertionError(f"the store does not list {resource} {record_id}")
            page += 1

    def details_view(self, resource: str, listed: Mapping[str, Any]) -> dict[str, Any]:
        """A record as its list entry and its details, read from the store over HTTP, make it: details laid
        over the list entry key by key, mapped the connector's way."""
        spec = self.definition.resources[resource]
        assert spec.endpoints.details is not None
        url = self.base_url + spec.endpoints.details.url.replace("{id}", str(listed["id"]))
        response = httpx.get(url, headers=self.sandbox.credentials, timeout=10)
        response.raise_for_status()
        outcome = map_records(spec.mapping, spec.contentType, [overlay(listed, response.json()["data"])])
        assert not outcome.failures, outcome.failures
        record: dict[str, Any] = json.loads(json.dumps(outcome.records[0]))
        return record

    def webhook_view(self, delivery: Delivery) -> dict[str, Any]:
        """The record a delivery carries, mapped by the connector's handler of its event."""
        payload = json.loads(delivery.body)
        mapped = map_delivery(self.definition, payload["event"], payload)
        assert not mapped.failures, mapped.failures
        (mapped_record,) = mapped.records
        record: dict[str, Any] = json.loads(json.dumps(mapped_record))
        return record

    def delivery_event(self, integration_id: str, delivery: Delivery) -> dict[str, Any]:
        """The API Gateway proxy event of ``delivery`` posted to the integration's webhook URL."""
        return delivery_event(integration_id, delivery.body, dict(delivery.headers))

    def list_requests(self, resource: str, since: int) -> list[dict[str, str]]:
        """Query parameters of the resource's list requests the store served since ``since`` (an index
        into the tap's log)."""
        path = httpx.URL(self.base_url).path + self.definition.resources[resource].endpoints.list.url
        return [query for seen, query in self.tap.seen[since:] if seen == path]

    # --- the tables ---------------------------------------------------------------------------------

    def rows(self, tenant: str, content_type: str) -> dict[str, Row]:
        """The records table's items of one tenant's content type, by code."""
        query: dict[str, Any] = {
            "TableName": self.stack.table_name("RecordsTable"),
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": {"S": f"TENANT#{tenant}#TYPE#{content_type}"}},
            "ConsistentRead": True,
        }
        rows: dict[str, Row] = {}
        while True:
            answer = self.dynamodb.query(**query)
            for item in answer["Items"]:
                updated = item.get("source_updated_at")
                row = Row(
                    code=item["code"]["S"],
                    record=json.loads(item["record"]["S"]),
                    version=int(item["version"]["N"]),
                    content_hash=item["content_hash"]["S"],
                    source_updated_at=None if updated is None else int(updated["N"]),
                )
                rows[row.code] = row
            if "LastEvaluatedKey" not in answer:
                return rows
            query["ExclusiveStartKey"] = answer["LastEvaluatedKey"]

    def tracked(self, integration_id: str, resource: str, codes: Sequence[str]) -> dict[str, TrackedId]:
        tracking = DynamoTracking(self.dynamodb, self.stack.table_name("StateTable"))
        return tracking.get_many(integration_id, resource, codes)

    def cursor(self, integration_id: str, resource: str) -> Cursor:
        cursors = DynamoCursors(self.dynamodb, self.stack.table_name("StateTable"))
        cursor = cursors.get(integration_id, resource)
        assert cursor is not None, f"no {resource} cursor for {integration_id}"
        return cursor


@contextmanager
def received(stack: LocalStack, queue: str, bodies: Sequence[str]) -> Iterator[list[dict[str, Any]]]:
    """Send ``bodies`` to ``queue`` (logical id) and receive them: the SQS events of one message each, in
    the order sent. The messages are deleted when the block ends, as after a successful invocation."""
    sqs, url = stack.client("sqs"), stack.queue_url(queue)
    sent = [sqs.send_message(QueueUrl=url, MessageBody=body)["MessageId"] for body in bodies]
    messages: dict[str, dict[str, Any]] = {}
    while len(messages) < len(sent):
        answer = sqs.receive_message(
            QueueUrl=url,
            MaxNumberOfMessages=10,
            MessageSystemAttributeNames=["All"],
            MessageAttributeNames=["All"],
            WaitTimeSeconds=0,
        )
        got = answer.get("Messages", [])
        assert got, f"{queue} does not hand back the messages just sent to it"
        for message in got:
            assert message["MessageId"] in sent, f"{queue} held a message sent by something else"
            messages[message["MessageId"]] = message
    arn = stack.queue_arn(queue)
    try:
        yield [sqs_event([messages[message_id]], queue_arn=arn, region=stack.region) for message_id in sent]
    finally:
        for message in messages.values():
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


def overlay(listed: Mapping[str, Any], details: Mapping[str, Any]) -> dict[str, Any]:
    """The details over the list entry: objects merge key by key, anything else from the details."""
    merged = dict(listed)
    for name, value in details.items():
        below = merged.get(name)
        merged[name] = (
            overlay(below, value) if isinstance(below, Mapping) and isinstance(value, Mapping) else value
        )
    return merged


def deep_subset(part: Any, whole: Any) -> bool:
    """Whether every value in ``part`` is in ``whole`` at the same place (objects compared key by key)."""
    if isinstance(part, Mapping):
        return isinstance(whole, Mapping) and all(
            key in whole and deep_subset(value, whole[key]) for key, value in part.items()
        )
    return bool(part == whole)


def change_id(event: Mapping[str, Any]) -> str:
    """The change's stable id, the one TriggerDispatch runs a change once by."""
    return ChangeEvent.model_validate(event).id


def epoch_ms(moment: str) -> int:
    return int(datetime.fromisoformat(moment).timestamp() * 1000)

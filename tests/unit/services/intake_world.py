"""A WebhookIntake on moto with every real adapter: the world the intake and handler tests share."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import boto3
from moto import mock_aws

from mercator.domain.entities import Integration
from mercator.services.connectors import ConnectorCatalog
from mercator.services.intake import WebhookIntake
from mercator.services.writer import RecordWriter
from mercator.state.archive import S3DeliveryArchive
from mercator.state.delivery_claims import DynamoDeliveryLedger
from mercator.state.queues import SqsQueue
from mercator.state.record_store import DynamoRecords
from mercator.state.tracking import DynamoTracking
from mercator_local.resources import create_template_table
from tests.unit.services.fakes import FakeClock, FakeIntegrations, FakeVault

REGION = "eu-west-1"
NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


class Locked:
    """A boto3 client whose calls run one at a time: moto's backends are not thread-safe, and the
    concurrency test sends from many threads (DynamoDB itself decides each call atomically)."""

    def __init__(self, client: Any, lock: threading.RLock) -> None:
        self._client = client
        self._lock = lock
        self.exceptions = client.exceptions

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._client, name)

        def locked(*args: Any, **kwargs: Any) -> Any:
            with self._lock:
                return method(*args, **kwargs)

        return locked


@dataclass
class World:
    intake: WebhookIntake
    clock: FakeClock
    records: DynamoRecords
    tracking: DynamoTracking
    integrations: FakeIntegrations
    s3: Any
    sqs: Any
    queues: dict[str, str]

    def messages(self, queue: str) -> list[str]:
        bodies: list[str] = []
        while True:
            got = self.sqs.receive_message(QueueUrl=self.queues[queue], MaxNumberOfMessages=10)
            batch = got.get("Messages", [])
            if not batch:
                return bodies
            for message in batch:
                bodies.append(message["Body"])
                self.sqs.delete_message(QueueUrl=self.queues[queue], ReceiptHandle=message["ReceiptHandle"])

    def archived(self) -> list[str]:
        listed = self.s3.list_objects_v2(Bucket="archive").get("Contents", [])
        return [entry["Key"] for entry in listed]


def _integration(connector: str, integration_id: str, status: str = "active") -> Integration:
    return Integration.model_validate(
        {
            "id": integration_id,
            "tenant_id": f"tenant-{integration_id}",
            "connector": connector,
            "status": status,
            "credentials_arn": f"mercator/{integration_id}",
            "created_at": NOW,
        }
    )


@contextmanager
def intake_world(credentials: dict[str, str], integrations: list[tuple[str, str]]) -> Iterator[World]:
    """(connector, integration id) pairs, each with ``credentials``; AWS credentials must be set."""
    with mock_aws():
        lock = threading.RLock()
        dynamodb = Locked(boto3.client("dynamodb", region_name=REGION), lock)
        create_template_table(dynamodb, "StateTable", table_name="state")
        create_template_table(dynamodb, "RecordsTable", table_name="records")
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket="archive", CreateBucketConfiguration={"LocationConstraint": REGION})
        sqs = Locked(boto3.client("sqs", region_name=REGION), lock)
        queues = {name: sqs.create_queue(QueueName=name)["QueueUrl"] for name in ("trigger", "enrich", "dlq")}
        clock = FakeClock(NOW)
        known = FakeIntegrations(
            *(_integration(connector, integration_id) for connector, integration_id in integrations),
            _integration("shopify", "off-1", status="disabled"),
        )
        vault = FakeVault({f"mercator/{integration_id}": credentials for _, integration_id in integrations})
        records = DynamoRecords(dynamodb, "records", clock=clock)
        tracking = DynamoTracking(dynamodb, "state")
        intake = WebhookIntake(
            integrations=known,
            vault=vault,
            connectors=ConnectorCatalog(),
            ledger=DynamoDeliveryLedger(dynamodb, "state", "records", sleep=lambda _: None),
            archive=S3DeliveryArchive(Locked(s3, lock), "archive"),
            records=records,
            writer=RecordWriter(records, tracking, SqsQueue(sqs, queues["trigger"]), clock=clock),
            triggers=SqsQueue(sqs, queues["trigger"]),
            enrich=SqsQueue(sqs, queues["enrich"]),
            dead_letters=SqsQueue(sqs, queues["dlq"]),
            clock=clock,
        )
        yield World(intake, clock, records, tracking, known, s3, sqs, queues)

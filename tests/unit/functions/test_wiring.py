"""The handlers' own wiring (build_services) against AWS on moto: real adapters, real clients.

No provider is called here: a schedule's fan-out and a disabled integration's enrichment touch only
DynamoDB and SQS, which is what the composition functions wire.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from moto import mock_aws

from mercator.domain.entities import Integration
from mercator.domain.messages import SyncJob
from mercator.state.integrations import DynamoIntegrations
from mercator_local.resources import create_template_table
from tests.fake_aws import use_fake_aws
from tests.unit.functions.conftest import LambdaContext, Loader, load_event

REGION = "eu-central-1"
STATE, RECORDS = "mercator-test-StateTable", "mercator-test-RecordsTable"
QUEUES = ("SyncJobsQueue", "EnrichQueue", "TriggerQueue", "EnrichDLQ")


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """Tables keyed as the contract says and the four queues; yields queue URLs by name."""
    use_fake_aws(monkeypatch, REGION)
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name=REGION)
        create_template_table(dynamodb, "StateTable", table_name=STATE)
        create_template_table(dynamodb, "RecordsTable", table_name=RECORDS)
        sqs = boto3.client("sqs", region_name=REGION)
        yield {name: sqs.create_queue(QueueName=f"mercator-test-{name}")["QueueUrl"] for name in QUEUES}


def register(*integrations: Integration) -> None:
    repository = DynamoIntegrations(boto3.client("dynamodb", region_name=REGION), STATE)
    for integration in integrations:
        repository.put(integration)


def integration(identifier: str, connector: str, status: str = "active") -> Integration:
    return Integration.model_validate(
        {
            "id": identifier,
            "tenant_id": "tenant-7",
            "connector": connector,
            "status": status,
            "credentials_arn": f"arn:aws:secretsmanager:{REGION}:123456789012:secret:{identifier}",
            "created_at": datetime(2024, 11, 1, tzinfo=UTC),
        }
    )


def received(queue_url: str) -> list[str]:
    sqs = boto3.client("sqs", region_name=REGION)
    bodies: list[str] = []
    while True:
        messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
        if not messages:
            return bodies
        bodies += [message["Body"] for message in messages]


def test_a_schedule_fans_out_through_dynamodb_and_sqs(load_app: Loader, aws: dict[str, str]) -> None:
    # Given two active integrations and a disabled one in the state table
    register(
        integration("salla-demo", "salla"),
        integration("woo-main", "woocommerce"),
        integration("salla-closed", "salla", status="disabled"),
    )
    env = {
        "STATE_TABLE": STATE,
        "RECORDS_TABLE": RECORDS,
        "SYNC_JOBS_QUEUE_URL": aws["SyncJobsQueue"],
        "ENRICH_QUEUE_URL": aws["EnrichQueue"],
        "ENRICH_DLQ_URL": aws["EnrichDLQ"],
        "TRIGGER_QUEUE_URL": aws["TriggerQueue"],
    }
    app = load_app("scheduled_sync", env)

    # When the orders schedule fires
    response = app.lambda_handler(load_event("scheduled_sync/schedule_orders.json"), LambdaContext())

    # Then one SyncJob per active integration is on the SyncJobs queue
    assert response == {"resource": "orders", "jobs": 2}
    jobs = {(job.integration_id, job.resource) for job in map(SyncJob.parse, received(aws["SyncJobsQueue"]))}
    assert jobs == {("salla-demo", "orders"), ("woo-main", "orders")}


def test_enrichment_of_a_disabled_integration_is_skipped_without_failing(
    load_app: Loader, aws: dict[str, Any]
) -> None:
    # Given the event's integration, disabled since its orders were listed
    register(integration("salla-demo", "salla", status="disabled"))
    env = {
        "STATE_TABLE": STATE,
        "RECORDS_TABLE": RECORDS,
        "ENRICH_DLQ_URL": aws["EnrichDLQ"],
        "TRIGGER_QUEUE_URL": aws["TriggerQueue"],
    }
    app = load_app("detail_enrichment", env)

    # When the enrich batches arrive
    response = app.lambda_handler(load_event("detail_enrichment/enrich_batch.json"), LambdaContext())

    # Then both messages succeed, and nothing is announced or dead-lettered
    assert response == {"batchItemFailures": []}
    assert received(aws["TriggerQueue"]) == []
    assert received(aws["EnrichDLQ"]) == []

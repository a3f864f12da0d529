"""Mercator's own template.yaml on the local stack: exactly its tables and queues, resolved environments,
the OAuth state key, and the Integrations API behind its API-key authorizer.

Expected names and keys come from the shared contract (state table pk/sk with gsi1 and TTL ``ttl``,
records table pk/sk, SyncJobs/Enrich/Trigger queues each with a dead-letter queue, the functions'
environment variables, the API's error envelope); the numbers a deployer may tune are read from the
template itself.
"""

from __future__ import annotations

import json
import string
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from mercator.cli import main
from mercator.state.api_keys import DynamoApiKeys
from mercator_local import DEFAULT_TEMPLATE, LocalStack
from mercator_local.cfn import read_template

STACK = "mercator-local"
QUEUE_PAIRS = {
    "SyncJobsQueue": "SyncJobsDLQ",
    "EnrichQueue": "EnrichDLQ",
    "TriggerQueue": "TriggerDLQ",
    "PushJobsQueue": "PushDLQ",
}
CONSUMERS = {"SyncJobsQueue": "ScheduledSyncFunction", "EnrichQueue": "DetailEnrichmentFunction"}
FUNCTIONS = ("ScheduledSyncFunction", "DetailEnrichmentFunction")


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    with LocalStack() as running:
        yield running


@pytest.fixture(scope="module")
def api_url(stack: LocalStack) -> str:
    return stack.serve_api("IntegrationsApi")


@pytest.fixture(scope="module")
def raw() -> dict[str, Any]:
    """The template as written, for the values a deployer tunes."""
    return read_template(DEFAULT_TEMPLATE)


def _key_schema(description: dict[str, Any]) -> list[tuple[str, str]]:
    return [(key["AttributeName"], key["KeyType"]) for key in description["KeySchema"]]


def test_the_stack_creates_exactly_the_two_tables(stack: LocalStack) -> None:
    names = stack.client("dynamodb").list_tables()["TableNames"]

    assert sorted(names) == [f"{STACK}-RecordsTable", f"{STACK}-StateTable"]
    assert stack.tables == {"StateTable": f"{STACK}-StateTable", "RecordsTable": f"{STACK}-RecordsTable"}


def test_the_state_table_has_its_keys_index_and_ttl(stack: LocalStack) -> None:
    dynamodb = stack.client("dynamodb")
    table = dynamodb.describe_table(TableName=stack.table_name("StateTable"))["Table"]

    assert _key_schema(table) == [("pk", "HASH"), ("sk", "RANGE")]
    assert {a["AttributeName"]: a["AttributeType"] for a in table["AttributeDefinitions"]} == {
        "pk": "S",
        "sk": "S",
        "gsi1pk": "S",
        "gsi1sk": "S",
    }
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    (index,) = table["GlobalSecondaryIndexes"]
    assert index["IndexName"] == "gsi1"
    assert _key_schema(index) == [("gsi1pk", "HASH"), ("gsi1sk", "RANGE")]
    assert index["Projection"] == {"ProjectionType": "ALL"}
    ttl = dynamodb.describe_time_to_live(TableName=stack.table_name("StateTable"))["TimeToLiveDescription"]
    assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": "ttl"}


def test_the_records_table_is_keyed_by_pk_and_sk(stack: LocalStack) -> None:
    table = stack.client("dynamodb").describe_table(TableName=stack.table_name("RecordsTable"))["Table"]

    assert _key_schema(table) == [("pk", "HASH"), ("sk", "RANGE")]
    assert table.get("GlobalSecondaryIndexes", []) == []


def test_the_stack_creates_exactly_the_twelve_queues(stack: LocalStack) -> None:
    urls = stack.client("sqs").list_queues()["QueueUrls"]

    # Four sources with their DLQs, the schedules' DLQ (EventBridge's and Lambda's dead letters), the
    # PIM's FIFO queue with its FIFO DLQ (named .fifo, as SQS requires), and the Catalog DLQ.
    expected = sorted(
        [
            *(f"{STACK}-{name}" for pair in QUEUE_PAIRS.items() for name in pair),
            f"{STACK}-ScheduleDLQ",
            f"{STACK}-CatalogEventsQueue.fifo",
            f"{STACK}-CatalogEventsDLQ.fifo",
            f"{STACK}-CatalogDLQ",
        ]
    )
    assert sorted(url.rsplit("/", 1)[1] for url in urls) == expected


def test_the_archive_bucket_is_versioned_and_its_old_versions_expire(
    stack: LocalStack, raw: dict[str, Any]
) -> None:
    s3 = stack.client("s3")
    (bucket,) = (
        name for name in (b["Name"] for b in s3.list_buckets()["Buckets"]) if "deliveryarchive" in name
    )

    rules = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]

    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    (rule,) = rules
    assert rule["Expiration"] == {"Days": int(raw["Parameters"]["DeliveryArchiveDays"]["Default"])}
    assert rule["NoncurrentVersionExpiration"] == {"NoncurrentDays": 1}


@pytest.mark.parametrize(("source", "dead_letters"), QUEUE_PAIRS.items())
def test_each_queue_redrives_to_its_dlq(
    stack: LocalStack, raw: dict[str, Any], source: str, dead_letters: str
) -> None:
    sqs = stack.client("sqs")
    attributes = sqs.get_queue_attributes(QueueUrl=stack.queue_url(source), AttributeNames=["All"])[
        "Attributes"
    ]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=stack.queue_url(dead_letters), AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    declared = raw["Resources"][source]["Properties"]

    policy = json.loads(attributes["RedrivePolicy"])
    assert (
        policy["deadLetterTargetArn"]
        == dlq_arn
        == f"arn:aws:sqs:eu-central-1:123456789012:{STACK}-{dead_letters}"
    )
    assert int(policy["maxReceiveCount"]) == declared["RedrivePolicy"]["maxReceiveCount"]
    assert int(attributes["VisibilityTimeout"]) == declared["VisibilityTimeout"]
    assert stack.dead_letter_queue(source) == dead_letters


@pytest.mark.parametrize(("queue", "function"), CONSUMERS.items())
def test_visibility_timeout_covers_six_consumer_timeouts(
    stack: LocalStack, raw: dict[str, Any], queue: str, function: str
) -> None:
    visibility = raw["Resources"][queue]["Properties"]["VisibilityTimeout"]
    timeout = raw["Resources"][function]["Properties"]["Timeout"]

    assert stack.functions[function].timeout_seconds == timeout
    assert visibility >= 6 * timeout


@pytest.mark.parametrize("function", FUNCTIONS)
def test_function_environments_resolve_to_the_local_resources(stack: LocalStack, function: str) -> None:
    environment = stack.environment(function)

    assert environment["STATE_TABLE"] == f"{STACK}-StateTable"
    assert environment["RECORDS_TABLE"] == f"{STACK}-RecordsTable"
    base = f"{stack.endpoint_url}/123456789012/{STACK}"
    assert environment["SYNC_JOBS_QUEUE_URL"] == f"{base}-SyncJobsQueue"
    assert environment["ENRICH_QUEUE_URL"] == f"{base}-EnrichQueue"
    assert environment["ENRICH_DLQ_URL"] == f"{base}-EnrichDLQ"
    assert environment["TRIGGER_QUEUE_URL"] == f"{base}-TriggerQueue"
    assert environment["POWERTOOLS_METRICS_NAMESPACE"] == "Mercator/dev"
    assert environment["POWERTOOLS_LOG_LEVEL"] == "INFO"
    assert environment["AWS_ENDPOINT_URL"] == stack.endpoint_url
    assert all(isinstance(value, str) and "${" not in value for value in environment.values())


def test_each_function_keeps_its_own_service_name_and_settings(stack: LocalStack) -> None:
    sync, enrich = (stack.environment(function) for function in FUNCTIONS)

    assert sync["POWERTOOLS_SERVICE_NAME"] == "scheduled_sync"
    assert enrich["POWERTOOLS_SERVICE_NAME"] == "detail_enrichment"
    assert sync["SYNC_DEADLINE_MARGIN_SECONDS"] == "30"
    assert "SYNC_DEADLINE_MARGIN_SECONDS" not in enrich


def test_the_queue_urls_in_the_environment_reach_live_queues(stack: LocalStack) -> None:
    sqs = stack.client("sqs")
    url = stack.environment("DetailEnrichmentFunction")["TRIGGER_QUEUE_URL"]
    sqs.send_message(QueueUrl=url, MessageBody='{"kind": "change"}')

    taken = stack.receive_all("TriggerQueue")

    assert [message["Body"] for message in taken] == ['{"kind": "change"}']


def test_the_runner_polls_the_queues_the_template_subscribes(stack: LocalStack) -> None:
    subscriptions = {
        source.queue: (source.function.spec.logical_id, source.source.batch_size)
        for source in stack.runner.sources
    }

    assert subscriptions == {
        "SyncJobsQueue": ("ScheduledSyncFunction", 1),
        "EnrichQueue": ("DetailEnrichmentFunction", 2),
        "TriggerQueue": ("TriggerDispatchFunction", 10),
        "PushJobsQueue": ("CatalogPushFunction", 1),
        "CatalogEventsQueue": ("CatalogApplyFunction", 10),
    }


def test_scheduled_sync_has_one_schedule_per_content_family(stack: LocalStack) -> None:
    schedules = stack.functions["ScheduledSyncFunction"].schedules

    assert sorted(str((schedule.input or {}).get("resource")) for schedule in schedules) == [
        "carts",
        "customers",
        "orders",
        "products",
        "shipments",
    ]
    assert stack.functions["DetailEnrichmentFunction"].schedules == ()


def test_parameters_come_from_the_template_defaults_unless_overridden(raw: dict[str, Any]) -> None:
    stack = LocalStack(parameters={"Stage": "prod", "LogLevel": "DEBUG"})

    assert stack.parameters["Stage"] == "prod"
    assert stack.parameters["LogLevel"] == "DEBUG"
    assert stack.parameters["OrdersSyncRate"] == raw["Parameters"]["OrdersSyncRate"]["Default"]


@pytest.mark.parametrize("function", FUNCTIONS)
def test_functions_load_mercator_from_the_shared_layer(stack: LocalStack, function: str) -> None:
    spec = stack.functions[function]

    # The connectors layer holds definitions, no Python: mercator comes from the shared layer alone.
    assert spec.layer_dirs == (
        DEFAULT_TEMPLATE.parent / "shared",
        DEFAULT_TEMPLATE.parent / "connectors-layer",
    )
    assert spec.layer_packages == ("mercator",)
    assert spec.module_path == DEFAULT_TEMPLATE.parent / "functions" / spec.code_dir.name / "app.py"


def test_the_local_stack_lets_its_functions_reach_its_loopback_stores(stack: LocalStack) -> None:
    # The sandbox stores and receivers listen on loopback, which the egress guard refuses elsewhere
    for function in stack.functions:
        assert stack.environment(function)["EGRESS_ALLOW_LOOPBACK"] == "true"
    # and a stack asked not to gives them the deployment's policy
    strict = LocalStack(allow_loopback_egress=False)
    assert "EGRESS_ALLOW_LOOPBACK" not in strict._runtime_environment(
        stack.functions["ScheduledSyncFunction"]
    )


# --- the OAuth state key and the Integrations API --------------------------------------------------


def test_the_oauth_state_key_is_generated_and_named_to_the_oauth_function(stack: LocalStack) -> None:
    secrets = stack.client("secretsmanager")
    arn = stack.secret_arn("OAuthStateKeySecret")

    described = secrets.describe_secret(SecretId=arn)
    key = secrets.get_secret_value(SecretId=arn)["SecretString"]

    assert described["Name"] == "mercator/oauth-state/key-dev"
    # 64 characters, punctuation excluded: letters and digits only
    assert len(key) == 64
    assert set(key) <= set(string.ascii_letters + string.digits)
    assert stack.environment("OAuthFunction")["OAUTH_STATE_KEY_SECRET"] == arn


TRIGGERS = "/api/workflows/triggers/Order"


def test_the_integrations_api_refuses_a_request_without_a_key_in_its_envelope(api_url: str) -> None:
    response = httpx.get(f"{api_url}{TRIGGERS}")

    assert response.status_code == 401
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"success": False, "error": {"code": "UNAUTHORIZED", "message": "Unauthorized"}}


def test_a_revoked_key_is_forbidden_in_the_envelope(stack: LocalStack, api_url: str) -> None:
    keys = DynamoApiKeys(stack.client("dynamodb"), stack.table_name("StateTable"))
    issued = keys.create("revoked-tenant")
    keys.revoke(issued.key_id)

    response = httpx.get(f"{api_url}{TRIGGERS}", headers={"Authorization": f"Bearer {issued.key}"})

    assert response.status_code == 403
    assert response.json() == {
        "success": False,
        "error": {"code": "FORBIDDEN", "message": "User is not authorized to access this resource"},
    }


def test_a_key_made_by_the_cli_reaches_the_api_and_the_document_is_public(
    stack: LocalStack, api_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("STATE_TABLE", stack.table_name("StateTable"))
    assert main(["api-keys", "create", "--tenant", "acme"]) == 0
    key = capsys.readouterr().out.strip()

    response = httpx.get(f"{api_url}{TRIGGERS}", headers={"Authorization": f"Bearer {key}"})
    document = httpx.get(f"{api_url}/api/openapi.json")

    assert key.startswith("mk_")
    # No integration yet: no connector's Order triggers to list
    assert (response.status_code, response.json()) == (200, {"success": True, "data": []})
    assert document.status_code == 200
    assert TRIGGERS.replace("Order", "{entityType}") in document.json()["paths"]

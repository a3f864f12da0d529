"""Mercator's real handlers on the local stack: a schedule syncs a sandbox store into the records table.

The integration is configured with ``mercator integrations configure`` through the Integrations API
the stack serves, with the tenant's API key, as a developer would; the schedules' inputs and the SQS
batches reach ScheduledSync and DetailEnrichment exactly as on AWS.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from mercator.cli import main as mercator_cli
from mercator.state.api_keys import DynamoApiKeys
from mercator_local import LocalStack
from mercator_sandbox import Sandbox

SIZES = {"orders": 3, "products": 4, "customers": 2, "carts": 2}
FAMILIES = ("products", "customers", "orders", "carts")


@pytest.fixture
def stack() -> Iterator[LocalStack]:
    with LocalStack() as running:
        yield running


def _register(stack: LocalStack, base_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    credentials = tmp_path / "credentials.json"
    credentials.write_text(json.dumps({"accessToken": "salla-at-local-e2e"}), encoding="utf-8")
    keys = DynamoApiKeys(stack.client("dynamodb"), stack.table_name("StateTable"))
    monkeypatch.setenv("MERCATOR_API_KEY", keys.create("acme").key)
    status = mercator_cli(
        [
            "integrations",
            "configure",
            *("--api-url", stack.serve_api("IntegrationsApi")),
            *("--provider", "salla", "--credentials-file", str(credentials)),
            *("--setting", f"baseUrl={base_url}"),
        ]
    )
    assert status == 0


def _records_per_type(stack: LocalStack) -> Counter[str]:
    items = stack.client("dynamodb").scan(TableName=stack.table_name("RecordsTable"))["Items"]
    return Counter(item["pk"]["S"] for item in items)


def test_scheduled_syncs_fill_the_records_table_and_emit_change_events(
    stack: LocalStack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a Salla sandbox store served over HTTP and an integration registered against it
    sandbox = Sandbox("salla", sizes=SIZES, rate_limit=None)
    origin = stack.serve_sandbox(sandbox)
    _register(stack, sandbox.base_url(origin), tmp_path, monkeypatch)

    # When every family's schedule fires and the queues are drained
    fanned_out = [stack.runner.invoke_schedule("ScheduledSyncFunction", family) for family in FAMILIES]
    report = stack.runner.run_until_idle(skip=["TriggerQueue"])

    # Then each schedule made one SyncJob, every job and enrichment batch succeeded...
    assert [result["jobs"] for result in fanned_out] == [1, 1, 1, 1]
    assert report.idle
    assert report.invocations["ScheduledSyncFunction"] == 4
    assert report.failed.get("SyncJobsQueue", 0) == report.failed.get("EnrichQueue", 0) == 0
    assert report.dead_letters == {
        "SyncJobsDLQ": 0,
        "EnrichDLQ": 0,
        "TriggerDLQ": 0,
        "PushDLQ": 0,
        "CatalogEventsDLQ": 0,
    }
    # ...every record of the store is in the records table under its content type...
    assert _records_per_type(stack) == {
        "TENANT#acme#TYPE#core:product": 4,
        "TENANT#acme#TYPE#core:customer": 2,
        "TENANT#acme#TYPE#ecommerce:orders": 3,
        "TENANT#acme#TYPE#ecommerce:carts": 2,
    }
    # ...and each new record produced one "created" change event
    changes = [json.loads(message["Body"]) for message in stack.receive_all("TriggerQueue")]
    assert Counter(change["change"] for change in changes) == {"created": 11}

    # When the products schedule fires again with nothing changed in the store
    stack.runner.invoke_schedule("ScheduledSyncFunction", "products")
    again = stack.runner.run_until_idle(skip=["TriggerQueue"])

    # Then the run lists them again but writes nothing and emits nothing
    assert again.idle
    assert again.invocations["ScheduledSyncFunction"] == 1
    assert stack.receive_all("TriggerQueue") == []
    assert sum(_records_per_type(stack).values()) == 11

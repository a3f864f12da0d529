"""The DetailEnrichment handler with events/detail_enrichment/enrich_batch.json: partial batch failures."""

from __future__ import annotations

import copy
import json
from types import ModuleType

import pytest

from mercator.services.connectors import ConnectorCatalog
from tests.unit.functions.conftest import ENRICH_ENV, LambdaContext, Loader, load_event
from tests.unit.functions.emf import published_metrics
from tests.unit.services.fakes import FakeIntegrations
from tests.unit.services.salla_samples import DetailsServer, status
from tests.unit.services.support import World, make_integration

FIRST, SECOND = "1017120475", "1013578136"  # the orders of the event's two messages, in order


def enrichment_app(load_app: Loader, server: DetailsServer) -> tuple[ModuleType, World]:
    built = World(
        http=server.http,
        integrations=FakeIntegrations(make_integration("salla", integration_id="salla-demo")),
        connectors=ConnectorCatalog(),
    )
    app = load_app("detail_enrichment", ENRICH_ENV)
    app.build_services = lambda settings: built.enrichment_service()
    return app, built


def context() -> LambdaContext:
    return LambdaContext(
        function_name="mercator-dev-DetailEnrichment",
        invoked_function_arn="arn:aws:lambda:eu-central-1:123456789012:function:mercator-dev-DetailEnrichment",
        remaining_ms=120_000,
    )


def test_both_messages_of_the_event_are_enriched_and_written(load_app: Loader) -> None:
    server = DetailsServer()
    app, built = enrichment_app(load_app, server)

    response = app.lambda_handler(load_event("detail_enrichment/enrich_batch.json"), context())

    assert response == {"batchItemFailures": []}
    assert built.records.written() == [FIRST, SECOND]
    assert sorted(server.requests) == sorted([FIRST, SECOND])
    assert [json.loads(body)["change"] for body in built.triggers.bodies] == ["created", "created"]


def test_a_provider_failure_fails_only_its_message(load_app: Loader) -> None:
    # Given a store whose details of the second message's order keep failing
    server = DetailsServer({SECOND: status(502)})
    app, built = enrichment_app(load_app, server)
    event = load_event("detail_enrichment/enrich_batch.json")

    # When the batch is handled
    response = app.lambda_handler(event, context())

    # Then the second message alone is reported failed, for SQS to deliver again
    assert response == {"batchItemFailures": [{"itemIdentifier": event["Records"][1]["messageId"]}]}
    assert built.records.written() == [FIRST]
    assert built.dead_letters.bodies == []


def test_a_poison_record_is_dead_lettered_and_its_message_succeeds(load_app: Loader) -> None:
    # Given details of the first order that fail validation (no status)
    server = DetailsServer(data={FIRST: {"status": None}})
    app, built = enrichment_app(load_app, server)

    # When the batch is handled
    response = app.lambda_handler(load_event("detail_enrichment/enrich_batch.json"), context())

    # Then no message fails: the poison record went to the DLQ and the other order was written
    assert response == {"batchItemFailures": []}
    [letter] = built.dead_letters.documents()
    assert letter["raw"]["id"] == int(FIRST)
    assert letter["run_id"] == "0f3c2b7a9e8d4c1b8a6f5e4d3c2b1a09"
    assert built.records.written() == [SECOND]


def test_a_body_that_is_not_an_enrich_batch_fails_only_its_message(load_app: Loader) -> None:
    server = DetailsServer()
    app, built = enrichment_app(load_app, server)
    event = load_event("detail_enrichment/enrich_batch.json")
    broken = copy.deepcopy(event["Records"][0])
    broken["messageId"] = "5d2c9e71-3b4a-4f8d-a6e0-7c1b2d3e4f50"
    broken["body"] = '{"kind": "enrich_batch", "integration_id": "salla-demo", "records": []}'
    event["Records"].insert(0, broken)

    response = app.lambda_handler(event, context())

    assert response == {"batchItemFailures": [{"itemIdentifier": broken["messageId"]}]}
    assert built.records.written() == [FIRST, SECOND]


def test_a_message_left_too_little_time_fails_without_a_provider_call(load_app: Loader) -> None:
    server = DetailsServer()
    app, built = enrichment_app(load_app, server)
    event = load_event("detail_enrichment/enrich_batch.json")
    late = context()
    late.remaining_ms = 5_000  # one order at 2 requests/s needs 0.5 s plus the 10 s margin

    response = app.lambda_handler(event, late)

    assert response == {"batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in event["Records"]]}
    assert server.requests == []
    assert built.records.writes == []


@pytest.mark.parametrize(("reconcile", "missed"), [(True, [1.0, 1.0]), (False, [0.0, 0.0])])
def test_orders_a_reconciling_batch_writes_are_published_as_missed_by_webhooks(
    load_app: Loader, capsys: pytest.CaptureFixture[str], reconcile: bool, missed: list[float]
) -> None:
    # Given the event's two messages, as a sync that backs webhooks up (or an initial one) sent them
    server = DetailsServer()
    app, built = enrichment_app(load_app, server)
    event = load_event("detail_enrichment/enrich_batch.json")
    for record in event["Records"]:
        record["body"] = json.dumps({**json.loads(record["body"]), "reconcile": reconcile})
    capsys.readouterr()

    # When the batch is handled
    response = app.lambda_handler(event, context())

    # Then each message wrote its order, and published it as missed only when reconciling
    assert response == {"batchItemFailures": []}
    assert built.records.written() == [FIRST, SECOND]
    metrics = published_metrics(capsys.readouterr().out)
    assert metrics["MissedByWebhook"] == missed
    assert metrics["RecordsWritten"] == [1.0, 1.0]

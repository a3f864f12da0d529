"""The CatalogPush handler with the events/ files: the schedule fans out, a PushJob batch pushes."""

from __future__ import annotations

from types import ModuleType

from mercator.domain.messages import PushJob
from tests.unit.functions.conftest import LambdaContext, Loader, load_event
from tests.unit.services.fakes import FakeIntegrations
from tests.unit.services.test_catalog_push import World, integration

PUSH_ENV = {
    "STATE_TABLE": "mercator-dev-StateTable",
    "RECORDS_TABLE": "mercator-dev-RecordsTable",
    "PUSH_JOBS_QUEUE_URL": "https://sqs.eu-central-1.amazonaws.com/123456789012/mercator-dev-PushJobsQueue",
    "PUSH_DLQ_URL": "https://sqs.eu-central-1.amazonaws.com/123456789012/mercator-dev-PushDLQ",
}


def push_world() -> World:
    # The store the events name, and its tenant's catalog source with two products
    world = World(
        integrations=FakeIntegrations(
            integration("salla-demo", "woocommerce", syncProducts=True),
            integration("acme-crystal", "woocommerce", catalogSource=True),
        )
    )
    world.catalog.put("p1")
    world.catalog.put("p2")
    return world


def push_app(load_app: Loader, world: World) -> ModuleType:
    app = load_app("catalog_push", PUSH_ENV)
    app.build_services = lambda settings: world.service(
        deadline_margin_seconds=settings.deadline_margin_seconds
    )
    return app


def test_the_schedule_event_fans_out_one_job_per_store(load_app: Loader) -> None:
    world = push_world()
    app = push_app(load_app, world)

    response = app.lambda_handler(load_event("catalog_push/schedule.json"), LambdaContext())

    assert response == {"jobs": 1}
    assert [PushJob.parse(body).integration_id for body in world.push_jobs.take()] == ["salla-demo"]


def test_a_push_job_batch_pushes_the_catalog_into_its_store(load_app: Loader) -> None:
    world = push_world()
    app = push_app(load_app, world)

    response = app.lambda_handler(load_event("catalog_push/push_job.json"), LambdaContext())

    assert response == {"batchItemFailures": []}
    assert sorted(product["sku"] for product in world.store.products.values()) == ["SKU-p1", "SKU-p2"]


def test_a_job_whose_store_is_being_pushed_fails_and_comes_back(load_app: Loader) -> None:
    world = push_world()
    world.locks.held["push#salla-demo"] = "another-invocation"
    app = push_app(load_app, world)
    event = load_event("catalog_push/push_job.json")

    response = app.lambda_handler(event, LambdaContext())

    assert response == {"batchItemFailures": [{"itemIdentifier": event["Records"][0]["messageId"]}]}
    assert world.store.calls == []

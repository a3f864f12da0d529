"""The CatalogPush handler with the events/ files: the schedule fans out, a PushJob batch pushes, a
ShipmentPushJob batch writes its shipment."""

from __future__ import annotations

from types import ModuleType

import pytest
from moto import mock_aws

from mercator.domain.entities import Integration
from mercator.domain.messages import PushJob
from mercator.services.tracking_push import ShipmentPushService
from tests.fake_aws import use_fake_aws
from tests.unit.functions.conftest import LambdaContext, Loader, load_event
from tests.unit.services.fakes import FakeIntegrations
from tests.unit.services.shipment_world import ORDER, ShipmentWorld, request, store_integration
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


# pushTracking: the same queue carries ShipmentPushJobs, told apart by their kind


def shipment_app(load_app: Loader, world: ShipmentWorld) -> ModuleType:
    app = load_app("catalog_push", PUSH_ENV)
    app.build_services = lambda settings: pytest.fail("a shipment job needs no catalog push")
    app.build_shipment_service = lambda settings: world.service()
    return app


def shipment_world() -> tuple[ShipmentWorld, Integration]:
    # The store and shipment the event names: a synced order's shipment, queued by the API
    world = ShipmentWorld()
    shop = store_integration().model_copy(update={"id": "shop-demo"})
    world.integrations.put(shop)
    world.orders.put(ORDER, integration_id="shop-demo")
    world.requests().accept(shop, request(integrationId="shop-demo", shipmentId="SHP-1001-1"))
    world.push_jobs.take()
    return world, shop


def test_a_shipment_job_writes_the_shipment_into_its_store(load_app: Loader) -> None:
    world, shop = shipment_world()
    app = shipment_app(load_app, world)

    response = app.lambda_handler(load_event("catalog_push/shipment_push.json"), LambdaContext())

    assert response == {"batchItemFailures": []}
    assert world.store.writes() == [("POST", "/fulfillments.json")]
    entry = world.ledger.get(shop.id, "SHP-1001-1")
    assert entry is not None and entry.state == "pushed"


def test_a_shipment_job_whose_store_is_busy_comes_back(load_app: Loader) -> None:
    world, _ = shipment_world()
    world.store.fail_next = 429
    app = shipment_app(load_app, world)
    event = load_event("catalog_push/shipment_push.json")

    response = app.lambda_handler(event, LambdaContext())

    assert response == {"batchItemFailures": [{"itemIdentifier": event["Records"][0]["messageId"]}]}
    assert world.store.fulfillments == {}


def test_build_shipment_service_wires_the_worker_on_aws(
    load_app: Loader, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_fake_aws(monkeypatch, "eu-central-1")
    app = load_app("catalog_push", PUSH_ENV)
    with mock_aws():
        built = app.build_shipment_service(app.settings)

    assert isinstance(built, ShipmentPushService)

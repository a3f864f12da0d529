"""The ScheduledSync handler with the events/ files: schedules fan out, SyncJob batches run."""

from __future__ import annotations

import copy
from types import ModuleType
from typing import Any

import pytest

from mercator.domain.messages import EnrichBatch, SyncJob
from mercator.services.families import UnknownFamilyError
from mercator.settings import SettingsError
from mercator_sandbox import Sandbox
from tests.integration.providers.support import FrozenClock, listing_order
from tests.unit.functions.conftest import SYNC_ENV, LambdaContext, Loader, load_event
from tests.unit.functions.emf import published_metrics
from tests.unit.services.support import World, make_integration, world

SCHEDULED = {
    "orders": {("salla-demo", "orders"), ("woo-main", "orders")},
    "carts": {("salla-demo", "abandoned_carts")},
    "products": {("salla-demo", "products"), ("woo-main", "products")},
    "customers": {("salla-demo", "customers"), ("woo-main", "customers")},
}


def salla_world(orders: int = 25) -> tuple[Sandbox, World]:
    sizes = {"orders": orders, "products": 0, "customers": 0, "carts": 0}
    sandbox = Sandbox("salla", seed=12, sizes=sizes, rate_limit=None, clock=FrozenClock())
    integrations = (
        make_integration("salla", sandbox, integration_id="salla-demo"),
        make_integration("woocommerce", integration_id="woo-main"),
    )
    return sandbox, world(sandbox, *integrations)


def sync_app(load_app: Loader, built: World) -> ModuleType:
    app = load_app("scheduled_sync", SYNC_ENV)
    app.build_services = lambda settings: built.sync_service(margin=settings.deadline_margin_seconds)
    return app


def jobs_sent(built: World) -> set[tuple[str, str]]:
    return {(job.integration_id, job.resource) for job in map(SyncJob.parse, built.sync_jobs.bodies)}


@pytest.mark.parametrize("family", ["orders", "products", "customers", "carts"])
def test_each_schedule_event_fans_out_its_family(load_app: Loader, family: str) -> None:
    _, built = salla_world()
    app = sync_app(load_app, built)

    response = app.lambda_handler(load_event(f"scheduled_sync/schedule_{family}.json"), LambdaContext())

    assert response == {"resource": family, "jobs": len(SCHEDULED[family])}
    assert jobs_sent(built) == SCHEDULED[family]


def test_a_full_eventbridge_event_names_its_family_in_its_detail(load_app: Loader) -> None:
    _, built = salla_world()
    app = sync_app(load_app, built)

    response = app.lambda_handler(load_event("scheduled_sync/eventbridge_products.json"), LambdaContext())

    assert response == {"resource": "products", "jobs": 2}
    assert jobs_sent(built) == SCHEDULED["products"]


def test_the_sync_job_event_lists_the_store_and_hands_its_orders_on(load_app: Loader) -> None:
    # Given the store of integration salla-demo, the one the event's SyncJob names
    sandbox, built = salla_world()
    app = sync_app(load_app, built)

    # When the SQS batch arrives
    response = app.lambda_handler(load_event("scheduled_sync/sync_job.json"), LambdaContext())

    # Then the job succeeded and every order went to enrichment, in listing order
    assert response == {"batchItemFailures": []}
    batches = [EnrichBatch.parse(body) for body in built.enrich.bodies]
    assert [record["id"] for batch in batches for record in batch.records] == listing_order(sandbox, "orders")
    cursor = built.cursors.get("salla-demo", "orders")
    assert cursor is not None
    assert cursor.running is None
    assert cursor.last_run_id == batches[0].run_id


def test_a_bad_message_fails_alone_in_its_batch(load_app: Loader) -> None:
    # Given the event's SyncJob and a second message whose body is not a SyncJob
    _, built = salla_world()
    app = sync_app(load_app, built)
    event = load_event("scheduled_sync/sync_job.json")
    bad = copy.deepcopy(event["Records"][0])
    bad["messageId"] = "0b0e7a2c-91d4-4a8e-bb3f-5d6c7e8f9a01"
    bad["body"] = '{"kind": "sync_job", "resource": "orders"}'
    event["Records"].append(bad)

    # When the batch is handled
    response = app.lambda_handler(event, LambdaContext())

    # Then only the bad message is reported failed, and the good one ran
    assert response == {"batchItemFailures": [{"itemIdentifier": bad["messageId"]}]}
    assert built.cursors.finished != []


def test_a_job_short_of_time_sends_its_continuation(load_app: Loader) -> None:
    # Given 130 orders (three pages of 60) and an invocation with 20 s left, under the 30 s margin
    _, built = salla_world(orders=130)
    app = sync_app(load_app, built)

    # When the SyncJob is handled
    response = app.lambda_handler(
        load_event("scheduled_sync/sync_job.json"), LambdaContext(remaining_ms=20_000)
    )

    # Then one page was handed on and the run continues in another invocation
    assert response == {"batchItemFailures": []}
    [body] = built.sync_jobs.bodies
    continuation = SyncJob.parse(body)
    assert continuation.continuation == 1
    assert continuation.run is not None
    assert continuation.run.pages_handed_off == 1
    assert sum(len(EnrichBatch.parse(b).records) for b in built.enrich.bodies) == 60


# A refused event publishes no metric, and Powertools says so.
@pytest.mark.filterwarnings("ignore:No application metrics to publish")
@pytest.mark.parametrize(
    ("event", "error", "message"),
    [
        ({"resource": "wishlists"}, UnknownFamilyError, "unknown resource family 'wishlists'"),
        (
            {"detail-type": "Scheduled Event", "detail": {}},
            ValueError,
            "a ScheduledSync event is an SQS batch",
        ),
    ],
)
def test_a_schedule_without_a_valid_family_is_refused(
    load_app: Loader, event: dict[str, object], error: type[Exception], message: str
) -> None:
    _, built = salla_world()
    app = sync_app(load_app, built)

    with pytest.raises(error, match=message):
        app.lambda_handler(event, LambdaContext())

    assert built.sync_jobs.bodies == []


def test_a_cold_start_without_a_queue_url_names_the_missing_variable(load_app: Loader) -> None:
    env = {name: value for name, value in SYNC_ENV.items() if name != "ENRICH_QUEUE_URL"}

    with pytest.raises(SettingsError, match="environment variable ENRICH_QUEUE_URL is not set"):
        load_app("scheduled_sync", env)


def woo_job_event(integration_id: str, message_id: str) -> dict[str, Any]:
    """The events/ SyncJob batch, its one message naming ``integration_id``'s orders."""
    event = load_event("scheduled_sync/sync_job.json")
    [record] = event["Records"]
    record["messageId"] = message_id
    record["body"] = SyncJob(integration_id=integration_id, resource="orders").body()
    return event


def test_a_finished_run_publishes_the_changes_webhooks_missed(
    load_app: Loader, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a WooCommerce store of 6 orders, synced once through the handler
    sizes = {"orders": 6, "products": 0, "customers": 0}
    sandbox = Sandbox("woocommerce", seed=8, sizes=sizes, rate_limit=None, clock=FrozenClock())
    integration = make_integration("woocommerce", sandbox, integration_id="woo-orders")
    built = world(sandbox, integration)
    app = sync_app(load_app, built)
    capsys.readouterr()
    app.lambda_handler(woo_job_event(integration.id, "7c0d4f8e-1a2b-4c3d-9e8f-0a1b2c3d4e5f"), LambdaContext())
    initial = published_metrics(capsys.readouterr().out)
    # ...after which an order is placed and another changes, with no webhook for either
    sandbox.store.insert("orders")
    sandbox.store.touch("orders", min(sandbox.store.ids("orders")))
    built.clock.advance(minutes=15)

    # When the next scheduled job runs
    response = app.lambda_handler(
        woo_job_event(integration.id, "3e9a7b1c-5d2f-4e6a-8b0c-1d2e3f4a5b6c"), LambdaContext()
    )

    # Then the first run published none missed (an initial sync), the second both changes
    assert response == {"batchItemFailures": []}
    assert (initial["SyncRecordsWritten"], initial["MissedByWebhook"]) == ([6.0], [0.0])
    metrics = published_metrics(capsys.readouterr().out)
    assert (metrics["SyncRecordsWritten"], metrics["MissedByWebhook"]) == ([2.0], [2.0])

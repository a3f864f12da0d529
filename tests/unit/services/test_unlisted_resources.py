"""A resource with no list endpoint (its records come only from webhooks that enrich) is never synced
on a schedule."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from mercator.domain.messages import SyncJob
from mercator.services.connectors import ConnectorCatalog
from tests.unit.services.fakes import FakeIntegrations
from tests.unit.services.support import World, make_integration, plenty, tweaked_connector


def carts_by_webhook_only(document: dict[str, Any]) -> None:
    """Salla's abandoned carts without their list: the abandoned.cart webhook fetches each cart."""
    carts = document["sync"]["resources"]["abandoned_carts"]
    del carts["endpoints"]["list"]
    for key in ("pagination", "responseMapping"):
        del carts[key]
    del carts["samples"]["list"]
    handler = document["sync"]["webhooks"]["handlers"]["abandoned.cart"]
    del handler["mapping"]
    handler["enrich"] = {"resource": "abandoned_carts", "idPath": "data.id"}


def no_http() -> httpx.AsyncClient:
    raise AssertionError("no provider call expected")


def salla_world() -> World:
    return World(
        http=no_http,
        integrations=FakeIntegrations(make_integration("salla", integration_id="salla-main")),
        connectors=ConnectorCatalog({"salla": tweaked_connector("salla", carts_by_webhook_only)}),
    )


def test_the_schedule_skips_a_resource_without_a_list_endpoint() -> None:
    # Given a Salla store whose abandoned carts have no list endpoint
    world = salla_world()
    service = world.sync_service()

    # When the carts schedule fires, and then the orders one
    carts = service.fan_out("carts")
    orders = service.fan_out("orders")

    # Then no cart sync is scheduled, while the store's orders still are
    assert (carts, orders) == (0, 1)
    assert [(job.integration_id, job.resource) for job in map(SyncJob.parse, world.sync_jobs.bodies)] == [
        ("salla-main", "orders")
    ]


@pytest.mark.anyio
async def test_a_sync_job_naming_a_resource_without_a_list_endpoint_is_skipped() -> None:
    # Given a job for the carts all the same (sent by hand, or queued before the connector changed)
    world = salla_world()
    job = SyncJob(integration_id="salla-main", resource="abandoned_carts")

    # When it runs
    outcome = await world.sync_service().run_sync_job(job, plenty)

    # Then it is skipped, saying why, without a provider call or a cursor
    assert (outcome.status, outcome.reason) == (
        "skipped",
        "resource abandoned_carts of connector salla has no endpoints.list: its records come only "
        "from webhooks",
    )
    assert world.cursors.get("salla-main", "abandoned_carts") is None

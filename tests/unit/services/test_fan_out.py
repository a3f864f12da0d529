"""A schedule fans out one SyncJob per active integration whose connector syncs that family."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from mercator.connector import ConnectorDefinition
from mercator.domain.entities import Integration
from mercator.domain.messages import SyncJob
from mercator.services.connectors import ConnectorCatalog
from mercator.services.families import UnknownFamilyError
from tests.unit.services.fakes import FakeIntegrations
from tests.unit.services.support import World, make_integration, tweaked_connector


def no_http() -> httpx.AsyncClient:
    raise AssertionError("fan-out must not call any provider")


def fan_out_world(*integrations: Integration, definitions: tuple[ConnectorDefinition, ...] = ()) -> World:
    return World(
        http=no_http,
        integrations=FakeIntegrations(*integrations),
        connectors=ConnectorCatalog({definition.name: definition for definition in definitions}),
    )


def scheduled(world: World) -> set[tuple[str, str]]:
    jobs = [SyncJob.parse(body) for body in world.sync_jobs.bodies]
    assert all(job.run is None and job.continuation == 0 for job in jobs), "fan-out starts new runs only"
    return {(job.integration_id, job.resource) for job in jobs}


# Salla (every resource), a disabled Salla store, Shopify limited to products, WooCommerce (no carts).
STORES = (
    make_integration("salla", integration_id="salla-main"),
    make_integration("salla", integration_id="salla-closed", status="disabled"),
    make_integration("shopify", integration_id="shopify-products", resources=["products"]),
    make_integration("woocommerce", integration_id="woo-main"),
)


@pytest.mark.parametrize(
    ("family", "expected"),
    [
        ("orders", {("salla-main", "orders"), ("woo-main", "orders")}),
        ("carts", {("salla-main", "abandoned_carts")}),
        (
            "products",
            {("salla-main", "products"), ("shopify-products", "products"), ("woo-main", "products")},
        ),
        ("customers", {("salla-main", "customers"), ("woo-main", "customers")}),
    ],
)
def test_a_schedule_reaches_every_active_integration_that_syncs_the_family(
    family: str, expected: set[tuple[str, str]]
) -> None:
    # Given four integrations, one of them disabled and one limited to products
    world = fan_out_world(*STORES)

    # When the family's schedule fires
    count = world.sync_service().fan_out(family)

    # Then one new-run job goes out per integration and resource of the family, in one send
    assert scheduled(world) == expected
    assert count == len(expected)
    assert world.sync_jobs.sends == 1


def disable_orders(document: dict[str, Any]) -> None:
    document["sync"]["resources"]["orders"]["enabled"] = False


def disable_sync(document: dict[str, Any]) -> None:
    document["sync"]["syncConfiguration"]["enabled"] = False


def test_a_resource_the_connector_disables_is_not_scheduled() -> None:
    # Given Salla with its orders resource switched off, and WooCommerce as shipped
    world = fan_out_world(
        make_integration("salla", integration_id="salla-main"),
        make_integration("woocommerce", integration_id="woo-main"),
        definitions=(tweaked_connector("salla", disable_orders),),
    )

    # When orders are scheduled
    count = world.sync_service().fan_out("orders")

    # Then only WooCommerce's orders are synced
    assert scheduled(world) == {("woo-main", "orders")}
    assert count == 1


def test_a_connector_whose_sync_is_disabled_schedules_nothing() -> None:
    world = fan_out_world(
        make_integration("salla", integration_id="salla-main"),
        definitions=(tweaked_connector("salla", disable_sync),),
    )

    assert world.sync_service().fan_out("products") == 0
    assert world.sync_jobs.bodies == []
    assert world.sync_jobs.sends == 0


def test_an_integration_with_an_unknown_connector_does_not_hold_back_the_others() -> None:
    # Given an integration whose connector is not shipped, beside a valid one
    world = fan_out_world(
        make_integration("bigstore", integration_id="broken"),
        make_integration("woocommerce", integration_id="woo-main"),
    )

    # When products are scheduled
    count = world.sync_service().fan_out("products")

    # Then the valid integration is scheduled and the broken one is skipped
    assert scheduled(world) == {("woo-main", "products")}
    assert count == 1


@pytest.mark.parametrize("family", ["wishlists", "abandoned_carts", "Orders", ""])
def test_an_unknown_family_is_refused_with_the_valid_ones(family: str) -> None:
    world = fan_out_world(*STORES)

    with pytest.raises(UnknownFamilyError) as caught:
        world.sync_service().fan_out(family)

    assert str(caught.value) == (
        f"unknown resource family {family!r}; valid: products, customers, orders, carts, shipments"
    )
    assert world.sync_jobs.sends == 0

"""Full and incremental listings of every shipped resource the sandbox serves, through the client."""

from __future__ import annotations

from typing import Any

import pytest

from mercator.connector.mapper import map_records
from mercator_sandbox import Sandbox
from mercator_sandbox.app import FlavorName
from tests.integration.providers.support import (
    FLAVORS,
    LISTED_FROM,
    SINCE,
    FrozenClock,
    connector,
    epoch,
    first_listed,
    listed_ids,
    listed_resource,
    listing_order,
    make_client,
    route,
    sandbox_resource,
    selected_since,
    served_keys,
    transport,
)

SIZES = {"orders": 47, "products": 30, "customers": 21, "carts": 9}
PAGE_SIZE = 10
# ceil(size / 10): 47 -> 5, 30 -> 3 (exactly full, no empty page after), 21 -> 3, 9 -> 1.
# Shipments are made from the orders, so their count is the store's, not a size (see below).
EXPECTED_PAGES = {"orders": 5, "products": 3, "customers": 3, "carts": 1}

FULL_CASES = [(flavor, key) for flavor in FLAVORS for key in served_keys(flavor)]
INCREMENTAL_CASES = [
    (flavor, key)
    for flavor in FLAVORS
    for key in served_keys(flavor)
    if connector(flavor).resources[key].incremental is not None
]


def test_the_cases_cover_every_served_resource() -> None:
    # Guards the parametrization: a connector change must not silently drop cases.
    assert {(flavor, sandbox_resource(key)) for flavor, key in FULL_CASES} == {
        *((flavor, name) for flavor in ("salla", "shopify") for name in (*EXPECTED_PAGES, "shipments")),
        *(("woocommerce", name) for name in ("orders", "products", "customers")),
    }
    assert sorted(INCREMENTAL_CASES) == [
        ("salla", "orders"),
        ("salla", "shipments"),
        ("shopify", "abandoned_carts"),
        ("shopify", "customers"),
        ("shopify", "orders"),
        ("shopify", "products"),
        ("shopify", "shipments"),
        ("woocommerce", "orders"),
        ("woocommerce", "products"),
    ]


@pytest.mark.anyio
@pytest.mark.parametrize(("flavor", "key"), FULL_CASES)
async def test_a_full_listing_yields_every_live_record_once_and_maps_it(flavor: FlavorName, key: str) -> None:
    # Given a store with a known number of records of the resource
    sandbox = Sandbox(flavor, seed=5, sizes=SIZES, rate_limit=None, clock=FrozenClock())
    resource = listed_resource(flavor, key)
    definition = connector(flavor)
    spec = definition.resources[key]

    # When the client lists it in pages of 10
    records: list[Any] = []
    numbers: list[int] = []
    async with transport(sandbox) as http, make_client(sandbox, http, definition=definition) as client:
        async for page in client.pages(key, page_size=PAGE_SIZE):
            numbers.append(page.number)
            records += page.records

    # Then every live id comes exactly once, in the platform's order
    assert [int(record["id"]) for record in records] == listing_order(sandbox, key)
    # And the page count follows from the size, with no request beyond the last page
    if (flavor, key) in LISTED_FROM:
        # Shipments listed from the orders: the orders' pages, and every shipment of them
        size, pages = len(sandbox.shipments()), EXPECTED_PAGES[resource]
    elif resource == "shipments":
        # Shipments the store made of its orders: its own count of them, ceil(count / 10) pages
        size = sandbox.store.count("shipments")
        pages = -(-size // PAGE_SIZE)
    else:
        size, pages = SIZES[resource], EXPECTED_PAGES[resource]
    assert size > 0
    assert numbers == list(range(pages))
    assert sandbox.counters.requests[route(sandbox, resource, "list")] == pages
    assert sandbox.counters.total == pages
    # And every record maps through the resource's mapping
    outcome = map_records(spec.mapping, spec.contentType, records)
    assert outcome.failures == []
    assert len({record["code"] for record in outcome.records}) == size


@pytest.mark.anyio
@pytest.mark.parametrize(("flavor", "key"), INCREMENTAL_CASES)
async def test_an_incremental_listing_yields_exactly_what_the_platform_filter_selects(
    flavor: FlavorName, key: str
) -> None:
    # Given a store with records planted on both sides of the filter's first instant
    sandbox = Sandbox(flavor, seed=6, sizes=dict.fromkeys(SIZES, 40), rate_limit=None, clock=FrozenClock())
    resource = listed_resource(flavor, key)
    store = sandbox.store
    field_name, first = first_listed(flavor, key)
    planted: dict[int, int] = {}
    # Two hours either way catches a cursor written in the wrong zone (Riyadh +3, New York -5,
    # Sao Paulo -3); one second either way catches an inclusive bound taken for an exclusive one.
    for offset in (-7200, -1, 0, 7200):
        moment = epoch(first) + offset
        created = moment if field_name == "created" else moment - 3 * 86400
        planted[offset] = store.insert(resource, created=created, updated=moment).id
    # And old records touched now: they enter an updated-since window, not a created-since one
    oldest = sorted(store.ids(resource), key=lambda i: store.get(resource, i).updated)[:3]
    for record_id in oldest:
        store.touch(resource, record_id)
    expected = selected_since(sandbox, key)
    assert {planted[0], planted[7200]} <= expected
    assert not {planted[-7200], planted[-1]} & expected
    assert (set(oldest) <= expected) == (field_name == "updated")
    assert 0 < len(expected) < store.count(resource)

    # When the client lists the resource since SINCE
    async with transport(sandbox) as http, make_client(sandbox, http) as client:
        ids, pages = await listed_ids(client.pages(key, since=SINCE, page_size=4))

    # Then it yields exactly the selected records, once each, in the platform's order
    # (for shipments listed from the orders: the shipments of the selected orders, none other)
    assert listing_order(sandbox, key, expected) != []
    assert ids == listing_order(sandbox, key, expected)
    assert pages == -(-len(expected) // 4)
    assert sandbox.counters.total == pages

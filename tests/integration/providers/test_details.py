"""Details of many records at once: an unknown id fails alone, once, and the others arrive mapped."""

from __future__ import annotations

import pytest

from mercator.connector.mapper import map_records
from mercator.domain.pages import DetailResult
from mercator.domain.provider_errors import ProviderHTTPError
from mercator_sandbox import Sandbox
from mercator_sandbox.app import FlavorName
from tests.integration.providers.support import (
    FLAVORS,
    FrozenClock,
    connector,
    make_client,
    route,
    sandbox_resource,
    served_keys,
    transport,
)

DETAIL_CASES = [
    (flavor, key)
    for flavor in FLAVORS
    for key in served_keys(flavor)
    if connector(flavor).resources[key].endpoints.details is not None
]


def test_every_resource_with_a_details_endpoint_is_covered() -> None:
    # Salla's orders, products, customers, carts and shipments; Shopify's abandoned checkouts and its
    # shipments (listed from the orders) have no details endpoint; WooCommerce has no carts at all.
    assert len(DETAIL_CASES) == 5 + 3 + 3
    assert ("salla", "shipments") in DETAIL_CASES
    assert ("shopify", "abandoned_carts") not in DETAIL_CASES


@pytest.mark.anyio
@pytest.mark.parametrize(("flavor", "key"), DETAIL_CASES)
async def test_an_unknown_id_is_a_404_of_its_own_and_the_rest_arrive(flavor: FlavorName, key: str) -> None:
    # Given five live ids spread over the store (every sixth of 30 records; Salla makes fewer
    # shipments than its 30 orders, so of those every len(live) // 5-th) and one the store never had
    sizes = dict.fromkeys(("orders", "products", "customers", "carts"), 30)
    sandbox = Sandbox(flavor, seed=4, sizes=sizes, rate_limit=None, clock=FrozenClock())
    resource = sandbox_resource(key)
    live = sorted(sandbox.store.ids(resource))
    known = live[:: max(1, len(live) // 5)][:5]
    unknown = live[-1] + 1  # generated ids step by 2 or more, so this one is free
    requested = [*known[:2], unknown, *known[2:]]
    assert len(known) == 5

    # When the client fetches them three at a time
    async with transport(sandbox) as http, make_client(sandbox, http) as client:
        results = [result async for result in client.details_many(key, requested, concurrency=3)]
        stats = client.stats

    # Then there is one result per id
    by_id: dict[str, DetailResult] = {result.id: result for result in results}
    assert len(results) == len(requested)
    assert set(by_id) == {str(record_id) for record_id in requested}
    # And the unknown id is a 404, tried once: a 404 is not retried
    missing = by_id[str(unknown)]
    assert missing.record is None
    assert isinstance(missing.error, ProviderHTTPError)
    assert missing.error.status == 404
    assert missing.error.attempts == 1
    assert missing.error.method == "GET"
    assert "answered 404" in str(missing.error)
    assert sandbox.counters.requests[route(sandbox, resource, "details")] == len(requested)
    assert dict(sandbox.counters.statuses) == {200: 5, 404: 1}
    assert stats.requests == len(requested)
    assert stats.retries == 0
    # And the others are their records, which map through the resource's mapping
    for record_id in known:
        found = by_id[str(record_id)]
        assert found.error is None
        assert found.record is not None
        assert found.record["id"] == record_id
    spec = connector(flavor).resources[key]
    outcome = map_records(spec.mapping, spec.contentType, [by_id[str(i)].record for i in known])
    assert outcome.failures == []
    assert [record["code"] for record in outcome.records] == [str(i) for i in known]

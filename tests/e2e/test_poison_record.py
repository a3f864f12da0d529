"""A record that cannot be mapped stops alone: its batch-mates land in the records table.

Where the connector expands details (Salla's orders), the record fails in DetailEnrichment and goes
to the Enrich dead-letter queue with its reason and raw payload, while its SQS message succeeds.
Where the sync writes records itself, it leaves the record out and counts it as an error of the run.
"""

from __future__ import annotations

from typing import Any

import pytest

from mercator_sandbox.app import FlavorName
from tests.e2e.conftest import OpenStore
from tests.e2e.support import FLAVORS, Storefront

# What the store sends instead of a status: a list, where every connector maps a text (or, for Salla's
# orders, an object's slug; a list replaces the list entry's object when details are merged over it).
BROKEN_STATUS = ["unexpected", "shape"]


def _poison(store: Storefront, family: str) -> str:
    """Corrupt one record of ``family`` in every answer that carries it: its details where the
    connector fetches details, else its list entry. Returns its store id."""
    resource = store.resource(family)
    target = sorted(store.store_ids(resource))[1]
    if resource.expandDetails:
        details_path = store.details_path(resource, target)

        def corrupt_details(path: str, query: dict[str, str], body: Any) -> Any:
            if path != details_path:
                return None
            # Salla wraps the record in "data".
            return {**body, "data": {**body["data"], "status": BROKEN_STATUS}}

        store.tap.hooks.append(corrupt_details)
        return target
    list_path = store.list_path(resource)

    # Where each platform puts a list's records: Salla under "data", Shopify under the resource's
    # name, WooCommerce nowhere (the body is the list).
    envelope = {"salla": "data", "shopify": "products"}.get(store.flavor)

    def corrupt_list_entry(path: str, query: dict[str, str], body: Any) -> Any:
        if path != list_path:
            return None
        listed = body[envelope] if envelope else body
        patched = [
            {**record, "status": BROKEN_STATUS} if str(record["id"]) == target else record
            for record in listed
        ]
        return {**body, envelope: patched} if envelope else patched

    store.tap.hooks.append(corrupt_list_entry)
    return target


def test_an_enriched_record_that_fails_validation_reaches_the_dead_letter_queue_alone(
    open_store: OpenStore,
) -> None:
    # Given a Salla store whose details of one order carry a status of the wrong shape
    store = open_store("salla")
    resource = store.resource("orders")
    poisoned = _poison(store, "orders")

    # When the orders are synced
    report = store.sync("orders")

    # Then the Enrich messages all succeeded and one dead letter holds the order, its reason and payload
    assert report.failed.get("EnrichQueue", 0) == 0
    assert report.dead_letters == {
        "SyncJobsDLQ": 0,
        "EnrichDLQ": 1,
        "TriggerDLQ": 0,
        "PushDLQ": 0,
        "CatalogEventsDLQ": 0,
    }
    (letter,) = store.dead_letters()
    cursor = store.cursor(resource)
    assert (letter["integration_id"], letter["resource"], letter["run_id"]) == (
        store.integration_id,
        "orders",
        cursor.last_run_id,
    )
    assert "ecommerce:orders" in letter["reason"]
    assert "status" in letter["reason"]
    assert str(letter["raw"]["id"]) == poisoned
    assert letter["raw"]["status"] == BROKEN_STATUS
    assert "amounts" in letter["raw"]  # the payload is the list entry with its details merged in
    assert letter["detail"]["problems"]
    # ...while its batch-mates are in the records table, exactly as the store has them
    expected = store.expected("orders")
    assert set(expected.failures) == {poisoned}
    assert len(expected.records) == len(store.store_ids(resource)) - 1
    assert store.records("orders") == expected.records
    assert sorted(change["code"] for change in store.changes()) == sorted(expected.records)


@pytest.mark.parametrize("flavor", FLAVORS)
def test_a_listed_record_that_fails_validation_is_counted_and_its_page_mates_are_written(
    open_store: OpenStore, flavor: FlavorName
) -> None:
    # Given a store whose products list carries one product with a status of the wrong shape
    store = open_store(flavor)
    resource = store.resource("products")
    poisoned = _poison(store, "products")

    # When the products are synced
    report = store.sync("products")

    # Then the run finished, counting the one record it could not write as an error...
    assert report.failed.get("SyncJobsQueue", 0) == 0
    stats = store.cursor(resource).last_run_stats
    assert stats is not None
    assert (stats.errors, stats.new) == (1, len(store.store_ids(resource)) - 1)
    # ...and every other product is in the records table, exactly as the store has it
    expected = store.expected("products")
    assert set(expected.failures) == {poisoned}
    assert store.records("products") == expected.records
    assert poisoned not in store.records("products")
